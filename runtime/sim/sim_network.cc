#include "runtime/sim/sim_network.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "engine/core/assert.h"
#include "engine/core/hash.h"

namespace aether::sim {

namespace {

// The far end of a connection whose address nobody listened on when connect() was called. It has a
// link of its own so that connects to nowhere take the same delays as any other.
constexpr uint32_t kNoEndpoint = std::numeric_limits<uint32_t>::max();
constexpr uint32_t kPortMax = 65535;

// Accepts "name:port" with a nonempty name and a decimal port in [0, 65535].
bool parse_address(std::string_view address, std::string_view* name, uint32_t* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view digits = address.substr(colon + 1);
  if (digits.empty() || digits.size() > 5) return false;
  uint32_t value = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > kPortMax) return false;
  *name = address.substr(0, colon);
  *port = value;
  return true;
}

// One spelling per address ("h:080" and "h:80" are the same listener).
std::string canonical_address(std::string_view address) {
  std::string_view name;
  uint32_t port = 0;
  if (!parse_address(address, &name, &port)) return std::string(address);
  return fmt::format("{}:{}", name, port);
}

}  // namespace

Result<std::string> SimEndpoint::listen(std::string_view address) { return net_.listen(*this, address); }
ConnId SimEndpoint::connect(std::string_view address) { return net_.connect(*this, address); }
SendStatus SimEndpoint::send(ConnId conn, std::span<const uint8_t> payload) { return net_.send(*this, conn, payload); }
void SimEndpoint::close(ConnId conn) { net_.close(*this, conn); }
std::optional<PeerIdentity> SimEndpoint::peer_identity(ConnId conn) const { return net_.peer_identity(*this, conn); }
std::string SimEndpoint::peer_address(ConnId conn) const { return net_.peer_address(*this, conn); }

SimNetwork::SimNetwork(Kernel& kernel, TraceLog& trace, NetworkOptions options)
    : kernel_(kernel), trace_(trace), options_(options), random_(derive_seed(options.seed, kNetworkStream)) {
  AETHER_ASSERT(options.latency_ns >= 0 && options.jitter_ns >= 0);
}

void SimNetwork::add_endpoint(SimEndpoint& endpoint) {
  AETHER_ASSERT(endpoint.host_.index == endpoints_.size());
  endpoints_.push_back(&endpoint);
}

Result<std::string> SimNetwork::listen(SimEndpoint& ep, std::string_view address) {
  if (!ep.host_.alive) return make_error(Error::Code::kState, "host is down");
  AETHER_ASSERT_MSG(ep.handler_ != nullptr, "set_handler before listen");
  std::string_view name;
  uint32_t port = 0;
  if (!parse_address(address, &name, &port)) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("bad listen address '{}'", address));
  }
  if (ep.listeners_ >= kListenersPerHostMax) return make_error(Error::Code::kUnavailable, "too many listeners");
  std::string bound = port != 0 ? fmt::format("{}:{}", name, port) : pick_port(name);
  if (bound.empty()) return make_error(Error::Code::kUnavailable, fmt::format("no free port on '{}'", name));
  if (listeners_.contains(bound)) return make_error(Error::Code::kState, fmt::format("'{}' is in use", bound));
  listeners_.emplace(bound, ep.host_.index);
  ++ep.listeners_;
  return bound;
}

std::string SimNetwork::pick_port(std::string_view name) {
  const uint32_t range = kEphemeralPortLast - kEphemeralPortFirst + 1;
  for (uint32_t tries = 0; tries < range; ++tries) {
    std::string candidate = fmt::format("{}:{}", name, next_ephemeral_port_);
    next_ephemeral_port_ = next_ephemeral_port_ == kEphemeralPortLast ? kEphemeralPortFirst : next_ephemeral_port_ + 1;
    if (!listeners_.contains(candidate)) return candidate;
  }
  return {};
}

ConnId SimNetwork::connect(SimEndpoint& ep, std::string_view address) {
  const ConnId id = ep.next_conn_id_++;
  if (!ep.host_.alive) return id;  // a dead host's connect never reports
  AETHER_ASSERT_MSG(ep.handler_ != nullptr, "set_handler before connect");
  const bool over_limit = ep.conns_.size() >= kConnectionsPerHostMax;
  std::string target = canonical_address(address);
  const auto listener = listeners_.find(target);
  const uint32_t dest = listener == listeners_.end() ? kNoEndpoint : listener->second;
  const uint32_t ci = new_connection(ep.host_.index, dest, std::move(target));
  Connection& c = conns_[ci];
  c.ends[0] = End{ep.host_.index, id, EndState::kConnecting};
  ep.conns_.emplace(id, SimEndpoint::ConnRef{ci, 0});
  if (over_limit) {
    // Refused on the spot, like a process out of file descriptors, but still reported from an event.
    push_item(ci, 1, ItemKind::kRefused, kernel_.now(), {});
  } else {
    push_item(ci, 0, ItemKind::kSyn, next_arrival(c.dirs[0]), {});
  }
  return id;
}

