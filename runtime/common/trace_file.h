#pragma once
// Trace files: a stream of aether.wire.TraceRecord, each preceded by its varint length (protobuf's
// delimited format). Written by both runtimes; read back by `aether trace` (app/trace_command.h).

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

// Reading trace files back (strictly: they are untrusted input like any other) is
// app/trace_command.h's read_trace_records, used by `aether trace`.

}  // namespace aether::common
