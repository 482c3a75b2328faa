#pragma once
// The simulation's one trace: every TraceEvent of every host, in the order they happened. It keeps a
// running digest so two runs can be compared with one number (same seed, same digest, on every
// compiler), and optionally writes each record to a trace file for `aether trace` and viz/.

#include <cstdint>
#include <string>

#include "engine/core/hash.h"
#include "engine/core/result.h"
#include "engine/runtime/trace.h"
#include "runtime/common/trace_file.h"

namespace aether::sim {

class TraceLog {
 public:
  TraceLog() = default;
  TraceLog(const TraceLog&) = delete;
  TraceLog& operator=(const TraceLog&) = delete;

  // Starts writing records to path (truncating it). Without it, only the digest is kept.
  Status open_file(const std::string& path);
  // Flushes and closes the file, if any. Recording continues into the digest.
  void close_file();

  // The event must already be stamped with its time and node.
  void record(const TraceEvent& event);

  uint64_t digest() const { return hasher_.digest(); }
  uint64_t records() const { return records_; }

 private:
  Hasher64 hasher_;
  uint64_t records_ = 0;
  common::TraceFileWriter file_;
};

}  // namespace aether::sim
