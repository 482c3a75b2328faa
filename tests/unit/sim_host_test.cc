// A simulated host's runtime seam: timers, clock, random stream, logs, trace, start and crash.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include "app/trace_command.h"
#include "runtime/sim/simulation.h"

namespace aether::sim {
namespace {

// A component whose start() runs a script; records that it was destroyed.
class Scripted final : public Component, public NetworkHandler {
 public:
  Scripted(Runtime& rt, std::function<void(Runtime&)> script, bool* destroyed = nullptr)
      : rt_(rt), script_(std::move(script)), destroyed_(destroyed) {
    rt_.network.set_handler(this);
  }
  ~Scripted() override {
    if (destroyed_) *destroyed_ = true;
    // Allowed: after a crash every call is a no-op.
    rt_.timers.schedule(1, [] {});
  }
  void start() override {
    started_at = rt_.clock.now_ns();
    if (script_) script_(rt_);
  }
  void on_accepted(ConnId, std::string_view) override {}
  void on_connected(ConnId) override {}
  void on_message(ConnId, std::span<const uint8_t>) override {}
  void on_closed(ConnId conn, CloseReason) override { closed.push_back(conn); }

  TimeNs started_at = -1;
  std::vector<ConnId> closed;

 private:
  Runtime& rt_;
  std::function<void(Runtime&)> script_;
  bool* destroyed_;
};

std::shared_ptr<spdlog::logger> quiet_sink() {
  return std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::null_sink_st>());
}

SimOptions options(uint64_t seed) {
  SimOptions o;
  o.seed = seed;
  o.log_sink = quiet_sink();
  return o;
}

TEST(SimHost, StartRunsFromTheEventLoopNotInsideAttach) {
  Simulation sim(options(1));
  Host& h = sim.add_host("a", NodeId(1));
  sim.run_until(5 * kNsPerMs);
  auto c = std::make_unique<Scripted>(h.runtime(), nullptr);
  Scripted* raw = c.get();
  h.attach(std::move(c));
  EXPECT_EQ(raw->started_at, -1);
  EXPECT_EQ(h.component(), raw);
  sim.run_until(6 * kNsPerMs);
  EXPECT_EQ(raw->started_at, 5 * kNsPerMs);
  EXPECT_EQ(sim.trace_records(), 1u);  // kHostStarted
}

TEST(SimHost, TimersFireInOrderAndCancelFollowsTheContract) {
  Simulation sim(options(1));
  Host& h = sim.add_host("a", NodeId(1));
  Timers& t = h.runtime().timers;
  std::string order;
  const TimerId a = t.schedule(10, [&] { order += 'a'; });
  const TimerId b = t.schedule(10, [&] { order += 'b'; });
  const TimerId c = t.schedule(5, [&] { order += 'c'; });
  t.schedule(10, [&] { order += 'd'; });
  t.schedule(-3, [&] { order += 'n'; });  // a deadline already past: as soon as possible
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(t.cancel(b));
  EXPECT_FALSE(t.cancel(b));
  EXPECT_EQ(h.timers_pending(), 4u);
  sim.run_until(7);
  EXPECT_FALSE(t.cancel(c));  // fired
  EXPECT_FALSE(t.cancel(12345));
  sim.run_until(100);
  EXPECT_EQ(order, "ncad");
  EXPECT_EQ(h.timers_pending(), 0u);
}

TEST(SimHost, CancelAndRearmFromInsideATimer) {
  Simulation sim(options(1));
  Host& h = sim.add_host("a", NodeId(1));
  Timers& t = h.runtime().timers;
  std::vector<TimeNs> fired;
  TimerId periodic = 0;
  std::function<void()> arm = [&] {
    periodic = t.schedule(100, [&] {
      fired.push_back(h.runtime().clock.now_ns());
      EXPECT_FALSE(t.cancel(periodic));  // this timer has fired
      arm();
    });
  };
  arm();
  sim.run_until(350);
  ASSERT_TRUE(t.cancel(periodic));
  arm();  // re-arm after cancel: counts from now
  sim.run_until(1000);
  EXPECT_EQ(fired, (std::vector<TimeNs>{100, 200, 300, 450, 550, 650, 750, 850, 950}));
}

TEST(SimHost, ClockIsKernelTime) {
  Simulation sim(options(1));
  Host& h = sim.add_host("a", NodeId(1));
  sim.run_until(1234);
  EXPECT_EQ(h.runtime().clock.now_ns(), 1234);
}

TEST(SimHost, RandomStreamsArePerHostAndFollowTheSeed) {
  Simulation one(options(42));
  Simulation two(options(42));
  Simulation other(options(43));
  Host& a1 = one.add_host("a", NodeId(1));
  Host& b1 = one.add_host("b", NodeId(2));
  Host& a2 = two.add_host("a", NodeId(1));
  Host& a3 = other.add_host("a", NodeId(1));
  const uint64_t first = a1.runtime().random.next_u64();
  EXPECT_EQ(first, a2.runtime().random.next_u64());
  EXPECT_NE(first, b1.runtime().random.next_u64());
  EXPECT_NE(first, a3.runtime().random.next_u64());
  EXPECT_EQ(first, Xoshiro256(derive_seed(42, 1)).next_u64());
}

std::string run_logging(uint64_t seed) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::logger>("t", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  sink->set_pattern("%v");  // SpdLogger writes the whole line, time included
  SimOptions o = options(seed);
  o.log_sink = sink;
  o.log_level = LogLevel::kInfo;
  Simulation sim(o);
  Host& h = sim.add_host("logger", NodeId(3));
  h.attach(std::make_unique<Scripted>(h.runtime(), [](Runtime& rt) {
    rt.timers.schedule(kNsPerSec + 1500 * kNsPerUs, [&rt] {
      log_at(rt.log, LogLevel::kInfo, LogIds{2, 7, EntityId(9)}, "draw {}", rt.random.next_u64() % 1000);
      log_at(rt.log, LogLevel::kDebug, LogIds{}, "filtered");
    });
  }));
  sim.run_until(2 * kNsPerSec);
  return out.str();
}

TEST(SimHost, LogsAreStampedWithVirtualTimeAndRepeatByteForByte) {
  const std::string first = run_logging(5);
  EXPECT_NE(first.find("1970-01-01T00:00:01.001500Z"), std::string::npos) << first;
  EXPECT_NE(first.find("[logger n=3 ep=2 t=7 e=9] draw"), std::string::npos) << first;
  EXPECT_EQ(first.find("filtered"), std::string::npos);
  EXPECT_EQ(first, run_logging(5));
}

TEST(SimHost, TraceSinkStampsTimeAndNode) {
  const std::string path = testing::TempDir() + "sim_host_trace.bin";
  SimOptions o = options(1);
  o.trace_path = path;
  Simulation sim(o);
  Host& h = sim.add_host("a", NodeId(4));
  sim.run_until(77);
  TraceEvent e;
  e.kind = TraceKind::kEntitySpawned;
  e.time_ns = 999999;  // overwritten by the runtime
  e.entity = EntityId(5);
  e.a = -3;
  h.runtime().trace.record(e);
  sim.finish();
  std::vector<TraceEvent> read;
  ASSERT_TRUE(app::visit_trace_file(path, [&](const TraceEvent& r) { read.push_back(r); }).ok());
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0].time_ns, 77);
  EXPECT_EQ(read[0].node, NodeId(4));
  EXPECT_EQ(read[0].entity, EntityId(5));
  EXPECT_EQ(read[0].a, -3);
  EXPECT_EQ(sim.trace_records(), 1u);
}

