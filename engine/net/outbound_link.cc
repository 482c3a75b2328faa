#include "engine/net/outbound_link.h"

#include <fmt/format.h>

#include "engine/wire/codec.h"

namespace aether {

OutboundLink::OutboundLink(Runtime& rt, std::string address) : rt_(rt), address_(std::move(address)) {}

OutboundLink::~OutboundLink() { stop(); }

void OutboundLink::start() {
  running_ = true;
  connect_now();
}

void OutboundLink::stop() {
  running_ = false;
  if (retry_timer_ != 0) rt_.timers.cancel(retry_timer_);
  retry_timer_ = 0;
  if (conn_ != 0) rt_.network.close(conn_);
  conn_ = 0;
  connected_ = false;
}

void OutboundLink::connect_now() {
  retry_timer_ = 0;
  if (!running_) return;
  connected_ = false;
  conn_ = rt_.network.connect(address_);
}

bool OutboundLink::handle_connected(ConnId conn) {
  if (!is(conn)) return false;
  if (guard_ != nullptr && !guard_->admits(conn, expect_role_, expect_node_, fmt::format("the server dialled at {}", address_))) {
    rt_.network.close(conn);
    conn_ = 0;
    ++failures_;
    schedule_retry();
    return false;
  }
  const std::optional<PeerIdentity> verified = rt_.network.peer_identity(conn);
  verified_node_ = verified ? verified->node : NodeId{};
  connected_ = true;
  failures_ = 0;
  return true;
}

bool OutboundLink::handle_closed(ConnId conn) {
  if (!is(conn)) return false;
  conn_ = 0;
  connected_ = false;
  ++failures_;
  schedule_retry();
  return true;
}

void OutboundLink::schedule_retry() {
  if (!running_ || retry_timer_ != 0) return;
  TimeNs delay = kReconnectDelayMinNs;
  for (uint32_t i = 1; i < failures_ && delay < kReconnectDelayMaxNs; ++i) delay *= 2;
  if (delay > kReconnectDelayMaxNs) delay = kReconnectDelayMaxNs;
  delay += static_cast<TimeNs>(uniform_below(rt_.random, static_cast<uint64_t>(delay / 4) + 1));
  retry_timer_ = rt_.timers.schedule(delay, [this] { connect_now(); });
}

std::string listen_logged(Runtime& rt, const std::string& address) {
  auto bound = rt.network.listen(address);
  if (!bound) {
    log_at(rt.log, LogLevel::kError, {}, "cannot listen on {}: {}", address, bound.error().message);
    return {};
  }
  return bound.value();
}

SendStatus send_server(Network& network, ConnId conn, const ServerMessage& message) {
  if (conn == 0) return SendStatus::kClosed;
  const std::vector<uint8_t> bytes = encode(message);
  return network.send(conn, bytes);
}

}  // namespace aether
