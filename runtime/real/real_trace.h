#pragma once
// The real runtime's TraceSink: stamps each event with the steady clock and the component's node and
// appends it to a trace file shared by every component of the process (or drops it if there is none).

#include <memory>

#include "engine/runtime/clock.h"
#include "engine/runtime/trace.h"
#include "runtime/common/trace_file.h"

namespace aether::real {

class RealTraceSink final : public TraceSink {
 public:
  RealTraceSink(const Clock& clock, NodeId node, std::shared_ptr<common::TraceFileWriter> writer);
  void record(TraceEvent event) override;
  // False when events are dropped: callers skip work done only for the trace (hashing payloads).
  bool enabled() const { return writer_ != nullptr; }

 private:
  const Clock& clock_;
  NodeId node_;
  std::shared_ptr<common::TraceFileWriter> writer_;
};

}  // namespace aether::real
