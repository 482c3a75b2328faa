#include "runtime/real/web_network.h"

#include <bit>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <type_traits>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "engine/core/assert.h"
#include "runtime/real/address.h"
#include "runtime/real/tcp_network.h"

namespace aether::real {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// The whole built client is read into memory when the listener starts: requests are answered from
// that table, never from the disk, so no request path can reach a file outside it.
inline constexpr size_t kWebFilesMax = 2048;
inline constexpr size_t kWebFilesBytesMax = 64 << 20;
inline constexpr size_t kRequestTargetBytesMax = 1024;

// A count that rose: log its first occurrence and every power of two after it.
bool worth_logging(uint64_t count) { return std::has_single_bit(count); }

std::chrono::steady_clock::duration as_duration(TimeNs ns) { return std::chrono::nanoseconds(ns); }

}  // namespace

const char* web_content_type(std::string_view path) {
  static constexpr std::pair<std::string_view, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},  {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},          {".map", "application/json"},
      {".png", "image/png"},                  {".svg", "image/svg+xml"},
      {".ico", "image/x-icon"},               {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},               {".webmanifest", "application/manifest+json"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext) return type;
  }
  return nullptr;
}

// A connection's count against its remote address, released whenever the session goes.
class AddressSlot {
 public:
  AddressSlot(std::shared_ptr<std::map<std::string, size_t>> counts, std::string address) : counts_(std::move(counts)), address_(std::move(address)) {
    ++(*counts_)[address_];
  }
  ~AddressSlot() {
    auto it = counts_->find(address_);
    AETHER_ASSERT(it != counts_->end() && it->second > 0);
    if (--it->second == 0) counts_->erase(it);
  }
  const std::string& address() const { return address_; }
  AddressSlot(const AddressSlot&) = delete;
  AddressSlot& operator=(const AddressSlot&) = delete;

 private:
  std::shared_ptr<std::map<std::string, size_t>> counts_;
  std::string address_;
};

// One accepted connection, before and after its upgrade.
class WebSessionBase {
 public:
  virtual ~WebSessionBase() = default;
  std::unique_ptr<AddressSlot> address_slot;
  virtual SendStatus send(std::span<const uint8_t> payload) = 0;
  virtual bool close_locally() = 0;  // no on_closed follows; false: it is gone already
  virtual void kill() = 0;           // shutdown: the socket goes, no callbacks
};

template <class Next>
class WebSession final : public WebSessionBase, public std::enable_shared_from_this<WebSession<Next>> {
 public:
  static constexpr bool kTls = std::is_same_v<Next, beast::ssl_stream<beast::tcp_stream>>;

  WebSession(std::weak_ptr<WebNetwork> net, ConnId id, std::string peer, Next next, const WebSettings& settings)
      : net_(std::move(net)), id_(id), peer_(std::move(peer)), limits_(settings.limits), origins_(settings.allowed_origins) {
    http_.emplace(std::move(next));
  }

