// A gateway (engine/gateway/gateway.h) driven alone on a fake runtime (tests/unit/fake_runtime.h):
// clients connect, say anything (raw bytes, or well-formed hellos and inputs with any values), and
// leave; the leader answers spawns, moves avatars, sends routes and debug orders, or raw bytes;
// compute nodes feed entity states with any values the codec lets through, or raw bytes; time
// passes; connections break. The input is the script (tests/fuzz/script.h).
//
// The gateway must never trip an assertion or a sanitizer, and what it sends must make sense to the
// other side: every server payload decodes; every client payload decodes as a gateway message; a
// client hears Welcome once, before any update; and each update agrees with what that client was
// told before (an entity enters a free slot, changes and leaves only a taken one, and is never in
// two slots), with positions that stay in range as the deltas add up.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/core/region_map.h"
#include "engine/gateway/gateway.h"
#include "engine/wire/client_protocol.h"
#include "engine/wire/codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/script.h"
#include "tests/unit/fake_runtime.h"

namespace {

using namespace aether;

constexpr NodeId kSelf{201};
constexpr NodeId kLeader{1};
constexpr const char* kListen = "gateway-201:8000";
constexpr const char* kLeaderAddress = "coordinator-1:7000";
constexpr uint32_t kComputes = 3;  // compute-101 .. compute-103
constexpr size_t kClientsMax = 12;
constexpr size_t kOpsMax = 400;
constexpr int32_t kArenaMm = 400'000;

std::string compute_address(uint32_t i) { return "compute-" + std::to_string(101 + i) + ":9000"; }

// What one client connection has been told, as a client would track it (BotClient::apply_update).
struct ClientModel {
  bool welcomed = false;
  bool closed = false;  // said goodbye or redirect
  std::map<uint32_t, client::Seen> slots;
  std::set<EntityId> known;
};

class Harness {
 public:
  explicit Harness(fuzz::ScriptReader& in) : in_(in), rt_(kSelf) {
    GatewayConfig cfg;
    cfg.node = kSelf;
    cfg.listen_address = kListen;
    cfg.coordinator_addresses = {kLeaderAddress};
    cfg.sessions_max = 8;
    cfg.client_view_entities_max = 6;
    cfg.client_update_bytes_max = 120;
    cfg.aggregate_cell_mm = 25'000;
    cfg.inputs.inputs_per_window_max = 3;
    cfg.compute_nodes_max = 2;  // three owners are offered: the limit is reached
    cfg.client_stall_ticks_max = 4;
    cfg_ = cfg;
    gateway_ = std::make_unique<Gateway>(rt_.runtime, cfg);
    gateway_->start();
    settle();
  }

  void run() {
    for (size_t op = 0; op < kOpsMax && in_.remaining() > 0; ++op) {
      step(in_.in<uint8_t>(0, 13));
      settle();
    }
    rt_.advance(2 * kNsPerSec);  // a last flush and the housekeeping after it
    settle();
  }

 private:
  void step(uint8_t op) {
    switch (op) {
      case 0: accept(); break;
      case 1: client_bytes(); break;
      case 2: client_hello(); break;
      case 3: client_input(); break;
      case 4: spawn_reply(); break;
      case 5: feed(); break;
      case 6: rt_.advance(in_.in<TimeNs>(0, 3000) * kNsPerMs); break;
      case 7: close_client(); break;
      case 8: leader_bytes(); break;
      case 9: owner_changed(); break;
      case 10: routes(); break;
      case 11: reset_server(); break;
      case 12: compute_bytes(); break;
      case 13: leader_other(); break;
    }
  }

