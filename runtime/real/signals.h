#pragma once
// Running the real event loop until the operator (or a time limit) says stop.

#include <functional>

#include <boost/asio/io_context.hpp>

#include "engine/core/time.h"

namespace aether::real {

// After on_stop, how long the loop may keep running so the completions that shutting down produced
// (cancelled reads, writes and timers) are consumed before returning.
inline constexpr TimeNs kStopDrainNs = 1 * kNsPerSec;

// A graceful stop: SIGTERM (what Kubernetes and systemd send) calls begin(), and the loop runs on
// until done() (checked every kGracefulPollNs) or deadline_ns has passed; SIGINT, a second SIGTERM
// or the run's time limit stop at once. Without begin, SIGTERM stops at once too.
inline constexpr TimeNs kGracefulPollNs = 100 * kNsPerMs;
inline constexpr TimeNs kGracefulDeadlineDefaultNs = 30 * kNsPerSec;  // Kubernetes' default grace period
struct GracefulStop {
  std::function<void()> begin;
  std::function<bool()> done;
  TimeNs deadline_ns = kGracefulDeadlineDefaultNs;
};

// Runs io on the calling thread until SIGINT or SIGTERM arrives (SIGTERM: after the graceful stop,
// if given) or duration_ns has passed (0: no limit). Then calls on_stop exactly once (it shuts the
// components down; it is also called if the loop ends for another reason, e.g. someone called
// io.stop()), stops the loop, lets already-cancelled operations complete for at most kStopDrainNs,
// and returns. With on_hangup, SIGHUP calls it on io's thread (each time; the process reads its
// files again: the revocation list) and the run goes on; without, SIGHUP keeps its default action.
void run_until_stopped(boost::asio::io_context& io, TimeNs duration_ns, std::function<void()> on_stop, GracefulStop graceful = {},
                       std::function<void()> on_hangup = {});

}  // namespace aether::real
