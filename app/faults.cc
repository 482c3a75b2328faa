#include "app/faults.h"

#include <algorithm>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>

#include "engine/core/assert.h"
#include "engine/core/cluster_timing.h"
#include "engine/core/random.h"
#include "engine/net/admin_rule.h"

namespace aether::app {

namespace {

// A graceful stop's deadline when the scenario names none (Kubernetes' default grace period).
constexpr uint32_t kStopDeadlineDefaultMs = 30'000;
uint32_t stop_deadline_ms(const wire::StopFault& s) { return s.deadline_ms() > 0 ? s.deadline_ms() : kStopDeadlineDefaultMs; }

// Stream id of the chaos draw: derive_seed(seed, kChaosStream); of the aimed faults, kMomentStream.
constexpr uint64_t kChaosStream = 0xc4a05;
constexpr uint64_t kMomentStream = 0xb0661f;
constexpr uint32_t kDefaultMomentFaultsMax = 8;
constexpr uint32_t kDefaultMaxLossPermille = 50;
constexpr uint32_t kDefaultMaxDuplicatePermille = 5;
constexpr uint32_t kDefaultMaxReorderPermille = 100;
// Clock drifts chaos draws: `clock-drift` within the protocol's bound (docs/ownership.md §2a), where
// nothing may go wrong; `clock-rogue` beyond it, on a compute node's clock running slow, where the
// node must find out and stop writing.
constexpr int32_t kChaosDriftPpmMax = static_cast<int32_t>(kClockRateErrorPpmMax);
constexpr int32_t kChaosRogueDriftPpmMin = 30'000;
constexpr int32_t kChaosRogueDriftPpmMax = 80'000;
constexpr uint32_t kFaultDurationMsMax = 600'000;

Error bad(const std::string& what) { return make_error(Error::Code::kInvalidArgument, what); }

std::vector<std::string> servers_of(const wire::Scenario& s) {
  std::vector<std::string> names;
  for (uint32_t i = 1; i <= s.topology().coordinators(); ++i) names.push_back(fmt::format("coordinator-{}", i));
  for (uint32_t i = 1; i <= s.topology().compute_nodes(); ++i) names.push_back(fmt::format("compute-{}", i));
  for (uint32_t i = 1; i <= s.topology().gateways(); ++i) names.push_back(fmt::format("gateway-{}", i));
  return names;
}

bool host_exists(const wire::Scenario& s, const std::string& name) {
  if (name == "@leader" || name == "@vice") return true;
  auto numbered = [&](const char* role, uint32_t count) {
    const std::string prefix = fmt::format("{}-", role);
    if (name.rfind(prefix, 0) != 0) return false;
    const std::string rest = name.substr(prefix.size());
    if (rest.empty() || rest.size() > 6 || rest[0] == '0') return false;
    uint32_t n = 0;
    for (const char c : rest) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    return n >= 1 && n <= count;
  };
  if (name == "database") return s.topology().shared_database();
  return numbered("coordinator", s.topology().coordinators()) || numbered("compute", s.topology().compute_nodes()) ||
         numbered("gateway", s.topology().gateways()) || numbered("bot", s.bots().count());
}

bool is_server(const std::string& name) {
  return name.rfind("coordinator-", 0) == 0 || name.rfind("compute-", 0) == 0 || name.rfind("gateway-", 0) == 0 || name == "@leader" ||
         name == "@vice";
}

// The kind of a partition event, as the summary counts it.
std::string partition_kind(const wire::PartitionFault& p) {
  if (p.one_way()) return "one-way";
  if (p.side_a_size() == 1 && p.side_b_size() == 1 && p.side_a(0) == "@leader" && p.side_b(0) == "@vice") return "leader-vice";
  if (p.side_b_size() == 0 && p.side_a_size() == 1) return "isolate";
  return "partition";
}

TimeNs ms(uint64_t v) { return static_cast<TimeNs>(v) * kNsPerMs; }

uint32_t between(Random& r, uint32_t lo, uint32_t hi) {
  AETHER_ASSERT(lo <= hi);
  return lo + static_cast<uint32_t>(uniform_below(r, uint64_t{hi} - lo + 1));
}

}  // namespace

// The kinds a chaos block with no `kinds` draws from. The storage kinds are not among them: they
// matter only where something is stored (durable promises, content with loot and characters), and
// adding them would change every existing scenario's draw, so every kept regression seed.
const std::vector<std::string>& default_fault_kind_names() {
  static const std::vector<std::string> kinds = {"partition", "isolate",     "leader-vice",   "one-way",           "bridge",
                                                 "loss",      "duplicate",   "reorder",       "spike",             "clog",
                                                 "crash-compute", "crash-coordinator", "crash-gateway", "pause", "clock-drift",
                                                 "clock-jump", "slow", "clock-rogue"};
  return kinds;
}

const std::vector<std::string>& storage_fault_kind_names() {
  static const std::vector<std::string> kinds = {"disk-fail", "disk-slow", "disk-full", "crash-database"};
  return kinds;
}

const std::vector<std::string>& fault_kind_names() {
  static const std::vector<std::string> kinds = [] {
    std::vector<std::string> all = default_fault_kind_names();
    for (const auto& k : storage_fault_kind_names()) all.push_back(k);
    return all;
  }();
  return kinds;
}

const std::vector<std::string>& moment_names() {
  static const std::vector<std::string> names = {"migration", "handoff",      "candidacy", "promise",
                                                 "orphaning", "lease-expiry", "fence",     "takeover"};
  return names;
}

namespace {

std::optional<AdminRequest::Command> admin_command_of(const std::string& name) {
  for (const auto c : {AdminRequest::Command::kListNodes, AdminRequest::Command::kShowEntity, AdminRequest::Command::kMove,
                       AdminRequest::Command::kDrain, AdminRequest::Command::kFailover, AdminRequest::Command::kGhostQuery,
                       AdminRequest::Command::kDebug}) {
    if (name == admin_command_name(c)) return c;
  }
  return std::nullopt;
}

AdminRequest admin_request_of(const wire::AdminOrder& o) {
  AdminRequest req{admin_command_of(o.command()).value_or(AdminRequest::Command::kListNodes), EntityId(o.entity()), NodeId(o.node()), {}};
  if (req.command == AdminRequest::Command::kDebug) {
    if (o.entity() != 0) req.debug.entities.push_back(EntityId(o.entity()));
    if (o.node() != 0) req.debug.nodes.push_back(NodeId(o.node()));
    req.debug.off = o.off();
  }
  return req;
}

Status validate_admin_order(const wire::Scenario& s, const wire::AdminOrder& o, const std::string& where) {
  const std::string& c = o.coordinator();
  if (c != "@leader" && c != "@vice" && (!host_exists(s, c) || c.rfind("coordinator-", 0) != 0)) {
    return bad(fmt::format("{}: admin.coordinator '{}' is no coordinator (coordinator-N, @leader, @vice)", where, c));
  }
  if (!valid_operator_name(o.operator_name())) return bad(fmt::format("{}: admin.operator_name: 1 to 64 of a-z 0-9 . _ -", where));
  if (!parse_operator_role(o.role())) return bad(fmt::format("{}: admin.role is viewer, operator or admin", where));
  const auto command = admin_command_of(o.command());
  if (!command) return bad(fmt::format("{}: admin.command is nodes, entity, move, drain, failover, ghost-query or debug", where));
  const bool needs_entity = *command == AdminRequest::Command::kShowEntity || *command == AdminRequest::Command::kMove ||
                            *command == AdminRequest::Command::kGhostQuery;
  const bool needs_node = *command == AdminRequest::Command::kMove || *command == AdminRequest::Command::kDrain;
  if ((needs_entity && o.entity() == 0) || (needs_node && o.node() == 0)) return bad(fmt::format("{}: admin {} needs its entity and node", where, o.command()));
  if (o.off() && *command != AdminRequest::Command::kDebug) return bad(fmt::format("{}: admin.off is for debug", where));
  if (!o.expect().empty() && o.expect() != "done" && o.expect() != "refused" && o.expect() != "failed") {
    return bad(fmt::format("{}: admin.expect is done, refused or failed", where));
  }
  return ok_status();
}

}  // namespace

Status validate_event(const wire::Scenario& s, const wire::ScenarioEvent& e, const std::string& where) {
  auto host = [&](const std::string& name, bool server_only) -> Status {
    if (!host_exists(s, name)) return bad(fmt::format("{}: no host named '{}'", where, name));
    // The shared database (topology.shared_database) is a host of its own: its disk's faults, its crash and restart.
    if (server_only && !is_server(name) && !(name == "database" && s.topology().shared_database())) return bad(fmt::format("{}: '{}' is not a server (coordinator, compute or gateway)", where, name));
    return ok_status();
  };
  auto hosts = [&](const auto& names) -> Status {
    for (const auto& n : names) {
      if (auto st = host(n, false); !st) return st;
    }
    return ok_status();
  };
  auto duration = [&](uint32_t d) -> Status {
    return d <= kFaultDurationMsMax ? ok_status() : bad(fmt::format("{}: duration_ms must be at most {}", where, kFaultDurationMsMax));
  };
  if (e.at_ms() >= s.duration_s() * 1000) return bad(fmt::format("{}: at_ms is past the end of the run", where));
  switch (e.action_case()) {
    case wire::ScenarioEvent::ACTION_NOT_SET: return bad(fmt::format("{} has no action", where));
    case wire::ScenarioEvent::kCrash: return host(e.crash(), false);
    case wire::ScenarioEvent::kRestart: return host(e.restart(), true);
    case wire::ScenarioEvent::kCrashFault:
      if (auto st = host(e.crash_fault().host(), e.crash_fault().restart_after_ms() > 0); !st) return st;
      return duration(e.crash_fault().restart_after_ms());
    case wire::ScenarioEvent::kStop:
      if (auto st = host(e.stop().host(), e.stop().restart_after_ms() > 0); !st) return st;
      if (auto st = duration(e.stop().deadline_ms()); !st) return st;
      return duration(e.stop().restart_after_ms());
    case wire::ScenarioEvent::kPartition: {
      const auto& p = e.partition();
      if (p.side_a_size() == 0) return bad(fmt::format("{}: partition.side_a is empty", where));
      if (auto st = hosts(p.side_a()); !st) return st;
      if (auto st = hosts(p.side_b()); !st) return st;
      for (const auto& a : p.side_a()) {
        if (std::find(p.side_b().begin(), p.side_b().end(), a) != p.side_b().end()) {
          return bad(fmt::format("{}: '{}' is on both sides of the partition", where, a));
        }
      }
      return duration(p.duration_ms());
    }
    case wire::ScenarioEvent::kHeal: return ok_status();
    case wire::ScenarioEvent::kLinkFaults: {
      const auto& f = e.link_faults();
      if (f.loss_permille() > 1000 || f.duplicate_permille() > 1000 || f.reorder_permille() > 1000) {
        return bad(fmt::format("{}: link fault rates are permille, at most 1000", where));
      }
      if (auto st = hosts(f.from()); !st) return st;
      if (auto st = hosts(f.to()); !st) return st;
      return duration(f.duration_ms());
    }
    case wire::ScenarioEvent::kDelay:
      if (e.delay().extra_ms() > 60'000) return bad(fmt::format("{}: delay.extra_ms must be at most 60000", where));
      if (auto st = hosts(e.delay().from()); !st) return st;
      if (auto st = hosts(e.delay().to()); !st) return st;
      return duration(e.delay().duration_ms());
    case wire::ScenarioEvent::kPause:
      if (e.pause().duration_ms() == 0) return bad(fmt::format("{}: pause.duration_ms must be > 0", where));
      if (auto st = host(e.pause().host(), false); !st) return st;
      return duration(e.pause().duration_ms());
    case wire::ScenarioEvent::kClock:
      if (e.clock().drift_ppm() < -sim::kClockDriftPpmMax || e.clock().drift_ppm() > sim::kClockDriftPpmMax) {
        return bad(fmt::format("{}: clock.drift_ppm must be within +-{}", where, sim::kClockDriftPpmMax));
      }
      if (e.clock().jump_ms() > 600'000) return bad(fmt::format("{}: clock.jump_ms must be at most 600000", where));
      return host(e.clock().host(), false);
    case wire::ScenarioEvent::kSlow:
      if (e.slow().extra_ms() > 10'000) return bad(fmt::format("{}: slow.extra_ms must be at most 10000", where));
      if (auto st = host(e.slow().host(), false); !st) return st;
      return duration(e.slow().duration_ms());
    case wire::ScenarioEvent::kAdmin: return validate_admin_order(s, e.admin(), where);
    case wire::ScenarioEvent::kStorage: {
      const auto& f = e.storage();
      if (f.write_fail_permille() > 1000 || f.torn_permille() > 1000) return bad(fmt::format("{}: storage rates are permille, at most 1000", where));
      const uint64_t latency_max_ms = sim::kSimStorageFaultLatencyMaxNs / kNsPerMs;
      if (f.latency_ms() > latency_max_ms || f.sync_stall_ms() > latency_max_ms) {
        return bad(fmt::format("{}: storage latency_ms and sync_stall_ms must be at most {}", where, latency_max_ms));
      }
      if (auto st = host(f.host(), true); !st) return st;
      return duration(f.duration_ms());
    }
  }
  return bad(fmt::format("{}: unknown action", where));
}

Status validate_chaos(const wire::Scenario& s) {
  if (!s.has_chaos()) return ok_status();
  const auto& c = s.chaos();
  // A fault's last event (a clock set right again) may fall on stop_ms, and events lie before the end.
  if (c.stop_ms() <= c.start_ms() || c.stop_ms() >= s.duration_s() * 1000) return bad("chaos: want start_ms < stop_ms < the run's end");
  if (c.mean_gap_min_ms() < 50 || c.mean_gap_max_ms() < c.mean_gap_min_ms()) return bad("chaos: want 50 <= mean_gap_min_ms <= mean_gap_max_ms");
  // Longer gaps draw nothing; and gap sums must stay far from 2^32 ms.
  if (c.mean_gap_max_ms() > s.duration_s() * 1000) return bad("chaos: mean_gap_max_ms must be at most the run's length");
  for (const auto& k : c.kinds()) {
    const auto& all = fault_kind_names();
    if (std::find(all.begin(), all.end(), k) == all.end()) return bad(fmt::format("chaos: unknown fault kind '{}'", k));
  }
  if (c.max_loss_permille() > 1000 || c.max_duplicate_permille() > 1000 || c.max_reorder_permille() > 1000) {
    return bad("chaos: rates are permille, at most 1000");
  }
  for (const auto& m : c.moments()) {
    const auto& all = moment_names();
    if (m != "all" && std::find(all.begin(), all.end(), m) == all.end()) return bad(fmt::format("chaos: unknown moment '{}'", m));
  }
  if (c.moment_faults_max() > 100) return bad("chaos: moment_faults_max must be at most 100");
  return ok_status();
}

std::vector<wire::ScenarioEvent> draw_chaos(const wire::Scenario& s, uint64_t seed) {
  std::vector<wire::ScenarioEvent> out;
  if (!s.has_chaos()) return out;
  const auto& c = s.chaos();
  Xoshiro256 r(derive_seed(seed, kChaosStream));
  const uint32_t coordinators = s.topology().coordinators();
  const uint32_t computes = s.topology().compute_nodes();
  const uint32_t gateways = s.topology().gateways();
  const std::vector<std::string> servers = servers_of(s);
  // The kinds this topology can have: a crash needs a survivor of the same role to take over.
  std::vector<std::string> kinds;
  // The hosts with a disk the cluster writes to: the shared database, when there is one, and every
  // compute node (durable promises; loot and saves when there is no shared database).
  std::vector<std::string> disks;
  if (s.topology().shared_database()) disks.emplace_back("database");
  for (uint32_t i = 1; i <= computes; ++i) disks.push_back(fmt::format("compute-{}", i));
  for (const std::string& k : c.kinds().empty() ? default_fault_kind_names() : std::vector<std::string>(c.kinds().begin(), c.kinds().end())) {
    if ((k == "leader-vice" || k == "crash-coordinator") && coordinators < 2) continue;
    if (k == "crash-database" && !s.topology().shared_database()) continue;
    if (k == "crash-compute" && computes < 2) continue;
    if (k == "crash-gateway" && gateways < 2) continue;
    if (k == "bridge" && servers.size() < 3) continue;
    kinds.push_back(k);
  }
  if (kinds.empty()) return out;
  // How brutal this run is: drawn once per seed.
  const uint32_t mean_gap = between(r, c.mean_gap_min_ms(), c.mean_gap_max_ms());
  const uint32_t loss_max = c.max_loss_permille() ? c.max_loss_permille() : kDefaultMaxLossPermille;
  const uint32_t dup_max = c.max_duplicate_permille() ? c.max_duplicate_permille() : kDefaultMaxDuplicatePermille;
  const uint32_t reorder_max = c.max_reorder_permille() ? c.max_reorder_permille() : kDefaultMaxReorderPermille;
  // One crash per role at a time (so a quorum survives, as the fault model assumes); a host busy
  // with one fault gets no other until it is over.
  std::map<std::string, uint32_t> crashed_until;  // role -> ms
  std::map<std::string, uint32_t> host_busy_until;
  auto pick = [&](const std::string& prefix, uint32_t count) { return fmt::format("{}-{}", prefix, between(r, 1, count)); };
  auto any_server = [&] { return servers[uniform_below(r, servers.size())]; };
  uint32_t t = c.start_ms();
  for (;;) {
    t += between(r, mean_gap / 2, mean_gap + mean_gap / 2);
    if (t + 200 >= c.stop_ms()) break;
    const uint32_t room = c.stop_ms() - t;  // every fault is over by stop_ms
    auto span = [&](uint32_t lo, uint32_t hi) { return std::min(room, between(r, lo, hi)); };
    const std::string& kind = kinds[uniform_below(r, kinds.size())];
    wire::ScenarioEvent e;
    e.set_at_ms(t);
    if (kind == "partition" || kind == "bridge") {
      std::vector<std::string> shuffled = servers;
      for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[uniform_below(r, i)]);
      const size_t bridge = kind == "bridge" ? 1 : 0;  // the first one stays on both sides
      const size_t rest = shuffled.size() - bridge;
      const size_t cut = bridge + 1 + uniform_below(r, rest - 1);
      auto* p = e.mutable_partition();
      for (size_t i = bridge; i < shuffled.size(); ++i) (i < cut ? p->add_side_a() : p->add_side_b())->assign(shuffled[i]);
      p->set_duration_ms(span(500, 5000));
    } else if (kind == "isolate") {
      e.mutable_partition()->add_side_a(any_server());
      e.mutable_partition()->set_duration_ms(span(500, 5000));
    } else if (kind == "leader-vice") {
      e.mutable_partition()->add_side_a("@leader");
      e.mutable_partition()->add_side_b("@vice");
      e.mutable_partition()->set_duration_ms(span(500, 5000));
    } else if (kind == "one-way") {
      e.mutable_partition()->add_side_a(any_server());
      e.mutable_partition()->set_one_way(true);
      e.mutable_partition()->set_duration_ms(span(500, 4000));
    } else if (kind == "loss" || kind == "duplicate" || kind == "reorder") {
      auto* f = e.mutable_link_faults();
      if (uniform_below(r, 2) == 0) f->add_from(any_server());  // one host's links, or all of them
      if (kind == "loss") f->set_loss_permille(between(r, 1, loss_max));
      if (kind == "duplicate") f->set_duplicate_permille(between(r, 1, dup_max));
      if (kind == "reorder") f->set_reorder_permille(between(r, 1, reorder_max));
      f->set_duration_ms(span(1000, 8000));
    } else if (kind == "spike" || kind == "clog") {
      auto* d = e.mutable_delay();
      d->add_from(any_server());
      d->set_extra_ms(kind == "spike" ? between(r, 50, 400) : between(r, 1000, 2500));
      d->set_duration_ms(span(500, 3000));
    } else if (kind == "crash-compute" || kind == "crash-coordinator" || kind == "crash-gateway") {
      const std::string role = kind.substr(6);
      if (crashed_until[role] > t) continue;
      const std::string host = role == "compute" ? pick("compute", computes) : role == "gateway" ? pick("gateway", gateways) : "@leader";
      const uint32_t down = span(300, 6000);
      if (down < 300) continue;
      e.mutable_crash_fault()->set_host(host);
      e.mutable_crash_fault()->set_restart_after_ms(down);
      crashed_until[role] = t + down + 2000;  // and time to rejoin
    } else if (kind == "pause") {
      const std::string host = any_server();
      if (host_busy_until[host] > t) continue;
      e.mutable_pause()->set_host(host);
      e.mutable_pause()->set_duration_ms(span(300, 3000));
      host_busy_until[host] = t + e.pause().duration_ms();
    } else if (kind == "clock-drift") {
      const std::string host = any_server();
      if (host_busy_until[host] > t) continue;
      const int32_t ppm = static_cast<int32_t>(between(r, 1000, kChaosDriftPpmMax)) * (uniform_below(r, 2) == 0 ? 1 : -1);
      const uint32_t d = span(2000, 8000);
      e.mutable_clock()->set_host(host);
      e.mutable_clock()->set_drift_ppm(ppm);
      out.push_back(e);
      e.Clear();
      e.set_at_ms(t + d);
      e.mutable_clock()->set_host(host);
      e.mutable_clock()->set_drift_ppm(0);
      host_busy_until[host] = t + d;
    } else if (kind == "clock-rogue") {
      const std::string host = pick("compute", computes);
      if (host_busy_until[host] > t) continue;
      const int32_t ppm = -static_cast<int32_t>(between(r, kChaosRogueDriftPpmMin, kChaosRogueDriftPpmMax));
      const uint32_t d = span(3000, 8000);
      e.mutable_clock()->set_host(host);
      e.mutable_clock()->set_drift_ppm(ppm);
      out.push_back(e);
      e.Clear();
      e.set_at_ms(t + d);
      e.mutable_clock()->set_host(host);
      e.mutable_clock()->set_drift_ppm(0);
      host_busy_until[host] = t + d;
    } else if (kind == "clock-jump") {
      e.mutable_clock()->set_host(any_server());
      e.mutable_clock()->set_jump_ms(between(r, 50, 2000));
    } else if (kind == "disk-fail" || kind == "disk-slow" || kind == "disk-full") {
      // A disk misbehaving for a while: writes failing (nothing written), every request slow and
      // synced writes stalled, or the disk full. Never torn writes: a torn record is corruption,
      // which stops a reader for an operator (docs/persistence.md), not a fault to recover from.
      const std::string host = disks[uniform_below(r, disks.size())];
      if (host_busy_until[host] > t) continue;
      auto* f = e.mutable_storage();
      f->set_host(host);
      if (kind == "disk-fail") f->set_write_fail_permille(between(r, 100, 1000));
      if (kind == "disk-slow") {
        f->set_latency_ms(between(r, 1, 50));
        f->set_sync_stall_ms(between(r, 50, 1500));
      }
      if (kind == "disk-full") f->set_disk_full(true);
      f->set_duration_ms(span(1000, 6000));
      host_busy_until[host] = t + f->duration_ms() + f->latency_ms() + f->sync_stall_ms();
    } else if (kind == "crash-database") {
      if (crashed_until["database"] > t) continue;
      const uint32_t down = span(300, 3000);
      if (down < 300) continue;
      e.mutable_crash_fault()->set_host("database");
      e.mutable_crash_fault()->set_restart_after_ms(down);
      crashed_until["database"] = t + down + 1000;
    } else if (kind == "slow") {
      const std::string host = any_server();
      if (host_busy_until[host] > t) continue;
      e.mutable_slow()->set_host(host);
      e.mutable_slow()->set_extra_ms(between(r, 20, 200));
      e.mutable_slow()->set_duration_ms(span(1000, 5000));
      host_busy_until[host] = t + e.slow().duration_ms();
    }
    out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.at_ms() < b.at_ms(); });
  return out;
}

std::vector<wire::ScenarioEvent> fault_schedule(const wire::Scenario& s, uint64_t seed) {
  std::vector<wire::ScenarioEvent> all(s.events().begin(), s.events().end());
  for (auto& e : draw_chaos(s, seed)) all.push_back(std::move(e));
  std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.at_ms() < b.at_ms(); });
  return all;
}

