#pragma once
// A bot: a thin client that plays like a person would, through the same protocol. It connects to a
// gateway, says hello, and every 100 ms sends one input: close in on the nearest enemy it can see,
// lock it and use its class's skills when in range (heals and shields on itself when hurt, standing
// still while it casts), otherwise roam. It knows nothing of nodes or ownership; it keeps its own
// estimate of its cooldowns, as a player's client does.

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "engine/gameplay/content.h"
#include "engine/net/outbound_link.h"
#include "engine/runtime/component.h"
#include "engine/runtime/runtime.h"
#include "engine/wire/client_protocol.h"

namespace aether {

// A bot sent to another gateway (Redirect) and not yet welcomed there is moving between gateways,
// not out of the battle, for this long; past it, it is out like any bot without an avatar.
inline constexpr TimeNs kRedirectTransitMaxNs = 2 * kNsPerSec;
// A bot whose session was ended for too many refused actions (a cheater) reconnects and spawns
// anew; until its Welcome, for at most this long, it is rejoining, not out of the battle.
inline constexpr TimeNs kKickRejoinMaxNs = 2 * kNsPerSec;
// A bot that logged out (BotConfig::relog_every_ns) reconnects, logs in and spawns its character's
// next life; until its Welcome, for at most this long, it is logging back in, not out of the battle.
inline constexpr TimeNs kRelogMaxNs = 2 * kNsPerSec;

struct BotConfig {
  std::vector<std::string> gateway_addresses;  // tried in turn after a loss; sticky while connected
  std::string name = "bot";
  int32_t arena_mm = 400'000;
  int32_t fire_range_mm = 30'000;
  TimeNs start_delay_ns = 0;
  // The game the servers run (null: the classic one-skill game with fire_range_mm).
  std::shared_ptr<const gameplay::Content> content;
  // A cheater: moves like an honest bot, but every input asks for what the owner must refuse, in
  // turn: a skill on its cooldown, an enemy out of range, an ally with an enemy skill, an empty slot.
  bool cheat = false;
  // A duellist (docs/gameplay.md, "Encounters"): every kChallengeEveryTicks it closes in on the
  // nearest enemy player and challenges it (input slot kChallengeSlot) once within the content's
  // challenge range; in an encounter it plays on (the owner lets a skill through on its turn only).
  bool challenge = false;
  // A traveller (content with portals; docs/gameplay.md, "Zones and portals"): it fights for
  // kTravelEveryTicks, then walks, fighting nothing, to the nearest portal of its zone and through
  // it, and fights there; and again. Every bot roams only within its zone.
  bool travel = false;
  // Accounts (gateways with GatewayAccounts::enabled): the bot registers its account (its name,
  // this password, a first character of class_id), or logs in if the name is taken, and says hello
  // with the access token; after a loss it comes back with its avatar's resume token, or logs in
  // again. A login refused makes it register (the simulator gives each gateway its own disk: a bot
  // moved to another gateway has no account there; production gateways share one database).
  struct Account {
    bool enabled = false;
    std::string password;
    uint32_t class_id = 0;
  } account;
  // Accounts: after playing an avatar this long, the bot logs out (its avatar leaves, its owner
  // saves it) and logs back in on its next connection: its character's next life, from its save
  // (docs/persistence.md §9d). 0: never.
  TimeNs relog_every_ns = 0;
};

struct BotStats {
  uint64_t bytes_received = 0;
  uint64_t updates_received = 0;
  uint64_t inputs_sent = 0;
  uint64_t welcomes = 0;
  uint64_t goodbyes = 0;
  uint64_t huds_received = 0;  // the bag and encounter of our avatar (client::Type::kHud); bots show no HUD
  uint64_t kicked = 0;  // goodbyes for too many refused actions (an honest bot never gets one)
  uint64_t disconnects = 0;
  uint64_t relogs = 0;          // log-outs the gateway accepted (the next connection logs in anew)
  uint64_t relogs_refused = 0;  // log-outs refused (a token that gateway does not know): plays on
  uint64_t protocol_errors = 0;  // a malformed or inconsistent message (a slot not known, a slot taken twice)
  uint64_t resumes = 0;  // welcomes that gave back the avatar we had before a disconnect or a redirect
  uint64_t redirects = 0;  // sent to the gateway of our avatar's region
  uint64_t logins = 0;     // account requests answered ok (register or login)
  uint64_t auth_refused = 0;  // account requests refused, and hellos refused for the token
};

class BotClient final : public Component, public NetworkHandler {
 public:
  BotClient(Runtime& rt, BotConfig config);
  ~BotClient() override;

