#pragma once
// Browsers at the gateway: one HTTPS listener (Boost.Beast) that upgrades WebSocket requests into
// client connections and serves the browser client's static files to everything else.
//
// A WebSocket connection is a client connection like a TCP one: the same NetworkHandler hears of
// it (on_accepted, on_message, on_closed), each binary message is one client-protocol message
// (engine/wire/client_protocol.h), and send() carries one message as one binary frame. The engine
// never learns which transport a client came by (RoutedNetwork, below, joins the two).
//
// Untrusted bytes, named limits (WebLimits), and what happens at each:
//   - an Origin header not on the allow-list (the page's own origin is always on it): HTTP 403, no
//     upgrade, counted as origin_refused. A request without Origin is no browser's and is let in:
//     any non-browser client may forge the header anyway; the list stops other sites' pages.
//   - a message over message_bytes_max: close 1009 (too big), kFraming; a text frame: close 1003
//     (binary only), kFraming; both counted and logged.
//   - nothing heard for idle_timeout_ns: a ping goes out at half of it, and a peer still silent at
//     its end is closed (dead_peer), kReset.
//   - queued outbound bytes over outbound_bytes_max: send() refuses with kBackpressure (the gateway
//     drops a client that stays stalled, as on TCP).
//   - TLS handshake, HTTP request and upgrade not done within handshake_deadline_ns: closed.
//   - connections_max held at once, or connections_per_address_max from one remote address: the next
//     accepted socket is closed at once (connection_limit, per_address_limit).
//   - static files: GET and HEAD only, only regular files under the web root (canonical path
//     inside the root: no traversal, no symlink out), at most file_bytes_max, content type by
//     extension from a fixed table; anything else is 404 (or 405, 413); the connection closes
//     after the response.
// Close codes on a local close(): 1000 with the reason "closed by the server" (the client protocol's
// Goodbye, sent before, says why).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "engine/core/time.h"
#include "engine/runtime/log.h"
#include "engine/runtime/network.h"
#include "runtime/real/tcp_network.h"
#include "runtime/real/tls.h"

namespace aether::real {

// Client messages are small (a hello is under 100 bytes): 4 KiB is ample and keeps a hostile frame
// from costing memory.
inline constexpr size_t kWebMessageBytesMax = 4 << 10;
// Per connection, queued and not yet written: 256 KiB is over 30 s of a client's updates (780 B a
// tick at 10 Hz); beyond it send() refuses and the gateway's stall rule decides.
inline constexpr size_t kWebOutboundBytesMax = 256 << 10;
inline constexpr TimeNs kWebHandshakeDeadlineNs = 5 * kNsPerSec;
inline constexpr TimeNs kWebIdleTimeoutNs = 20 * kNsPerSec;
inline constexpr size_t kWebConnectionsMax = 8192;
inline constexpr size_t kWebRequestHeaderBytesMax = 8 << 10;
inline constexpr size_t kWebFileBytesMax = 16 << 20;
// WebSocket connection ids start here, far above any TcpNetwork id, so that one handler can hold
// both without a clash (RoutedNetwork routes by it).
inline constexpr ConnId kWebConnIdBase = ConnId{1} << 48;

struct WebLimits {
  size_t message_bytes_max = kWebMessageBytesMax;
  size_t outbound_bytes_max = kWebOutboundBytesMax;
  TimeNs handshake_deadline_ns = kWebHandshakeDeadlineNs;
  TimeNs idle_timeout_ns = kWebIdleTimeoutNs;
  size_t connections_max = kWebConnectionsMax;
  size_t connections_per_address_max = kInboundPerAddressMax;  // as the TCP client port; 0: no limit
  size_t request_header_bytes_max = kWebRequestHeaderBytesMax;
  size_t file_bytes_max = kWebFileBytesMax;
};

struct WebSettings {
  std::shared_ptr<TlsContext> tls;            // null: plain HTTP and ws:// (development, tests)
  std::vector<std::string> allowed_origins;   // besides the page's own ("https://host:port" exactly)
  std::string web_root;                       // the built client; empty: no files are served
  WebLimits limits;
};

// Counts of what the listener refused or closed (each also logged, floods at powers of two).
struct WebStats {
  uint64_t upgraded = 0;           // WebSocket connections opened
  uint64_t files_served = 0;
  uint64_t not_found = 0;          // 404s, traversal attempts included
  uint64_t bad_requests = 0;       // unreadable HTTP, bad method, header over the limit
  uint64_t origin_refused = 0;
  uint64_t handshake_failed = 0;   // TLS or WebSocket handshake failed or outlasted its deadline
  uint64_t connection_limit = 0;
  uint64_t per_address_limit = 0;
  uint64_t message_too_big = 0;
  uint64_t text_frames = 0;
  uint64_t dead_peers = 0;         // silent past idle_timeout_ns, pings unanswered
};

class WebSessionBase;

class WebNetwork final : public std::enable_shared_from_this<WebNetwork> {
 public:
  WebNetwork(boost::asio::io_context& io, Logger& log);
  ~WebNetwork();
  WebNetwork(const WebNetwork&) = delete;
  WebNetwork& operator=(const WebNetwork&) = delete;

