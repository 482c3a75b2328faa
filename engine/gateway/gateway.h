#pragma once
// A gateway: a stateful proxy with no authority (seed section 4). It keeps one session per client
// connection (sticky), asks the coordinator where each client's avatar lives, forwards inputs to
// that owner, and sends each client, once per tick, only what changed within its radius of interest.
// Everything it holds is a throw-away cache rebuilt from the compute nodes' feeds.

#include <array>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include <optional>

#include "engine/core/id_index.h"
#include "engine/accounts/account_service.h"
#include "engine/core/region_map.h"
#include "engine/core/spatial_grid.h"
#include "engine/gateway/client_view.h"
#include "engine/gateway/entity_cache.h"
#include "engine/gateway/input_guard.h"
#include "engine/net/debug_set.h"
#include "engine/net/outbound_link.h"
#include "engine/runtime/component.h"
#include "engine/runtime/runtime.h"

namespace aether {

// Accounts at this gateway (engine/accounts, docs/security.md "Accounts and sessions").
struct GatewayAccounts {
  // On: the gateway serves register, login, refresh and logout, and admits a client (Hello) only
  // with a valid access token, its avatar being the token's character; or, without one, on the
  // resume token of an avatar (a client moving between gateways), which then resumes or gets
  // nothing. Off: anonymous clients, each given a new avatar (tests, the classic scenarios).
  bool enabled = false;
  accounts::LoginLimits login;
  accounts::SessionLimits sessions;
  // Account requests (register, login, refresh, logout) one connection may make; past it, it is
  // closed with Goodbye("too many account requests"). One at a time: another while one is being
  // answered is refused (kBusy) without work.
  uint32_t requests_per_connection_max = 16;
};

struct GatewayConfig {
  NodeId node{};
  std::string listen_address;              // where clients connect
  std::vector<std::string> coordinator_addresses;  // leader and vice; we follow whichever leads
  int32_t view_radius_mm = 50'000;         // must match the compute nodes'
  // Limits, and what happens at each:
  size_t sessions_max = 20'000;            // a client beyond it gets Goodbye("gateway full") and is closed
  size_t cache_entities_max = 200'000;     // entities beyond it are not cached (counted) until room frees
  size_t client_view_entities_max = 256;   // nearest first; the others in the radius are sent as aggregates
  // Per client and tick: changes beyond it wait, most owed first (client_view.h); 780 B at 10 Hz
  // keeps a client under 8 KB/s with its framing.
  size_t client_update_bytes_max = 780;
  int32_t aggregate_cell_mm = 25'000;      // the far view's cells
  InputGuardLimits inputs;                 // what a client's inputs may be, and when it is closed for them
  uint32_t client_stall_ticks_max = 50;    // a client whose socket refuses updates this long is dropped
  TimeNs hello_timeout_ns = 5 * kNsPerSec; // a connection silent this long after connecting is closed
  // A playing client that sends nothing this long is closed (Goodbye("idle"), its avatar despawned
  // as for any closed session): a held connection costs an avatar in the battle. Clients send an
  // input every tick while they play.
  TimeNs client_idle_timeout_ns = 30 * kNsPerSec;
  // A spawn the coordinator defers (no compute node ready yet, no quorum) is asked again every
  // spawn_retry_ns; a client still without an avatar after spawn_wait_max_ns gets
  // Goodbye("no room in the battle") and is closed.
  TimeNs spawn_retry_ns = 500 * kNsPerMs;
  TimeNs spawn_wait_max_ns = 30 * kNsPerSec;
  size_t compute_nodes_max = 256;          // owners beyond it are refused (spawn treated as failed)
  // Where this gateway's clients connect, as told to other gateways' clients sent here (Redirect);
  // empty: the address it listens on as bound.
  std::string advertise_address;
  // Routing clients to their region's gateway (GatewayRoutes): at most redirects_per_tick_max a
  // tick (the others wait for the next tick), and a client that came back here by a resume is not
  // sent on before it has played here redirect_settle_ns (a client is moved at most that often).
  uint32_t redirects_per_tick_max = 64;
  TimeNs redirect_settle_ns = 10 * kNsPerSec;
  // Mutual TLS is configured: a server we dial without a verified identity is refused (IdentityGuard).
  bool identity_required = false;
  GatewayAccounts accounts;
};

struct GatewayStats {
  uint64_t sessions_opened = 0;
  uint64_t sessions_closed = 0;
  uint64_t inputs_forwarded = 0;
  uint64_t inputs_dropped = 0;    // not forwarded: rejected (below), or no link to the owner
  std::array<uint64_t, kInputRejectionKinds> inputs_rejected{};  // by InputRejection
  uint64_t rejected_closed = 0;   // sessions closed for too many rejected inputs
  uint64_t updates_sent = 0;
  uint64_t update_bytes_sent = 0;
  uint64_t view_entities = 0;      // summed over updates: entities the clients knew (mean view = this / updates)
  uint64_t changes_deferred = 0;   // changes or entries that waited for a later update (byte budget)
  uint64_t updates_refused = 0;
  uint64_t slow_clients_dropped = 0;
  uint64_t protocol_errors = 0;
  uint64_t cache_refused = 0;
  uint64_t flushes = 0;
  uint64_t stale_epoch_dropped = 0;  // coordinator messages older than the newest epoch seen
  uint64_t spawns_deferred = 0;      // spawn replies saying "retry later": the client was held
  uint64_t resumes_refused = 0;      // a resume of an avatar another of our live sessions plays
  uint64_t clients_redirected = 0;   // clients sent to the gateway of their avatar's region
  uint64_t idle_closed = 0;          // playing clients silent for client_idle_timeout_ns
  uint64_t hello_timeouts = 0;       // connections that said no Hello within hello_timeout_ns
  uint64_t sessions_kicked = 0;      // sessions ended on their avatar's owner's word (SessionKick)
  uint64_t kicks_refused = 0;        // SessionKicks from a node that does not own the session's avatar (ignored)
  uint64_t huds_forwarded = 0;       // AvatarHuds sent on to their avatar's client (client::Type::kHud)
  uint64_t huds_refused = 0;         // AvatarHuds from a node that does not own the avatar (ignored)
  uint64_t huds_unplayed = 0;        // AvatarHuds for an avatar no session here plays (ignored)
  uint64_t routes_refused = 0;       // GatewayRoutes that did not cover the arena (ignored)
  uint64_t handed_over = 0;          // clients sent to another gateway, or detached, as we stopped
  // Accounts: Hellos refused for their token, by reason (accounts::AuthRefusal: token_missing,
  // token_unknown, token_forged, token_expired; character_busy for a character another session plays).
  std::array<uint64_t, accounts::kAuthRefusalKinds> hellos_refused{};
  uint64_t hellos_character_busy = 0;
  uint64_t resume_only_admitted = 0;   // Hellos without a good token admitted on a resume token alone
  uint64_t account_requests_closed = 0;  // connections closed past requests_per_connection_max
  uint64_t saves_loaded = 0;          // characters spawned from a save (a first life: none to load)
  uint64_t saves_absent = 0;          // characters with no save row: spawned as their first life
  uint64_t saves_unreadable = 0;      // sessions closed because their character's save did not decode
  uint64_t save_reads_failed = 0;     // save reads the store refused or failed (asked again)
  uint64_t saves_reread = 0;          // saves read again: the leader held the spawn for a log-out save
};

class Gateway final : public Component, public NetworkHandler {
 public:
  Gateway(Runtime& rt, GatewayConfig config);
  ~Gateway() override;

