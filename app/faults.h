#pragma once
// Faults in a simulated run: the scenario's explicit timeline (ScenarioEvent) and the faults drawn
// from the seed (ScenarioChaos) are one thing. draw_chaos() turns a seed into a list of
// ScenarioEvents, the very type a scenario file holds, so that any seed's faults can be printed
// (`aether sim X --seed N --print-faults`) and pasted into a scenario as a regression case that
// survives code changes. FaultInjector puts a list of events on the kernel's timeline and carries
// each one out on the simulation (links, hosts, clocks) and the cluster (restarts).

#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "app/cluster.h"
#include "engine/core/random.h"
#include "engine/core/result.h"
#include "engine/runtime/trace.h"
#include "runtime/sim/simulation.h"
#include "scenario.pb.h"

namespace aether::app {

// Every fault kind, by the name ScenarioChaos.kinds and the summary tables use.
const std::vector<std::string>& fault_kind_names();
// Every protocol moment faults can be aimed at (ScenarioChaos.moments).
const std::vector<std::string>& moment_names();

// Checks one event against the scenario's hosts (names, ranges). `where` prefixes the message.
Status validate_event(const wire::Scenario& s, const wire::ScenarioEvent& e, const std::string& where);
Status validate_chaos(const wire::Scenario& s);

// The faults of this seed, sorted by time; empty when the scenario has no chaos block. Pure: the
// same scenario and seed always give the same list, and drawing them touches no other random stream.
std::vector<wire::ScenarioEvent> draw_chaos(const wire::Scenario& s, uint64_t seed);

// The whole schedule of a run: the scenario's own events and this seed's chaos, by time.
std::vector<wire::ScenarioEvent> fault_schedule(const wire::Scenario& s, uint64_t seed);

// When the last of these events is over (a pause resumed, a partition healed, a crash restarted).
TimeNs faults_end_ns(const std::vector<wire::ScenarioEvent>& events);

// The events as scenario text ("events { ... }" blocks), ready to paste into a .textpb file.
std::string events_as_text(const std::vector<wire::ScenarioEvent>& events);

struct FaultCounts {
  std::map<std::string, uint64_t> by_kind;  // events carried out, by kind
  uint64_t skipped = 0;                     // named a host that was not there (dead, no leader)
  // Admin orders whose outcome was not the one the scenario expects (AdminOrder.expect): the run
  // fails. The first such, described.
  uint64_t admin_unexpected = 0;
  std::string first_admin_unexpected;
};

class FaultInjector {
 public:
  FaultInjector(sim::Simulation& sim, Cluster& cluster);
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  // Puts every event on the kernel's timeline. The events must be valid (validate_event).
  void schedule(const std::vector<wire::ScenarioEvent>& events);
  const FaultCounts& counts() const { return counts_; }

  // Faults aimed at protocol moments (ScenarioChaos.moments): which moments are armed, how often each
  // fires and how many may fire are drawn from the seed now; aim() then sees every trace record and,
  // at an armed moment, may schedule a fault on the processes involved a few milliseconds later.
  // `fired(end_ns)` is told when each fault will be over (the checker's convergence clock).
  // `schedule` is the run's static schedule: an aimed crash never overlaps one of its crashes of the
  // same role (the fault model keeps one process per role alive).
  void arm_moments(const wire::Scenario& s, uint64_t seed, const std::vector<wire::ScenarioEvent>& schedule, std::function<void(TimeNs)> fired);
  void aim(const TraceEvent& r);
  // The faults aim() fired, as explicit events: with the static schedule, what keeps the run.
  const std::vector<wire::ScenarioEvent>& aimed() const { return aimed_; }

 private:
  using LinkKey = std::pair<size_t, size_t>;

  void run(const wire::ScenarioEvent& e);
  // Host indices for names ("@leader" and "@vice" resolved now); false if one is not there.
  bool resolve(const std::string& name, size_t* index) const;
  bool resolve_all(const google::protobuf::RepeatedPtrField<std::string>& names, std::vector<size_t>* out, bool empty_means_all) const;
  void crash(size_t host);
  void restart(size_t host);
  void watch_stop(size_t host, TimeNs deadline, uint32_t incarnation, uint32_t restart_after_ms);
  static std::vector<LinkKey> links_between(const std::vector<size_t>& from, const std::vector<size_t>& to);
  // Applies a per-link setting now (apply(link, true)) and, after duration_ms (0: never), takes it
  // back (apply(link, false)) on the links no later fault has set again meanwhile.
  void set_for_a_while(std::map<LinkKey, uint64_t>& tokens, const std::vector<LinkKey>& links, uint32_t duration_ms,
                       const std::function<void(const LinkKey&, bool)>& apply);
  void links_down(const std::vector<LinkKey>& links);
  void links_up(const std::vector<LinkKey>& links);
  void heal();
  // An operator's command (AdminOrder) to a live coordinator, through the rule of the real listener.
  void admin_order(size_t host, const wire::AdminOrder& order);
  void count(const std::string& kind) { ++counts_.by_kind[kind]; }

  sim::Simulation& sim_;
  Cluster& cluster_;
  std::map<std::string, size_t> host_index_;
  std::map<LinkKey, uint32_t> down_;            // partitions holding each link down
  std::map<LinkKey, uint64_t> link_fault_token_;  // the fault that last set a link's rates
  std::map<LinkKey, uint64_t> delay_token_;
  std::map<size_t, uint64_t> slow_token_;
  std::map<size_t, uint64_t> storage_token_;  // the storage event that last set a host's disk faults
  uint64_t next_token_ = 1;
  FaultCounts counts_;
  // Aimed faults (arm_moments, aim).
  struct Moments {
    std::map<std::string, uint32_t> fire_permille;  // armed moment -> chance of a fault when it happens
    uint32_t left = 0;                              // faults still allowed this run
    TimeNs from_ns = 0, until_ns = 0;               // only within this window
    std::multimap<std::string, std::pair<TimeNs, TimeNs>> crashes;  // role -> [down, back + 2 s): one per role at a time
    std::unique_ptr<Random> random;
    std::function<void(TimeNs)> fired;
    uint32_t coordinators = 0, computes = 0, gateways = 0;
  };
  void strike(const std::string& moment, const std::string& host);
  std::string host_of(NodeId node) const;
  Moments moments_;
  std::vector<wire::ScenarioEvent> aimed_;
};

}  // namespace aether::app
