// Scenario files (app/scenario.h): Protobuf text checked against proto/scenario.proto, then
// validate_scenario, then everything `aether sim` does with a scenario before and while it runs.
//
// Input: the file. A scenario that parses must print and parse back to the same scenario with the
// same verdict. One that passes must give a fault schedule (its events and two seeds' chaos) whose
// every event passes validate_event (the injector assumes it), that prints (`--print-faults`) and
// reads back the same; and, for a small topology, a simulated cluster built from it must carry the
// schedule out without tripping an assertion. (Bots are capped at 2, the run at 1 s of simulated
// time, and every event is moved into that second: what is tested is that each validated event can
// be carried out, not the battle. Chaos over more than kChaosEventsMax gaps is not drawn: a
// legitimate scenario of a day of faults every 50 ms would only make the run slow.)

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/text_format.h>
#include <spdlog/sinks/null_sink.h>
#include <google/protobuf/util/message_differencer.h>

#include "app/faults.h"
#include "app/scenario.h"
#include "app/sim_hosting.h"
#include "app/text_config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace aether;
using google::protobuf::util::MessageDifferencer;

constexpr uint64_t kChaosEventsMax = 20'000;
constexpr uint32_t kServersRunMax = 6;
constexpr uint32_t kBotsRunMax = 2;
constexpr TimeNs kRunNs = kNsPerSec;

void check_schedule(const wire::Scenario& s, const std::vector<wire::ScenarioEvent>& schedule) {
  for (size_t i = 0; i < schedule.size(); ++i) {
    const Status ok = app::validate_event(s, schedule[i], "drawn");
    FUZZ_CHECK(ok.ok(), "the schedule holds an invalid event: %s", ok.error().message.c_str());
    FUZZ_CHECK(i == 0 || schedule[i - 1].at_ms() <= schedule[i].at_ms(), "the schedule is out of time order");
  }
  FUZZ_CHECK(app::faults_end_ns(schedule) >= 0, "faults end before the run");
  // `--print-faults`: what it prints reads back as the same events.
  const std::string text = app::events_as_text(schedule);
  wire::Scenario printed;
  FUZZ_CHECK(app::parse_text_proto("faults.textpb", text, &printed).ok(), "printed faults do not parse:\n%s", text.c_str());
  FUZZ_CHECK(static_cast<size_t>(printed.events_size()) == schedule.size(), "printed faults: %d events of %zu", printed.events_size(),
             schedule.size());
  for (size_t i = 0; i < schedule.size(); ++i) {
    FUZZ_CHECK(MessageDifferencer::Equals(printed.events(static_cast<int>(i)), schedule[i]), "printed event %zu reads back differently", i);
  }
}

void run_small(const wire::Scenario& s, const std::vector<wire::ScenarioEvent>& schedule) {
  app::ClusterShape shape = app::cluster_shape(s);
  if (shape.coordinators + shape.compute_nodes + shape.gateways > kServersRunMax) return;
  shape.bots = std::min(shape.bots, kBotsRunMax);
  std::vector<wire::ScenarioEvent> events;
  for (wire::ScenarioEvent e : schedule) {
    e.set_at_ms(e.at_ms() % static_cast<uint32_t>(kRunNs / kNsPerMs));
    events.push_back(std::move(e));
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.at_ms() < b.at_ms(); });
  sim::SimOptions options;
  options.seed = 1;
  options.latency_ns = static_cast<TimeNs>(s.network().latency_us()) * kNsPerUs;
  options.jitter_ns = static_cast<TimeNs>(s.network().jitter_us()) * kNsPerUs;
  options.log_level = LogLevel::kError;
  options.log_sink = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
  sim::Simulation sim(options);
  app::SimHosting hosting(sim);
  Xoshiro256 join_random(1);
  app::Cluster cluster(hosting, shape, join_random);
  app::FaultInjector injector(sim, cluster);
  injector.schedule(events);
  injector.arm_moments(s, 1, events, [](TimeNs) {});
  sim.set_trace_observer([&injector](const TraceEvent& r) { injector.aim(r); });
  sim.run_until(kRunNs);
  sim.set_trace_observer(nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  aether::fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  wire::Scenario s;
  if (auto st = app::parse_text_proto("fuzz.textpb", text, &s); !st) {
    FUZZ_CHECK(!st.error().message.empty(), "a parse error without a reason");
    return 0;
  }
  const Status verdict = app::validate_scenario(s);
  std::string printed;
  FUZZ_CHECK(google::protobuf::TextFormat::PrintToString(s, &printed), "a parsed scenario does not print");
  wire::Scenario again;
  FUZZ_CHECK(app::parse_text_proto("printed.textpb", printed, &again).ok(), "a printed scenario does not parse:\n%s", printed.c_str());
  FUZZ_CHECK(MessageDifferencer::Equals(s, again), "a scenario changes when printed and read back");
  FUZZ_CHECK(app::validate_scenario(again).ok() == verdict.ok(), "a printed scenario gets another verdict");
  if (!verdict) {
    FUZZ_CHECK(!verdict.error().message.empty(), "a rejection without a reason");
    return 0;
  }
  if (s.has_chaos() && (s.chaos().stop_ms() - s.chaos().start_ms()) / s.chaos().mean_gap_min_ms() > kChaosEventsMax) return 0;
  std::vector<wire::ScenarioEvent> schedule;
  for (uint64_t seed : {uint64_t{1}, uint64_t{0x5eed}}) {
    schedule = app::fault_schedule(s, seed);
    check_schedule(s, schedule);
  }
  run_small(s, schedule);
  return 0;
}
