#pragma once
// Trace files: a stream of aether.wire.TraceRecord, each preceded by its varint length (protobuf's
// delimited format). Written by both runtimes; read back by `aether trace` (app/trace_command.h).

#include <functional>
#include <mutex>
#include <string>

#include "engine/core/result.h"
#include "engine/runtime/trace.h"

namespace aether::common {

// One record as files hold it (its varint length, then the aether.wire.TraceRecord), appended to out.
void append_trace_record(const TraceEvent& event, std::string* out);

class TraceFileWriter {
 public:
  TraceFileWriter() = default;
  ~TraceFileWriter();
  TraceFileWriter(const TraceFileWriter&) = delete;
  TraceFileWriter& operator=(const TraceFileWriter&) = delete;

  Status open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }
  // Each record goes to the kernel with one write(2) before this returns: a process killed with
  // SIGKILL loses no record it has traced, which is what post-mortem traces are for. (Measured cost:
  // docs/performance.md, "trace writing".) Safe from several threads (`aether local` runs a loop per
  // role, all tracing to one file): records are whole and never interleave.
  void write(const TraceEvent& event);
  void close();

 private:
  std::mutex mu_;  // one record at a time: buffer_ and the file's order
  int fd_ = -1;
  bool failed_ = false;  // a write error was reported once; later records are dropped
  std::string buffer_;
};

// Reading trace files back (strictly: they are untrusted input like any other) is
// app/trace_command.h's read_trace_records, used by `aether trace`.

}  // namespace aether::common