TimeNs faults_end_ns(const std::vector<wire::ScenarioEvent>& events) {
  TimeNs end = 0;
  for (const auto& e : events) {
    uint32_t d = 0;
    switch (e.action_case()) {
      case wire::ScenarioEvent::kCrashFault: d = e.crash_fault().restart_after_ms(); break;
      case wire::ScenarioEvent::kStop: d = stop_deadline_ms(e.stop()) + e.stop().restart_after_ms(); break;
      case wire::ScenarioEvent::kPartition: d = e.partition().duration_ms(); break;
      case wire::ScenarioEvent::kLinkFaults:
        // A message lost near the end of the window is retransmitted up to one full backoff later
        // (or its connection resets then): the fault's effects last that much longer.
        d = e.link_faults().duration_ms() +
            (e.link_faults().loss_permille() > 0 ? static_cast<uint32_t>((sim::kRetransmitNs << (sim::kRetransmitsMax - 1)) / kNsPerMs) : 0);
        break;
      case wire::ScenarioEvent::kDelay: d = e.delay().duration_ms(); break;
      case wire::ScenarioEvent::kPause: d = e.pause().duration_ms(); break;
      case wire::ScenarioEvent::kSlow: d = e.slow().duration_ms(); break;
      case wire::ScenarioEvent::kStorage: d = e.storage().duration_ms() + e.storage().sync_stall_ms() + e.storage().latency_ms(); break;
      default: break;
    }
    end = std::max(end, ms(uint64_t{e.at_ms()} + d));
  }
  return end;
}

