#include "runtime/real/tcp_network.h"

#include <openssl/ssl.h>

#include <bit>
#include <chrono>
#include <map>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "engine/core/assert.h"
#include "engine/core/hash.h"
#include "engine/wire/framing.h"
#include "runtime/real/address.h"

namespace aether::real {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

struct TcpListener {
  explicit TcpListener(asio::io_context& io) : acceptor(io), retry(io) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  std::string address;  // the bound address, as listen() returned it
};

// Inbound connections held per remote IP address (TcpLimits::inbound_per_address_max). A connection
// holds a Slot for its whole life, so the count falls however the connection ends (closed by either
// side, reset, refused by a limit later, or the network shut down): no path has to remember it.
class AddressCounts : public std::enable_shared_from_this<AddressCounts> {
 public:
  class Slot {
   public:
    Slot(std::shared_ptr<AddressCounts> counts, std::string address) : counts_(std::move(counts)), address_(std::move(address)) {
      ++counts_->held_[address_];
    }
    ~Slot() {
      auto it = counts_->held_.find(address_);
      AETHER_ASSERT(it != counts_->held_.end() && it->second > 0);
      if (--it->second == 0) counts_->held_.erase(it);
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    const std::string& address() const { return address_; }

   private:
    std::shared_ptr<AddressCounts> counts_;
    std::string address_;
  };
  size_t held(const std::string& address) const {
    auto it = held_.find(address);
    return it == held_.end() ? 0 : it->second;
  }
  std::unique_ptr<Slot> take(const std::string& address) { return std::make_unique<Slot>(shared_from_this(), address); }

 private:
  std::map<std::string, size_t> held_;
};

struct TcpConnection {
  enum class State : uint8_t {
    kHandshaking, // accepted, TLS handshake under way: not yet reported to the handler
    kConnecting,  // outbound, connect in flight (and then its TLS handshake, if any)
    kOpen,
    kFlushing,    // closed locally; queued frames still going out
    kDraining,    // closed locally, FIN sent; discarding input until the peer's FIN (avoids an RST
                  // that could destroy the data we just flushed)
    kClosed,
  };

  TcpConnection(tcp::socket s, ConnId conn_id, State initial, TlsContext* tls_context)
      : id(conn_id), state(initial), socket(std::move(s)), linger(socket.get_executor()), handshake_timer(socket.get_executor()),
        decoder(kFrameBytesMax), read_buffer(kReadChunkBytes) {
    if (tls_context != nullptr) tls = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket, *tls_context);
  }

  // Every read and write goes through TLS when the connection has it.
  template <class Handler>
  void read_some(asio::mutable_buffer buffer, Handler&& handler) {
    if (tls) return tls->async_read_some(buffer, std::forward<Handler>(handler));
    socket.async_read_some(buffer, std::forward<Handler>(handler));
  }
  template <class Handler>
  void write(asio::const_buffer buffer, Handler&& handler) {
    if (tls) return asio::async_write(*tls, buffer, std::forward<Handler>(handler));
    asio::async_write(socket, buffer, std::forward<Handler>(handler));
  }

  size_t queued_bytes() const { return pending.size() + writing.size(); }
  bool closing() const { return state == State::kFlushing || state == State::kDraining; }

