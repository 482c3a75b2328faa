#include "runtime/sim/trace_log.h"

namespace aether::sim {

Status TraceLog::open_file(const std::string& path) { return file_.open(path); }

void TraceLog::close_file() { file_.close(); }

void TraceLog::record(const TraceEvent& e) {
  // The field order and widths are part of the digest's definition: append, never reorder.
  hasher_.add_i64(e.time_ns);
  hasher_.add_u64(e.node.value);
  hasher_.add_u64(e.epoch);
  hasher_.add_u64(e.tick);
  hasher_.add_u64(e.entity.value);
  hasher_.add_u64(e.peer.value);
  hasher_.add_u64(static_cast<uint64_t>(e.kind));
  hasher_.add_i64(e.a);
  hasher_.add_i64(e.b);
  ++records_;
  file_.write(e);
}

}  // namespace aether::sim