SendStatus SimNetwork::send(SimEndpoint& ep, ConnId id, std::span<const uint8_t> payload) {
  if (!ep.host_.alive) return SendStatus::kClosed;
  const auto it = ep.conns_.find(id);
  if (it == ep.conns_.end()) return SendStatus::kClosed;
  if (payload.size() > kFrameBytesMax) return SendStatus::kTooLarge;
  const SimEndpoint::ConnRef ref = it->second;
  Direction& dir = conns_[ref.index].dirs[ref.side];
  if (dir.bytes_in_flight + payload.size() > kSendBufferBytesMax || dir.items.size() >= kMessagesInFlightMax) {
    return SendStatus::kBackpressure;
  }
  Fate fate = Fate::kDeliver;
  const TimeNs at = data_arrival(dir, &fate);
  push_item(ref.index, ref.side, ItemKind::kData, at, std::vector<uint8_t>(payload.begin(), payload.end()), fate);
  return SendStatus::kOk;
}

void SimNetwork::close(SimEndpoint& ep, ConnId id) {
  if (!ep.host_.alive) return;
  const auto it = ep.conns_.find(id);
  if (it == ep.conns_.end()) return;
  const SimEndpoint::ConnRef ref = it->second;
  ep.conns_.erase(it);
  Connection& c = conns_[ref.index];
  c.ends[ref.side].state = EndState::kClosed;
  record(ep.host_.index, TraceKind::kConnectionClosed, peer_node(c, ref.side), static_cast<int64_t>(CloseReason::kLocal), 0);
  // The FIN queues behind the data already sent, so the peer reads everything before it hears of it.
  push_item(ref.index, ref.side, ItemKind::kFin, next_arrival(c.dirs[ref.side]), {});
}

std::optional<PeerIdentity> SimNetwork::peer_identity(const SimEndpoint& ep, ConnId id) const {
  const auto it = ep.conns_.find(id);
  if (it == ep.conns_.end()) return std::nullopt;
  const Connection& c = conns_[it->second.index];
  if (c.ends[it->second.side].state != EndState::kOpen) return std::nullopt;  // not connected yet
  const uint32_t other = c.ends[1 - it->second.side].endpoint;
  if (other == kNoEndpoint || other >= endpoints_.size()) return std::nullopt;
  return endpoints_[other]->host_.identity;
}

// The simulator's stand-in for a remote IP address: the name of the host at the other end.
std::string SimNetwork::peer_address(const SimEndpoint& ep, ConnId id) const {
  const auto it = ep.conns_.find(id);
  if (it == ep.conns_.end()) return {};
  const Connection& c = conns_[it->second.index];
  const uint32_t other = c.ends[1 - it->second.side].endpoint;
  if (other == kNoEndpoint || other >= endpoints_.size()) return {};
  return endpoints_[other]->host_.name;
}

void SimNetwork::crash(SimEndpoint& ep) {
  AETHER_ASSERT(!ep.host_.alive);
  const uint32_t index = ep.host_.index;
  std::erase_if(listeners_, [index](const auto& entry) { return entry.second == index; });
  ep.listeners_ = 0;
  drop_deferred(ep.host_);
  // Sorted: resets due at the same instant are then scheduled, and so delivered, in a fixed order.
  std::vector<ConnId> ids;
  ids.reserve(ep.conns_.size());
  for (const auto& entry : ep.conns_) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  for (const ConnId id : ids) {
    const SimEndpoint::ConnRef ref = ep.conns_.at(id);
    Connection& c = conns_[ref.index];
    c.ends[ref.side].state = EndState::kCrashed;  // from now on, whatever arrives for it is discarded
    const auto peer = static_cast<uint8_t>(1 - ref.side);
    Direction& dir = c.dirs[ref.side];
    ++c.events_pending;
    if (dir.link->state == LinkState::kDown) {
      // The reset travels the link too: the peer hears of the crash when it heals (or times out
      // on its own, if it has something held towards the dead host).
      dir.reset_on_heal = true;
      continue;
    }
    kernel_.schedule_at(kernel_.now() + dir.link->latency_ns + dir.link->extra_ns,
                        [this, ci = ref.index, peer] { on_reset(ci, peer); });
  }
  ep.conns_.clear();
}