  const ConnId id;
  State state;
  tcp::socket socket;
  asio::steady_timer linger;  // bounds kFlushing + kDraining
  asio::steady_timer handshake_timer;  // bounds the TLS handshake
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls;  // null: plain TCP (declared after the socket it wraps)
  bool handshaking = false;                // a TLS handshake is under way (counted in handshakes_)
  std::optional<PeerIdentity> identity;    // from the peer's verified certificate, once the handshake is done
  std::string listen_address;              // accepted: the listener's bound address, for on_accepted
  std::string peer;           // remote endpoint (or the address dialled), for logs
  std::unique_ptr<AddressCounts::Slot> address_slot;  // accepted: counted against its remote address
  // Accepted with TLS: counted against its remote address while its handshake is under way (held
  // exactly while `handshaking`: taken in start_handshake, dropped in end_handshake).
  std::unique_ptr<AddressCounts::Slot> handshake_slot;
  FrameDecoder decoder;
  std::vector<uint8_t> read_buffer;
  std::vector<uint8_t> pending;  // encoded frames not yet handed to async_write
  std::vector<uint8_t> writing;  // encoded frames of the one async_write in flight
  bool read_in_flight = false;
  bool read_done = false;  // the peer's EOF (or an error) was seen while closing
  size_t partial_accounted = 0;  // decoder.buffered_bytes() as last counted in partial_bytes_
  std::chrono::steady_clock::time_point partial_since{};  // when the unfinished frame began (epoch: none)
};

using State = TcpConnection::State;

namespace {

error_code open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
  error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  // Restarting a server must not wait for the old sockets' TIME_WAIT to expire.
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

void set_no_delay(tcp::socket& socket) {
  error_code ignored;  // a socket that refuses the option still works, only with more latency
  socket.set_option(tcp::no_delay(true), ignored);
}

TraceEvent closed_event(CloseReason reason) {
  TraceEvent e;
  e.kind = TraceKind::kConnectionClosed;
  e.a = static_cast<int64_t>(reason);
  return e;
}

// The sending node is not known at this layer (the simulator knows it); peer stays 0.
TraceEvent delivered_event(std::span<const uint8_t> payload) {
  TraceEvent e;
  e.kind = TraceKind::kMessageDelivered;
  e.a = static_cast<int64_t>(Hasher64::of(payload));
  e.b = static_cast<int64_t>(payload.size());
  return e;
}

}  // namespace

TcpNetwork::TcpNetwork(asio::io_context& io, Logger& log, RealTraceSink& trace, TcpLimits limits, TlsSettings tls)
    : io_(io), log_(log), trace_(trace), limits_(limits), address_counts_(std::make_shared<AddressCounts>()),
      handshake_counts_(std::make_shared<AddressCounts>()),
      tls_(std::move(tls)) {}

TcpNetwork::~TcpNetwork() { shutdown(); }

void TcpNetwork::set_handler(NetworkHandler* handler) { handler_ = handler; }

void TcpNetwork::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  error_code ignored;
  for (const auto& listener : listeners_) {
    listener->acceptor.close(ignored);
    listener->retry.cancel();
  }
  for (auto* table : {&conns_, &closing_}) {
    for (const auto& [id, conn] : *table) {
      conn->state = State::kClosed;
      conn->socket.close(ignored);
      conn->linger.cancel();
      conn->handshake_timer.cancel();
      conn->handshaking = false;
    }
    table->clear();
  }
  listeners_.clear();
  if (sweep_) sweep_->cancel();
  if (crl_timer_) crl_timer_->cancel();
  partial_bytes_ = 0;
  handshakes_ = 0;
}

// ---- listening and accepting -------------------------------------------------------------------

Result<std::string> TcpNetwork::listen(std::string_view address) {
  if (shut_down_) return make_error(Error::Code::kState, "network is shut down");
  AETHER_ASSERT_MSG(handler_ != nullptr, "set_handler before listen");
  Result<tcp::endpoint> endpoint = parse_endpoint(address);
  if (!endpoint.ok()) return endpoint.error();
  auto listener = std::make_shared<TcpListener>(io_);
  if (const error_code ec = open_acceptor(listener->acceptor, *endpoint)) {
    return make_error(Error::Code::kIo, fmt::format("cannot listen on {}: {}", address, ec.message()));
  }
  error_code ec;
  listener->address = format_endpoint(listener->acceptor.local_endpoint(ec));
  if (ec) return make_error(Error::Code::kIo, fmt::format("cannot listen on {}: {}", address, ec.message()));
  listeners_.push_back(listener);
  start_sweep();
  start_revocation_checks();
  start_accept(listener);
  log_at(log_, LogLevel::kInfo, {}, "listening on {}", listener->address);
  return listener->address;
}

void TcpNetwork::start_accept(const std::shared_ptr<TcpListener>& listener) {
  listener->acceptor.async_accept([weak = weak_from_this(), listener](const error_code& ec, tcp::socket socket) {
    const auto self = weak.lock();
    if (!self || self->shut_down_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      log_at(self->log_, LogLevel::kWarn, {}, "accept on {} failed: {}; retrying", listener->address, ec.message());
      self->retry_accept_later(listener);
      return;
    }
    self->on_accept(listener, std::move(socket));
  });
}

