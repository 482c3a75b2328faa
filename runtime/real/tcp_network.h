#pragma once
// engine/runtime/network.h over TCP, or over TLS on TCP when given contexts (runtime/real/tls.h).
// Each message travels as one frame (engine/wire/framing.h): a 4-byte big-endian length, then the
// payload. Bytes from a socket are untrusted: a bad frame closes that one connection with a logged
// reason and never disturbs the others.
//
// With TLS, a connection is reported (on_accepted, on_connected) only once its handshake is done,
// so that peer_identity() is known from the first event on; a handshake that fails or outlasts
// kTlsHandshakeDeadlineNs closes an accepted connection without a word to the handler and reports
// an outbound one as refused. No close_notify is sent: a frame cut short by a truncated stream is
// caught by the frame decoder like any other.
//
// Lifetimes: the network and every connection are owned through shared_ptr. Pending Asio operations
// hold the connection (so its socket and buffers outlive the operation) and only a weak_ptr to the
// network, so a runtime shut down or destroyed with operations in flight is safe: their completions
// find the network gone or shut down and do nothing.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "engine/core/time.h"
#include "engine/runtime/log.h"
#include "engine/runtime/network.h"
#include "engine/runtime/trace.h"
#include "runtime/real/crl_watch.h"
#include "runtime/real/real_trace.h"
#include "runtime/real/tls.h"

namespace aether::real {

// Bytes one read asks the kernel for. Each connection owns one such buffer, and one process may hold
// thousands of connections (`aether local` with many bots), so it is modest; frames larger than it
// simply take several reads.
inline constexpr size_t kReadChunkBytes = 16 << 10;
// After close(), how long queued frames may take to reach the kernel before the socket is closed
// anyway: a peer that stops reading cannot pin a closed connection's buffers forever.
inline constexpr TimeNs kCloseFlushTimeoutNs = 5 * kNsPerSec;
// Pause before accepting again after accept failed for a reason other than shutdown (out of file
// descriptors, typically): retrying at once would spin the event loop.
inline constexpr TimeNs kAcceptRetryDelayNs = 100 * kNsPerMs;
// A write buffer that grew past this during a burst is released once drained, so an idle connection
// does not keep megabytes it needed once.
inline constexpr size_t kWriteBufferRetainedBytesMax = 64 << 10;
// Connections one network holds at once (open, connecting or closing). Past it, an accepted socket is
// closed at once and a connect() is refused: a flood of peers costs us a log line, not our memory or
// our file descriptors.
inline constexpr size_t kConnectionsMax = 16384;
// A frame begun and not finished within this is a peer holding our memory (slowloris): the
// connection is closed with a logged reason and counted. 1 MiB in 10 s is 100 KB/s, far below any
// honest peer on the networks Aether runs on.
inline constexpr TimeNs kPartialFrameDeadlineNs = 10 * kNsPerSec;
// Memory that frame buffers (unfinished frames; FrameDecoder keeps at most 64 KiB once a frame is
// whole) may hold across all connections of one network. A read that takes the total past it
// closes the connection it came on (logged, counted): a crowd of peers each sending most of a large
// frame cannot grow the process without bound.
inline constexpr size_t kPartialFramesBytesMax = 64 << 20;

// Inbound connections (accepted, on every listener) one remote IP address may hold at once; the next
// is closed at accept, logged and counted (reason per_address_limit). One address cannot take every
// slot of a port, nor spawn an avatar per connection without end (a client's connection is its
// session). A studio's NAT or a bot farm behind one address raises it in the role's configuration
// (connections_per_address_max); `aether local`, whose bots all come from 127.0.0.1, lifts it.
inline constexpr size_t kInboundPerAddressMax = 256;

struct TcpLimits {
  size_t connections_max = kConnectionsMax;
  size_t inbound_per_address_max = kInboundPerAddressMax;  // 0: no limit
  TimeNs partial_frame_deadline_ns = kPartialFrameDeadlineNs;
  size_t partial_frames_bytes_max = kPartialFramesBytesMax;
  TimeNs tls_handshake_deadline_ns = kTlsHandshakeDeadlineNs;
  size_t tls_handshakes_max = kTlsHandshakesMax;
  size_t tls_handshakes_per_address_max = kTlsHandshakesPerAddressMax;  // 0: no limit
  TimeNs crl_check_interval_ns = kCrlReloadIntervalNs;  // how often the revocation list's file is looked at (crl_watch.h)
};

// Connections this network closed because a limit was reached (each also logged with its reason).
struct TcpLimitStats {
  uint64_t partial_frame_deadline = 0;  // a frame unfinished for partial_frame_deadline_ns
  uint64_t partial_frames_budget = 0;   // unfinished frames over partial_frames_bytes_max
  uint64_t connection_limit = 0;        // accepted past connections_max, or a connect refused for it
  uint64_t tls_handshake = 0;           // a TLS handshake failed (wrong certificate, protocol or suite, not TLS at all)
  uint64_t tls_handshake_deadline = 0;  // a TLS handshake unfinished after tls_handshake_deadline_ns
  uint64_t tls_handshakes_limit = 0;    // accepted while tls_handshakes_max handshakes were under way
  uint64_t per_address_limit = 0;       // accepted from an address already holding inbound_per_address_max
  uint64_t tls_handshakes_per_address_limit = 0;  // accepted from an address with tls_handshakes_per_address_max handshakes under way
  uint64_t tls_peer_revoked = 0;        // a peer whose certificate the revocation list reloaded names (established or handshaking)
};


struct TcpConnection;
struct TcpListener;
class AddressCounts;

// With a revocation list (TlsSettings::revocations), the network looks at its file every
// crl_check_interval_ns from its first listen() or connect() on; once a new list is in force it closes
// every established connection whose peer's certificate the list names (as broken: kReset, so links
// redial and are refused at the handshake), and a handshake that verified its peer against the old
// list just before is refused at its end. Each counted as tls_peer_revoked and logged at warn.
class TcpNetwork final : public Network, public RevocationListener, public std::enable_shared_from_this<TcpNetwork> {
 public:
  // log and trace must outlive every call into this object until shutdown() (the RealRuntime owns
  // all three and shuts the network down first).
  TcpNetwork(boost::asio::io_context& io, Logger& log, RealTraceSink& trace, TcpLimits limits = {}, TlsSettings tls = {});
  ~TcpNetwork() override;
  TcpNetwork(const TcpNetwork&) = delete;
  TcpNetwork& operator=(const TcpNetwork&) = delete;

