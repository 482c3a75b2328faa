// viz/: the model rebuilt from a small synthetic trace, and what each renderer makes of it.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "app/viz_command.h"
#include "runtime/common/trace_file.h"
#include "viz/render.h"

namespace aether::viz {
namespace {

constexpr NodeId kCoord{1};
constexpr NodeId kA{101};
constexpr NodeId kB{102};
constexpr NodeId kGw{201};

TraceEvent rec(TimeNs t_ms, NodeId node, TraceKind kind, uint64_t entity = 0, int64_t a = 0, int64_t b = 0, NodeId peer = {},
               Epoch epoch = 1, Tick tick = 0) {
  TraceEvent e;
  e.time_ns = t_ms * kNsPerMs;
  e.node = node;
  e.kind = kind;
  e.entity = EntityId(entity);
  e.a = a;
  e.b = b;
  e.peer = peer;
  e.epoch = epoch;
  e.tick = tick ? tick : static_cast<Tick>(t_ms / 100);
  return e;
}

// Two compute nodes: A owns entities 1 and 2, B owns 3; B holds a ghost of 1; entity 2 migrates A -> B
// from 1.5 s to 1.6 s; B crashes at 3 s, is declared lost at 4 s, and entity 3 is recovered on A.
std::vector<TraceEvent> story() {
  std::vector<TraceEvent> r;
  r.push_back(rec(0, kCoord, TraceKind::kLeaderElected, 0, 1, 0));
  r.push_back(rec(10, kCoord, TraceKind::kNodeRegistered, 0, 2, 0, kA));
  r.push_back(rec(10, kCoord, TraceKind::kNodeRegistered, 0, 2, 0, kB));
  r.push_back(rec(10, kCoord, TraceKind::kNodeRegistered, 0, 3, 0, kGw));
  r.push_back(rec(100, kA, TraceKind::kOwnershipGranted, 1, 5, 0, kCoord));
  r.push_back(rec(100, kA, TraceKind::kOwnershipGranted, 2, 6, 0, kCoord));
  r.push_back(rec(100, kB, TraceKind::kOwnershipGranted, 3, 7, 0, kCoord));
  r.push_back(rec(150, kA, TraceKind::kSubscriberJoined, 0, 3, 0, kGw));
  r.push_back(rec(200, kB, TraceKind::kGhostAdded, 1, 5, 1, kA));
  for (int t = 1; t <= 50; ++t) {
    r.push_back(rec(t * 100, kA, TraceKind::kQueueDepths, 0, pack_queue_depths(4, 2), pack_queue_depths(1, 3), {}, 1, t));
    r.push_back(rec(t * 100, kA, TraceKind::kTickDone, 0, 2, 0, {}, 1, t));
    if (t < 30) r.push_back(rec(t * 100, kB, TraceKind::kTickDone, 0, 1, 0, {}, 1, t));
  }
  r.push_back(rec(1500, kCoord, TraceKind::kMigrationStarted, 2, 6, 0, kB));
  r.push_back(rec(1520, kA, TraceKind::kMigrationReleased, 2, 6, 0, kB));
  r.push_back(rec(1530, kB, TraceKind::kHandoffReceived, 2, 6, 0, kA));
  r.push_back(rec(1600, kB, TraceKind::kOwnershipGranted, 2, 8, 2));
  r.push_back(rec(3000, kB, TraceKind::kHostCrashed));
  r.push_back(rec(3400, kCoord, TraceKind::kHeartbeatMissed, 0, 400 * kNsPerMs, 2, kB));
  r.push_back(rec(4000, kCoord, TraceKind::kNodeLost, 0, 2, 0, kB));
  r.push_back(rec(4010, kA, TraceKind::kOwnershipGranted, 3, 9, 1, kCoord, 1, 40));
  r.push_back(rec(4500, kCoord, TraceKind::kLeaderElected, 0, 2, 1, {}, 2));
  r.push_back(rec(4600, kA, TraceKind::kEpochChanged, 0, 2, 0, kCoord, 2));
  r.push_back(rec(4700, kGw, TraceKind::kInputForwarded, 3, 11, 0, kA, 2));
  r.push_back(rec(4800, kGw, TraceKind::kInputForwarded, 3, 12, 0, kA, 2));
  return merge_records({TraceInput{"story", r}});
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

TEST(VizMerge, OrdersByTimeThenNodeThenFile) {
  TraceInput f1{"f1", {rec(5, kB, TraceKind::kTickDone, 0, 1), rec(7, kA, TraceKind::kTickDone, 0, 2)}};
  TraceInput f2{"f2", {rec(5, kA, TraceKind::kTickDone, 0, 3), rec(5, kB, TraceKind::kTickDone, 0, 4), rec(1, kB, TraceKind::kTickDone, 0, 5)}};
  const std::vector<TraceEvent> m = merge_records({f1, f2});
  ASSERT_EQ(m.size(), 5u);
  std::vector<int64_t> order;
  for (const TraceEvent& e : m) order.push_back(e.a);
  // t=1 first; at t=5 node 101 before 102, and for 102 file 1 before file 2; then t=7.
  EXPECT_EQ(order, (std::vector<int64_t>{5, 3, 1, 4, 2}));
}

TEST(VizModel, RolesSpansMigrationsTicks) {
  const viz::Run run = build_run(story());
  EXPECT_EQ(run.nodes.at(kCoord).role, NodeRole::kCoordinator);
  EXPECT_EQ(run.nodes.at(kA).role, NodeRole::kCompute);
  EXPECT_EQ(run.nodes.at(kB).role, NodeRole::kCompute);
  EXPECT_EQ(run.nodes.at(kGw).role, NodeRole::kGateway);
  ASSERT_EQ(run.migrations.size(), 1u);
  const Migration& m = run.migrations[0];
  EXPECT_EQ(m.from, kA);
  EXPECT_EQ(m.to, kB);
  EXPECT_EQ(m.released_ns, 1520 * kNsPerMs);
  EXPECT_EQ(m.handoff_ns, 1530 * kNsPerMs);
  EXPECT_EQ(m.done_ns, 1600 * kNsPerMs);
  EXPECT_EQ(run.owner_at(EntityId(2), 1400 * kNsPerMs)->node, kA);
  EXPECT_EQ(run.owner_at(EntityId(2), 1550 * kNsPerMs), nullptr);  // released, not yet granted: in transit
  EXPECT_EQ(run.owner_at(EntityId(2), 1700 * kNsPerMs)->node, kB);
  EXPECT_EQ(run.owner_at(EntityId(2), 3100 * kNsPerMs), nullptr);  // its owner crashed
  EXPECT_EQ(run.owner_at(EntityId(3), 4100 * kNsPerMs)->node, kA);
  EXPECT_EQ(run.owner_at(EntityId(3), 4100 * kNsPerMs)->start, SpanStart::kRecovery);
  EXPECT_EQ(run.epoch_at(4400 * kNsPerMs), 1u);
  EXPECT_EQ(run.epoch_at(4500 * kNsPerMs), 2u);
  ASSERT_EQ(run.ticks.at(kA).size(), 50u);
  const TickSample& s = run.ticks.at(kA)[0];
  ASSERT_TRUE(s.has_queues);
  EXPECT_EQ(s.queues[0], 4);
  EXPECT_EQ(s.queues[1], 2);
  EXPECT_EQ(s.queues[2], 1);
  EXPECT_EQ(s.queues[3], 3);
}

TEST(VizGraph, DetailBeforeTheCrash) {
  const viz::Run run = build_run(story());
  GraphOptions opt;
  opt.at_ns = 1550 * kNsPerMs;  // entity 2 in flight
  const std::string dot = ownership_dot(run, opt);
  EXPECT_NE(dot.find("subgraph cluster_101"), std::string::npos);
  EXPECT_NE(dot.find("subgraph cluster_102"), std::string::npos);
  EXPECT_EQ(dot.find("cluster_1 "), std::string::npos);  // coordinators are not clusters of entities
  // Entity 1 on A, in A's colour; entity 3 in B's.
  EXPECT_NE(dot.find("e1 [shape=circle, style=filled, fillcolor=\"" + node_colour(run, kA) + "\""), std::string::npos);
  EXPECT_NE(dot.find("e3 [shape=circle, style=filled, fillcolor=\"" + node_colour(run, kB) + "\""), std::string::npos);
  EXPECT_NE(node_colour(run, kA), node_colour(run, kB));
  EXPECT_NE(dot.find("e1 -> n102 [style=dashed"), std::string::npos);  // B's ghost of 1
  // Entity 2 was released by A and is on its way to B: the edge starts at A's box.
  EXPECT_NE(dot.find("n101 -> n102 [color=\"#d62728\", penwidth=2.5, label=\"migrating\""), std::string::npos);
  EXPECT_NE(dot.find("n101 -> n201 [style=dotted"), std::string::npos);  // A feeds the gateway
  EXPECT_EQ(dot.find("CRASHED"), std::string::npos);
}

TEST(VizGraph, AfterTheCrashShowsTheRecovery) {
  const viz::Run run = build_run(story());
  GraphOptions opt;
  opt.at_ns = 4200 * kNsPerMs;
  const std::string dot = ownership_dot(run, opt);
  EXPECT_NE(dot.find("compute 102\\nCRASHED at +3.000 s\\ndeclared lost at +4.000 s"), std::string::npos) << dot;
  EXPECT_NE(dot.find("n102 -> n101 [color=\"#000000\""), std::string::npos);
  EXPECT_NE(dot.find("1 recovered"), std::string::npos);
  EXPECT_NE(dot.find("1 entities lost with it, awaiting re-grant"), std::string::npos);  // entity 2 went down with B
  EXPECT_EQ(dot.find("e1 -> n102"), std::string::npos);  // B's ghosts died with it
}

TEST(VizGraph, SummaryPastTheDetailLimit) {
  const viz::Run run = build_run(story());
  GraphOptions opt;
  opt.at_ns = 1400 * kNsPerMs;
  opt.detail_entities_max = 2;
  const std::string dot = ownership_dot(run, opt);
  EXPECT_EQ(dot.find("e1 ["), std::string::npos);
  EXPECT_NE(dot.find("owns 2 entities"), std::string::npos);
  EXPECT_NE(dot.find("owns 1 entities\\nholds 1 ghosts"), std::string::npos);
  EXPECT_NE(dot.find("n101 -> n102 [style=dashed"), std::string::npos);
  EXPECT_NE(dot.find("label=\"1 ghosts\""), std::string::npos);
  EXPECT_NE(dot.find("summary: one box per node"), std::string::npos);
}

TEST(VizTimeline, HoverCarriesEntityTickEpoch) {
  const viz::Run run = build_run(story());
  TimelineOptions opt;
  opt.title = "a <b>&\"title\"";
  const std::string html = migration_timeline_html(run, opt);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("a &lt;b&gt;&amp;&quot;title&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<b>&\""), std::string::npos);
  EXPECT_NE(html.find("<title>entity 3: compute 102 -&gt; compute 101 by recovery at +4.010 s (tick 40, epoch 1, generation 9); "
                      "the old owner crashed at +3.000 s</title>"),
            std::string::npos);
  EXPECT_NE(html.find("<title>entity 2: compute 101 -&gt; compute 102 by migration at +1.600 s (tick 16, epoch 1"), std::string::npos);
  EXPECT_NE(html.find(">epoch 2<"), std::string::npos);             // the epoch change is marked
  EXPECT_NE(html.find("compute 102 crashed"), std::string::npos);    // and the crash
  EXPECT_NE(html.find("no heartbeat from compute 102"), std::string::npos);
  EXPECT_NE(html.find("addEventListener('wheel'"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // nothing fetched: the only URL is the SVG namespace
}

TEST(VizEntity, OwnersGhostsInputsInOrder) {
  const std::vector<TraceEvent> records = story();
  const viz::Run run = build_run(records);
  EntityOptions opt;
  opt.entity = EntityId(3);
  const std::string text = entity_timeline_text(run, records, opt);
  const size_t spawn = text.find("OWNER from now: spawn, generation 7");
  const size_t recovery = text.find("OWNER from now: recovery, generation 9");
  const size_t inputs = text.find("inputs 11..12 (2) forwarded to compute 101");
  ASSERT_NE(spawn, std::string::npos) << text;
  ASSERT_NE(recovery, std::string::npos) << text;
  ASSERT_NE(inputs, std::string::npos) << text;
  EXPECT_LT(spawn, recovery);
  EXPECT_LT(recovery, inputs);
  opt.entity = EntityId(1);
  EXPECT_NE(entity_timeline_text(run, records, opt).find("compute 102       holds a ghost of it, fed by compute 101"), std::string::npos);
  opt.entity = EntityId(99);
  EXPECT_NE(entity_timeline_text(run, records, opt).find("no record names this entity"), std::string::npos);
}

TEST(VizCharts, QueuesAndNoDurationsInSim) {
  const viz::Run run = build_run(story());
  const std::string html = tick_charts_html(run, ChartOptions());
  EXPECT_NE(html.find("No tick durations in this trace"), std::string::npos);
  EXPECT_NE(html.find("input (peak 4)"), std::string::npos);
  EXPECT_NE(html.find("output (peak 3)"), std::string::npos);
  EXPECT_NE(html.find("entities owned (peak 2)"), std::string::npos);
}

// A small JSON validator: enough to say the export parses.
class Json {
 public:
  explicit Json(const std::string& s) : s_(s) {}
  bool valid() {
    ws();
    if (!value()) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool lit(const char* w) {
    const std::string t(w);
    if (s_.compare(i_, t.size(), t) != 0) return false;
    i_ += t.size();
    return true;
  }
  bool string() {
    if (s_[i_] != '"') return false;
    for (++i_; i_ < s_.size(); ++i_) {
      if (s_[i_] == '\\') {
        ++i_;
      } else if (s_[i_] == '"') {
        ++i_;
        return true;
      } else if (static_cast<unsigned char>(s_[i_]) < 0x20) {
        return false;
      }
    }
    return false;
  }
  bool number() {
    const size_t start = i_;
    if (s_[i_] == '-') ++i_;
    while (i_ < s_.size() && (isdigit(static_cast<unsigned char>(s_[i_])) || s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == '+' || s_[i_] == '-')) ++i_;
    return i_ > start;
  }
  bool value() {
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '{') return container('}', true);
    if (c == '[') return container(']', false);
    if (c == '"') return string();
    if (c == 't') return lit("true");
    if (c == 'f') return lit("false");
    if (c == 'n') return lit("null");
    return number();
  }
  bool container(char close, bool object) {
    ++i_;
    ws();
    if (i_ < s_.size() && s_[i_] == close) return ++i_, true;
    for (;;) {
      ws();
      if (object) {
        if (i_ >= s_.size() || !string()) return false;
        ws();
        if (i_ >= s_.size() || s_[i_++] != ':') return false;
        ws();
      }
      if (!value()) return false;
      ws();
      if (i_ >= s_.size()) return false;
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      return s_[i_++] == close;
    }
  }
  const std::string& s_;
  size_t i_ = 0;
};

TEST(VizChrome, ParsesWithATrackPerNode) {
  const viz::Run run = build_run(story());
  const std::string json = chrome_trace_json(run, ChromeOptions());
  EXPECT_TRUE(Json(json).valid());
  EXPECT_FALSE(Json(json.substr(0, json.size() - 3)).valid());  // the validator can fail
  for (const char* name : {"compute 101", "compute 102", "coordinator 1", "gateway 201"}) {
    EXPECT_NE(json.find(std::string("\"process_name\",\"args\":{\"name\":\"") + name + "\"}"), std::string::npos) << name;
  }
  EXPECT_EQ(count(json, "\"name\":\"tick\""), 50u + 29u);
  EXPECT_NE(json.find("\"name\":\"recovery of 3\""), std::string::npos);
  EXPECT_NE(json.find("\"name\":\"host_crashed\""), std::string::npos);
  ChromeOptions small;
  small.events_max = 3;
  const std::string cut = chrome_trace_json(run, small);
  EXPECT_TRUE(Json(cut).valid());
  EXPECT_NE(cut.find("\"events_left_out\":"), std::string::npos);
  EXPECT_EQ(cut.find("\"events_left_out\":0"), std::string::npos);
}

TEST(VizEscape, Formats) {
  EXPECT_EQ(xml_escape("<a href='x'>&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;");
  EXPECT_EQ(json_escape("a\"b\\c\n</script>\x01"), "a\\\"b\\\\c\\n\\u003c/script>\\u0001");
  EXPECT_EQ(dot_escape("say \"hi\"\nthere\\"), "say \\\"hi\\\"\\nthere\\\\");
}

// Untrusted files: a malformed one is an error naming it, a cut last record a warning.
TEST(VizLoad, MalformedFilesAreErrorsNotCrashes) {
  const std::string dir = ::testing::TempDir();
  const std::string garbage = dir + "/viz_garbage.trace";
  {
    std::ofstream f(garbage, std::ios::binary);
    f << "\xff\xff\xff\xff\xff\xff this is not a trace";
  }
  std::vector<TraceEvent> records;
  std::string warnings;
  Status s = app::load_viz_records({garbage}, &records, &warnings);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("viz_garbage.trace"), std::string::npos) << s.error().message;
  s = app::load_viz_records({dir + "/viz_does_not_exist.trace"}, &records, &warnings);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("cannot open"), std::string::npos);

  // Two good files merged, one of them cut in its last record.
  const std::string a = dir + "/viz_a.trace", b = dir + "/viz_b.trace";
  {
    common::TraceFileWriter w;
    ASSERT_TRUE(w.open(a));
    w.write(rec(5, kA, TraceKind::kTickDone, 0, 1));
    w.write(rec(9, kA, TraceKind::kTickDone, 0, 2));
  }
  {
    common::TraceFileWriter w;
    ASSERT_TRUE(w.open(b));
    w.write(rec(7, kB, TraceKind::kTickDone, 0, 3));
    w.write(rec(8, kB, TraceKind::kMessageDelivered, 0, 4));  // left out by viz
  }
  {
    std::ofstream f(b, std::ios::binary | std::ios::app);
    f << "\x20\x08";  // a 32-byte record that never came
  }
  warnings.clear();
  ASSERT_TRUE(app::load_viz_records({a, b}, &records, &warnings));
  EXPECT_NE(warnings.find("truncated"), std::string::npos);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].a, 1);
  EXPECT_EQ(records[1].a, 3);
  EXPECT_EQ(records[2].a, 2);

  // Records that make no sense together draw something, never crash.
  std::vector<TraceEvent> nonsense = {rec(1, kA, TraceKind::kMigrationReleased, 5, 1, 0, kB), rec(2, kB, TraceKind::kGhostDropped, 5, 99),
                                      rec(3, kA, TraceKind::kOwnershipGranted, 5, -7, 99), rec(3, kA, TraceKind::kTickDone, 0, -5, -1),
                                      rec(4, kA, TraceKind::kQueueDepths, 0, -1, -1), rec(5, NodeId(7), static_cast<TraceKind>(999))};
  const viz::Run run = build_run(nonsense);
  GraphOptions opt;
  opt.at_ns = 10 * kNsPerMs;
  EXPECT_NE(ownership_dot(run, opt).find("digraph"), std::string::npos);
  EXPECT_TRUE(Json(chrome_trace_json(run, ChromeOptions())).valid());
  EXPECT_FALSE(migration_timeline_html(run, TimelineOptions()).empty());
  EXPECT_FALSE(tick_charts_html(run, ChartOptions()).empty());
}

}  // namespace
}  // namespace aether::viz