TEST(SimHost, CrashDropsTimersDestroysComponentAndSilencesTheRuntime) {
  Simulation sim(options(1));
  Host& h = sim.add_host("victim", NodeId(1));
  bool destroyed = false;
  bool fired = false;
  h.attach(std::make_unique<Scripted>(h.runtime(), [&](Runtime& rt) {
    rt.timers.schedule(10 * kNsPerMs, [&] { fired = true; });
  }, &destroyed));
  sim.run_until(kNsPerMs);
  ASSERT_EQ(h.timers_pending(), 1u);
  const uint64_t records = sim.trace_records();
  h.crash();
  EXPECT_FALSE(h.alive());
  EXPECT_TRUE(destroyed);
  EXPECT_EQ(h.component(), nullptr);
  EXPECT_EQ(h.timers_pending(), 0u);
  EXPECT_EQ(sim.trace_records(), records + 1);  // kHostCrashed

  Runtime& rt = h.runtime();
  bool late = false;
  const TimerId id = rt.timers.schedule(1, [&] { late = true; });
  EXPECT_NE(id, 0u);
  EXPECT_FALSE(rt.timers.cancel(id));
  EXPECT_EQ(rt.network.connect("x:1"), 1u);  // an id, that never reports
  EXPECT_FALSE(rt.network.listen("x:1").ok());
  const uint8_t byte = 1;
  EXPECT_EQ(rt.network.send(1, {&byte, 1}), SendStatus::kClosed);
  rt.trace.record(TraceEvent{});
  EXPECT_EQ(sim.trace_records(), records + 1);
  sim.run_until(kNsPerSec);
  EXPECT_FALSE(fired);
  EXPECT_FALSE(late);
  EXPECT_EQ(sim.kernel().pending(), 0u);
}

TEST(SimHost, CrashBeforeStartMeansStartNeverRuns) {
  Simulation sim(options(1));
  Host& h = sim.add_host("a", NodeId(1));
  bool ran = false;
  h.attach(std::make_unique<Scripted>(h.runtime(), [&](Runtime&) { ran = true; }));
  h.crash();
  sim.run_until(kNsPerSec);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace aether::sim