  void start() override;
  // Stopping: every client is sent to another gateway (the one whose part of the arena holds its
  // avatar, else the lowest other one the routes name) with its avatar kept for the resume there,
  // or, with no other gateway known, told Goodbye("gateway stopping") with its avatar kept for the
  // resume grace; new connections are refused. Drained once no session is left.
  void begin_drain() override;
  bool drained() const override { return stopping_ && sessions_.empty(); }
  // Ready: listening, following a leading coordinator (spawns can be asked), below sessions_max,
  // and not stopping: a load balancer may send it players.
  Readiness readiness() const override;

  void on_accepted(ConnId conn, std::string_view listen_address) override;
  void on_connected(ConnId conn) override;
  void on_message(ConnId conn, std::span<const uint8_t> payload) override;
  void on_closed(ConnId conn, CloseReason reason) override;

  const std::string& address() const { return address_; }
  const GatewayStats& stats() const { return stats_; }
  size_t sessions() const { return sessions_.size(); }
  size_t cache_size() const { return cache_.size(); }
  NodeId node() const { return cfg_.node; }
  Epoch epoch() const { return epoch_; }
  Tick tick() const { return tick_; }
  size_t compute_links() const { return nodes_.size(); }  // compute nodes whose feeds we take
  // The leader's latest routes (none until it sends them).
  const std::optional<RegionMap>& routes() const { return routes_; }
  // Targeted debug mode: what the coordinator last told us to debug (inputs of those entities are
  // traced as kDebugInput and logged).
  const DebugSet& debug_set() const { return debug_; }
  // Servers refused for answering our links under another verified identity (IdentityGuard).
  uint64_t identity_rejections() const { return identity_.rejections(); }
  // Accounts and sessions served here (null when cfg.accounts.enabled is off).
  const accounts::AccountService* accounts() const { return accounts_ ? &*accounts_ : nullptr; }