  void set_handler(NetworkHandler* handler) override;
  Result<std::string> listen(std::string_view address) override;
  ConnId connect(std::string_view address) override;
  SendStatus send(ConnId conn, std::span<const uint8_t> payload) override;
  void close(ConnId conn) override;
  // The common name of the peer's certificate, verified against our CA (mutual TLS); nullopt on
  // plain TCP and for peers that present no certificate.
  std::optional<PeerIdentity> peer_identity(ConnId conn) const override;
  std::string peer_address(ConnId conn) const override;

  // Closes every listener and connection at once, no flushing and no callbacks. Afterwards every call
  // is a no-op (send reports kClosed).
  void shutdown();

  // Reads the revocation list's file now, changed or not (SIGHUP); nothing without a list. On the loop.
  void reload_revocations();
  const CrlWatch* revocations() const { return tls_.revocations.get(); }

  uint64_t bytes_sent() const { return bytes_sent_; }          // frame bytes (prefixes included; under TLS, before encryption)
  uint64_t bytes_received() const { return bytes_received_; }  // frame bytes (prefixes included; under TLS, after decryption)
  bool tls() const { return tls_.any(); }
  size_t connections_open() const { return conns_.size(); }    // connecting or open, not closing
  size_t partial_frame_bytes() const { return partial_bytes_; }  // frame buffers' memory (their capacity), all connections
  const TcpLimitStats& limit_stats() const { return limit_stats_; }

 private:
  using ConnPtr = std::shared_ptr<TcpConnection>;

  void start_accept(const std::shared_ptr<TcpListener>& listener);
  void retry_accept_later(const std::shared_ptr<TcpListener>& listener);
  void on_accept(const std::shared_ptr<TcpListener>& listener, boost::asio::ip::tcp::socket socket);
  void on_connect(const ConnPtr& conn, const boost::system::error_code& ec);
  void report_refused(const ConnPtr& conn, const std::string& why);
  void opened(const ConnPtr& conn);  // an outbound connection is established (and its handshake done)

  // TLS handshakes: started once TCP is up, bounded by the deadline.
  void start_handshake(const ConnPtr& conn, bool as_server);
  void on_handshake(const ConnPtr& conn, const boost::system::error_code& ec);
  void on_handshake_deadline(const ConnPtr& conn);
  void end_handshake(const ConnPtr& conn);
  void abandon_handshake(const ConnPtr& conn, const std::string& why);
  void start_read(const ConnPtr& conn);
  void on_read(const ConnPtr& conn, const boost::system::error_code& ec, size_t bytes);
  void on_read_error(const ConnPtr& conn, const boost::system::error_code& ec);
  bool deliver_frames(const ConnPtr& conn);

  void start_write(const ConnPtr& conn);
  void on_write(const ConnPtr& conn, const boost::system::error_code& ec, size_t bytes);
  void start_linger(const ConnPtr& conn);
  void finish_close(const ConnPtr& conn);

  void fail(const ConnPtr& conn, CloseReason reason);
  bool is_live(const ConnPtr& conn) const;
  bool at_connection_limit() const { return conns_.size() + closing_.size() >= limits_.connections_max; }
  // Partial frames: their memory against the budget, their age against the deadline.
  void account_partial(const ConnPtr& conn);
  void forget_partial(const ConnPtr& conn);
  void start_sweep();
  void sweep_partial_frames();
  // Revocation: the list's file looked at on a timer, connections of revoked peers closed.
  void start_revocation_checks();
  void check_revocations();
  void report_reload(const CrlReloadOutcome& outcome);
  void on_revocations_loaded() override;
  bool peer_revoked(const ConnPtr& conn) const;
  ConnPtr find(ConnId conn) const;

  boost::asio::io_context& io_;
  Logger& log_;
  RealTraceSink& trace_;
  const TcpLimits limits_;
  std::shared_ptr<AddressCounts> address_counts_;  // inbound connections per remote address
  std::shared_ptr<AddressCounts> handshake_counts_;  // inbound TLS handshakes under way per remote address
  const TlsSettings tls_;
  TcpLimitStats limit_stats_;
  size_t handshakes_ = 0;  // TLS handshakes under way
  size_t partial_bytes_ = 0;
  std::unique_ptr<boost::asio::steady_timer> sweep_;  // every second while anything is open
  std::unique_ptr<boost::asio::steady_timer> crl_timer_;  // every crl_check_interval_ns, with a revocation list
  NetworkHandler* handler_ = nullptr;
  std::vector<std::shared_ptr<TcpListener>> listeners_;
  std::map<ConnId, ConnPtr> conns_;      // connecting or open
  std::map<ConnId, ConnPtr> closing_;    // closed locally, still flushing
  ConnId next_id_ = 1;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  bool shut_down_ = false;
};

}  // namespace aether::real