void TcpNetwork::retry_accept_later(const std::shared_ptr<TcpListener>& listener) {
  listener->retry.expires_after(std::chrono::nanoseconds(kAcceptRetryDelayNs));
  listener->retry.async_wait([weak = weak_from_this(), listener](const error_code& ec) {
    const auto self = weak.lock();
    if (!self || self->shut_down_ || ec) return;
    self->start_accept(listener);
  });
}

void TcpNetwork::on_accept(const std::shared_ptr<TcpListener>& listener, tcp::socket socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  std::string peer = ec ? std::string("unknown") : format_endpoint(remote);
  if (at_connection_limit()) {
    ++limit_stats_.connection_limit;
    log_at(log_, LogLevel::kWarn, {}, "refusing connection from {} on {}: {} connections held (limit)", peer,
           listener->address, limits_.connections_max);
    socket.close(ec);
    return start_accept(listener);
  }
  const std::string remote_address = ec ? std::string("unknown") : remote.address().to_string();
  if (limits_.inbound_per_address_max > 0 && address_counts_->held(remote_address) >= limits_.inbound_per_address_max) {
    ++limit_stats_.per_address_limit;
    // One line per power of two refusals: a flood is told, not echoed.
    if (std::has_single_bit(limit_stats_.per_address_limit)) {
      log_at(log_, LogLevel::kWarn, {}, "refusing connection from {} on {}: {} connections from that address already (limit; {} refused so far)",
             peer, listener->address, limits_.inbound_per_address_max, limit_stats_.per_address_limit);
    }
    socket.close(ec);
    return start_accept(listener);
  }
  if (tls_.accept && handshakes_ >= limits_.tls_handshakes_max) {
    ++limit_stats_.tls_handshakes_limit;
    log_at(log_, LogLevel::kWarn, {}, "refusing connection from {} on {}: {} TLS handshakes under way (limit)", peer, listener->address,
           handshakes_);
    socket.close(ec);
    return start_accept(listener);
  }
  if (tls_.accept && limits_.tls_handshakes_per_address_max > 0 &&
      handshake_counts_->held(remote_address) >= limits_.tls_handshakes_per_address_max) {
    ++limit_stats_.tls_handshakes_per_address_limit;
    if (std::has_single_bit(limit_stats_.tls_handshakes_per_address_limit)) {
      log_at(log_, LogLevel::kWarn, {}, "refusing connection from {} on {}: {} TLS handshakes from that address under way (limit; {} refused so far)",
             peer, listener->address, limits_.tls_handshakes_per_address_max, limit_stats_.tls_handshakes_per_address_limit);
    }
    socket.close(ec);
    return start_accept(listener);
  }
  set_no_delay(socket);
  auto conn = std::make_shared<TcpConnection>(std::move(socket), next_id_++, tls_.accept ? State::kHandshaking : State::kOpen,
                                              tls_.accept.get());
  conn->peer = std::move(peer);
  conn->address_slot = address_counts_->take(remote_address);
  conn->listen_address = listener->address;
  conns_.emplace(conn->id, conn);
  start_accept(listener);
  log_at(log_, LogLevel::kDebug, {}, "conn {} accepted from {} on {}", conn->id, conn->peer, listener->address);
  if (conn->tls) return start_handshake(conn, /*as_server=*/true);
  handler_->on_accepted(conn->id, listener->address);
  if (is_live(conn)) start_read(conn);
}

// ---- connecting ----------------------------------------------------------------------------------

ConnId TcpNetwork::connect(std::string_view address) {
  const ConnId id = next_id_++;
  if (shut_down_) return id;  // the host is gone: nothing will ever be reported for this id
  AETHER_ASSERT_MSG(handler_ != nullptr, "set_handler before connect");
  start_revocation_checks();
  auto conn = std::make_shared<TcpConnection>(tcp::socket(io_), id, State::kConnecting, tls_.connect.get());
  conn->peer = std::string(address);
  const bool over_limit = at_connection_limit();
  conns_.emplace(id, conn);
  Result<tcp::endpoint> endpoint = parse_endpoint(address);
  if (!endpoint.ok() || over_limit) {
    if (over_limit) ++limit_stats_.connection_limit;
    std::string why = endpoint.ok() ? fmt::format("{} connections held (limit)", limits_.connections_max)
                                    : endpoint.error().message;
    // The outcome is reported later, never from inside connect().
    asio::post(io_, [weak = weak_from_this(), conn, why = std::move(why)] {
      const auto self = weak.lock();
      if (self && !self->shut_down_) self->report_refused(conn, why);
    });
    return id;
  }
  conn->socket.async_connect(*endpoint, [weak = weak_from_this(), conn](const error_code& ec) {
    const auto self = weak.lock();
    if (self && !self->shut_down_) self->on_connect(conn, ec);
  });
  return id;
}

