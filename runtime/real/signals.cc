#include "runtime/real/signals.h"

#include <chrono>
#include <cstdio>
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
  GracefulStop graceful;
  bool draining = false;
  TimeNs drain_elapsed_ns = 0;
};

void stop_once(const std::shared_ptr<StopState>& state, asio::io_context& io) {
  if (state->stopped) return;
  state->stopped = true;
  if (state->on_stop) state->on_stop();
  io.stop();
}

}  // namespace

void run_until_stopped(asio::io_context& io, TimeNs duration_ns, std::function<void()> on_stop, GracefulStop graceful,
                       std::function<void()> on_hangup) {
  auto state = std::make_shared<StopState>();
  state->on_stop = std::move(on_stop);
  state->graceful = std::move(graceful);
  if (io.stopped()) io.restart();

  asio::signal_set signals(io, SIGINT, SIGTERM);
  if (on_hangup) signals.add(SIGHUP);
  asio::steady_timer poll(io);
  // Every kGracefulPollNs while draining: stop once drained or past the deadline.
  std::function<void()> check_drained = [&, state] {
    if (state->stopped) return;
    if (state->graceful.done() || state->drain_elapsed_ns >= state->graceful.deadline_ns) {
      std::fprintf(stderr, "aether: %s; stopping\n", state->graceful.done() ? "drained" : "drain deadline passed");
      stop_once(state, io);
      return;
    }
    state->drain_elapsed_ns += kGracefulPollNs;
    poll.expires_after(std::chrono::nanoseconds(kGracefulPollNs));
    poll.async_wait([&check_drained](const boost::system::error_code& ec) {
      if (!ec) check_drained();
    });
  };
  std::function<void(const boost::system::error_code&, int)> on_signal = [&, state](const boost::system::error_code& ec, int signal) {
    if (ec || state->stopped) return;
    if (signal == SIGHUP) {
      on_hangup();
      signals.async_wait(on_signal);
      return;
    }
    if (signal == SIGTERM && state->graceful.begin && state->graceful.done && !state->draining) {
      state->draining = true;
      std::fprintf(stderr, "aether: SIGTERM: draining (at most %lld ms; SIGINT or a second SIGTERM stops at once)\n",
                   static_cast<long long>(state->graceful.deadline_ns / kNsPerMs));
      state->graceful.begin();
      signals.async_wait(on_signal);
      check_drained();
      return;
    }
    stop_once(state, io);
  };
  signals.async_wait(on_signal);
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
  poll.cancel();
  io.restart();
  io.run_for(std::chrono::nanoseconds(kStopDrainNs));
}

}  // namespace aether::real
