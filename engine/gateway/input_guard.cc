#include "engine/gateway/input_guard.h"

namespace aether {

std::string_view input_rejection_name(InputRejection r) {
  switch (r) {
    case InputRejection::kRate: return "rate";
    case InputRejection::kStaleSequence: return "stale_sequence";
    case InputRejection::kTargetNotInView: return "target_not_in_view";
  }
  return "unknown";
}

InputGuard::Check InputGuard::check(const ClientInput& in, bool target_known) {
  if (inputs_this_window_ >= limits_.inputs_per_window_max) return Check{Verdict::kDrop, InputRejection::kRate};
  if (in.seq <= last_seq_) return Check{Verdict::kDrop, InputRejection::kStaleSequence};
  ++inputs_this_window_;
  last_seq_ = in.seq;
  if (in.target.valid() && !target_known) return Check{Verdict::kForwardMoveOnly, InputRejection::kTargetNotInView};
  return Check{};
}

bool InputGuard::reject(TimeNs now) {
  if (rejections_in_window_ == 0 || now - rejection_window_start_ns_ >= limits_.rejection_window_ns) {
    rejection_window_start_ns_ = now;
    rejections_in_window_ = 0;
  }
  return ++rejections_in_window_ > limits_.rejections_max;
}

}  // namespace aether