void TcpNetwork::on_connect(const ConnPtr& conn, const error_code& ec) {
  if (conn->state == State::kFlushing) {  // closed locally while connecting, with frames to flush
    if (ec) return finish_close(conn);
    set_no_delay(conn->socket);
    if (conn->tls) return start_handshake(conn, /*as_server=*/false);  // its end writes them
    return start_write(conn);
  }
  if (conn->state != State::kConnecting) return;
  if (ec) return report_refused(conn, ec.message());
  set_no_delay(conn->socket);
  if (conn->tls) return start_handshake(conn, /*as_server=*/false);
  opened(conn);
}

void TcpNetwork::opened(const ConnPtr& conn) {
  conn->state = State::kOpen;
  log_at(log_, LogLevel::kDebug, {}, "conn {} connected to {}{}", conn->id, conn->peer, conn->tls ? " (TLS)" : "");
  handler_->on_connected(conn->id);
  if (!is_live(conn)) return;  // the handler closed it (close() flushes) or shut us down
  start_read(conn);
  if (!conn->pending.empty() && conn->writing.empty()) start_write(conn);  // sent before connecting
}

void TcpNetwork::report_refused(const ConnPtr& conn, const std::string& why) {
  if (conn->state != State::kConnecting) return;  // closed locally meanwhile: report nothing
  end_handshake(conn);
  conn->state = State::kClosed;
  error_code ignored;
  conn->socket.close(ignored);
  conns_.erase(conn->id);
  log_at(log_, LogLevel::kInfo, {}, "conn {} to {} refused: {}", conn->id, conn->peer, why);
  trace_.record(closed_event(CloseReason::kRefused));
  handler_->on_closed(conn->id, CloseReason::kRefused);
}

// ---- reading -------------------------------------------------------------------------------------

void TcpNetwork::start_read(const ConnPtr& conn) {
  conn->read_in_flight = true;
  conn->read_some(asio::buffer(conn->read_buffer), [weak = weak_from_this(), conn](const error_code& ec, size_t bytes) {
    const auto self = weak.lock();
    if (self && !self->shut_down_) self->on_read(conn, ec, bytes);
  });
}

void TcpNetwork::on_read(const ConnPtr& conn, const error_code& ec, size_t bytes) {
  conn->read_in_flight = false;
  bytes_received_ += bytes;
  if (conn->closing()) {  // input after our close() is discarded; we only wait for the peer's FIN
    if (!ec) return start_read(conn);
    conn->read_done = true;
    if (conn->state == State::kDraining) finish_close(conn);
    return;
  }
  if (conn->state != State::kOpen) return;
  if (bytes > 0) {
    const bool framing_ok = conn->decoder.feed(std::span<const uint8_t>(conn->read_buffer.data(), bytes));
    account_partial(conn);
    if (partial_bytes_ > limits_.partial_frames_bytes_max) {
      ++limit_stats_.partial_frames_budget;
      log_at(log_, LogLevel::kWarn, {}, "conn {} peer {}: unfinished frames hold {} bytes, over the {} byte budget; closing it", conn->id,
             conn->peer, partial_bytes_, limits_.partial_frames_bytes_max);
      return fail(conn, CloseReason::kFraming);
    }
    // Whole frames that preceded a violation were valid and are delivered.
    if (!deliver_frames(conn)) return;
    if (!framing_ok) {
      log_at(log_, LogLevel::kWarn, {}, "conn {} peer {}: framing violation: {}; closing", conn->id, conn->peer,
             conn->decoder.error());
      return fail(conn, CloseReason::kFraming);
    }
  }
  if (ec) return on_read_error(conn, ec);
  start_read(conn);
}