 private:
  enum class SessionState : uint8_t { kAwaitHello, kAwaitSpawn, kActive };
  struct Session {
    SessionId id{};
    ConnId conn = 0;
    SessionState state = SessionState::kAwaitHello;
    TimeNs opened_ns = 0;
    EntityId entity{};
    NodeId owner{};
    EntityId resume_entity{};  // what the client asked to take back, if anything
    uint64_t resume_token = 0;
    InputGuard inputs;  // rate, sequence, targets, and the session's rejection budget
    uint32_t stalled_ticks = 0;
    TimeNs spawn_retry_at_ns = 0;  // a deferred spawn is asked again then (0: not deferred)
    TimeNs active_since_ns = 0;
    TimeNs last_heard_ns = 0;      // the client's last message
    bool resumed = false;          // the avatar came back through this session (a resume)
    std::string address;           // where the connection comes from (Network::peer_address): login limits
    uint32_t account_requests = 0;
    bool account_pending = false;  // a register or login is being answered
    CharacterId character{};       // the character this session plays (accounts on)
    uint32_t class_id = 0;
    bool resume_only = false;      // admitted on its resume token alone
    // The character's save, read before its first spawn request (docs/persistence.md §9d).
    enum class SaveRead : uint8_t { kNotRead, kReading, kRead } save_read = SaveRead::kNotRead;
    CharacterSave save{};
    ClientView view{ViewLimits{}};  // what this client has been told, and what it is told next
  };
  struct NodeLink {
    std::unique_ptr<OutboundLink> link;
    Tick last_tick = 0;
  };
  void housekeeping();
  void handle_routes(const GatewayRoutes& m);
  void route_clients();
  void flush_clients(Tick tick);
  // The client's next update into update_bytes_; false if there is nothing to say.
  bool build_update(Session& s, const SpatialGrid& grid, Tick tick);
  void handle_client(Session& s, const client::Message& m);
  void handle_hello(Session& s, const client::Hello& hello);
  // Register, login, refresh, logout (accounts on); false if the message was none of them.
  bool handle_account(Session& s, const client::Message& m);
  void reply_auth(SessionId id, const accounts::AuthOutcome& out);
  void forward_input(Session& s, const ClientInput& in);
  void handle_server(ConnId conn, const ServerMessage& m);
  void handle_spawn_reply(const SpawnReply& reply);
  void handle_kick(NodeId from, const SessionKick& kick);
  void handle_hud(NodeId from, const AvatarHud& hud);
  void handle_owner_changed(const OwnerChanged& m);
  bool ensure_node(NodeId node, const std::string& address);
  void release_unused_node(NodeId node);
  void apply_batch(NodeId source, Tick tick, const DeltaBatch& batch);
  void request_spawn(Session& s);
  void read_save(Session& s);
  void save_read(SessionId id, const ScanResult& r);
  OutboundLink* coordinator_link(ConnId conn);
  void handle_coordinator(ConnId conn, const ServerMessage& m);
  void close_session(SessionId id, const char* why, bool notify_client);
  void redirect_session(Session& s, NodeId to, const std::string& address);
  void hand_over(Session& s);       // stopping: s is gone afterwards
  void detach_session(Session& s);  // closed, its avatar kept for the resume: s is gone afterwards
  void send_goodbye(ConnId conn, const char* why);
  void report_closed(const SessionClosed& closed);
  void resend_closed();
  ServerMessage envelope(ServerBody body) const;
  void trace(TraceKind kind, EntityId entity, int64_t a = 0, int64_t b = 0, NodeId peer = {});

