#pragma once
// What a gateway checks of each client input before it forwards it to the avatar's owner, and what
// it does with a client that keeps sending inputs it must reject (docs/security.md, "Client inputs").
//
// The owner validates the game rules (range, cooldown, team: engine/gameplay/world.cc); the gateway
// rejects what no honest client sends, before it costs the owner anything:
//   - more than inputs_per_window_max inputs in one 100 ms window (a client sends one per tick);
//   - an input whose sequence number does not grow (a replay, or a client that jumped to 2^32-1);
//   - a target the client has not been told about: one cannot aim at what one cannot see. The
//     input's movement still goes through, without the target and the fire order (an honest client
//     may aim at an entity that has just left its view, before it hears so).
// Every rejection is counted by reason. A session rejected more than rejections_max times within
// rejection_window_ns is closed ("too many rejected inputs"): honest clients are rejected a few
// times a minute at most (a target that left the view), a cheating or broken one every tick.

#include <array>
#include <cstdint>
#include <string_view>

#include "engine/core/time.h"
#include "engine/wire/messages.h"

namespace aether {

enum class InputRejection : uint8_t { kRate, kStaleSequence, kTargetNotInView };
inline constexpr size_t kInputRejectionKinds = 3;
std::string_view input_rejection_name(InputRejection r);  // the metric label: rate, stale_sequence, target_not_in_view

struct InputGuardLimits {
  uint32_t inputs_per_window_max = 4;           // per client and 100 ms window; excess inputs are dropped
  uint32_t rejections_max = 50;                 // within one rejection window: past it, the session is closed
  TimeNs rejection_window_ns = 10 * kNsPerSec;
};

// One client session's guard. The gateway calls new_window() every 100 ms.
class InputGuard {
 public:
  enum class Verdict : uint8_t { kForward, kForwardMoveOnly, kDrop };
  struct Check {
    Verdict verdict = Verdict::kForward;
    InputRejection reason = InputRejection::kRate;  // when verdict != kForward
  };

  explicit InputGuard(InputGuardLimits limits = {}) : limits_(limits) {}

  // `target_known`: whether the client has been told of in.target (ignored when it names none).
  Check check(const ClientInput& in, bool target_known);
  // Counts a rejection made at `now`; true when the session is past its budget and must be closed.
  bool reject(TimeNs now);
  void new_window() { inputs_this_window_ = 0; }
  uint32_t last_seq() const { return last_seq_; }

 private:
  InputGuardLimits limits_;
  uint32_t last_seq_ = 0;
  uint32_t inputs_this_window_ = 0;
  TimeNs rejection_window_start_ns_ = 0;
  uint32_t rejections_in_window_ = 0;
};

}  // namespace aether
