#include "runtime/real/signals.h"

#include <chrono>
#include <csignal>
#include <memory>

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

namespace aether::real {

namespace asio = boost::asio;

namespace {

// Shared with the completion handlers, which may run after run_until_stopped has returned (if the
// io_context is run again): they only ever touch this, never the function's stack.
struct StopState {
  std::function<void()> on_stop;
  bool stopped = false;
};

void stop_once(const std::shared_ptr<StopState>& state, asio::io_context& io) {
  if (state->stopped) return;
  state->stopped = true;
  if (state->on_stop) state->on_stop();
  io.stop();
}

}  // namespace

void run_until_stopped(asio::io_context& io, TimeNs duration_ns, std::function<void()> on_stop) {
  auto state = std::make_shared<StopState>();
  state->on_stop = std::move(on_stop);
  if (io.stopped()) io.restart();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([state, &io](const boost::system::error_code& ec, int) {
    if (!ec) stop_once(state, io);
  });
  asio::steady_timer limit(io);
  if (duration_ns > 0) {
    limit.expires_after(std::chrono::nanoseconds(duration_ns));
    limit.async_wait([state, &io](const boost::system::error_code& ec) {
      if (!ec) stop_once(state, io);
    });
  }

  io.run();
  stop_once(state, io);  // the loop ended some other way: components still get shut down

  // Let cancelled operations complete (they hold connection objects and buffers) and return as soon
  // as nothing is left, or after kStopDrainNs if some component left work running.
  signals.cancel();
  limit.cancel();
  io.restart();
  io.run_for(std::chrono::nanoseconds(kStopDrainNs));
}

}  // namespace aether::real