  void start() {
    beast::get_lowest_layer(*http_).expires_after(as_duration(limits_.handshake_deadline_ns));
    if constexpr (kTls) {
      http_->async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](const error_code& ec) {
        const auto net = self->network();
        if (!net) return;
        if (ec) return self->refuse(*net, ++net->stats_.handshake_failed, "TLS handshake failed: " + ec.message());
        self->read_request();
      });
    } else {
      read_request();
    }
  }

  SendStatus send(std::span<const uint8_t> payload) override {
    if (state_ != State::kOpen) return SendStatus::kClosed;
    if (queued_ + payload.size() > limits_.outbound_bytes_max) return SendStatus::kBackpressure;
    queue_.emplace_back(payload.begin(), payload.end());
    queued_ += payload.size();
    if (!writing_) write_next();
    return SendStatus::kOk;
  }

  bool close_locally() override {
    if (state_ == State::kClosing) return true;
    if (state_ != State::kOpen) {
      kill();
      return false;
    }
    state_ = State::kClosing;
    close_code_ = websocket::close_reason(websocket::close_code::normal, "closed by the server");
    if (!writing_) close_ws();
    return true;
  }

  void kill() override {
    state_ = State::kClosed;
    error_code ignored;
    if (ws_) beast::get_lowest_layer(*ws_).socket().close(ignored);
    if (http_) beast::get_lowest_layer(*http_).socket().close(ignored);
  }

 private:
  enum class State : uint8_t { kHttp, kOpen, kClosing, kClosed };

  std::shared_ptr<WebNetwork> network() const {
    auto net = net_.lock();
    return net && !net->shut_down_ && state_ != State::kClosed ? net : nullptr;
  }

  // Before any report to the handler: close and forget, logging floods sparsely.
  void refuse(WebNetwork& net, uint64_t count, const std::string& why) {
    if (worth_logging(count)) log_at(net.log_, LogLevel::kWarn, {}, "web conn {} from {}: {}; closing ({} so far)", id_ - kWebConnIdBase, peer_, why, count);
    kill();
    net.forget(id_);
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(limits_.request_header_bytes_max));
    parser_->body_limit(0);
    http::async_read(*http_, buffer_, *parser_, [self = this->shared_from_this()](const error_code& ec, size_t) {
      const auto net = self->network();
      if (!net) return;
      if (ec == http::error::end_of_stream) {  // connected and left without a word
        self->kill();
        return net->forget(self->id_);
      }
      if (ec == beast::error::timeout) return self->refuse(*net, ++net->stats_.handshake_failed, "no request before the deadline");
      if (ec) return self->refuse(*net, ++net->stats_.bad_requests, "unreadable HTTP request: " + ec.message());
      self->on_request(*net);
    });
  }

  void on_request(WebNetwork& net) {
    const auto& req = parser_->get();
    if (websocket::is_upgrade(req)) {
      const std::string origin(req[http::field::origin]);
      const std::string own = std::string(kTls ? "https://" : "http://") + std::string(req[http::field::host]);
      const bool allowed = origin.empty() || origin == own || std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
      if (!allowed) {
        const uint64_t n = ++net.stats_.origin_refused;
        if (worth_logging(n)) log_at(net.log_, LogLevel::kWarn, {}, "web conn {} from {}: origin '{}' is not allowed; refusing the upgrade ({} so far)", id_ - kWebConnIdBase, peer_, origin.substr(0, 200), n);
        return respond(http::status::forbidden, "origin not allowed\n", "text/plain; charset=utf-8", false);
      }
      return upgrade(req);
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      ++net.stats_.bad_requests;
      return respond(http::status::method_not_allowed, "GET or HEAD only\n", "text/plain; charset=utf-8", false);
    }
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    std::string path(target.substr(0, kRequestTargetBytesMax));
    if (!path.empty() && path.back() == '/') path += "index.html";
    const auto it = net.files_.find(path);
    if (it == net.files_.end()) {
      ++net.stats_.not_found;
      return respond(http::status::not_found, "not found\n", "text/plain; charset=utf-8", req.method() == http::verb::head);
    }
    ++net.stats_.files_served;
    respond(http::status::ok, it->second.body, it->second.type, req.method() == http::verb::head);
  }

  void respond(http::status status, const std::string& body, const char* type, bool head_only) {
    response_.emplace(status, 11);
    response_->set(http::field::server, "aether");
    response_->set(http::field::content_type, type);
    response_->set(http::field::cache_control, "no-cache");
    response_->set("X-Content-Type-Options", "nosniff");
    response_->set("Content-Security-Policy",
                   "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'");
    response_->keep_alive(false);
    response_->body() = head_only ? std::string() : body;
    response_->content_length(body.size());
    http::async_write(*http_, *response_, [self = this->shared_from_this()](const error_code&, size_t) {
      // Answered (or the peer went): one request per connection.
      const auto net = self->network();
      self->kill();
      if (net) net->forget(self->id_);
    });
  }

  void upgrade(const http::request<http::empty_body>& req) {
    ws_.emplace(std::move(*http_));
    http_.reset();
    beast::get_lowest_layer(*ws_).expires_never();  // the WebSocket timeouts take over
    websocket::stream_base::timeout timeout;
    timeout.handshake_timeout = as_duration(limits_.handshake_deadline_ns);
    timeout.idle_timeout = as_duration(limits_.idle_timeout_ns);
    timeout.keep_alive_pings = true;
    ws_->set_option(timeout);
    ws_->read_message_max(std::max(limits_.message_bytes_max + 1, kFrameBytesMax));  // a backstop: read_next enforces the cap
    ws_->binary(true);
    ws_->set_option(websocket::stream_base::decorator([](websocket::response_type& res) { res.set(http::field::server, "aether"); }));
    ws_->async_accept(req, [self = this->shared_from_this()](const error_code& ec) {
      const auto net = self->network();
      if (!net) return;
      if (ec) return self->refuse(*net, ++net->stats_.handshake_failed, "WebSocket handshake failed: " + ec.message());
      self->state_ = State::kOpen;
      ++net->stats_.upgraded;
      log_at(net->log_, LogLevel::kDebug, {}, "web conn {} from {}: WebSocket open", self->id_ - kWebConnIdBase, self->peer_);
      net->handler_->on_accepted(self->id_, net->address_);
      if (self->state_ == State::kOpen || self->state_ == State::kClosing) self->read_next();
    });
  }

  // Reads a message piece by piece, never more than one byte past the cap: the cap is ours to
  // enforce (and count) before Beast's own backstop, whose error a TLS teardown can mask.
  void read_next() {
    const size_t room = limits_.message_bytes_max + 1 - std::min(buffer_.size(), limits_.message_bytes_max);
    ws_->async_read_some(buffer_, room, [self = this->shared_from_this()](const error_code& ec, size_t) { self->on_read(ec); });
  }

  void on_read(const error_code& ec) {
    const auto net = network();
    if (!net) return;
    if (state_ == State::kClosing) {  // after our close: input is discarded until the close completes
      buffer_.clear();
      if (!ec) read_next();
      return;
    }
    if (ec) {
      CloseReason reason = CloseReason::kReset;
      std::string why = ec.message();
      if (ec == websocket::error::closed) {
        reason = CloseReason::kPeerClosed;
        const auto& r = ws_->reason();
        why = fmt::format("closed by the peer (code {}{}{})", static_cast<unsigned>(r.code), r.reason.empty() ? "" : ": ", std::string(r.reason.data(), std::min<size_t>(r.reason.size(), 120)));
      } else if (ec == websocket::error::message_too_big) {
        reason = CloseReason::kFraming;
        const uint64_t n = ++net->stats_.message_too_big;
        why = fmt::format("a message over {} bytes (closed 1009; {} so far)", limits_.message_bytes_max, n);
      } else if (ec == beast::error::timeout) {
        const uint64_t n = ++net->stats_.dead_peers;
        why = fmt::format("no answer to pings for {} ms (dead peer; {} so far)", limits_.idle_timeout_ns / kNsPerMs, n);
      } else if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        reason = CloseReason::kPeerClosed;
      }
      return fail(*net, reason, why);
    }
    if (buffer_.size() > limits_.message_bytes_max) {
      const uint64_t n = ++net->stats_.message_too_big;
      return close_for(*net, websocket::close_code::too_big, "message too big",
                       fmt::format("a message over {} bytes (closed 1009; {} so far)", limits_.message_bytes_max, n));
    }
    if (!ws_->is_message_done()) return read_next();
    if (!ws_->got_binary()) {
      const uint64_t n = ++net->stats_.text_frames;
      return close_for(*net, websocket::close_code::unknown_data, "binary frames only", fmt::format("a text frame (closed 1003; {} so far)", n));
    }
    const auto data = buffer_.cdata();
    net->handler_->on_message(id_, std::span<const uint8_t>(static_cast<const uint8_t*>(data.data()), data.size()));
    buffer_.clear();
    if (state_ == State::kOpen || state_ == State::kClosing) read_next();
  }

  // The peer broke a rule: our close goes with its code (after the write in flight, if any), and the
  // handler hears the connection is gone.
  void close_for(WebNetwork& net, websocket::close_code code, const char* reason, const std::string& why) {
    state_ = State::kClosing;
    buffer_.clear();
    close_code_ = websocket::close_reason(code, reason);
    if (!writing_) close_ws();
    read_next();  // keeps reading (and discarding) until the close completes
    report_closed(net, CloseReason::kFraming, why);
  }

  void write_next() {
    writing_ = true;
    ws_->async_write(asio::buffer(queue_.front()), [self = this->shared_from_this()](const error_code& ec, size_t) {
      self->writing_ = false;
      const auto net = self->network();
      if (!net) return;
      if (ec) {
        if (self->state_ == State::kOpen) return self->fail(*net, CloseReason::kReset, "write failed: " + ec.message());
        self->kill();
        return net->forget(self->id_);
      }
      self->queued_ -= self->queue_.front().size();
      self->queue_.pop_front();
      if (!self->queue_.empty()) return self->write_next();
      if (self->state_ == State::kClosing) self->close_ws();
    });
  }

  // The close handshake, bounded by the handshake timeout; the socket goes with it.
  void close_ws() {
    if (close_started_) return;
    close_started_ = true;
    queue_.clear();
    queued_ = 0;
    ws_->async_close(close_code_, [self = this->shared_from_this()](const error_code&) {
      const auto net = self->network();
      self->kill();
      if (net) net->forget(self->id_);
    });
  }

  // The peer broke the connection or the rules: forget it, then tell the handler (last).
  void fail(WebNetwork& net, CloseReason reason, const std::string& why) {
    kill();
    report_closed(net, reason, why);
  }
  void report_closed(WebNetwork& net, CloseReason reason, const std::string& why) {
    const auto self = this->shared_from_this();  // the handler may drop every other reference
    log_at(net.log_, reason == CloseReason::kPeerClosed ? LogLevel::kDebug : LogLevel::kWarn, {}, "web conn {} from {}: {}", id_ - kWebConnIdBase, peer_, why);
    const auto keep = net.shared_from_this();
    // A connection closing on its own (a text frame) stays in the table until its close ends.
    if (state_ == State::kClosed) net.forget(id_);
    net.handler_->on_closed(id_, reason);
  }

  std::weak_ptr<WebNetwork> net_;
  const ConnId id_;
  const std::string peer_;
  const WebLimits limits_;
  const std::vector<std::string> origins_;
  State state_ = State::kHttp;
  std::optional<Next> http_;                    // before the upgrade
  std::optional<websocket::stream<Next>> ws_;   // after it
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::deque<std::vector<uint8_t>> queue_;  // messages not yet written (the front one in flight)
  size_t queued_ = 0;
  bool writing_ = false;
  bool close_started_ = false;
  websocket::close_reason close_code_;
};