  void start() override;

  void on_accepted(ConnId, std::string_view) override {}
  void on_connected(ConnId conn) override;
  void on_message(ConnId conn, std::span<const uint8_t> payload) override;
  void on_closed(ConnId conn, CloseReason reason) override;

  EntityId entity() const { return me_; }
  bool logged_in() const { return access_.id != 0; }
  // What the bot knows, by slot (client_protocol.h); free slots have an invalid id.
  const std::vector<client::Seen>& view() const { return view_; }
  size_t view_size() const { return view_count_; }
  const BotStats& stats() const { return stats_; }
  bool playing() const { return me_.valid(); }
  bool cheating() const { return cfg_.cheat; }
  // Redirected less than kRedirectTransitMaxNs ago and not yet welcomed by the new gateway.
  bool between_gateways() const { return redirected_at_ns_ != 0 && rt_.clock.now_ns() - redirected_at_ns_ <= kRedirectTransitMaxNs; }
  // Kicked less than kKickRejoinMaxNs ago and not yet welcomed again.
  bool rejoining_after_kick() const { return kicked_at_ns_ != 0 && rt_.clock.now_ns() - kicked_at_ns_ <= kKickRejoinMaxNs; }
  // Logged out (relog_every_ns) less than kRelogMaxNs ago and not yet welcomed again.
  bool relogging() const { return logged_out_at_ns_ != 0 && rt_.clock.now_ns() - logged_out_at_ns_ <= kRelogMaxNs; }
  // Stops playing: closes the connection and does not come back.
  void leave();

 private:
  void think();
  bool apply_update(ByteReader& r);
  ClientInput decide();
  // The bar slot to use now on `enemy` (null: none in view) at squared distance d2_cm, or 0.
  uint8_t choose_skill(const client::Seen& me, const client::Seen* enemy, int64_t d2_cm);
  int32_t reach_mm(const client::Seen& me) const;
  // A cheater's input: `in` (the honest movement) with an impossible skill request.
  void cheat(const client::Seen& me, const client::Seen* nearest, ClientInput& in);
  void lost_connection();
  void log_out();
  void send_hello(ConnId conn);
  void on_auth_reply(ConnId conn, const client::AuthReply& reply);
  void forget_view();

  Runtime& rt_;
  BotConfig cfg_;
  OutboundLink link_;
  size_t gateway_index_ = 0;
  EntityId me_{};
  EntityId resume_entity_{};  // our avatar and its token, kept across a lost gateway
  uint64_t resume_token_ = 0;
  client::WireToken access_;        // accounts: the access token of our session (none: log in first)
  client::WireToken refresh_;
  bool registered_ = false;         // our account exists (as far as we know): log in, do not register
  uint32_t auth_attempts_ = 0;      // account requests on this connection (a few, then reconnect)
  std::vector<client::Seen> view_;  // by slot
  size_t view_count_ = 0;
  uint32_t me_slot_ = UINT32_MAX;
  uint32_t seq_ = 0;  // one input per tick: also the bot's clock for its cooldown estimates
  std::array<uint32_t, gameplay::kClassSkillsMax + 1> slot_ready_{};  // by slot: seq_ from which it may be used
  uint32_t global_ready_ = 0;
  uint32_t casting_until_ = 0;  // stand still until then
  uint32_t cheats_ = 0;         // cheats sent, to take the kinds in turn
  uint32_t next_challenge_ = 0; // the input seq from which a duellist challenges again
  static constexpr uint32_t kChallengeEveryTicks = 100;
  std::shared_ptr<const gameplay::Content> content_;
  uint32_t next_travel_ = kTravelEveryTicks;
  uint16_t travel_from_ = 0;  // the zone a traveller left for a portal (0: not travelling)  // the input seq from which a traveller heads for a portal
  static constexpr uint32_t kTravelEveryTicks = 200;
  Vec2 waypoint_{};
  uint32_t waypoint_ticks_ = 0;
  TimeNs welcomed_at_ns_ = 0;   // when our avatar last welcomed us (relog_every_ns counts from it)
  bool logging_out_ = false;    // a Logout sent, its reply not yet come
  TimeNs logged_out_at_ns_ = 0;  // when a log-out was accepted, until the next Welcome
  TimeNs kicked_at_ns_ = 0;      // when a goodbye for too many refused actions came, until the next Welcome
  TimeNs redirected_at_ns_ = 0;  // when a Redirect came, until the next Welcome (0: none pending)
  TimerId think_timer_ = 0;
  TimerId start_timer_ = 0;
  bool left_ = false;
  BotStats stats_;
};

}  // namespace aether