  // --- clients ---
  void accept() {
    if (clients_.size() >= kClientsMax) return;
    const ConnId c = rt_.network.accept(kListen);
    clients_.push_back(c);
    models_[c];
  }
  ConnId pick_client() {
    if (clients_.empty()) return 0;
    const ConnId c = clients_[in_.in<size_t>(0, clients_.size() - 1)];
    return rt_.network.open(c) ? c : 0;
  }
  void client_bytes() {
    const ConnId c = pick_client();
    const std::string bytes = in_.text(80);
    if (c) rt_.network.deliver_bytes(c, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
  void client_hello() {
    const ConnId c = pick_client();
    client::Hello h;
    h.protocol_version = in_.flag() ? client::kProtocolVersion : in_.any<uint32_t>();
    h.name = in_.text(kNameBytesMax);
    h.resume_entity = pick_entity();
    h.resume_token = in_.any<uint64_t>();
    if (c) rt_.network.deliver_bytes(c, client::encode_hello(h));
  }
  void client_input() {
    const ConnId c = pick_client();
    ClientInput input;
    input.seq = in_.flag() ? ++seq_ : in_.any<uint32_t>();
    input.move_x = in_.in<int32_t>(-kMovePermilleMax, kMovePermilleMax);
    input.move_y = in_.in<int32_t>(-kMovePermilleMax, kMovePermilleMax);
    input.target = pick_entity();
    input.skill = static_cast<uint8_t>(in_.flag() ? 1 : 0);
    if (c) rt_.network.deliver_bytes(c, client::encode_input(input));
  }
  void close_client() {
    if (const ConnId c = pick_client()) rt_.network.reset(c);
  }

  // --- the leader ---
  void to_leader(ServerBody body, Epoch epoch = 1) {
    if (leader_ && rt_.network.open(leader_)) rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, epoch, 0, std::move(body)});
  }
  void spawn_reply() {
    SpawnReply r;
    if (!pending_spawns_.empty() && in_.flag()) {
      r.session = pending_spawns_.front().session;
      pending_spawns_.erase(pending_spawns_.begin());
    } else {
      r.session = SessionId(in_.any<uint64_t>());
    }
    switch (in_.in<int>(0, 3)) {
      case 0: {
        const uint32_t node = in_.in<uint32_t>(0, kComputes - 1);
        r.entity = in_.flag() ? EntityId(++next_entity_) : pick_entity();
        r.owner = NodeId(101 + node);
        r.owner_address = compute_address(node);
        r.resume_token = in_.any<uint64_t>();
        if (r.entity.valid()) avatars_.push_back(r.entity);
        break;
      }
      case 1: r.retry_later = true; r.save_pending = in_.flag(); break;
      case 2: r.refusal = in_.text(kReasonBytesMax); break;
      default: r.entity = EntityId(in_.any<uint64_t>()); break;  // no owner: refused
    }
    to_leader(r);
  }
  void owner_changed() {
    const uint32_t node = in_.in<uint32_t>(0, kComputes - 1);
    const EntityId e = pick_entity();
    if (e.valid()) to_leader(OwnerChanged{e, NodeId(101 + node), compute_address(node)});
  }
  void routes() {
    GatewayRoutes m;
    m.version = in_.any<uint8_t>();
    m.arena_mm = in_.flag() ? kArenaMm : in_.in<int32_t>(1, kCoordinateMmMax);
    uint32_t begin = in_.flag() ? 0 : in_.in<uint32_t>(0, RegionMap::kCells);
    const size_t n = in_.in<size_t>(1, 4);
    for (size_t i = 0; i < n; ++i) {
      const bool last = i + 1 == n;
      const uint32_t end = last && in_.flag() ? RegionMap::kCells
                                                      : in_.in<uint32_t>(begin + 1, RegionMap::kCells + 1);
      const NodeId gw = in_.flag() ? kSelf : NodeId(202 + in_.in<uint32_t>(0, 2));
      m.routes.push_back(GatewayRoute{gw, "gateway-" + std::to_string(gw.value) + ":8000", begin, end});
      begin = end;
    }
    to_leader(m);
  }
  void leader_other() {
    switch (in_.in<int>(0, 3)) {
      case 0: {
        const bool leads = in_.flag();
        to_leader(Leadership{leads}, in_.in<Epoch>(0, 3));
        break;
      }
      case 1: {
        AdminRequest a{AdminRequest::Command::kDebug, {}, {}};
        const EntityId e = pick_entity();
        a.debug.entities = {e.valid() ? e : EntityId(1)};
        if (in_.flag()) a.debug.nodes = {kSelf};
        a.debug.off = in_.flag();
        a.debug.whole_set = in_.flag();
        to_leader(a);
        break;
      }
      case 2: to_leader(SessionClosed{SessionId(in_.any<uint64_t>()), pick_entity(), in_.flag()}); break;
      default: to_leader(HeartbeatAck{in_.any<uint64_t>(), 0, 0}); break;
    }
  }
  void leader_bytes() {
    const std::string bytes = in_.text(120);
    if (leader_ && rt_.network.open(leader_)) {
      rt_.network.deliver_bytes(leader_, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
    }
  }

  // --- compute nodes ---
  void feed() {
    const uint32_t node = in_.in<uint32_t>(0, kComputes - 1);
    const ConnId c = computes_[node];
    if (!c || !rt_.network.open(c)) return;
    DeltaBatch batch;
    batch.reset = in_.in<int>(0, 7) == 0;
    const size_t n = in_.in<size_t>(0, 10);
    for (size_t i = 0; i < n; ++i) {
      EntityState s;
      s.id = in_.flag() ? pick_entity() : EntityId(in_.in<uint64_t>(1, 40));
      if (!s.id.valid()) s.id = EntityId(1);
      const bool wild = in_.in<int>(0, 7) == 0;  // anywhere the codec allows
      const int32_t lo = wild ? -kCoordinateMmMax : 0, hi = wild ? kCoordinateMmMax : kArenaMm;
      s.pos = Vec2{in_.in<int32_t>(lo, hi), in_.in<int32_t>(lo, hi)};
      s.move_x = in_.in<int32_t>(-kMovePermilleMax, kMovePermilleMax);
      s.move_y = in_.in<int32_t>(-kMovePermilleMax, kMovePermilleMax);
      s.hp = wild ? in_.in<int32_t>(-1'000'000'000, 1'000'000'000) : in_.in<int32_t>(0, 100);
      s.team = in_.in<uint32_t>(0, wild ? UINT32_MAX : 3);
      s.flags = in_.flag() ? kEntityFlagDead : 0;
      s.target = pick_entity();
      s.version = ++version_;
      s.generation = 1;
      s.cooldown_ticks = in_.any<uint8_t>();
      batch.states.push_back(s);
    }
    const size_t removed = in_.in<size_t>(0, 3);
    for (size_t i = 0; i < removed; ++i) {
      const EntityId e = pick_entity();
      if (e.valid()) batch.removed.push_back(e);
    }
    const Tick tick = in_.flag() ? ++tick_ : in_.in<Tick>(0, tick_ + 2);
    rt_.network.deliver(c, ServerMessage{NodeId(101 + node), Role::kCompute, 1, tick, batch});
  }
  void compute_bytes() {
    const uint32_t node = in_.in<uint32_t>(0, kComputes - 1);
    const std::string bytes = in_.text(120);
    const ConnId c = computes_[node];
    if (c && rt_.network.open(c)) rt_.network.deliver_bytes(c, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }
  void reset_server() {
    const uint32_t which = in_.in<uint32_t>(0, kComputes);
    const ConnId c = which == kComputes ? leader_ : computes_[which];
    if (c && rt_.network.open(c)) rt_.network.reset(c);
  }

  EntityId pick_entity() {
    if (avatars_.empty() || in_.in<int>(0, 9) == 0) return EntityId(in_.in<uint64_t>(0, 40));
    return avatars_[in_.in<size_t>(0, avatars_.size() - 1)];
  }

  // Completes every connect the gateway made (the leader then says it leads), and checks everything
  // sent since the last look.
  void settle() {
    for (const auto& [conn, address] : rt_.network.connecting()) {
      if (in_.in<int>(0, 15) == 0) {
        rt_.network.reset(conn, CloseReason::kRefused);
        continue;
      }
      rt_.network.complete_connect(conn);
      if (address == kLeaderAddress) {
        leader_ = conn;
        to_leader(Leadership{true});
      }
      for (uint32_t i = 0; i < kComputes; ++i) {
        if (address == compute_address(i)) computes_[i] = conn;
      }
    }
    const auto& sent = rt_.network.sent();
    for (; seen_ < sent.size(); ++seen_) check(sent[seen_]);
    FUZZ_CHECK(gateway_->sessions() <= cfg_.sessions_max, "%zu sessions, limit %zu", gateway_->sessions(), cfg_.sessions_max);
  }

  void check(const aether::testing::SentPayload& p) {
    auto model = models_.find(p.conn);
    if (model == models_.end()) {
      auto m = decode_server(p.bytes);
      FUZZ_CHECK(m.ok(), "the gateway sent an undecodable server message: %s", m.error().message.c_str());
      if (const auto* r = std::get_if<SpawnRequest>(&m->body); r && p.conn == leader_) pending_spawns_.push_back(*r);
      return;
    }
    check_client(model->second, p.bytes);
  }

  void check_client(ClientModel& c, const std::vector<uint8_t>& bytes) {
    FUZZ_CHECK(!c.closed, "the gateway spoke after its goodbye or redirect");
    ByteReader r(bytes);
    auto header = client::decode_gateway_header(r);
    FUZZ_CHECK(header.ok(), "the gateway sent a client an undecodable message: %s", header.error().message.c_str());
    switch (header->type) {
      case client::Type::kWelcome:
        FUZZ_CHECK(!c.welcomed, "a second welcome on one connection");
        c.welcomed = true;
        return;
      case client::Type::kGoodbye:
      case client::Type::kRedirect: c.closed = true; return;
      case client::Type::kUpdate: break;
      default: FUZZ_CHECK(false, "unknown message type");
    }
    FUZZ_CHECK(c.welcomed, "an update before the welcome");
    auto update = client::decode_update(bytes);
    FUZZ_CHECK(update.ok(), "the gateway sent an undecodable update: %s", update.error().message.c_str());
    // Entered before left within one update (a slot freed is reused only from the next one).
    for (const auto& [slot, seen] : update->entered) {
      FUZZ_CHECK(!c.slots.count(slot), "entity %llu entered slot %u, which is taken", static_cast<unsigned long long>(seen.id.value), slot);
      FUZZ_CHECK(!c.known.count(seen.id), "entity %llu entered twice", static_cast<unsigned long long>(seen.id.value));
      c.slots[slot] = seen;
      c.known.insert(seen.id);
    }
    for (const auto& [slot, ch] : update->changed) {
      auto it = c.slots.find(slot);
      FUZZ_CHECK(it != c.slots.end(), "a change of free slot %u", slot);
      client::Seen& s = it->second;
      if (ch.mask & client::kChangedPos) {
        const int64_t x = int64_t{s.x_cm} + ch.dx_cm, y = int64_t{s.y_cm} + ch.dy_cm;
        constexpr int64_t kCmMax = kCoordinateMmMax / client::kClientUnitMm + 1;
        FUZZ_CHECK(x >= -kCmMax && x <= kCmMax && y >= -kCmMax && y <= kCmMax, "a position delta leads out of range");
        s.x_cm = static_cast<int32_t>(x);
        s.y_cm = static_cast<int32_t>(y);
      }
    }
    for (uint32_t slot : update->left) {
      auto it = c.slots.find(slot);
      FUZZ_CHECK(it != c.slots.end(), "free slot %u left", slot);
      c.known.erase(it->second.id);
      c.slots.erase(it);
    }
  }

  fuzz::ScriptReader& in_;
  aether::testing::FakeRuntime rt_;
  GatewayConfig cfg_;
  std::unique_ptr<Gateway> gateway_;
  ConnId leader_ = 0;
  ConnId computes_[kComputes] = {0, 0, 0};
  std::vector<ConnId> clients_;
  std::map<ConnId, ClientModel> models_;
  std::vector<SpawnRequest> pending_spawns_;
  std::vector<EntityId> avatars_;
  size_t seen_ = 0;
  uint64_t next_entity_ = 1000;
  uint64_t version_ = 0;
  uint32_t seq_ = 0;
  Tick tick_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  aether::fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::ScriptReader in(data, size);
  Harness(in).run();
  return 0;
}