void SimNetwork::drop_deferred(HostState& host) {
  // What reached the host while it was paused dies with it. Timer entries are the Host's business
  // (it has dropped its timers already).
  std::vector<uint32_t> touched;
  for (const Deferred& d : host.deferred) {
    if (d.kind == Deferred::Kind::kTimer) continue;
    Connection& c = conns_[d.conn];
    if (d.kind == Deferred::Kind::kArrival) {
      Direction& dir = c.dirs[d.side];
      AETHER_ASSERT(dir.arrived > 0 && dir.arrived_at == host.index);
      dir.bytes_in_flight -= dir.items.front().payload.size();
      dir.items.pop_front();
      --dir.arrived;
    }
    AETHER_ASSERT(c.events_pending > 0);
    --c.events_pending;
    touched.push_back(d.conn);
  }
  host.deferred.clear();
  host.paused = false;
  for (const uint32_t ci : touched) maybe_free(ci);
}

void SimNetwork::set_link(uint32_t from, uint32_t to, LinkState state) {
  AETHER_ASSERT(from < endpoints_.size() && to < endpoints_.size());
  Link& l = link(from, to);
  const LinkState before = l.state;
  l.state = state;
  if (before == LinkState::kDown && state == LinkState::kUp) release_all();
}

void SimNetwork::set_link_faults(uint32_t from, uint32_t to, LinkFaults faults) {
  AETHER_ASSERT(from < endpoints_.size() && to < endpoints_.size());
  AETHER_ASSERT(faults.loss_permille <= 1000 && faults.duplicate_permille <= 1000 && faults.reorder_permille <= 1000);
  link(from, to).faults = faults;
}

void SimNetwork::set_link_delay(uint32_t from, uint32_t to, TimeNs extra_ns) {
  AETHER_ASSERT(from < endpoints_.size() && to < endpoints_.size());
  AETHER_ASSERT(extra_ns >= 0);
  link(from, to).extra_ns = extra_ns;
}

LinkState SimNetwork::link_state(uint32_t from, uint32_t to) const {
  const auto it = links_.find({from, to});
  return it == links_.end() ? LinkState::kUp : it->second.state;
}

std::vector<std::pair<uint32_t, uint32_t>> SimNetwork::heal_all() {
  std::vector<std::pair<uint32_t, uint32_t>> healed;
  for (auto& [key, l] : links_) {
    if (l.state != LinkState::kDown) continue;
    l.state = LinkState::kUp;
    healed.push_back(key);
  }
  if (!healed.empty()) release_all();
  return healed;
}

void SimNetwork::release_all() {
  // In connection order, then direction order: a fixed order on every platform.
  for (uint32_t ci = 0; ci < conns_.size(); ++ci) {
    if (!conns_[ci].in_use) continue;
    release(ci, 0);
    release(ci, 1);
  }
}

void SimNetwork::release(uint32_t ci, uint8_t side) {
  Connection& c = conns_[ci];
  Direction& dir = c.dirs[side];
  if (dir.link->state == LinkState::kDown) return;
  const TimeNs now = kernel_.now();
  if (dir.reset_on_heal) {
    dir.reset_on_heal = false;  // its events_pending count passes to the reset event
    kernel_.schedule_at(now + dir.link->latency_ns + dir.link->extra_ns,
                        [this, ci, peer = static_cast<uint8_t>(1 - side)] { on_reset(ci, peer); });
  }
  if (dir.held == 0) return;
  // The held items arrive now, in order. Everything behind them is rescheduled too (same times), so
  // that events still run in deque order even where times tie with now.
  dir.held = 0;
  dir.last_delivery_ns = std::max(dir.last_delivery_ns, now);
  for (size_t i = dir.arrived; i < dir.items.size(); ++i) {
    Item& item = dir.items[i];
    if (item.event != 0) {
      const bool pending = kernel_.cancel(item.event);
      AETHER_ASSERT(pending);
    } else {
      item.at = now;
      ++c.events_pending;
    }
    item.event = kernel_.schedule_at(item.at, [this, ci, side] { on_arrival(ci, side); });
  }
}