WebNetwork::WebNetwork(asio::io_context& io, Logger& log) : io_(io), log_(log) {}

WebNetwork::~WebNetwork() { shutdown(); }

void WebNetwork::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  error_code ignored;
  if (acceptor_) acceptor_->close(ignored);
  for (const auto& [id, session] : sessions_) session->kill();
  sessions_.clear();
}

Status WebNetwork::load_files(const std::string& web_root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path root = fs::canonical(web_root, ec);
  if (ec || !fs::is_directory(root)) return make_error(Error::Code::kIo, fmt::format("web root {}: not a directory", web_root));
  size_t total = 0;
  // Symbolic links are neither followed nor served: only the tree's own regular files.
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const std::string relative = "/" + fs::relative(it->path(), root, ec).generic_string();
    const char* type = web_content_type(relative);
    if (type == nullptr) continue;  // not a kind of file a page needs
    const auto size = it->file_size(ec);
    if (ec || size > settings_.limits.file_bytes_max) return make_error(Error::Code::kIo, fmt::format("web root: {} is over {} bytes", relative, settings_.limits.file_bytes_max));
    total += size;
    if (files_.size() >= kWebFilesMax || total > kWebFilesBytesMax) {
      return make_error(Error::Code::kIo, fmt::format("web root {}: over {} files or {} bytes", web_root, kWebFilesMax, kWebFilesBytesMax));
    }
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream body;
    body << in.rdbuf();
    if (!in) return make_error(Error::Code::kIo, fmt::format("web root: cannot read {}", relative));
    files_[relative] = File{body.str(), type};
  }
  if (ec) return make_error(Error::Code::kIo, fmt::format("web root {}: {}", web_root, ec.message()));
  return ok_status();
}

