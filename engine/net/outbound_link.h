#pragma once
// One outbound connection that a component wants kept up (compute -> coordinator, gateway -> compute,
// bot -> gateway). After a loss it retries with exponential backoff and jitter, from
// kReconnectDelayMinNs up to kReconnectDelayMaxNs, so a restarting peer is not stampeded.

#include <string>

#include "engine/net/identity_guard.h"
#include "engine/runtime/runtime.h"
#include "engine/wire/messages.h"

namespace aether {

inline constexpr TimeNs kReconnectDelayMinNs = 100 * kNsPerMs;
inline constexpr TimeNs kReconnectDelayMaxNs = 5 * kNsPerSec;

class OutboundLink {
 public:
  OutboundLink(Runtime& rt, std::string address);
  ~OutboundLink();
  OutboundLink(const OutboundLink&) = delete;
  OutboundLink& operator=(const OutboundLink&) = delete;

  // The server this link dials must be `role` `node` (node invalid: any node of that role): a
  // connection whose verified identity the guard does not admit is closed at once and retried like
  // a refused connect. Without it (a bot dialling a gateway's client port) any server will do.
  void expect(Role role, NodeId node, IdentityGuard* guard) {
    expect_role_ = role;
    expect_node_ = node;
    guard_ = guard;
  }

  void start();
  // Stops retrying and closes the connection.
  void stop();
  const std::string& address() const { return address_; }
  // Points the link at another address (a different gateway after ours was lost).
  void retarget(std::string address) { address_ = std::move(address); }

  bool is(ConnId conn) const { return conn != 0 && conn == conn_; }
  bool connected() const { return connected_; }
  ConnId conn() const { return connected_ ? conn_ : 0; }
  uint32_t failures() const { return failures_; }
  // The node the connected server's verified identity names (invalid: nothing verified, plain TCP).
  NodeId verified_node() const { return connected_ ? verified_node_ : NodeId{}; }

  // The component forwards these for its own connections; each returns true if the event was ours,
  // handle_connected only if the link is also up: a server the guard refused is closed here (and
  // retried later), and the component has nothing to say to it.
  bool handle_connected(ConnId conn);
  bool handle_closed(ConnId conn);

 private:
  void connect_now();
  void schedule_retry();

  Runtime& rt_;
  std::string address_;
  ConnId conn_ = 0;
  bool connected_ = false;
  bool running_ = false;
  TimerId retry_timer_ = 0;
  uint32_t failures_ = 0;
  Role expect_role_ = Role::kNone;
  NodeId expect_node_{};
  IdentityGuard* guard_ = nullptr;
  NodeId verified_node_{};
};

// Listens on address; returns the bound address, or "" after logging why it could not.
std::string listen_logged(Runtime& rt, const std::string& address);

// Encodes and sends one server message. Returns what the network said.
SendStatus send_server(Network& network, ConnId conn, const ServerMessage& message);

}  // namespace aether