// Delivers decoded frames one by one. Returns false once the connection is no longer live (the
// handler closed it or shut the runtime down): its remaining frames are dropped.
bool TcpNetwork::deliver_frames(const ConnPtr& conn) {
  while (conn->decoder.has_frame()) {
    const std::vector<uint8_t> payload = conn->decoder.take();
    if (trace_.enabled()) trace_.record(delivered_event(payload));
    handler_->on_message(conn->id, payload);
    if (!is_live(conn)) {
      if (!shut_down_ && conn->closing() && !conn->read_in_flight) start_read(conn);  // keep draining
      return false;
    }
  }
  return true;
}

void TcpNetwork::on_read_error(const ConnPtr& conn, const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  // A TLS peer that closes without close_notify ends its stream like a TCP EOF (we do the same).
  if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
    if (conn->decoder.pending_bytes() > 0) {
      log_at(log_, LogLevel::kWarn, {}, "conn {} peer {}: truncated frame: {} bytes of an unfinished frame at EOF",
             conn->id, conn->peer, conn->decoder.pending_bytes());
      return fail(conn, CloseReason::kFraming);
    }
    log_at(log_, LogLevel::kDebug, {}, "conn {} peer {}: closed by peer", conn->id, conn->peer);
    return fail(conn, CloseReason::kPeerClosed);
  }
  log_at(log_, LogLevel::kInfo, {}, "conn {} peer {}: connection broken: {}", conn->id, conn->peer, ec.message());
  fail(conn, CloseReason::kReset);
}

// ---- writing -------------------------------------------------------------------------------------

SendStatus TcpNetwork::send(ConnId id, std::span<const uint8_t> payload) {
  if (shut_down_) return SendStatus::kClosed;
  const ConnPtr conn = find(id);
  if (!conn) return SendStatus::kClosed;
  if (payload.size() > kFrameBytesMax) return SendStatus::kTooLarge;
  // Bytes of the write in flight count too: what the bound protects is our memory.
  if (conn->queued_bytes() + kFramePrefixBytes + payload.size() > kSendBufferBytesMax) {
    return SendStatus::kBackpressure;
  }
  append_frame(conn->pending, payload);
  // Before the connection is established frames wait in `pending`; on_connect starts the write.
  if (conn->state == State::kOpen && conn->writing.empty()) start_write(conn);
  return SendStatus::kOk;
}

// Hands everything queued so far to one async_write: frames sent between two completions travel
// together, one system call for many small messages.
void TcpNetwork::start_write(const ConnPtr& conn) {
  AETHER_ASSERT(conn->writing.empty() && !conn->pending.empty());
  std::swap(conn->pending, conn->writing);
  conn->write(asio::buffer(conn->writing), [weak = weak_from_this(), conn](const error_code& ec, size_t bytes) {
    const auto self = weak.lock();
    if (self && !self->shut_down_) self->on_write(conn, ec, bytes);
  });
}

void TcpNetwork::on_write(const ConnPtr& conn, const error_code& ec, size_t bytes) {
  bytes_sent_ += bytes;
  if (conn->state != State::kOpen && conn->state != State::kFlushing) return;
  if (ec) {
    if (conn->state == State::kFlushing) return finish_close(conn);  // best effort: give up quietly
    log_at(log_, LogLevel::kInfo, {}, "conn {} peer {}: write failed: {}", conn->id, conn->peer, ec.message());
    return fail(conn, CloseReason::kReset);
  }
  conn->writing.clear();
  if (conn->writing.capacity() > kWriteBufferRetainedBytesMax) std::vector<uint8_t>().swap(conn->writing);
  if (!conn->pending.empty()) return start_write(conn);
  if (conn->state == State::kFlushing) {
    // Everything reached the kernel: send our FIN after it and wait for the peer's.
    conn->state = State::kDraining;
    error_code ignored;
    conn->socket.shutdown(tcp::socket::shutdown_send, ignored);
    if (conn->read_done) return finish_close(conn);
    if (!conn->read_in_flight) start_read(conn);
  }
}

// ---- closing -------------------------------------------------------------------------------------