  Runtime& rt_;
  GatewayConfig cfg_;
  IdentityGuard identity_;
  std::string address_;
  std::vector<std::unique_ptr<OutboundLink>> coordinators_;
  ConnId leader_conn_ = 0;  // the coordinator that last said it leads, at the highest epoch
  Epoch leader_epoch_ = 0;  // the epoch it said so at
  std::map<SessionId, Session> sessions_;
  // Looked up per client message; never iterated. Points into sessions_ (map nodes stay put): an
  // entry is erased with its session, in the two places that erase sessions.
  std::unordered_map<ConnId, Session*> client_conns_;
  // Avatar -> the session playing it (an avatar is played by one session here at most: a second
  // resume is refused). Set with s.entity, erased with the session, in the same places as client_conns_.
  std::map<EntityId, SessionId> avatar_sessions_;
  std::map<NodeId, NodeLink> nodes_;
  EntityCache cache_;
  uint64_t next_session_ = 1;
  uint64_t incarnation_ = 0;  // random per process start (see Hello.incarnation)
  bool stopping_ = false;     // begin_drain() was called: we hand clients over and take none
  Epoch epoch_ = 0;
  Tick tick_ = 0;            // newest tick any compute node has reported
  TimeNs last_flush_ns_ = 0;
  TimerId housekeeping_timer_ = 0;
  GatewayStats stats_;
  DebugSet debug_;
  std::optional<RegionMap> routes_;
  std::map<NodeId, std::string> route_addresses_;
  std::vector<uint16_t> route_distance_;  // per cell: cells to the nearest of ours (RegionMap::distances_to)
  uint32_t route_border_cells_ = 0;       // a client is sent on only when its avatar is farther than this
  // Session ends reported lately, sent again to every new leader (report_closed).
  static constexpr TimeNs kRecentClosesNs = 30 * kNsPerSec;
  static constexpr size_t kRecentClosesMax = 65536;
  std::deque<std::pair<TimeNs, SessionClosed>> recent_closes_;
  // Scratch reused by every flush (no allocation per client once warm).
  std::vector<uint8_t> update_bytes_;
  std::optional<accounts::AccountService> accounts_;
  std::shared_ptr<char> life_ = std::make_shared<char>();  // store completions hold a weak copy
  // Each character's avatar as its last Welcome here named it (entity, resume token), so that a
  // client that logs in again (a new connection, no resume token of its own) takes its character's
  // avatar back. At most sessions_max entries; past it the lowest character id is forgotten.
  std::map<CharacterId, std::pair<EntityId, uint64_t>> avatars_;
  uint64_t hello_refusals_logged_ = 0;
  std::vector<ViewCandidate> candidates_;
  std::vector<ClientView::Aggregate> aggregates_;
  struct Near {
    int64_t distance_sq;
    EntityId id;
    uint32_t index;
  };
  std::vector<Near> near_;
  // Neighbourhoods shared by the clients of one grid cell within a flush: for each cell some client
  // stands in, every cached entity of the 3 x 3 cells around it (with cells as wide as the view
  // radius, these hold the whole radius of any point of the cell), sorted by id. Made once per cell
  // per flush; each client then only keeps those within its radius, already in id order.
  struct HoodItem {
    EntityId id;
    Vec2 pos;
    uint32_t index;
  };
  struct Hood {
    uint32_t begin, end;  // in hood_items_
  };
  const Hood& hood_of(CellKey cell);
  std::vector<HoodItem> hood_items_;
  std::vector<Hood> hoods_;
  IdIndex hood_index_;  // packed cell -> its number in hoods_; never iterated
  SpatialGrid grid_;  // the cache's positions, rebuilt by every flush
};

}  // namespace aether