std::string events_as_text(const std::vector<wire::ScenarioEvent>& events) {
  std::string out;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  for (const auto& e : events) {
    std::string line;
    printer.PrintToString(e, &line);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += fmt::format("events {{ {} }}\n", line);
  }
  return out;
}

FaultInjector::FaultInjector(sim::Simulation& sim, Cluster& cluster) : sim_(sim), cluster_(cluster) {
  for (size_t i = 0; i < sim.host_count(); ++i) host_index_.emplace(sim.host(i)->name(), i);
}

void FaultInjector::schedule(const std::vector<wire::ScenarioEvent>& events) {
  for (const auto& e : events) {
    sim_.kernel().schedule_at(ms(e.at_ms()), [this, e] { run(e); });
  }
}

bool FaultInjector::resolve(const std::string& name, size_t* index) const {
  if (name == "@leader" || name == "@vice") {
    const Coordinator* leader = cluster_.coordinator();
    for (const Coordinator* c : cluster_.coordinators()) {
      if (!c || (name == "@leader") != (c == leader)) continue;
      if (name == "@vice" && c->leading() && leader && c->epoch() == leader->epoch()) continue;
      const auto it = host_index_.find(fmt::format("coordinator-{}", c->node().value));
      if (it == host_index_.end() || !sim_.host(it->second)->alive()) continue;
      *index = it->second;
      return true;
    }
    return false;
  }
  const auto it = host_index_.find(name);
  if (it == host_index_.end()) return false;
  *index = it->second;
  return true;
}