void TcpNetwork::close(ConnId id) {
  if (shut_down_) return;
  const ConnPtr conn = find(id);
  if (!conn) return;
  conns_.erase(id);
  forget_partial(conn);  // input after close() is discarded
  log_at(log_, LogLevel::kDebug, {}, "conn {} peer {}: closed locally", conn->id, conn->peer);
  trace_.record(closed_event(CloseReason::kLocal));
  const bool connecting = conn->state == State::kConnecting;
  if (connecting && conn->pending.empty()) {
    conn->state = State::kFlushing;  // finish_close expects a closing state
    return finish_close(conn);
  }
  conn->state = State::kFlushing;
  closing_.emplace(id, conn);
  start_linger(conn);
  if (connecting || conn->handshaking || !conn->writing.empty()) return;  // on_connect / on_handshake / on_write carry on
  if (!conn->pending.empty()) return start_write(conn);
  // Nothing to flush: go straight to sending FIN and draining.
  conn->state = State::kDraining;
  error_code ignored;
  conn->socket.shutdown(tcp::socket::shutdown_send, ignored);
  if (!conn->read_in_flight) start_read(conn);
}

void TcpNetwork::start_linger(const ConnPtr& conn) {
  conn->linger.expires_after(std::chrono::nanoseconds(kCloseFlushTimeoutNs));
  conn->linger.async_wait([weak = weak_from_this(), conn](const error_code& ec) {
    const auto self = weak.lock();
    if (!self || self->shut_down_ || ec || !conn->closing()) return;
    log_at(self->log_, LogLevel::kDebug, {}, "conn {} peer {}: close did not finish in time; dropping it", conn->id,
           conn->peer);
    self->finish_close(conn);
  });
}

void TcpNetwork::finish_close(const ConnPtr& conn) {
  end_handshake(conn);
  conn->state = State::kClosed;
  error_code ignored;
  conn->socket.close(ignored);
  conn->linger.cancel();
  closing_.erase(conn->id);
}

// A connection the peer broke: forget it, then tell the handler (last, since the handler may do
// anything, including shutting the whole runtime down).
void TcpNetwork::fail(const ConnPtr& conn, CloseReason reason) {
  end_handshake(conn);
  conn->state = State::kClosed;
  error_code ignored;
  conn->socket.close(ignored);
  conns_.erase(conn->id);
  forget_partial(conn);
  trace_.record(closed_event(reason));
  handler_->on_closed(conn->id, reason);
}

// ---- partial frames ------------------------------------------------------------------------------

void TcpNetwork::account_partial(const ConnPtr& conn) {
  const size_t now_held = conn->decoder.buffered_bytes();
  partial_bytes_ = partial_bytes_ - conn->partial_accounted + now_held;
  conn->partial_accounted = now_held;
  if (conn->decoder.pending_bytes() == 0) {
    conn->partial_since = {};
  } else if (conn->partial_since == std::chrono::steady_clock::time_point{}) {
    conn->partial_since = std::chrono::steady_clock::now();
  }
}

void TcpNetwork::forget_partial(const ConnPtr& conn) {
  partial_bytes_ -= conn->partial_accounted;
  conn->partial_accounted = 0;
  conn->partial_since = {};
}

void TcpNetwork::start_sweep() {
  if (sweep_ || shut_down_) return;
  sweep_ = std::make_unique<asio::steady_timer>(io_);
  sweep_partial_frames();
}

// Once a second: connections whose unfinished frame began more than the deadline ago are closed.
void TcpNetwork::sweep_partial_frames() {
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = std::chrono::nanoseconds(limits_.partial_frame_deadline_ns);
  std::vector<ConnPtr> late;
  for (const auto& [id, conn] : conns_) {
    if (conn->state == State::kOpen && conn->partial_since != std::chrono::steady_clock::time_point{} && now - conn->partial_since > deadline) {
      late.push_back(conn);
    }
  }
  for (const ConnPtr& conn : late) {
    if (!is_live(conn)) continue;  // an earlier close in this loop's callbacks took it
    ++limit_stats_.partial_frame_deadline;
    log_at(log_, LogLevel::kWarn, {}, "conn {} peer {}: a frame unfinished for over {} ms ({} bytes so far); closing", conn->id, conn->peer,
           limits_.partial_frame_deadline_ns / kNsPerMs, conn->decoder.pending_bytes());
    fail(conn, CloseReason::kFraming);
  }
  if (shut_down_) return;
  sweep_->expires_after(std::chrono::seconds(1));
  sweep_->async_wait([weak = weak_from_this()](const error_code& ec) {
    const auto self = weak.lock();
    if (self && !self->shut_down_ && !ec) self->sweep_partial_frames();
  });
}

