#pragma once
// A compute node: runs the gameplay of the entities it owns at 10 Hz, in the six phases of seed
// section 10, over four bounded queues. It never waits on the network inside a tick: everything a
// tick needs was queued before it started, and everything it produces leaves through the
// OutputQueue at its end.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/compute/gateway_feed.h"
#include "engine/core/bounded_queue.h"
#include "engine/core/histogram.h"
#include "engine/gameplay/world.h"
#include "engine/net/outbound_link.h"
#include "engine/runtime/component.h"
#include "engine/runtime/runtime.h"

namespace aether {

struct ComputeConfig {
  NodeId node{};
  std::string listen_address;       // where gateways connect
  std::string coordinator_address;
  uint32_t capacity_entities = 5000;
  int32_t view_radius_mm = 50'000;  // must match the gateways'
  gameplay::Rules rules;
  // Queue limits and what happens at each (see docs/architecture.md, "Bounds"):
  size_t input_queue_max = 16384;       // full: the input is dropped; the client's next one supersedes it
  size_t intent_queue_max = 16384;      // full: the intent (a shot) is dropped and counted
  size_t simulation_queue_max = 8192;   // full: the job is dropped; a respawn then happens on the next death
  size_t output_queue_max = 1024;       // full: that feed restarts with a reset next tick
  size_t inbound_connections_max = 1024;  // further connections are closed at once, with a warning
  Tick heartbeat_every_ticks = 5;
};

enum class TickPhase : uint8_t {
  kDrainInputs = 1,
  kGenerateIntents = 2,
  kSimulate = 3,
  kConsumeIntents = 4,
  kProduceDeltas = 5,
  kFlushOutput = 6,
};
const char* tick_phase_name(TickPhase phase);

struct ComputeStats {
  uint64_t ticks = 0;
  uint64_t tick_overruns = 0;
  Histogram tick_ns;
  uint64_t inputs_applied = 0;
  uint64_t inputs_unknown_entity = 0;
  uint64_t inputs_stale = 0;
  uint64_t intents_applied = 0;
  uint64_t intents_dropped = 0;
  uint64_t deaths = 0;
  uint64_t stale_epoch_dropped = 0;
  uint64_t protocol_errors = 0;
  uint64_t delta_bytes_sent = 0;
  uint64_t feed_resets = 0;
};

class ComputeNode final : public Component, public NetworkHandler {
 public:
  ComputeNode(Runtime& rt, ComputeConfig config);
  ~ComputeNode() override;

  void start() override;

  void on_accepted(ConnId conn, std::string_view listen_address) override;
  void on_connected(ConnId conn) override;
  void on_message(ConnId conn, std::span<const uint8_t> payload) override;
  void on_closed(ConnId conn, CloseReason reason) override;

  const ComputeStats& stats() const { return stats_; }
  const gameplay::World& world() const { return world_; }
  Tick tick() const { return tick_; }
  Epoch epoch() const { return epoch_; }
  const std::string& data_address() const { return data_address_; }
  size_t input_queue_depth() const { return input_queue_.depth(); }
  size_t intent_queue_depth() const { return intent_queue_.depth(); }
  // Tests watch the phases go by.
  void set_phase_observer(std::function<void(TickPhase, Tick)> observer) { phase_observer_ = std::move(observer); }
  // Runs one tick now (tests drive ticks by hand instead of by timer).
  void run_tick();

 private:
  struct InputItem {
    EntityId entity{};
    ClientInput input;
  };
  struct OutputItem {
    ConnId conn = 0;
    NodeId gateway{};
    std::vector<uint8_t> bytes;
  };
  struct GatewayPeer {
    ConnId conn = 0;
    std::unique_ptr<GatewayFeed> feed;
  };

  void schedule_tick();
  void enter(TickPhase phase);
  void drain_inputs();
  void generate_intents();
  void simulate();
  void consume_intents();
  void produce_deltas();
  void flush_output();
  void send_hello();
  void send_heartbeat();

  void handle_coordinator(const ServerMessage& m);
  void handle_grant(const ServerMessage& m, const OwnershipGrant& g);
  void handle_revoke(const ServerMessage& m, const OwnershipRevoke& r);
  void handle_peer(ConnId conn, const ServerMessage& m);
  bool accept_epoch(const ServerMessage& m);
  void drop_connection(ConnId conn, std::string_view why);
  ServerMessage envelope(ServerBody body) const;
  void trace(TraceKind kind, EntityId entity, int64_t a = 0, int64_t b = 0, NodeId peer = {});

  Runtime& rt_;
  ComputeConfig cfg_;
  gameplay::World world_;
  SpatialGrid grid_;
  BoundedQueue<InputItem> input_queue_;
  BoundedQueue<gameplay::DamageIntent> intent_queue_;
  BoundedQueue<gameplay::SimJob> simulation_queue_;
  BoundedQueue<OutputItem> output_queue_;
  OutboundLink coordinator_;
  std::map<ConnId, NodeId> inbound_;         // accepted connections -> peer (invalid until its Hello)
  std::map<NodeId, GatewayPeer> gateways_;   // ordered: feeds are built in NodeId order
  std::string data_address_;
  Epoch epoch_ = 0;
  Tick tick_ = 0;
  TimeNs first_tick_at_ = 0;
  TimerId tick_timer_ = 0;
  ComputeStats stats_;
  std::function<void(TickPhase, Tick)> phase_observer_;
};

}  // namespace aether
