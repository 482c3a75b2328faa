// `aether trace check|dump` on small synthetic trace files: a clean handoff, a planted double writer,
// a planted slow recovery, and malformed or truncated files.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "app/trace_command.h"
#include "engine/core/random.h"
#include "runtime/common/trace_file.h"

namespace aether::app {
namespace {

constexpr NodeId kCoordinator(1);
constexpr NodeId kA(101);
constexpr NodeId kB(102);
constexpr EntityId kE1(7);
constexpr EntityId kE2(8);

TimeNs at_ms(int64_t ms) { return 1'000 * kNsPerSec + ms * kNsPerMs; }  // a CLOCK_MONOTONIC-like origin

TraceEvent ev(int64_t ms, NodeId node, TraceKind kind, EntityId entity = {}, int64_t a = 0, int64_t b = 0, NodeId peer = {}) {
  TraceEvent e;
  e.time_ns = at_ms(ms);
  e.node = node;
  e.epoch = 1;
  e.kind = kind;
  e.entity = entity;
  e.a = a;
  e.b = b;
  e.peer = peer;
  return e;
}

// Ticks of `node` every 100 ms in [from_ms, to_ms].
void ticks(std::vector<TraceEvent>& out, NodeId node, int64_t from_ms, int64_t to_ms) {
  for (int64_t t = from_ms; t <= to_ms; t += 100) out.push_back(ev(t, node, TraceKind::kTickDone));
}

std::string temp_path(const std::string& tag) {
  char name[] = "/tmp/aether-trace-check-XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::remove(name);
  return std::string(name) + "-" + tag + ".trace";
}

std::string write_trace(const std::string& tag, const std::vector<TraceEvent>& events) {
  const std::string path = temp_path(tag);
  common::TraceFileWriter w;
  EXPECT_TRUE(w.open(path).ok());
  for (const TraceEvent& e : events) w.write(e);
  w.close();
  return path;
}

std::string write_bytes(const std::string& tag, const std::string& bytes) {
  const std::string path = temp_path(tag);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A registered both compute nodes; A owns E1 and E2, ticks until 1000 ms and dies; the coordinator
// declares it lost at 2110 ms and re-grants both to B, which writes them from its next tick.
struct Handoff {
  std::vector<TraceEvent> coordinator, a, b;
  explicit Handoff(int64_t b_first_write_after_loss_ms = 40) {
    coordinator.push_back(ev(0, kCoordinator, TraceKind::kLeaderElected, {}, 1));
    coordinator.push_back(ev(1, kCoordinator, TraceKind::kNodeRegistered, {}, 2, 0, kA));
    coordinator.push_back(ev(2, kCoordinator, TraceKind::kNodeRegistered, {}, 2, 0, kB));
    coordinator.push_back(ev(10, kCoordinator, TraceKind::kOwnershipGranted, kE1, 1, 0, kA));
    coordinator.push_back(ev(11, kCoordinator, TraceKind::kOwnershipGranted, kE2, 2, 0, kA));
    coordinator.push_back(ev(2110, kCoordinator, TraceKind::kNodeLost, {}, 2, 0, kA));
    coordinator.push_back(ev(2110, kCoordinator, TraceKind::kOwnershipGranted, kE1, 3, 1, kB));
    coordinator.push_back(ev(2110, kCoordinator, TraceKind::kOwnershipGranted, kE2, 4, 1, kB));
    coordinator.push_back(ev(4000, kCoordinator, TraceKind::kNodeRegistered, {}, 3, 0, NodeId(201)));  // the trace goes on

    a.push_back(ev(12, kA, TraceKind::kOwnershipGranted, kE1, 1, 0, kCoordinator));
    a.push_back(ev(13, kA, TraceKind::kOwnershipGranted, kE2, 2, 0, kCoordinator));
    ticks(a, kA, 50, 1050);

    ticks(b, kB, 70, 2070);  // owning nothing yet
    b.push_back(ev(2112, kB, TraceKind::kOwnershipGranted, kE1, 3, 1, kCoordinator));
    b.push_back(ev(2112, kB, TraceKind::kOwnershipGranted, kE2, 4, 1, kCoordinator));
    ticks(b, kB, 2110 + b_first_write_after_loss_ms, 4000);
  }
  std::vector<TraceEvent> all() const {
    std::vector<TraceEvent> out = coordinator;
    out.insert(out.end(), a.begin(), a.end());
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  std::vector<std::string> files() const {
    return {write_trace("coordinator", coordinator), write_trace("a", a), write_trace("b", b)};
  }
};

TEST(TraceCheck, CleanHandoffPasses) {
  Handoff h;
  TraceCheckResult r = check_records(h.all());
  EXPECT_TRUE(r.ok()) << (r.violations.empty() ? "" : r.violations[0].what);
  EXPECT_EQ(r.compute_nodes, (std::vector<NodeId>{kA, kB}));
  EXPECT_EQ(r.coordinators, (std::vector<NodeId>{kCoordinator}));
  EXPECT_EQ(r.entities, 2u);
  EXPECT_EQ(r.nodes_lost, 1u);
  EXPECT_EQ(r.handoffs, 2u);
  EXPECT_EQ(r.regrants, 2u);
  EXPECT_EQ(r.recoveries_measured, 2u);
  EXPECT_EQ(r.recovery_max_ns, 40 * kNsPerMs);
  EXPECT_EQ(r.writes, 2u * 11 + 2u * 19);  // A: 11 ticks (50..1050) of two; B: 19 (2150..3950)

  // The same from files, in any order: the check merges by time.
  std::vector<std::string> files = h.files();
  std::reverse(files.begin(), files.end());
  EXPECT_EQ(run_trace_check(files, 500 * kNsPerMs), 0);
  for (const std::string& f : files) std::remove(f.c_str());
}

TEST(TraceCheck, PlantedDoubleWriterIsCaughtAndNamed) {
  Handoff h;
  // A comes back to life after B took E1 over, without any grant: it writes E1 (and E2) again.
  ticks(h.a, kA, 3050, 3050);
  TraceCheckResult r = check_records(h.all());
  ASSERT_FALSE(r.ok());
  const TraceViolation& v = r.violations.front();
  EXPECT_EQ(v.kind, TraceViolation::Kind::kTwoWriters);
  EXPECT_EQ(v.time_ns, at_ms(3050));
  EXPECT_EQ(v.entity, kE1);
  EXPECT_EQ(v.nodes, (std::vector<NodeId>{kB, kA}));
  EXPECT_NE(v.what.find("entity 7"), std::string::npos) << v.what;
  EXPECT_NE(v.what.find("node 101"), std::string::npos) << v.what;
  EXPECT_NE(v.what.find("node 102"), std::string::npos) << v.what;
  EXPECT_EQ(r.violations_total, 2u);  // E1 and E2, each once however long it goes on

  std::vector<std::string> files = h.files();
  EXPECT_EQ(run_trace_check(files, 500 * kNsPerMs), 1);
  for (const std::string& f : files) std::remove(f.c_str());
}

TEST(TraceCheck, TwoOwnersInOneTickWindowAreCaught) {
  // No loss at all: the coordinator (wrongly) grants E1 to B while A still owns and writes it; B's
  // first write comes 30 ms after A's, and A is never heard from again.
  std::vector<TraceEvent> t;
  t.push_back(ev(1, kCoordinator, TraceKind::kNodeRegistered, {}, 2, 0, kA));
  t.push_back(ev(2, kCoordinator, TraceKind::kNodeRegistered, {}, 2, 0, kB));
  t.push_back(ev(10, kA, TraceKind::kOwnershipGranted, kE1, 1));
  ticks(t, kA, 100, 500);
  t.push_back(ev(520, kB, TraceKind::kOwnershipGranted, kE1, 2));
  ticks(t, kB, 530, 530);
  TraceCheckResult r = check_records(t);
  ASSERT_EQ(r.violations_total, 1u);
  EXPECT_EQ(r.violations[0].kind, TraceViolation::Kind::kTwoWriters);
  EXPECT_EQ(r.violations[0].nodes, (std::vector<NodeId>{kA, kB}));
  EXPECT_EQ(r.violations[0].time_ns, at_ms(530));

  // A revoked before B's grant: a clean (if quick) move.
  t.insert(t.begin() + 8, ev(510, kA, TraceKind::kOwnershipRevoked, kE1, 1));
  r = check_records(t);
  EXPECT_TRUE(r.ok()) << r.violations[0].what;
  EXPECT_EQ(r.handoffs, 1u);
}

TEST(TraceCheck, LiveMigrationIsAHandoffNotTwoWriters) {
  // A releases E1 to B between ticks; B materialises it and writes it 30 ms after A's last write.
  std::vector<TraceEvent> t;
  t.push_back(ev(1, kCoordinator, TraceKind::kNodeRegistered, {}, 2, 0, kA));
  t.push_back(ev(2, kCoordinator, TraceKind::kNodeRegistered, {}, 2, 0, kB));
  t.push_back(ev(10, kA, TraceKind::kOwnershipGranted, kE1, 1, 0, kCoordinator));
  ticks(t, kA, 100, 900);
  ticks(t, kB, 130, 930);
  t.push_back(ev(503, kCoordinator, TraceKind::kMigrationStarted, kE1, 1, 0, kB));
  t.push_back(ev(505, kA, TraceKind::kMigrationReleased, kE1, 1, 0, kB));
  t.push_back(ev(510, kB, TraceKind::kOwnershipGranted, kE1, 2, 2));
  TraceCheckResult r = check_records(t);
  EXPECT_TRUE(r.ok()) << r.violations[0].what;
  EXPECT_EQ(r.handoffs, 1u);
  EXPECT_EQ(r.writes, 5u + 5u);  // A: 100..500; B: 530..930, the first 30 ms after A's last

  // Without the release, A goes on writing it: caught.
  t.erase(std::find_if(t.begin(), t.end(), [](const TraceEvent& e) { return e.kind == TraceKind::kMigrationReleased; }));
  r = check_records(t);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.violations[0].time_ns, at_ms(530));
}

TEST(TraceCheck, EvictionAndRegrantLetTheOldOwnerWriteAgain) {
  Handoff h;
  // A comes back, is evicted, and is later granted E1 again after B gave it up.
  h.a.push_back(ev(3000, kA, TraceKind::kEvicted, {}, 2, 0, kCoordinator));
  ticks(h.a, kA, 3010, 3010);
  h.b.push_back(ev(4001, kB, TraceKind::kOwnershipRevoked, kE1, 3));
  h.a.push_back(ev(4002, kA, TraceKind::kOwnershipGranted, kE1, 5));
  ticks(h.a, kA, 4110, 4210);
  TraceCheckResult r = check_records(h.all());
  EXPECT_TRUE(r.ok()) << r.violations[0].what;
}

TEST(TraceCheck, PlantedSlowRecoveryIsCaught) {
  Handoff h(/*b_first_write_after_loss_ms=*/740);
  TraceCheckResult r = check_records(h.all());
  ASSERT_EQ(r.violations_total, 2u);
  for (const TraceViolation& v : r.violations) {
    EXPECT_EQ(v.kind, TraceViolation::Kind::kSlowRecovery);
    EXPECT_EQ(v.time_ns, at_ms(2110 + 500));
    EXPECT_EQ(v.nodes, (std::vector<NodeId>{kA, kB}));
    EXPECT_NE(v.what.find("740.0 ms"), std::string::npos) << v.what;
  }
  EXPECT_EQ(r.recovery_max_ns, 740 * kNsPerMs);
  // A looser target passes.
  TraceCheckOptions loose;
  loose.recovery_target_ns = 800 * kNsPerMs;
  EXPECT_TRUE(check_records(h.all(), loose).ok());

  std::vector<std::string> files = h.files();
  EXPECT_EQ(run_trace_check(files, 500 * kNsPerMs), 1);
  EXPECT_EQ(run_trace_check(files, 800 * kNsPerMs), 0);
  for (const std::string& f : files) std::remove(f.c_str());
}

TEST(TraceCheck, NeverRecoveredIsCaughtUnlessTheTraceEndsFirstOrTheSessionClosed) {
  Handoff h;
  h.b.clear();
  ticks(h.b, kB, 70, 4000);  // B ticks on but is never granted anything
  TraceCheckResult r = check_records(h.all());
  ASSERT_EQ(r.violations_total, 2u);
  EXPECT_EQ(r.violations[0].kind, TraceViolation::Kind::kNotRecovered);
  EXPECT_EQ(r.violations[0].nodes, (std::vector<NodeId>{kA}));

  // The traces end 300 ms after the detection: nothing can be said.
  std::vector<TraceEvent> short_run;
  for (const TraceEvent& e : h.all()) {
    if (e.time_ns <= at_ms(2410)) short_run.push_back(e);
  }
  r = check_records(short_run);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.recoveries_unobserved, 2u);

  // The players left: the coordinator revoked both entities instead of re-granting them.
  h.coordinator.push_back(ev(2200, kCoordinator, TraceKind::kOwnershipRevoked, kE1, 3, 0, kB));
  h.coordinator.push_back(ev(2201, kCoordinator, TraceKind::kOwnershipRevoked, kE2, 4, 0, kB));
  r = check_records(h.all());
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.recoveries_closed, 2u);
}

TEST(TraceFile, TruncatedLastRecordIsToleratedAndReported) {
  Handoff h;
  const std::string path = write_trace("a", h.a);
  const std::string whole = read_bytes(path);
  TraceFileContents full;
  ASSERT_TRUE(read_trace_records(path, &full).ok());
  ASSERT_EQ(full.records.size(), h.a.size());
  EXPECT_TRUE(full.truncated_tail.empty());
  EXPECT_EQ(full.records[5].time_ns, h.a[5].time_ns);
  EXPECT_EQ(full.records[5].kind, TraceKind::kTickDone);
  EXPECT_EQ(full.records[0].entity, kE1);

  // Cut anywhere inside the last record: every whole record is read, the rest reported.
  for (size_t cut = 1; cut < 8; ++cut) {
    TraceFileContents part;
    Status s = parse_trace_records(whole.substr(0, whole.size() - cut), &part);
    ASSERT_TRUE(s.ok()) << s.error().message;
    EXPECT_EQ(part.records.size(), h.a.size() - 1);
    EXPECT_FALSE(part.truncated_tail.empty());
  }
  // A file that is nothing but a partial record is not a trace cut short: it is not a trace.
  TraceFileContents none;
  EXPECT_FALSE(parse_trace_records(whole.substr(0, 5), &none).ok());
  EXPECT_TRUE(parse_trace_records("", &none).ok());  // killed before its first write: empty, fine
  EXPECT_TRUE(none.records.empty());

  std::remove(path.c_str());
  const std::string cut_path = write_bytes("cut", whole.substr(0, whole.size() - 3));
  EXPECT_EQ(run_trace_dump(cut_path), 0);
  std::remove(cut_path.c_str());
}

TEST(TraceFile, MalformedFilesAreErrorsNotCrashes) {
  Handoff h;
  const std::string good_path = write_trace("good", h.a);
  const std::string good = read_bytes(good_path);
  std::remove(good_path.c_str());

  // Plain garbage.
  const std::string garbage = write_bytes("garbage", "this is not a trace file at all, not even close\n");
  TraceFileContents c;
  Status s = read_trace_records(garbage, &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find(garbage), std::string::npos) << s.error().message;
  EXPECT_EQ(run_trace_check({garbage}, 500 * kNsPerMs), 2);
  EXPECT_EQ(run_trace_dump(garbage), 2);
  std::remove(garbage.c_str());

  // An implausible length, a prefix that never ends, a body that does not parse, a negative time:
  // in the middle of good records, these are errors, not truncation.
  const std::string bad_bodies[] = {std::string("\xff\xff\x03", 3), std::string("\xff\xff\xff\xff\xff\xff", 6),
                                    std::string("\x03\xff\xff\xff", 4), std::string("\x02\x08\x01", 3)};
  for (const std::string& bad : bad_bodies) {
    s = parse_trace_records(good + bad + good, &c);
    EXPECT_FALSE(s.ok());
  }
  std::string negative_time("\x02\x08\x03", 3);  // time_ns (sint64, zigzag) = -2
  s = parse_trace_records(negative_time, &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("negative time"), std::string::npos);
  // A time past kTraceTimeNsMax: viz used to overflow adding to such times (found by tests/fuzz:
  // UBSan in the time axis of the HTML renderers, a record at 2^63 - 66 ns).
  for (TimeNs t : {kTraceTimeNsMax, TimeNs{INT64_MAX}}) {
    TraceEvent late;
    late.time_ns = t;
    late.kind = TraceKind::kTickDone;
    std::string bytes;
    common::append_trace_record(late, &bytes);
    s = parse_trace_records(good + bytes, &c);
    ASSERT_FALSE(s.ok()) << t;
    EXPECT_NE(s.error().message.find("out of range"), std::string::npos) << s.error().message;
  }
  TraceEvent last;
  last.time_ns = kTraceTimeNsMax - 1;
  std::string bytes;
  common::append_trace_record(last, &bytes);
  EXPECT_TRUE(parse_trace_records(bytes, &c).ok());

  // Missing file.
  EXPECT_EQ(run_trace_dump("/nonexistent/aether.trace"), 2);
  EXPECT_EQ(run_trace_check({"/nonexistent/aether.trace"}, 500 * kNsPerMs), 2);

  // Random bytes, and good files with random bytes flipped: never a crash.
  Xoshiro256 rng(42);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = round % 2 ? good : std::string(1 + rng.next_u64() % 300, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (round % 2 == 0 || rng.next_u64() % 50 == 0) bytes[i] = static_cast<char>(rng.next_u64());
    }
    (void)parse_trace_records(bytes, &c);
  }
}

}  // namespace
}  // namespace aether::app