// ---- TLS handshakes -----------------------------------------------------------------------------

void TcpNetwork::start_handshake(const ConnPtr& conn, bool as_server) {
  AETHER_ASSERT(conn->tls && !conn->handshaking);
  ++handshakes_;
  conn->handshaking = true;
  if (as_server && conn->address_slot) conn->handshake_slot = handshake_counts_->take(conn->address_slot->address());
  if (!as_server && tls_.verify_host) {
    // The host the player dialled must be one the server's certificate names.
    const std::string host = conn->peer.substr(0, conn->peer.rfind(':'));
    const std::string bare = host.size() >= 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
    error_code ignored;
    conn->tls->set_verify_callback(asio::ssl::host_name_verification(bare), ignored);
  }
  conn->handshake_timer.expires_after(std::chrono::nanoseconds(limits_.tls_handshake_deadline_ns));
  conn->handshake_timer.async_wait([weak = weak_from_this(), conn](const error_code& ec) {
    const auto self = weak.lock();
    if (self && !self->shut_down_ && !ec) self->on_handshake_deadline(conn);
  });
  conn->tls->async_handshake(as_server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
                             [weak = weak_from_this(), conn](const error_code& ec) {
                               const auto self = weak.lock();
                               if (self && !self->shut_down_) self->on_handshake(conn, ec);
                             });
}

void TcpNetwork::end_handshake(const ConnPtr& conn) {
  if (!conn->handshaking) return;
  conn->handshaking = false;
  conn->handshake_slot.reset();
  --handshakes_;
  conn->handshake_timer.cancel();
}

void TcpNetwork::on_handshake(const ConnPtr& conn, const error_code& ec) {
  if (!conn->handshaking) return;  // the deadline, a local close or a shutdown ended it first
  end_handshake(conn);
  if (ec) {
    // Logged at the first failure and every power of two after (a scan or a flood does not flood
    // the log; aether_network_limit_closes_total has the count).
    const uint64_t n = ++limit_stats_.tls_handshake;
    if ((n & (n - 1)) == 0) {
      log_at(log_, LogLevel::kWarn, {}, "conn {} peer {}: TLS handshake failed: {}; closing ({} failed so far)", conn->id, conn->peer,
             ec.message(), n);
    }
    return abandon_handshake(conn, "TLS handshake failed: " + ec.message());
  }
  if (peer_revoked(conn)) {  // verified against the list in force before a newer one came
    ++limit_stats_.tls_peer_revoked;
    log_at(log_, LogLevel::kWarn, {}, "conn {} peer {}: its certificate is revoked by the revocation list just loaded; closing", conn->id,
           conn->peer);
    return abandon_handshake(conn, "the peer's certificate is revoked");
  }
  conn->identity = verified_peer_identity(conn->tls->native_handle());
  switch (conn->state) {
    case State::kHandshaking:
      conn->state = State::kOpen;
      log_at(log_, LogLevel::kDebug, {}, "conn {} from {}: TLS up, peer {}", conn->id, conn->peer,
             conn->identity ? peer_identity_name(*conn->identity) : std::string("without an identity"));
      handler_->on_accepted(conn->id, conn->listen_address);
      if (is_live(conn)) start_read(conn);
      return;
    case State::kConnecting: return opened(conn);
    case State::kFlushing: return start_write(conn);  // closed locally during the handshake, with frames to flush
    default: return;
  }
}

void TcpNetwork::on_handshake_deadline(const ConnPtr& conn) {
  if (!conn->handshaking) return;
  end_handshake(conn);
  const uint64_t n = ++limit_stats_.tls_handshake_deadline;
  if ((n & (n - 1)) == 0) {
    log_at(log_, LogLevel::kWarn, {}, "conn {} peer {}: TLS handshake unfinished after {} ms; closing ({} so far)", conn->id, conn->peer,
           limits_.tls_handshake_deadline_ns / kNsPerMs, n);
  }
  abandon_handshake(conn, "TLS handshake deadline");
}