void SimNetwork::hold(uint32_t ci, uint8_t side) {
  Connection& c = conns_[ci];
  Direction& dir = c.dirs[side];
  --c.events_pending;  // the arrival event is spent; the item waits without one
  if (dir.held++ > 0) return;
  dir.held_since_ns = kernel_.now();
  ++c.events_pending;
  kernel_.schedule_at(kernel_.now() + kPartitionResetNs, [this, ci, side] { on_partition_timeout(ci, side); });
}

void SimNetwork::on_partition_timeout(uint32_t ci, uint8_t side) {
  Connection& c = conns_[ci];
  --c.events_pending;
  const Direction& dir = c.dirs[side];
  // Stale if the direction was released (and perhaps held again later) since this timer was set.
  if (dir.held > 0 && dir.held_since_ns + kPartitionResetNs <= kernel_.now()) partition_reset(ci);
  maybe_free(ci);
}

void SimNetwork::partition_reset(uint32_t ci) {
  Connection& c = conns_[ci];
  // Everything held or in flight, both ways, is lost with the connection. What already reached a
  // paused host stays there: it is handled (or dropped, if its end is gone) on resume.
  for (Direction& dir : c.dirs) {
    for (size_t i = dir.arrived; i < dir.items.size(); ++i) {
      const Item& item = dir.items[i];
      dir.bytes_in_flight -= item.payload.size();
      if (item.event == 0) continue;
      const bool pending = kernel_.cancel(item.event);
      AETHER_ASSERT(pending);
      --c.events_pending;
    }
    dir.items.erase(dir.items.begin() + static_cast<std::ptrdiff_t>(dir.arrived), dir.items.end());
    dir.held = 0;
    if (dir.reset_on_heal) {  // moot now: both ends are being reset
      dir.reset_on_heal = false;
      --c.events_pending;
    }
  }
  reset_end(ci, 0);
  reset_end(ci, 1);
}

void SimNetwork::reset_end(uint32_t ci, uint8_t side) {
  Connection& c = conns_[ci];
  const End& end = c.ends[side];
  if (end.state != EndState::kConnecting && end.state != EndState::kOpen) return;
  HostState& host = endpoints_[end.endpoint]->host_;
  if (host.gated()) {
    ++c.events_pending;
    host.deferred.push_back(Deferred{Deferred::Kind::kReset, side, ci, 0});
    return;
  }
  report_closed(ci, side, CloseReason::kReset);
}

void SimNetwork::run_deferred(const Deferred& d) {
  AETHER_ASSERT(d.kind != Deferred::Kind::kTimer);
  Connection& c = conns_[d.conn];
  AETHER_ASSERT(c.in_use && c.events_pending > 0);
  --c.events_pending;
  if (d.kind == Deferred::Kind::kReset) {
    report_closed(d.conn, d.side, CloseReason::kReset);
  } else {
    Direction& dir = c.dirs[d.side];
    AETHER_ASSERT(dir.arrived > 0);
    const Item item = std::move(dir.items.front());
    dir.items.pop_front();
    --dir.arrived;
    dir.bytes_in_flight -= item.payload.size();
    handle(d.conn, d.side, item);
  }
  maybe_free(d.conn);
}

uint32_t SimNetwork::new_connection(uint32_t client, uint32_t server, std::string listen_address) {
  uint32_t ci = 0;
  if (!free_conns_.empty()) {
    ci = free_conns_.back();
    free_conns_.pop_back();
  } else {
    ci = static_cast<uint32_t>(conns_.size());
    conns_.emplace_back();
  }
  Connection& c = conns_[ci];
  c.in_use = true;
  c.listen_address = std::move(listen_address);
  c.dirs[0].link = &link(client, server);
  c.dirs[1].link = &link(server, client);
  return ci;
}

void SimNetwork::maybe_free(uint32_t ci) {
  Connection& c = conns_[ci];
  if (!c.in_use || c.events_pending != 0) return;
  for (const End& e : c.ends) {
    if (e.state == EndState::kConnecting || e.state == EndState::kOpen) return;
  }
  AETHER_ASSERT(c.dirs[0].items.empty() && c.dirs[1].items.empty());
  c = Connection{};
  free_conns_.push_back(ci);
}

Link& SimNetwork::link(uint32_t from, uint32_t to) {
  return links_.try_emplace({from, to}, Link{options_.latency_ns, options_.jitter_ns, 0, LinkState::kUp, LinkFaults{}, 0}).first->second;
}

