#pragma once
// The simulated network: whole messages between hosts with TCP-like semantics (connect handshake,
// per-connection FIFO in each direction, orderly close after pending data, reset when a host
// crashes), delays drawn from one seeded stream, and a bound on bytes in flight per direction.
//
// Every state change a component can observe happens in a kernel event, never inside a Network call.
// Each in-flight item (handshake, message, close) is one kernel event; the items of one direction
// are also kept in a FIFO, and since their delivery times never decrease and ties run in scheduling
// order, each event pops exactly its own item.
//
// Faults (driven through Simulation):
//  - A link that is down holds what reaches it, like TCP over a partition: nothing is lost, the
//    direction stalls. If a direction stays held for kPartitionResetNs, its connection is reset at
//    both ends (a connect not yet answered fails with kRefused), and whatever was in flight on it in
//    either direction is discarded. When the link comes up first, the held items arrive at once, in
//    order, ahead of anything sent after them.
//  - An extra one-way delay on a link applies to items sent from then on (FIFO still holds).
//  - Items reaching a paused host (HostState::gated) wait in its deferred queue, still counted
//    against the sender's in-flight limits, and are handled in order when the host resumes. Resets
//    of its connections wait the same way.
// A direction's deque is therefore [arrived: waiting for a paused host | held: waiting for the link
// | in flight: one kernel event each].

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/core/random.h"
#include "engine/core/time.h"
#include "engine/runtime/network.h"
#include "runtime/sim/host_state.h"
#include "runtime/sim/kernel.h"
#include "runtime/sim/trace_log.h"

namespace aether::sim {

// Connections one host may hold open at once (connecting, open, or closed but not yet told).
inline constexpr size_t kConnectionsPerHostMax = size_t{1} << 16;
// Listening addresses per host.
inline constexpr size_t kListenersPerHostMax = 64;
// Messages in flight per connection direction. kSendBufferBytesMax alone would let empty messages
// pile up without limit.
inline constexpr size_t kMessagesInFlightMax = size_t{1} << 16;
// Ports handed out for listen("name:0"), one counter for the whole network so they never repeat
// while free ones remain.
inline constexpr uint32_t kEphemeralPortFirst = 49152;
inline constexpr uint32_t kEphemeralPortLast = 65535;
// Stream id of the network's random stream: derive_seed(seed, kNetworkStream).
inline constexpr uint64_t kNetworkStream = 0xfab;
// How long a connection direction may stay held by a down link before the connection is reset at
// both ends, like a TCP retransmission timeout.
inline constexpr TimeNs kPartitionResetNs = 3 * kNsPerSec;

// A lost segment is retransmitted after kRetransmitNs, doubling per consecutive loss (TCP's RTO);
// after kRetransmitsMax losses in a row the connection resets, as TCP gives up.
inline constexpr TimeNs kRetransmitNs = 200 * kNsPerMs;
inline constexpr uint32_t kRetransmitsMax = 5;
// A reordered message is held back by up to this much (uniform), so that messages on other
// connections overtake it; its own connection stays FIFO, as TCP keeps it.
inline constexpr TimeNs kReorderWindowNs = 50 * kNsPerMs;

// Per-message fault rates of a link, in permille of the data messages sent on it. TCP turns packet
// faults into what a component can observe on a stream, and the simulator injects them as such:
//  - loss: the message is late by one or more retransmission timeouts (and everything behind it on
//    its connection waits: head-of-line blocking); after kRetransmitsMax the connection resets;
//  - duplicate: the message is delivered, then the connection resets before the sender learns it
//    arrived; whatever the sender re-sends on a new connection reaches the receiver twice;
//  - reorder: the message is held back up to kReorderWindowNs, overtaken by other connections.
struct LinkFaults {
  uint32_t loss_permille = 0;
  uint32_t duplicate_permille = 0;
  uint32_t reorder_permille = 0;
  bool any() const { return loss_permille != 0 || duplicate_permille != 0 || reorder_permille != 0; }
};

// Per-message faults injected so far, by kind.
struct MessageFaultCounts {
  uint64_t lost = 0;        // retransmissions
  uint64_t lost_reset = 0;  // connections reset after kRetransmitsMax
  uint64_t duplicated = 0;  // delivered, then reset
  uint64_t reordered = 0;
};

// One direction of a link. kDown holds messages (it never drops them): see the top of this file.
enum class LinkState : uint8_t { kUp, kDown };

struct NetworkOptions {
  uint64_t seed = 1;
  TimeNs latency_ns = 0;  // one-way base delay
  TimeNs jitter_ns = 0;   // extra delay, uniform in [0, jitter_ns]
};

// The path from one host to another: the delay model and the faults on it.
struct Link {
  TimeNs latency_ns = 0;
  TimeNs jitter_ns = 0;
  TimeNs extra_ns = 0;  // added one-way delay (a latency spike, a clog); set_link_delay
  LinkState state = LinkState::kUp;
  LinkFaults faults;    // set_link_faults
  uint64_t items_sent = 0;  // handshakes, messages and closes put on this link
};

class SimNetwork;

// One host's Network: the interface its component sees.
class SimEndpoint final : public Network {
 public:
  SimEndpoint(SimNetwork& net, HostState& host) : net_(net), host_(host) {}