Result<std::string> WebNetwork::listen(std::string_view address, WebSettings settings) {
  if (shut_down_) return make_error(Error::Code::kState, "network is shut down");
  AETHER_ASSERT_MSG(handler_ != nullptr, "set_handler before listen");
  AETHER_ASSERT_MSG(!acceptor_, "one web listener per network");
  settings_ = std::move(settings);
  if (!settings_.web_root.empty()) {
    if (Status s = load_files(settings_.web_root); !s) return s.error();
  }
  Result<tcp::endpoint> endpoint = parse_endpoint(address);
  if (!endpoint.ok()) return endpoint.error();
  acceptor_ = std::make_unique<tcp::acceptor>(io_);
  error_code ec;
  acceptor_->open(endpoint->protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(*endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) address_ = format_endpoint(acceptor_->local_endpoint(ec));
  if (ec) return make_error(Error::Code::kIo, fmt::format("cannot listen on {}: {}", address, ec.message()));
  log_at(log_, LogLevel::kInfo, {}, "web listener on {} ({}, {} files)", address_, settings_.tls ? "HTTPS and WSS" : "plain HTTP and WS",
         files_.size());
  start_accept();
  return address_;
}

void WebNetwork::start_accept() {
  acceptor_->async_accept([weak = weak_from_this()](const error_code& ec, tcp::socket socket) {
    const auto self = weak.lock();
    if (!self || self->shut_down_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors, typically: try again shortly rather than spin.
      log_at(self->log_, LogLevel::kWarn, {}, "web accept failed: {}; retrying", ec.message());
      auto timer = std::make_shared<asio::steady_timer>(self->io_, std::chrono::nanoseconds(kAcceptRetryDelayNs));
      timer->async_wait([weak, timer](const error_code&) {
        const auto again = weak.lock();
        if (again && !again->shut_down_) again->start_accept();
      });
      return;
    }
    self->on_accept(std::move(socket));
    self->start_accept();
  });
}

void WebNetwork::on_accept(tcp::socket socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  std::string peer = ec ? std::string("unknown") : format_endpoint(remote);
  const std::string remote_address = ec ? std::string("unknown") : remote.address().to_string();
  if (sessions_.size() >= settings_.limits.connections_max) {
    const uint64_t n = ++stats_.connection_limit;
    if (worth_logging(n)) log_at(log_, LogLevel::kWarn, {}, "web: refusing {}: {} connections held (limit; {} so far)", peer, sessions_.size(), n);
    socket.close(ec);
    return;
  }
  const size_t per_address_max = settings_.limits.connections_per_address_max;
  if (per_address_max > 0) {
    const auto held = per_address_->find(remote_address);
    if (held != per_address_->end() && held->second >= per_address_max) {
      const uint64_t n = ++stats_.per_address_limit;
      if (worth_logging(n)) log_at(log_, LogLevel::kWarn, {}, "web: refusing {}: {} connections from that address already (limit; {} so far)", peer, held->second, n);
      socket.close(ec);
      return;
    }
  }
  socket.set_option(tcp::no_delay(true), ec);
  const ConnId id = next_id_++;
  std::shared_ptr<WebSessionBase> session;
  if (settings_.tls) {
    using Next = beast::ssl_stream<beast::tcp_stream>;
    auto s = std::make_shared<WebSession<Next>>(weak_from_this(), id, std::move(peer), Next(beast::tcp_stream(std::move(socket)), *settings_.tls), settings_);
    s->address_slot = std::make_unique<AddressSlot>(per_address_, remote_address);
    sessions_.emplace(id, s);
    s->start();
  } else {
    using Next = beast::tcp_stream;
    auto s = std::make_shared<WebSession<Next>>(weak_from_this(), id, std::move(peer), Next(std::move(socket)), settings_);
    s->address_slot = std::make_unique<AddressSlot>(per_address_, remote_address);
    sessions_.emplace(id, s);
    s->start();
  }
}

SendStatus WebNetwork::send(ConnId conn, std::span<const uint8_t> payload) {
  if (shut_down_) return SendStatus::kClosed;
  const auto it = sessions_.find(conn);
  if (it == sessions_.end()) return SendStatus::kClosed;
  if (payload.size() > kFrameBytesMax) return SendStatus::kTooLarge;
  return it->second->send(payload);
}

void WebNetwork::close(ConnId conn) {
  if (shut_down_) return;
  const auto it = sessions_.find(conn);
  if (it == sessions_.end()) return;
  if (!it->second->close_locally()) sessions_.erase(it);
}

// ---- RoutedNetwork -------------------------------------------------------------------------------

namespace {
bool is_web(ConnId conn) { return conn >= kWebConnIdBase; }
}  // namespace

void RoutedNetwork::set_handler(NetworkHandler* handler) {
  tcp_->set_handler(handler);
  web_->set_handler(handler);
}
Result<std::string> RoutedNetwork::listen(std::string_view address) { return tcp_->listen(address); }
ConnId RoutedNetwork::connect(std::string_view address) { return tcp_->connect(address); }
SendStatus RoutedNetwork::send(ConnId conn, std::span<const uint8_t> payload) {
  return is_web(conn) ? web_->send(conn, payload) : tcp_->send(conn, payload);
}
void RoutedNetwork::close(ConnId conn) { is_web(conn) ? web_->close(conn) : tcp_->close(conn); }
std::string WebNetwork::peer_address(ConnId conn) const {
  auto it = sessions_.find(conn);
  return it == sessions_.end() || !it->second->address_slot ? std::string() : it->second->address_slot->address();
}

std::string RoutedNetwork::peer_address(ConnId conn) const { return is_web(conn) ? web_->peer_address(conn) : tcp_->peer_address(conn); }

std::optional<PeerIdentity> RoutedNetwork::peer_identity(ConnId conn) const {
  return is_web(conn) ? std::nullopt : tcp_->peer_identity(conn);  // browsers present no certificate
}

}  // namespace aether::real