TimeNs SimNetwork::next_arrival(Direction& dir) {
  const Link& l = *dir.link;
  const TimeNs jitter = l.jitter_ns > 0 ? static_cast<TimeNs>(uniform_below(random_, static_cast<uint64_t>(l.jitter_ns) + 1)) : 0;
  // FIFO per direction: a message never overtakes the one sent before it.
  return std::max(kernel_.now() + l.latency_ns + l.extra_ns + jitter, dir.last_delivery_ns);
}

bool SimNetwork::draw_permille(uint32_t permille) { return permille != 0 && uniform_below(random_, 1000) < permille; }

TimeNs SimNetwork::data_arrival(Direction& dir, Fate* fate) {
  TimeNs at = next_arrival(dir);
  const LinkFaults& f = dir.link->faults;
  if (!f.any()) return at;  // no draws: a fault-free link leaves the random stream as it was
  TimeNs rto = kRetransmitNs;
  for (uint32_t losses = 0; draw_permille(f.loss_permille);) {
    if (++losses == kRetransmitsMax) {
      ++message_faults_.lost_reset;
      *fate = Fate::kReset;
      return at;
    }
    ++message_faults_.lost;
    at += rto;
    rto *= 2;
  }
  if (draw_permille(f.reorder_permille)) {
    ++message_faults_.reordered;
    at += static_cast<TimeNs>(uniform_below(random_, static_cast<uint64_t>(kReorderWindowNs) + 1));
  }
  if (draw_permille(f.duplicate_permille)) {
    ++message_faults_.duplicated;
    *fate = Fate::kDeliverThenReset;
  }
  return at;
}

void SimNetwork::push_item(uint32_t ci, uint8_t side, ItemKind kind, TimeNs at, std::vector<uint8_t> payload, Fate fate) {
  Connection& c = conns_[ci];
  Direction& dir = c.dirs[side];
  AETHER_ASSERT(at >= dir.last_delivery_ns && at >= kernel_.now());
  dir.last_delivery_ns = at;
  dir.bytes_in_flight += payload.size();
  ++dir.link->items_sent;
  ++c.events_pending;
  const uint64_t event = kernel_.schedule_at(at, [this, ci, side] { on_arrival(ci, side); });
  dir.items.push_back(Item{kind, at, std::move(payload), event, fate});
}

void SimNetwork::on_arrival(uint32_t ci, uint8_t side) {
  Connection& c = conns_[ci];
  Direction& dir = c.dirs[side];
  const size_t next = dir.arrived + dir.held;
  AETHER_ASSERT(next < dir.items.size() && dir.items[next].at == kernel_.now());
  dir.items[next].event = 0;
  if (dir.link->state == LinkState::kDown) {
    hold(ci, side);
    return;
  }
  AETHER_ASSERT(dir.held == 0);
  // Nothing overtakes an item already waiting at a paused host, whatever host it is for.
  const uint32_t to = dir.arrived > 0 ? dir.arrived_at : receiver_of(c, side, dir.items[next].kind);
  if (to != kNoEndpoint && endpoints_[to]->host_.gated()) {
    // The kernel event's count passes to the deferred entry.
    ++dir.arrived;
    dir.arrived_at = to;
    endpoints_[to]->host_.deferred.push_back(Deferred{Deferred::Kind::kArrival, side, ci, 0});
    return;
  }
  AETHER_ASSERT(next == 0);
  const Item item = std::move(dir.items.front());
  dir.items.pop_front();
  dir.bytes_in_flight -= item.payload.size();
  --c.events_pending;
  handle(ci, side, item);
  maybe_free(ci);
}

uint32_t SimNetwork::receiver_of(const Connection& c, uint8_t side, ItemKind kind) const {
  if (kind == ItemKind::kSyn) {
    const auto listener = listeners_.find(c.listen_address);
    return listener == listeners_.end() ? kNoEndpoint : listener->second;
  }
  const End& to = c.ends[1 - side];
  return to.state == EndState::kNone ? kNoEndpoint : to.endpoint;
}

void SimNetwork::handle(uint32_t ci, uint8_t side, const Item& item) {
  switch (item.kind) {
    case ItemKind::kSyn: arrive_syn(ci); break;
    case ItemKind::kSynAck: arrive_syn_ack(ci); break;
    case ItemKind::kRefused: report_closed(ci, 0, CloseReason::kRefused); break;
    case ItemKind::kData:
      if (item.fate != Fate::kReset) deliver(ci, side, item.payload);
      // The connection dies with this message (lost for good, or its acknowledgement lost): what
      // else is in flight on it, either way, is lost too.
      if (item.fate != Fate::kDeliver && conns_[ci].in_use) partition_reset(ci);
      break;
    case ItemKind::kFin: report_closed(ci, static_cast<uint8_t>(1 - side), CloseReason::kPeerClosed); break;
  }
}