bool FaultInjector::resolve_all(const google::protobuf::RepeatedPtrField<std::string>& names, std::vector<size_t>* out,
                                bool empty_means_all) const {
  out->clear();
  if (names.empty() && empty_means_all) {
    for (size_t i = 0; i < sim_.host_count(); ++i) out->push_back(i);
    return true;
  }
  for (const auto& n : names) {
    size_t i = 0;
    if (!resolve(n, &i)) return false;
    out->push_back(i);
  }
  return true;
}

void FaultInjector::crash(size_t host) {
  sim::Host* h = sim_.host(host);
  if (!h->alive()) return;
  const Component* component = h->component();
  h->crash();
  cluster_.forget(component);
}

// A stopping host exits once its component is drained or at its deadline (checked every tick), and
// comes back restart_after_ms later if asked. A crash meanwhile ends the watch.
void FaultInjector::watch_stop(size_t host, TimeNs deadline, uint32_t incarnation, uint32_t restart_after_ms) {
  sim::Host* h = sim_.host(host);
  if (!h->alive() || h->incarnation() != incarnation) return;
  const bool drained = !h->paused() && h->component() && h->component()->drained();
  if (!drained && sim_.now() < deadline) {
    sim_.kernel().schedule_at(sim_.now() + kTickNs, [=, this] { watch_stop(host, deadline, incarnation, restart_after_ms); });
    return;
  }
  count(drained ? "stop-drained" : "stop-deadline");
  crash(host);
  if (restart_after_ms > 0) sim_.kernel().schedule_at(sim_.now() + ms(restart_after_ms), [this, host] { restart(host); });
}

