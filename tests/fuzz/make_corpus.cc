// Writes the seed corpus of every harness from the real encoders: fuzz_make_corpus OUT_DIR writes
// OUT_DIR/<harness>/<seed>. tests/fuzz/make_corpus.sh runs it into tests/fuzz/corpus/ and adds the
// text seeds (scenarios, configs) from the tree. Deterministic: the same build writes the same bytes.

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/scenario.h"
#include "app/sim_run.h"
#include "app/text_config.h"
#include "app/trace_command.h"
#include "engine/runtime/network.h"
#include "engine/wire/client_protocol.h"
#include "engine/wire/codec.h"
#include "engine/wire/framing.h"
#include "engine/wire/state_codec.h"
#include "runtime/common/trace_file.h"
#include "tests/fuzz/script.h"

namespace {

using namespace aether;
namespace fs = std::filesystem;

fs::path g_out;

void write(const std::string& harness, const std::string& name, const std::vector<uint8_t>& bytes) {
  fs::create_directories(g_out / harness);
  std::ofstream f(g_out / harness / name, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
void write(const std::string& harness, const std::string& name, const std::string& text) {
  write(harness, name, std::vector<uint8_t>(text.begin(), text.end()));
}
std::vector<uint8_t> with_prefix(std::vector<uint8_t> prefix, const std::vector<uint8_t>& bytes) {
  prefix.insert(prefix.end(), bytes.begin(), bytes.end());
  return prefix;
}

EntityState sample_state(uint64_t id, int32_t x, int32_t y) {
  EntityState s;
  s.id = EntityId(id);
  s.pos = Vec2{x, y};
  s.hp = 73;
  s.team = static_cast<uint32_t>(id % 2);
  s.target = EntityId(id + 1);
  s.version = 40 + id;
  s.generation = 3;
  s.move_x = -600;
  s.move_y = 800;
  s.cooldown_ticks = 2;
  s.last_input_seq = 917;
  return s;
}

// One message of every kind the servers exchange.
std::vector<std::pair<std::string, ServerBody>> server_bodies() {
  const EntityState a = sample_state(7, 120'000, 250'500), b = sample_state(8, -3, 399'999);
  Replicate rep;
  rep.full = true;
  rep.entries.push_back(ReplicaEntry{EntityId(7), NodeId(101), 3, NodeId(201), SessionId(5), a, 0xfeed, true});
  rep.erased = {EntityId(9)};
  rep.nodes.push_back(ReplicaNode{NodeId(101), Role::kCompute, "compute-1:7100", 5000, false});
  rep.version = (uint64_t{2} << 32) | 4;
  rep.leader_clock_ns = 123'456'789;
  rep.batch = 12;
  AdminRequest debug{AdminRequest::Command::kDebug, {}, {}};
  debug.debug.entities = {EntityId(7)};
  debug.debug.nodes = {NodeId(101)};
  debug.debug.whole_set = true;
  DeltaBatch deltas;
  deltas.states = {a, b};
  deltas.removed = {EntityId(11)};
  return {
      {"hello", Hello{Role::kCompute, "compute-1:7100", 5000, 0x1234'5678'9abc}},
      {"heartbeat", Heartbeat{9, 120, 4'000'000, 310, 2, 400, 120, 30, (uint64_t{1} << 32) | 2, 120, 0xabcdef, 3, false}},
      {"spawn_request", SpawnRequest{SessionId((uint64_t{201} << 40) | 1), EntityId(7), 0xfeed}},
      {"spawn_reply", SpawnReply{SessionId(1), EntityId(7), NodeId(101), "compute-1:7100", "", 0xfeed, false}},
      {"spawn_reply_later", SpawnReply{SessionId(1), {}, {}, "", "no compute node available", 0, true}},
      {"grant", OwnershipGrant{EntityId(7), 3, NodeId(201), SessionId(1), Vec2{100, 200}, 1, a, true, 2}},
      {"revoke", OwnershipRevoke{EntityId(7), 3, (uint64_t{1} << 32) | 1}},
      {"session_closed", SessionClosed{SessionId(1), EntityId(7), true}},
      {"input", InputForward{EntityId(7), ClientInput{12, -1000, 1000, EntityId(8), true}}},
      {"deltas", deltas},
      {"membership", Membership{{PeerInfo{NodeId(101), "compute-1:7100"}, PeerInfo{NodeId(102), "compute-2:7100"}}, {RegionRange{NodeId(101), 0, 2048}, RegionRange{NodeId(102), 2048, 4096}}}},
      {"subscribe", Subscribe{{CellKey{0, 0}, CellKey{-1, 5}}}},
      {"intent", RemoteIntent{IntentKey{NodeId(101), 5, 9, 2}, EntityId(7), EntityId(8), 1, intent::Damage{7}}},
      {"heartbeat_ack", HeartbeatAck{9, (uint64_t{1} << 32) | 2, 987'654'321}},
      {"snapshot", Snapshot{{a, b}}},
      {"owner_changed", OwnerChanged{EntityId(7), NodeId(102), "compute-2:7100"}},
      {"evicted", Evicted{(uint64_t{1} << 32) | 3}},
      {"leadership", Leadership{true}},
      {"prepare", Prepare{5, true}},
      {"promise", Promise{5, {Holding{EntityId(7), 3, NodeId(201), SessionId(1)}}, 1, (uint64_t{1} << 32) | 2, {LogoutSaved{CharacterId(70), 3}}}},
      {"replicate", rep},
      {"session_moved", SessionMoved{EntityId(7), NodeId(202), SessionId(2)}},
      {"release", Release{EntityId(7), 3, NodeId(102)}},
      {"released", Released{EntityId(7), 3, a}},
      {"handoff", Handoff{a, {InputForward{EntityId(7), ClientInput{13, 5, -5, {}, false}}}}},
      {"admin_nodes", AdminRequest{AdminRequest::Command::kListNodes, {}, {}}},
      {"admin_move", AdminRequest{AdminRequest::Command::kMove, EntityId(7), NodeId(102)}},
      {"admin_debug", debug},
      {"admin_reply", AdminReply{true, {"node 101 compute", "node 201 gateway"}}},
      {"clock_probe", ClockProbe{1'000'000, 2'000'000}},
      {"replica_ack", ReplicaAck{(uint64_t{1} << 32) | 2, 12}},
      {"orphan_query", OrphanQuery{(uint64_t{1} << 32) | 2, {EntityId(7), EntityId(8)}}},
      {"gateway_routes", GatewayRoutes{3, 400'000, {GatewayRoute{NodeId(201), "gateway-1:7200", 0, 2048}, GatewayRoute{NodeId(202), "gateway-2:7200", 2048, 4096}}}},
      {"instance_request", InstanceRequest{EntityId(7), 1}},
      {"instance_answer", InstanceAnswer{EntityId(7), 1, 2, false}},
      {"logout_saved", LogoutSaved{CharacterId(9), 3}},
  };
}

Role sender_of(const ServerBody& body) {
  if (std::holds_alternative<AdminRequest>(body)) return Role::kAdmin;
  if (std::holds_alternative<DeltaBatch>(body) || std::holds_alternative<Heartbeat>(body)) return Role::kCompute;
  return Role::kCoordinator;
}

void server_wire() {
  for (auto& [name, body] : server_bodies()) {
    const Role role = sender_of(body);
    write("server_wire", name, encode(ServerMessage{NodeId(role == Role::kAdmin ? 9 : 101), role, 2, 1234, body}));
  }
}

void state_codec() {
  const EntityState a = sample_state(7, 120'000, 250'500), b = sample_state(1ULL << 40, -1'000'000'000, 1'000'000'000);
  write("state_codec", "all", with_prefix({0}, pack_state(a)));
  write("state_codec", "public", with_prefix({0}, pack_state(a, kFieldsPublic)));
  write("state_codec", "owner", with_prefix({0}, pack_state(b, kFieldsOwner)));
  write("state_codec", "position_only", with_prefix({0}, pack_state(b, kFieldPos)));
  const std::vector<EntityState> list = {a, b, sample_state(9, 0, 0)};
  write("state_codec", "list", with_prefix({255}, pack_states(list)));
  write("state_codec", "list_public", with_prefix({7}, pack_states(list, kFieldsPublic)));
  write("state_codec", "list_empty", with_prefix({255}, pack_states({})));
}

void client_protocol() {
  write("client_protocol", "hello", with_prefix({0}, client::encode_hello(client::Hello{client::kProtocolVersion, "ana", {}, 0})));
  write("client_protocol", "hello_resume",
        with_prefix({0}, client::encode_hello(client::Hello{client::kProtocolVersion, "bot-17", EntityId(7), 0xfeedface})));
  write("client_protocol", "input", with_prefix({0}, client::encode_input(ClientInput{42, -1000, 350, EntityId(8), true})));
  write("client_protocol", "welcome", with_prefix({1}, client::encode_welcome(client::Welcome{EntityId(7), 1200, 10, 50'000, 0xfeed})));
  write("client_protocol", "goodbye", with_prefix({1}, client::encode_goodbye(client::Goodbye{"idle"})));
  write("client_protocol", "redirect", with_prefix({1}, client::encode_redirect(client::Redirect{"gateway-2:7200"})));
  const client::Seen me = client::seen_of(sample_state(7, 120'000, 250'500));
  client::Seen moved = me;
  moved.x_cm += 60;
  moved.hp -= 7;
  moved.flags = kEntityFlagDead;
  std::vector<uint8_t> out;
  client::UpdateWriter w(out);
  w.begin(1201);
  w.entered(0, me);
  w.entered(1, client::seen_of(sample_state(8, 121'000, 250'000)));
  w.changed(2, me, moved, client::difference(me, moved));
  w.left(3);
  w.far(4, -2, 1, 17);
  w.end(true, 3);
  write("client_protocol", "update", with_prefix({1}, out));
  w.begin(1202);
  w.end(false, 0);
  write("client_protocol", "update_empty", with_prefix({1}, out));
}

void frames() {
  std::vector<uint8_t> stream;
  for (auto& [name, body] : server_bodies()) {
    if (name == "hello" || name == "heartbeat" || name == "deltas" || name == "input") append_frame(stream, encode(ServerMessage{NodeId(101), Role::kCompute, 2, 1, body}));
  }
  write("frames", "server_stream", with_prefix({7, 3}, stream));
  std::vector<uint8_t> small;
  append_frame(small, client::encode_input(ClientInput{1, 0, 0, {}, false}));
  append_frame(small, {});
  append_frame(small, client::encode_input(ClientInput{2, 10, 0, {}, true}));
  write("frames", "client_stream", with_prefix({3, 77}, small));
  write("frames", "over_limit", with_prefix({1, 5}, small));
  small.resize(small.size() - 3);  // cut inside the last frame
  write("frames", "cut", with_prefix({6, 200}, small));
}

// Gateway scripts (tests/fuzz/script.h, read by fuzz_gateway.cc's Harness): the usual life of a
// session. Ops: 0 accept, 2 hello, 3 input, 4 spawn reply, 5 feed, 6 advance.
void gateway() {
  using fuzz::ScriptWriter;
  auto settle = [](ScriptWriter& w, int connects) {
    for (int i = 0; i < connects; ++i) w.in<int>(1, 0, 15);  // complete, never refuse
  };
  ScriptWriter w;
  settle(w, 1);  // the leader's connection
  w.in<uint8_t>(0, 0, 13);
  settle(w, 0);
  w.in<uint8_t>(2, 0, 13).in<size_t>(0, 0, 0).flag(true).text("ana").in<uint64_t>(0, 0, 40).any<uint64_t>(0);
  settle(w, 0);
  // spawn reply: the pending request, a grant of a new entity owned by compute-101
  w.in<uint8_t>(4, 0, 13).flag(true).in<int>(0, 0, 3).in<uint32_t>(0, 0, 2).flag(true).any<uint64_t>(0xfeed);
  settle(w, 1);  // the connection to compute-101
  for (int t = 0; t < 4; ++t) {
    // feed: two states near each other, the avatar (entity 1001) and entity 5
    w.in<uint8_t>(5, 0, 13).in<uint32_t>(0, 0, 2).in<int>(1, 0, 7).in<size_t>(2, 0, 10);
    for (uint64_t id : {1001u, 5u}) {
      if (id == 1001) {
        w.flag(true).in<int>(1, 0, 9).in<size_t>(0, 0, 0);
      } else {
        w.flag(false).in<uint64_t>(id, 1, 40);
      }
      w.in<int>(1, 0, 7).in<int32_t>(200'000 + t * 600, 0, 400'000).in<int32_t>(200'000, 0, 400'000);
      w.in<int32_t>(1000, -1000, 1000).in<int32_t>(0, -1000, 1000).in<int32_t>(90, 0, 100).in<uint32_t>(static_cast<uint32_t>(id % 2), 0, 3);
      w.flag(false).in<int>(1, 0, 9).in<size_t>(0, 0, 0).any<uint8_t>(0);
    }
    w.in<size_t>(0, 0, 3).flag(true);
    settle(w, 0);
    w.in<uint8_t>(3, 0, 13).in<size_t>(0, 0, 0).flag(true).in<int32_t>(500, -1000, 1000).in<int32_t>(0, -1000, 1000);
    w.in<int>(1, 0, 9).in<size_t>(0, 0, 0).flag(t % 2 == 0);
    settle(w, 0);
    w.in<uint8_t>(6, 0, 13).in<int64_t>(100, 0, 3000);
    settle(w, 0);
  }
  write("gateway", "one_session", w.bytes());
  // The same with a second client that sends garbage, and the leader's connection breaking.
  ScriptWriter v = w;
  v.in<uint8_t>(0, 0, 13);
  settle(v, 0);
  v.in<uint8_t>(1, 0, 13).in<size_t>(1, 0, 1).text(std::string("\x02\xff\xff\xff\xff\x0f", 6));
  settle(v, 0);
  v.in<uint8_t>(11, 0, 13).in<uint32_t>(3, 0, 3);
  settle(v, 0);
  v.in<uint8_t>(6, 0, 13).in<int64_t>(2000, 0, 3000);
  settle(v, 1);
  write("gateway", "two_sessions_leader_lost", v.bytes());
}

// A small simulated run with a crash, its trace cut into files of a few hundred records.
void trace() {
  wire::Scenario s;
  const std::string text = R"(name: "fuzz-seed" duration_s: 6
    topology { coordinators: 2 compute_nodes: 2 gateways: 1 }
    bots { count: 6 teams: 2 join_spread_ms: 500 }
    world { arena_m: 100 view_radius_m: 30 fire_range_m: 20 }
    events { at_ms: 3000 crash_fault { host: "compute-1" restart_after_ms: 1500 } })";
  if (!app::parse_text_proto("seed", text, &s) || !app::validate_scenario(s)) {
    std::fprintf(stderr, "make_corpus: the trace scenario does not load\n");
    std::exit(1);
  }
  const fs::path path = fs::temp_directory_path() / "aether-fuzz-seed.trace";
  app::SimRunOptions options;
  options.seed = 1;
  options.trace_path = path.string();
  app::run_scenario(s, options);
  app::TraceFileContents contents;
  if (!app::read_trace_records(path.string(), &contents)) std::exit(1);
  fs::remove(path);
  // Files of 150 records: the start (registrations, spawns), around the crash, the recovery, and
  // the end; deliveries kept in one, left out of the others (they are the bulk).
  std::vector<TraceEvent> without;
  for (const TraceEvent& e : contents.records) {
    if (e.kind != TraceKind::kMessageDelivered) without.push_back(e);
  }
  auto slice = [](const std::vector<TraceEvent>& all, size_t from, size_t n) {
    std::string out;
    for (size_t i = from; i < all.size() && i < from + n; ++i) common::append_trace_record(all[i], &out);
    return out;
  };
  auto at_time = [&](TimeNs t) {
    size_t i = 0;
    while (i < without.size() && without[i].time_ns < t) ++i;
    return i;
  };
  write("trace", "start", slice(without, 0, 150));
  write("trace", "crash", slice(without, at_time(3 * kNsPerSec - 200 * kNsPerMs), 150));
  write("trace", "recovery", slice(without, at_time(4500 * kNsPerMs), 150));
  write("trace", "end", slice(without, without.size() > 150 ? without.size() - 150 : 0, 150));
  write("trace", "with_deliveries", slice(contents.records, contents.records.size() / 2, 100));
  std::string cut = slice(without, 0, 20);
  cut.resize(cut.size() - 4);
  write("trace", "cut", cut);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_corpus OUT_DIR\n");
    return 2;
  }
  g_out = argv[1];
  frames();
  state_codec();
  server_wire();
  client_protocol();
  gateway();
  trace();
  return 0;
}