  void set_handler(NetworkHandler* handler) override { handler_ = handler; }
  Result<std::string> listen(std::string_view address) override;
  ConnId connect(std::string_view address) override;
  SendStatus send(ConnId conn, std::span<const uint8_t> payload) override;
  void close(ConnId conn) override;
  // The identity of the host at the other end of the link (HostState::identity), once open.
  std::optional<PeerIdentity> peer_identity(ConnId conn) const override;
  std::string peer_address(ConnId conn) const override;

  // Connections this endpoint holds (connecting, open, or closed but not yet told).
  size_t connections() const { return conns_.size(); }

 private:
  friend class SimNetwork;
  struct ConnRef {
    uint32_t index;  // into SimNetwork::conns_
    uint8_t side;    // 0 = the connecting end, 1 = the accepting end
  };

  SimNetwork& net_;
  HostState& host_;
  NetworkHandler* handler_ = nullptr;
  ConnId next_conn_id_ = 1;  // never reused, also for ids handed out while dead
  size_t listeners_ = 0;
  // Looked up on every send; iterated only after sorting the keys (see SimNetwork::crash).
  std::unordered_map<ConnId, ConnRef> conns_;
};

class SimNetwork {
 public:
  SimNetwork(Kernel& kernel, TraceLog& trace, NetworkOptions options);
  SimNetwork(const SimNetwork&) = delete;
  SimNetwork& operator=(const SimNetwork&) = delete;

  // Registers a host's endpoint; endpoints are indexed by HostState::index, in creation order.
  void add_endpoint(SimEndpoint& endpoint);
  // The host is dead (HostState::alive is already false): drop its listeners, discard whatever is in
  // flight to it (and whatever waited in its deferred queue, which is then empty), and reset each of
  // its connections at the peer one latency from now, or once the link to the peer is up again.
  void crash(SimEndpoint& endpoint);

  // Link faults, by host index (both < the number of endpoints). Bringing a link up delivers what it
  // held. Returns nothing: Simulation records the fault.
  void set_link(uint32_t from, uint32_t to, LinkState state);
  void set_link_delay(uint32_t from, uint32_t to, TimeNs extra_ns);
  void set_link_faults(uint32_t from, uint32_t to, LinkFaults faults);
  LinkState link_state(uint32_t from, uint32_t to) const;
  // Brings every down link up; returns them, (from, to) in increasing order.
  std::vector<std::pair<uint32_t, uint32_t>> heal_all();

  // Runs one of a resumed host's deferred network entries (kArrival or kReset), in queue order.
  void run_deferred(const Deferred& entry);

  uint64_t messages_delivered() const { return messages_delivered_; }
  const MessageFaultCounts& message_faults() const { return message_faults_; }

