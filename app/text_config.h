#pragma once
// Parsing of Protobuf text-format files (scenarios, process configs) with errors people can act on.

#include <string>

#include <google/protobuf/message.h>

#include "engine/core/result.h"

namespace aether::app {

Status read_text_file(const std::string& path, std::string* out);
// Parses text into message; on failure the error names path:line:column and what was wrong.
Status parse_text_proto(const std::string& path, const std::string& text, google::protobuf::Message* message);

}  // namespace aether::app
