#include "app/text_config.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

namespace aether::app {

namespace {
class Collector final : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::string path) : path_(std::move(path)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) first_ = fmt::format("{}:{}:{}: {}", path_, line + 1, column + 1, message);
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string path_;
  std::string first_;
};
}  // namespace

Status read_text_file(const std::string& path, std::string* out) {
  constexpr size_t kConfigBytesMax = 1 << 20;
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Error::Code::kIo, fmt::format("{}: cannot open", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  if (out->size() > kConfigBytesMax) return make_error(Error::Code::kTooLarge, fmt::format("{}: larger than {} bytes", path, kConfigBytesMax));
  return ok_status();
}

Status parse_text_proto(const std::string& path, const std::string& text, google::protobuf::Message* message) {
  Collector errors(path);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, message)) {
    return make_error(Error::Code::kMalformed, errors.first().empty() ? fmt::format("{}: does not parse", path) : errors.first());
  }
  return ok_status();
}

}  // namespace aether::app