 private:
  friend class SimEndpoint;
  enum class EndState : uint8_t { kNone, kConnecting, kOpen, kClosed, kCrashed };
  enum class ItemKind : uint8_t { kSyn, kSynAck, kRefused, kData, kFin };
  // What happens when a data item arrives (LinkFaults).
  enum class Fate : uint8_t { kDeliver, kDeliverThenReset, kReset };
  struct End {
    uint32_t endpoint = 0;
    ConnId id = 0;  // 0 until the accepting end is accepted
    EndState state = EndState::kNone;
  };
  struct Item {
    ItemKind kind;
    TimeNs at;
    std::vector<uint8_t> payload;
    uint64_t event = 0;  // its kernel event while in flight; 0 once arrived or held
    Fate fate = Fate::kDeliver;
  };
  struct Direction {  // dirs[s] carries from ends[s] to ends[1 - s]
    Link* link = nullptr;
    TimeNs last_delivery_ns = 0;
    size_t bytes_in_flight = 0;  // of every item in `items`, arrived and held ones included
    std::deque<Item> items;      // [arrived | held | in flight]
    size_t arrived = 0;          // front items waiting in the deferred queue of host `arrived_at`
    uint32_t arrived_at = 0;
    size_t held = 0;             // next items, stopped by the down link
    TimeNs held_since_ns = 0;    // when `held` last became nonzero
    bool reset_on_heal = false;  // ends[s] crashed behind the down link: reset the peer on heal
  };
  struct Connection {
    std::array<End, 2> ends;
    std::array<Direction, 2> dirs;
    std::string listen_address;
    // Kernel events and deferred entries that will look this connection up, plus a reset waiting for
    // a heal. The slot is not reused while any remain.
    uint32_t events_pending = 0;
    bool in_use = false;
  };

  Result<std::string> listen(SimEndpoint& ep, std::string_view address);
  ConnId connect(SimEndpoint& ep, std::string_view address);
  SendStatus send(SimEndpoint& ep, ConnId id, std::span<const uint8_t> payload);
  void close(SimEndpoint& ep, ConnId id);
  std::optional<PeerIdentity> peer_identity(const SimEndpoint& ep, ConnId id) const;
  std::string peer_address(const SimEndpoint& ep, ConnId id) const;

  uint32_t new_connection(uint32_t client, uint32_t server, std::string listen_address);
  void maybe_free(uint32_t ci);
  Link& link(uint32_t from, uint32_t to);
  TimeNs next_arrival(Direction& dir);
  void push_item(uint32_t ci, uint8_t side, ItemKind kind, TimeNs at, std::vector<uint8_t> payload, Fate fate = Fate::kDeliver);
  // next_arrival for a data message, with the link's per-message faults drawn into it.
  TimeNs data_arrival(Direction& dir, Fate* fate);
  bool draw_permille(uint32_t permille);

  void on_arrival(uint32_t ci, uint8_t side);
  void handle(uint32_t ci, uint8_t side, const Item& item);
  uint32_t receiver_of(const Connection& c, uint8_t side, ItemKind kind) const;
  void hold(uint32_t ci, uint8_t side);
  void release(uint32_t ci, uint8_t side);
  void release_all();
  void on_partition_timeout(uint32_t ci, uint8_t side);
  void partition_reset(uint32_t ci);
  void reset_end(uint32_t ci, uint8_t side);
  void drop_deferred(HostState& host);
  void on_reset(uint32_t ci, uint8_t side);
  void arrive_syn(uint32_t ci);
  void arrive_syn_ack(uint32_t ci);
  void deliver(uint32_t ci, uint8_t side, const std::vector<uint8_t>& payload);
  void report_closed(uint32_t ci, uint8_t side, CloseReason reason);
  std::string pick_port(std::string_view name);
  NodeId peer_node(const Connection& c, uint8_t side) const;

  void record(uint32_t endpoint, TraceKind kind, NodeId peer, int64_t a, int64_t b);
  NodeId node_of(uint32_t endpoint) const { return endpoints_[endpoint]->host_.node; }

  Kernel& kernel_;
  TraceLog& trace_;
  NetworkOptions options_;
  Xoshiro256 random_;
  std::vector<SimEndpoint*> endpoints_;
  // Ordered maps: crash() walks listeners_, and links_ must hand out stable addresses.
  std::map<std::string, uint32_t, std::less<>> listeners_;  // address -> endpoint
  std::map<std::pair<uint32_t, uint32_t>, Link> links_;
  // A deque so that references survive new connections made from inside callbacks.
  std::deque<Connection> conns_;
  std::vector<uint32_t> free_conns_;
  uint32_t next_ephemeral_port_ = kEphemeralPortFirst;
  uint64_t messages_delivered_ = 0;
  MessageFaultCounts message_faults_;
};

}  // namespace aether::sim
