#include "runtime/real/real_trace.h"

namespace aether::real {

RealTraceSink::RealTraceSink(const Clock& clock, NodeId node, std::shared_ptr<common::TraceFileWriter> writer)
    : clock_(clock), node_(node), writer_(std::move(writer)) {}

void RealTraceSink::record(TraceEvent event) {
  if (!writer_) return;
  event.time_ns = clock_.now_ns();
  event.node = node_;
  writer_->write(event);
}

}  // namespace aether::real