void FaultInjector::restart(size_t host) {
  sim::Host* h = sim_.host(host);
  if (h->alive()) return;
  sim::Host& revived = sim_.restart_host(host);
  std::unique_ptr<Component> component = cluster_.rebuild(revived.name(), revived.runtime());
  if (component) revived.attach(std::move(component));
}

void FaultInjector::links_down(const std::vector<LinkKey>& links) {
  for (const LinkKey& l : links) {
    if (down_[l]++ == 0) sim_.set_link(l.first, l.second, sim::LinkState::kDown);
  }
}

void FaultInjector::links_up(const std::vector<LinkKey>& links) {
  for (const LinkKey& l : links) {
    auto it = down_.find(l);
    if (it == down_.end()) continue;  // healed meanwhile
    if (--it->second == 0) {
      down_.erase(it);
      sim_.set_link(l.first, l.second, sim::LinkState::kUp);
    }
  }
}

void FaultInjector::heal() {
  down_.clear();
  sim_.heal_all();
  for (const auto& [l, token] : link_fault_token_) sim_.set_link_faults(l.first, l.second, sim::LinkFaults{});
  for (const auto& [l, token] : delay_token_) sim_.set_link_delay(l.first, l.second, 0);
  link_fault_token_.clear();
  delay_token_.clear();
}

