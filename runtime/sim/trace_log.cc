#include "runtime/sim/trace_log.h"

#include "runtime/sim/host_state.h"

#include "engine/core/assert.h"

namespace aether::sim {

TraceEvent fault_event(TimeNs time_ns, FaultCode code, uint32_t from, NodeId from_node, uint32_t to, NodeId to_node,
                       int64_t arg) {
  AETHER_ASSERT(from <= kFaultHostFieldMax && to <= kFaultHostFieldMax);
  TraceEvent e;
  e.time_ns = time_ns;
  e.node = from_node;
  e.peer = to_node;
  e.kind = TraceKind::kNone;
  e.a = static_cast<int64_t>(uint64_t{static_cast<uint8_t>(code)} << 48 | uint64_t{from} << 24 | uint64_t{to});
  e.b = arg;
  return e;
}

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
  if (!observer_) return;
  if (!time_observer_) {
    observer_(e);
    return;
  }
  const int64_t started = CpuAccount::thread_now_ns();
  observer_(e);
  observer_ns_ += CpuAccount::thread_now_ns() - started + CpuAccount::read_overhead_ns();  // host_state.h: the span is w + 2r
}

void TraceLog::record_fault(const TraceEvent& e) {
  ++faults_;
  record(e);
}

}  // namespace aether::sim
