// run_until_stopped: a time limit or SIGINT/SIGTERM calls on_stop once and returns; SIGHUP calls on_hangup.

#include "runtime/real/signals.h"

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "runtime/real/real_runtime.h"

namespace aether::real {
namespace {

namespace asio = boost::asio;

RealOptions quiet() {
  RealOptions o;
  o.log_level = LogLevel::kWarn;
  return o;
}

TEST(RealSignals, DurationStopsAndShutsDown) {
  asio::io_context io;
  RealRuntime rt(io, "c", NodeId{1}, quiet());
  struct Null final : NetworkHandler {
    void on_accepted(ConnId, std::string_view) override {}
    void on_connected(ConnId) override {}
    void on_message(ConnId, std::span<const uint8_t>) override {}
    void on_closed(ConnId, CloseReason) override {}
  } handler;
  rt.runtime().network.set_handler(&handler);
  ASSERT_TRUE(rt.runtime().network.listen("127.0.0.1:0").ok());  // keeps the loop busy forever
  int ticks = 0;
  std::function<void()> tick = [&] {
    ++ticks;
    rt.runtime().timers.schedule(kNsPerMs, tick);
  };
  rt.runtime().timers.schedule(kNsPerMs, tick);
  int stops = 0;
  const auto start = std::chrono::steady_clock::now();
  run_until_stopped(io, 50 * kNsPerMs, [&] {
    ++stops;
    rt.shutdown();
  });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(stops, 1);
  EXPECT_GE(elapsed, std::chrono::milliseconds(50));
  EXPECT_LT(elapsed, std::chrono::milliseconds(900));  // the drain ended early: nothing was left
  EXPECT_GT(ticks, 0);
  EXPECT_TRUE(rt.is_shut_down());
}

TEST(RealSignals, SigtermStops) {
  for (int signo : {SIGTERM, SIGINT}) {
    asio::io_context io;
    asio::steady_timer later(io, std::chrono::milliseconds(10));
    later.async_wait([signo](const boost::system::error_code& ec) {
      if (!ec) std::raise(signo);
    });
    int stops = 0;
    run_until_stopped(io, 0, [&] { ++stops; });
    EXPECT_EQ(stops, 1) << signo;
  }
}

// SIGHUP, with on_hangup: called each time, and the run goes on (the process reads its revocation
// list again); the run then ends as any other.
TEST(RealSignals, SighupCallsOnHangupAndTheRunGoesOn) {
  asio::io_context io;
  int hangups = 0, stops = 0;
  asio::steady_timer first(io, std::chrono::milliseconds(10)), second(io, std::chrono::milliseconds(40));
  first.async_wait([](const boost::system::error_code& ec) {
    if (!ec) std::raise(SIGHUP);
  });
  second.async_wait([](const boost::system::error_code& ec) {
    if (!ec) std::raise(SIGHUP);
  });
  const auto start = std::chrono::steady_clock::now();
  run_until_stopped(io, 150 * kNsPerMs, [&] { ++stops; }, {}, [&] { ++hangups; });
  EXPECT_EQ(hangups, 2);
  EXPECT_EQ(stops, 1);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150)) << "a SIGHUP stopped the run";
}

TEST(RealSignals, ExternalStopStillCallsOnStop) {
  asio::io_context io;
  asio::post(io, [&io] { io.stop(); });
  int stops = 0;
  run_until_stopped(io, 0, [&] { ++stops; });
  EXPECT_EQ(stops, 1);
}

}  // namespace
}  // namespace aether::real