std::vector<FaultInjector::LinkKey> FaultInjector::links_between(const std::vector<size_t>& from, const std::vector<size_t>& to) {
  std::vector<LinkKey> links;
  for (const size_t x : from) {
    for (const size_t y : to) {
      if (x != y) links.emplace_back(x, y);
    }
  }
  return links;
}

void FaultInjector::set_for_a_while(std::map<LinkKey, uint64_t>& tokens, const std::vector<LinkKey>& links, uint32_t duration_ms,
                                    const std::function<void(const LinkKey&, bool)>& apply) {
  const uint64_t token = next_token_++;
  for (const LinkKey& l : links) {
    apply(l, true);
    tokens[l] = token;
  }
  if (duration_ms == 0) return;
  sim_.kernel().schedule_at(sim_.now() + ms(duration_ms), [&tokens, links, token, apply] {
    for (const LinkKey& l : links) {
      auto it = tokens.find(l);
      if (it == tokens.end() || it->second != token) continue;  // set again (or healed) since
      tokens.erase(it);
      apply(l, false);
    }
  });
}

namespace {
std::string role_of_name(const std::string& host) { return host[0] == '@' ? "coordinator" : host.substr(0, host.rfind('-')); }
}  // namespace

void FaultInjector::arm_moments(const wire::Scenario& s, uint64_t seed, const std::vector<wire::ScenarioEvent>& schedule,
                                std::function<void(TimeNs)> fired) {
  if (!s.has_chaos() || s.chaos().moments().empty()) return;
  for (const auto& e : schedule) {
    if (e.has_crash_fault()) {
      const TimeNs down = ms(e.at_ms());
      moments_.crashes.emplace(role_of_name(e.crash_fault().host()), std::make_pair(down, down + ms(e.crash_fault().restart_after_ms() + 2000)));
    } else if (e.has_crash()) {
      moments_.crashes.emplace(role_of_name(e.crash()), std::make_pair(ms(e.at_ms()), TimeNs{INT64_MAX}));
    }
  }
  const auto& c = s.chaos();
  moments_.random = std::make_unique<Xoshiro256>(derive_seed(seed, kMomentStream));
  Random& r = *moments_.random;
  std::vector<std::string> names;
  for (const auto& m : c.moments()) {
    if (m == "all") {
      names = moment_names();
      break;
    }
    names.push_back(m);
  }
  // Each moment is armed on about half the seeds, with its own rate, so runs differ in what they aim at.
  for (const std::string& m : names) {
    if (uniform_below(r, 2) == 0) moments_.fire_permille[m] = between(r, 50, 400);
  }
  if (moments_.fire_permille.empty()) moments_.fire_permille[names[uniform_below(r, names.size())]] = between(r, 50, 400);
  // At least two aimed faults a run, unless the scenario allows fewer.
  const uint32_t most = c.moment_faults_max() ? c.moment_faults_max() : kDefaultMomentFaultsMax;
  moments_.left = between(r, std::min<uint32_t>(2, most), most);
  moments_.from_ns = ms(c.start_ms());
  moments_.until_ns = std::max(moments_.from_ns, ms(c.stop_ms()) - 1500 * kNsPerMs);  // each is over by stop_ms
  moments_.fired = std::move(fired);
  moments_.coordinators = s.topology().coordinators();
  moments_.computes = s.topology().compute_nodes();
  moments_.gateways = s.topology().gateways();
}

std::string FaultInjector::host_of(NodeId node) const {
  for (size_t i = 0; i < sim_.host_count(); ++i) {
    if (sim_.host(i)->node() == node && node.valid()) return sim_.host(i)->name();
  }
  return {};
}

// A trace record at one of the armed moments may draw a fault on a process it involves.
void FaultInjector::aim(const TraceEvent& r) {
  if (moments_.left == 0 || moments_.fire_permille.empty() || sim_.now() < moments_.from_ns || sim_.now() >= moments_.until_ns) return;
  std::string moment;
  std::vector<std::string> hosts;  // who the moment involves, most involved first
  const std::string node = host_of(r.node), peer = host_of(r.peer);
  switch (r.kind) {
    case TraceKind::kMigrationReleased: moment = "migration"; hosts = {peer, node, "@leader"}; break;
    case TraceKind::kOwnershipGranted:
      if (r.b != 2 || node.rfind("coordinator-", 0) != 0) return;
      moment = "handoff";
      hosts = {peer, "@leader"};
      break;
    case TraceKind::kCandidacy: moment = "candidacy"; hosts = {node, fmt::format("compute-{}", 1 + uniform_below(*moments_.random, moments_.computes))}; break;
    case TraceKind::kPromised: moment = "promise"; hosts = {node, "@leader", "@vice"}; break;
    case TraceKind::kNodeLost:
      if (r.a != static_cast<int64_t>(Role::kCompute)) return;
      moment = "orphaning";
      hosts = {node, peer, "@vice"};
      break;
    case TraceKind::kHeartbeatMissed:
      if (r.b != 4) return;  // 800 ms silent: its lease ends within the next 200 ms
      moment = "lease-expiry";
      hosts = {peer, node};
      break;
    case TraceKind::kEvicted:
    case TraceKind::kClockFenced:
      if (node.rfind("coordinator-", 0) != 0) return;
      moment = "fence";
      hosts = {peer, node};
      break;
    case TraceKind::kOwnershipRevoked:
      if (r.b != 3) return;
      moment = "fence";
      hosts = {peer, node};
      break;
    case TraceKind::kLeaderElected: moment = "takeover"; hosts = {node, "@vice", fmt::format("compute-{}", 1 + uniform_below(*moments_.random, moments_.computes))}; break;
    default: return;
  }
  auto armed = moments_.fire_permille.find(moment);
  if (armed == moments_.fire_permille.end() || uniform_below(*moments_.random, 1000) >= armed->second) return;
  std::vector<std::string> candidates;
  for (const std::string& h : hosts) {
    if (!h.empty()) candidates.push_back(h);
  }
  if (candidates.empty()) return;
  // The most involved process half the time, another one otherwise.
  const std::string host = uniform_below(*moments_.random, 2) == 0 ? candidates[0] : candidates[uniform_below(*moments_.random, candidates.size())];
  strike(moment, host);
}