void SimNetwork::on_reset(uint32_t ci, uint8_t side) {
  --conns_[ci].events_pending;
  reset_end(ci, side);
  maybe_free(ci);
}

void SimNetwork::arrive_syn(uint32_t ci) {
  Connection& c = conns_[ci];
  // The connecting host died meanwhile: there is nobody left to accept on behalf of.
  if (c.ends[0].state == EndState::kCrashed) return;
  const auto listener = listeners_.find(c.listen_address);
  SimEndpoint* server = listener == listeners_.end() ? nullptr : endpoints_[listener->second];
  if (server == nullptr || !server->host_.alive || server->conns_.size() >= kConnectionsPerHostMax) {
    push_item(ci, 1, ItemKind::kRefused, next_arrival(c.dirs[1]), {});
    return;
  }
  const uint32_t s = server->host_.index;
  // The listener may have moved since connect() resolved the address.
  c.dirs[0].link = &link(c.ends[0].endpoint, s);
  c.dirs[1].link = &link(s, c.ends[0].endpoint);
  // Items behind the SYN held by the old link: the new one may be up.
  if (c.dirs[0].held > 0) release(ci, 0);
  const ConnId id = server->next_conn_id_++;
  c.ends[1] = End{s, id, EndState::kOpen};
  server->conns_.emplace(id, SimEndpoint::ConnRef{ci, 1});
  // The SYN-ACK leads the way back, so whatever on_accepted sends arrives after on_connected.
  push_item(ci, 1, ItemKind::kSynAck, next_arrival(c.dirs[1]), {});
  const std::string address = c.listen_address;
  CallbackScope scope(server->host_);
  server->handler_->on_accepted(id, address);
}

void SimNetwork::arrive_syn_ack(uint32_t ci) {
  End& client = conns_[ci].ends[0];
  if (client.state != EndState::kConnecting) return;  // closed or reset before the handshake ended
  client.state = EndState::kOpen;
  SimEndpoint& ep = *endpoints_[client.endpoint];
  CallbackScope scope(ep.host_);
  ep.handler_->on_connected(client.id);
}

void SimNetwork::deliver(uint32_t ci, uint8_t side, const std::vector<uint8_t>& payload) {
  const Connection& c = conns_[ci];
  const End& to = c.ends[1 - side];
  if (to.state != EndState::kOpen) return;  // closed, crashed or reset: the bytes are lost with it
  ++messages_delivered_;
  record(to.endpoint, TraceKind::kMessageDelivered, node_of(c.ends[side].endpoint),
         static_cast<int64_t>(Hasher64::of(payload)), static_cast<int64_t>(payload.size()));
  SimEndpoint& ep = *endpoints_[to.endpoint];
  const ConnId id = to.id;
  CallbackScope scope(ep.host_);
  ep.handler_->on_message(id, payload);
}

void SimNetwork::report_closed(uint32_t ci, uint8_t side, CloseReason reason) {
  Connection& c = conns_[ci];
  End& end = c.ends[side];
  if (end.state != EndState::kConnecting && end.state != EndState::kOpen) return;
  // A connect that never completed has failed, whatever broke it.
  if (end.state == EndState::kConnecting) reason = CloseReason::kRefused;
  end.state = EndState::kClosed;
  SimEndpoint& ep = *endpoints_[end.endpoint];
  ep.conns_.erase(end.id);
  record(end.endpoint, TraceKind::kConnectionClosed, peer_node(c, side), static_cast<int64_t>(reason), 0);
  const ConnId id = end.id;
  CallbackScope scope(ep.host_);
  ep.handler_->on_closed(id, reason);
}

NodeId SimNetwork::peer_node(const Connection& c, uint8_t side) const {
  const End& other = c.ends[1 - side];
  return other.state == EndState::kNone ? NodeId{} : node_of(other.endpoint);
}

void SimNetwork::record(uint32_t endpoint, TraceKind kind, NodeId peer, int64_t a, int64_t b) {
  TraceEvent e;
  e.time_ns = kernel_.now();
  e.node = node_of(endpoint);
  e.peer = peer;
  e.kind = kind;
  e.a = a;
  e.b = b;
  trace_.record(e);
}

}  // namespace aether::sim