// The handshake failed or timed out: an accepted connection goes without a word to the handler
// (it never heard of it), an outbound one is reported refused, one closed locally meanwhile just goes.
void TcpNetwork::abandon_handshake(const ConnPtr& conn, const std::string& why) {
  switch (conn->state) {
    case State::kHandshaking: {
      conn->state = State::kClosed;
      error_code ignored;
      conn->socket.close(ignored);
      conns_.erase(conn->id);
      return;
    }
    case State::kConnecting: return report_refused(conn, why);
    case State::kFlushing: return finish_close(conn);
    default: return;
  }
}

// ---- revocation ----------------------------------------------------------------------------------

void TcpNetwork::start_revocation_checks() {
  if (crl_timer_ || !tls_.revocations || shut_down_) return;
  tls_.revocations->attach(io_, weak_from_this());
  crl_timer_ = std::make_unique<asio::steady_timer>(io_);
  crl_timer_->expires_after(std::chrono::nanoseconds(limits_.crl_check_interval_ns));
  crl_timer_->async_wait([weak = weak_from_this()](const error_code& ec) {
    const auto self = weak.lock();
    if (self && !self->shut_down_ && !ec) self->check_revocations();
  });
}

void TcpNetwork::check_revocations() {
  const TimeNs now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  // Networks sharing the list (a process's bots) look at its file once per interval between them.
  report_reload(tls_.revocations->check(now_ns, limits_.crl_check_interval_ns));
  if (shut_down_) return;
  crl_timer_->expires_after(std::chrono::nanoseconds(limits_.crl_check_interval_ns));
  crl_timer_->async_wait([weak = weak_from_this()](const error_code& ec) {
    const auto self = weak.lock();
    if (self && !self->shut_down_ && !ec) self->check_revocations();
  });
}

void TcpNetwork::reload_revocations() {
  if (shut_down_ || !tls_.revocations) return;
  report_reload(tls_.revocations->reload());
}

void TcpNetwork::report_reload(const CrlReloadOutcome& outcome) {
  const CrlWatch& watch = *tls_.revocations;
  if (outcome.what == CrlReload::kLoaded) {
    log_at(log_, LogLevel::kInfo, {}, "revocation list {} loaded: {} ({} loaded, {} refused since start)", watch.file(), outcome.why,
           watch.stats().loaded, watch.stats().refused);
  } else if (outcome.what == CrlReload::kRefused) {
    log_at(log_, LogLevel::kError, {}, "revocation list refused, the list in force stays: {} ({} refused since start)", outcome.why,
           watch.stats().refused);
  }
}

bool TcpNetwork::peer_revoked(const ConnPtr& conn) const {
  return tls_.revocations && conn->tls && tls_.revocations->revokes(SSL_get0_peer_certificate(conn->tls->native_handle()));
}

// A new list is in force (this network read it, or another on the loop sharing it did): the
// established connections it revokes go, as broken ones (their handlers run: work on a copy).
void TcpNetwork::on_revocations_loaded() {
  if (shut_down_) return;
  std::vector<ConnPtr> revoked;
  for (const auto& [id, conn] : conns_) {
    if (conn->state == State::kOpen && peer_revoked(conn)) revoked.push_back(conn);
  }
  for (const ConnPtr& conn : revoked) {
    if (!is_live(conn)) continue;  // an earlier close in this loop's callbacks took it
    ++limit_stats_.tls_peer_revoked;
    log_at(log_, LogLevel::kWarn, {}, "conn {} peer {} ({}): its certificate is revoked by the list just loaded from {}; closing", conn->id,
           conn->peer, conn->identity ? peer_identity_name(*conn->identity) : std::string("no identity"), tls_.revocations->file());
    fail(conn, CloseReason::kReset);
  }
}

std::optional<PeerIdentity> TcpNetwork::peer_identity(ConnId id) const {
  const ConnPtr conn = find(id);
  if (!conn || conn->state != State::kOpen) return std::nullopt;
  return conn->identity;
}

std::string TcpNetwork::peer_address(ConnId id) const {
  const ConnPtr conn = find(id);
  return conn && conn->address_slot ? conn->address_slot->address() : std::string();
}

bool TcpNetwork::is_live(const ConnPtr& conn) const { return !shut_down_ && conn->state == State::kOpen; }

TcpNetwork::ConnPtr TcpNetwork::find(ConnId id) const {
  const auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second;
}

}  // namespace aether::real