// One fault on `host`, a few milliseconds from now: crash and restart, pause, isolate, clog its
// links, reset its connections, or cut the leader from the vice.
void FaultInjector::strike(const std::string& moment, const std::string& host) {
  Random& r = *moments_.random;
  const TimeNs now = sim_.now();
  const auto at_ms = static_cast<uint32_t>((now + kNsPerMs - 1) / kNsPerMs) + between(r, 0, 20);  // never before now
  const uint32_t room_ms = static_cast<uint32_t>((moments_.until_ns + 1500 * kNsPerMs - now) / kNsPerMs) - 25;
  auto span = [&](uint32_t lo, uint32_t hi) { return std::min(room_ms, between(r, lo, hi)); };
  const std::string role = role_of_name(host);
  wire::ScenarioEvent e;
  e.set_at_ms(at_ms);
  uint32_t lasts_ms = 0;
  switch (uniform_below(r, 6)) {
    case 0: {  // crash, and come back as a new process; one per role at a time, never the last of a role
      const uint32_t of_role = role == "coordinator" ? moments_.coordinators : role == "compute" ? moments_.computes : moments_.gateways;
      if (of_role < 2 || role == "bot") return;
      lasts_ms = span(300, 4000);
      const std::pair<TimeNs, TimeNs> window{now, now + ms(lasts_ms + 2000 + 25)};
      for (auto [it, end] = moments_.crashes.equal_range(role); it != end; ++it) {
        if (it->second.first < window.second && window.first < it->second.second) return;  // another one of its role is down then
      }
      e.mutable_crash_fault()->set_host(host);
      e.mutable_crash_fault()->set_restart_after_ms(lasts_ms);
      moments_.crashes.emplace(role, window);
      break;
    }
    case 1:
      lasts_ms = span(200, 2000);
      e.mutable_pause()->set_host(host);
      e.mutable_pause()->set_duration_ms(lasts_ms);
      break;
    case 2:
      lasts_ms = span(300, 3000);
      e.mutable_partition()->add_side_a(host);
      e.mutable_partition()->set_duration_ms(lasts_ms);
      break;
    case 3:
      lasts_ms = span(500, 2000);
      e.mutable_delay()->add_from(host);
      e.mutable_delay()->set_extra_ms(between(r, 300, 2500));
      e.mutable_delay()->set_duration_ms(lasts_ms);
      break;
    case 4:  // every connection carrying a message from it resets: what it sent may or may not have arrived
      lasts_ms = 60;
      e.mutable_link_faults()->add_from(host);
      e.mutable_link_faults()->set_duplicate_permille(1000);
      e.mutable_link_faults()->set_duration_ms(lasts_ms);
      break;
    default:
      if (moments_.coordinators < 2) return;
      lasts_ms = span(300, 3000);
      e.mutable_partition()->add_side_a("@leader");
      e.mutable_partition()->add_side_b("@vice");
      e.mutable_partition()->set_duration_ms(lasts_ms);
      break;
  }
  if (lasts_ms == 0) return;
  --moments_.left;
  count("aimed:" + moment);
  aimed_.push_back(e);
  sim_.kernel().schedule_at(ms(at_ms), [this, e] { run(e); });
  if (moments_.fired) moments_.fired(faults_end_ns({e}));
}

void FaultInjector::admin_order(size_t host, const wire::AdminOrder& order) {
  auto* coordinator = dynamic_cast<Coordinator*>(sim_.host(host)->component());
  if (coordinator == nullptr) return;
  const Epoch claimed = order.force() ? kEpochAdmin : coordinator->epoch();
  const OperatorId who{order.operator_name(), parse_operator_role(order.role()).value_or(OperatorRole::kViewer)};
  coordinator->operator_command(who, admin_request_of(order), claimed, [this, order, at = sim_.now()](AdminAnswer answer) {
    const char* outcome = answer.verdict != AdminVerdict::kAllowed ? "refused" : answer.reply.ok ? "done" : "failed";
    count(fmt::format("admin-{}", outcome));
    if (order.expect().empty() || order.expect() == outcome) return;
    if (counts_.admin_unexpected++ == 0) {
      counts_.first_admin_unexpected = fmt::format("admin {} by {} ({}) at {:.3f} s: {}, expected {} ({})", order.command(), order.operator_name(),
                                                   order.role(), static_cast<double>(at) / kNsPerSec, outcome, order.expect(),
                                                   answer.reply.lines.empty() ? "" : answer.reply.lines.front());
    }
  });
}