  void set_handler(NetworkHandler* handler) { handler_ = handler; }
  // One listener per network; its WebSocket connections are reported with the bound address.
  Result<std::string> listen(std::string_view address, WebSettings settings);
  SendStatus send(ConnId conn, std::span<const uint8_t> payload);
  void close(ConnId conn);
  void shutdown();

  const WebStats& stats() const { return stats_; }
  size_t connections() const { return sessions_.size(); }
  std::string peer_address(ConnId conn) const;  // the remote IP of a connection ("" if unknown)
  const std::string& address() const { return address_; }

 private:
  friend class WebSessionBase;
  template <class Next>
  friend class WebSession;
  struct File {
    std::string body;
    const char* type;
  };
  Status load_files(const std::string& web_root);
  void start_accept();
  void on_accept(boost::asio::ip::tcp::socket socket);
  void forget(ConnId id) { sessions_.erase(id); }

  boost::asio::io_context& io_;
  Logger& log_;
  NetworkHandler* handler_ = nullptr;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  WebSettings settings_;
  std::string address_;
  // Connections per remote address, each held by its session for its whole life (AddressSlot).
  std::shared_ptr<std::map<std::string, size_t>> per_address_ = std::make_shared<std::map<std::string, size_t>>();
  std::map<std::string, File> files_;  // "/path" -> the file, read once at listen()
  std::map<ConnId, std::shared_ptr<WebSessionBase>> sessions_;  // every connection, HTTP or WebSocket
  ConnId next_id_ = kWebConnIdBase;
  WebStats stats_;
  bool shut_down_ = false;
};

// engine/runtime/network.h over a TcpNetwork and, once listen_web() is called, a WebNetwork: what
// the real runtime hands its component. Ids from kWebConnIdBase up are the WebNetwork's; listen
// and connect are always TCP.
class TcpNetwork;
class RoutedNetwork final : public Network {
 public:
  RoutedNetwork(std::shared_ptr<TcpNetwork> tcp, std::shared_ptr<WebNetwork> web) : tcp_(std::move(tcp)), web_(std::move(web)) {}
  void set_handler(NetworkHandler* handler) override;
  Result<std::string> listen(std::string_view address) override;
  ConnId connect(std::string_view address) override;
  SendStatus send(ConnId conn, std::span<const uint8_t> payload) override;
  void close(ConnId conn) override;
  std::optional<PeerIdentity> peer_identity(ConnId conn) const override;
  std::string peer_address(ConnId conn) const override;  // the remote IP, for per-address limits

 private:
  std::shared_ptr<TcpNetwork> tcp_;
  std::shared_ptr<WebNetwork> web_;
};

// The content type a served file is sent with, by extension; nullptr: not served.
const char* web_content_type(std::string_view path);

}  // namespace aether::real
