#pragma once
// Running the real event loop until the operator (or a time limit) says stop.

#include <functional>

#include <boost/asio/io_context.hpp>

#include "engine/core/time.h"

namespace aether::real {

// After on_stop, how long the loop may keep running so the completions that shutting down produced
// (cancelled reads, writes and timers) are consumed before returning.
inline constexpr TimeNs kStopDrainNs = 1 * kNsPerSec;

// Runs io on the calling thread until SIGINT or SIGTERM arrives or duration_ns has passed (0: no
// limit). Then calls on_stop exactly once (it shuts the components down; it is also called if the loop
// ends for another reason, e.g. someone called io.stop()), stops the loop, lets already-cancelled
// operations complete for at most kStopDrainNs, and returns.
void run_until_stopped(boost::asio::io_context& io, TimeNs duration_ns, std::function<void()> on_stop);

}  // namespace aether::real
