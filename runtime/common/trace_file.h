#pragma once
// Trace files: a stream of aether.wire.TraceRecord, each preceded by its varint length (protobuf's
// delimited format). Written by both runtimes; read back by `aether trace` and viz/.

#include <cstdio>
#include <functional>
#include <string>

#include "engine/core/result.h"
#include "engine/runtime/trace.h"

namespace aether::common {

class TraceFileWriter {
 public:
  TraceFileWriter() = default;
  ~TraceFileWriter();
  TraceFileWriter(const TraceFileWriter&) = delete;
  TraceFileWriter& operator=(const TraceFileWriter&) = delete;

  Status open(const std::string& path);
  bool is_open() const { return file_ != nullptr; }
  void write(const TraceEvent& event);
  void close();

 private:
  std::FILE* file_ = nullptr;
  std::string buffer_;
};

// Reads every record of a trace file in order. Stops with an error on a malformed record (a trace
// file is untrusted input like any other).
Status read_trace_file(const std::string& path, const std::function<void(const TraceEvent&)>& visit);

}  // namespace aether::common