void FaultInjector::run(const wire::ScenarioEvent& e) {
  size_t h = 0;
  std::vector<size_t> a;
  std::vector<size_t> b;
  auto skip = [this] { ++counts_.skipped; };
  auto role_of = [this](size_t host) {
    const std::string& n = sim_.host(host)->name();
    return n.substr(0, n.rfind('-'));
  };
  auto later = [this](uint32_t after_ms, std::function<void()> fn) {
    sim_.kernel().schedule_at(sim_.now() + ms(after_ms), std::move(fn));
  };
  switch (e.action_case()) {
    case wire::ScenarioEvent::ACTION_NOT_SET: return;
    case wire::ScenarioEvent::kCrash:
      if (!resolve(e.crash(), &h) || !sim_.host(h)->alive()) return skip();
      count("crash-" + role_of(h));
      crash(h);
      return;
    case wire::ScenarioEvent::kCrashFault:
      if (!resolve(e.crash_fault().host(), &h) || !sim_.host(h)->alive()) return skip();
      count("crash-" + role_of(h));
      crash(h);
      if (e.crash_fault().restart_after_ms() > 0) later(e.crash_fault().restart_after_ms(), [this, h] { restart(h); });
      return;
    case wire::ScenarioEvent::kStop:
      if (!resolve(e.stop().host(), &h) || !sim_.host(h)->alive() || sim_.host(h)->paused() || !sim_.host(h)->component()) return skip();
      count("stop-" + role_of(h));
      sim_.host(h)->component()->begin_drain();
      watch_stop(h, sim_.now() + ms(stop_deadline_ms(e.stop())), sim_.host(h)->incarnation(), e.stop().restart_after_ms());
      return;
    case wire::ScenarioEvent::kAdmin:
      // A paused coordinator hears nothing until it resumes: an operator's order to it is lost.
      if (!resolve(e.admin().coordinator(), &h) || !sim_.host(h)->alive() || sim_.host(h)->paused()) return skip();
      admin_order(h, e.admin());
      return;
    case wire::ScenarioEvent::kRestart:
      if (!resolve(e.restart(), &h) || sim_.host(h)->alive()) return skip();
      count("restart");
      restart(h);
      return;
    case wire::ScenarioEvent::kPartition: {
      const auto& p = e.partition();
      if (!resolve_all(p.side_a(), &a, false)) return skip();
      if (p.side_b().empty()) {
        for (size_t i = 0; i < sim_.host_count(); ++i) {
          if (std::find(a.begin(), a.end(), i) == a.end()) b.push_back(i);
        }
      } else if (!resolve_all(p.side_b(), &b, false)) {
        return skip();
      }
      std::vector<LinkKey> links = links_between(a, b);
      if (!p.one_way()) {
        for (const LinkKey& l : links_between(b, a)) links.push_back(l);
      }
      const bool bridged = !p.side_b().empty() && [&] {
        size_t servers = 0;
        for (size_t i = 0; i < sim_.host_count(); ++i) servers += is_server(sim_.host(i)->name()) ? 1 : 0;
        return a.size() + b.size() < servers;
      }();
      count(bridged && partition_kind(p) == "partition" ? "bridge" : partition_kind(p));
      links_down(links);
      if (p.duration_ms() > 0) later(p.duration_ms(), [this, links] { links_up(links); });
      return;
    }
    case wire::ScenarioEvent::kHeal:
      count("heal");
      heal();
      return;
    case wire::ScenarioEvent::kLinkFaults: {
      const auto& f = e.link_faults();
      if (!resolve_all(f.from(), &a, true) || !resolve_all(f.to(), &b, true)) return skip();
      if (f.loss_permille()) count("loss");
      if (f.duplicate_permille()) count("duplicate");
      if (f.reorder_permille()) count("reorder");
      const sim::LinkFaults rates{f.loss_permille(), f.duplicate_permille(), f.reorder_permille()};
      set_for_a_while(link_fault_token_, links_between(a, b), f.duration_ms(),
                      [this, rates](const LinkKey& l, bool on) { sim_.set_link_faults(l.first, l.second, on ? rates : sim::LinkFaults{}); });
      return;
    }
    case wire::ScenarioEvent::kDelay: {
      const auto& d = e.delay();
      if (!resolve_all(d.from(), &a, true) || !resolve_all(d.to(), &b, true)) return skip();
      count(d.extra_ms() >= 1000 ? "clog" : "spike");
      const TimeNs extra = ms(d.extra_ms());
      set_for_a_while(delay_token_, links_between(a, b), d.duration_ms(),
                      [this, extra](const LinkKey& l, bool on) { sim_.set_link_delay(l.first, l.second, on ? extra : 0); });
      return;
    }
    case wire::ScenarioEvent::kPause:
      if (!resolve(e.pause().host(), &h) || !sim_.host(h)->alive() || sim_.host(h)->paused()) return skip();
      count("pause");
      sim_.host(h)->pause();
      later(e.pause().duration_ms(), [this, h, incarnation = sim_.host(h)->incarnation()] {
        sim::Host* host = sim_.host(h);
        if (host->alive() && host->paused() && host->incarnation() == incarnation) host->resume();
      });
      return;
    case wire::ScenarioEvent::kClock:
      if (!resolve(e.clock().host(), &h)) return skip();
      if (e.clock().jump_ms() > 0) {
        count("clock-jump");
        sim_.jump_clock(h, ms(e.clock().jump_ms()));
      } else {
        const int32_t drift = e.clock().drift_ppm();
        if (drift != 0) count(drift > kClockRateErrorPpmMax || drift < -kClockRateErrorPpmMax ? "clock-rogue" : "clock-drift");
        sim_.set_clock_drift(h, e.clock().drift_ppm());
      }
      return;
    case wire::ScenarioEvent::kSlow: {
      if (!resolve(e.slow().host(), &h)) return skip();
      count("slow");
      const uint64_t token = next_token_++;
      slow_token_[h] = token;
      sim_.set_slow(h, ms(e.slow().extra_ms()));
      if (e.slow().duration_ms() > 0) {
        later(e.slow().duration_ms(), [this, h, token] {
          if (slow_token_[h] == token) sim_.set_slow(h, 0);
        });
      }
      return;
    }
    case wire::ScenarioEvent::kStorage: {
      const auto& f = e.storage();
      if (!resolve(f.host(), &h)) return skip();
      count("storage");
      const uint64_t token = next_token_++;
      storage_token_[h] = token;
      sim::StorageFaults faults;
      faults.write_fail_permille = f.write_fail_permille();
      faults.latency_ns = ms(f.latency_ms());
      faults.sync_stall_ns = ms(f.sync_stall_ms());
      faults.disk_full = f.disk_full();
      faults.torn_permille = f.torn_permille();
      sim_.set_storage_faults(h, faults);
      if (f.duration_ms() > 0) {
        later(f.duration_ms(), [this, h, token] {
          if (storage_token_[h] == token) sim_.set_storage_faults(h, {});
        });
      }
      return;
    }
  }
}

}  // namespace aether::app
