#include "runtime/real/admin_server.h"

#include "runtime/real/admin_console.h"

#include <sodium.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>

#include "engine/core/assert.h"
#include "runtime/real/address.h"
#include "runtime/real/admin_api.h"

namespace aether::real {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
constexpr TimeNs kTlsShutdownNs = 1 * kNsPerSec;
constexpr size_t kFirstReadBytes = 1024;

TimeNs steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

using TokenDigest = std::array<unsigned char, crypto_generichash_BYTES>;

class Session;

}  // namespace

struct AdminServer::State {
  State(asio::io_context& io_context, Logger& logger, std::shared_ptr<TlsContext> ctx, std::shared_ptr<const OperatorStore> ops,
        AdminHandler h, AdminLimits l)
      : io(io_context), log(logger), tls(std::move(ctx)), operators(std::move(ops)), handler(std::move(h)), limits(l), acceptor(io_context),
        retry(io_context), watch(io_context) {
    randombytes_buf(cache_key.data(), cache_key.size());
  }

  // Counts a close or refusal by reason and logs it (the first of each reason, then every power of two).
  void limit(const std::string& reason, const std::string& detail) {
    const uint64_t n = ++stats.closes[reason];
    if ((n & (n - 1)) == 0) log_at(log, LogLevel::kWarn, {}, "admin: {} ({}; {} so far)", detail, reason, n);
  }
  void auth_failed(AuthFailure why, const std::string& peer, const std::string& detail) {
    const uint64_t n = ++stats.auth_failures[static_cast<size_t>(why)];
    if ((n & (n - 1)) == 0) {
      log_at(log, LogLevel::kWarn, {}, "admin: authentication failed from {}: {} ({}; {} so far)", peer, detail, auth_failure_name(why), n);
    }
  }

  // Failed authentications per remote address, in windows of limits.auth_window_ns.
  struct Window {
    TimeNs start_ns = 0;
    uint32_t failures = 0;
  };
  bool rate_limited(const std::string& address) {
    const TimeNs now = steady_ns();
    auto it = failures.find(address);
    if (it == failures.end()) return failures.size() >= kAdminTrackedAddressesMax && !forget_expired(now);
    if (now - it->second.start_ns >= limits.auth_window_ns) {
      failures.erase(it);
      return false;
    }
    return it->second.failures >= limits.auth_failures_max;
  }
  void count_failure(const std::string& address) {
    const TimeNs now = steady_ns();
    auto it = failures.find(address);
    if (it == failures.end()) {
      if (failures.size() >= kAdminTrackedAddressesMax && !forget_expired(now)) return;
      it = failures.emplace(address, Window{now, 0}).first;
    }
    ++it->second.failures;
  }
  bool forget_expired(TimeNs now) {
    const size_t before = failures.size();
    std::erase_if(failures, [&](const auto& kv) { return now - kv.second.start_ns >= limits.auth_window_ns; });
    return failures.size() < before;
  }

  TokenDigest digest(std::string_view token) const {
    TokenDigest d{};
    crypto_generichash(d.data(), d.size(), reinterpret_cast<const unsigned char*>(token.data()), token.size(), cache_key.data(), cache_key.size());
    return d;
  }
  std::optional<OperatorId> cached(const TokenDigest& d) {
    auto it = cache.find(d);
    if (it == cache.end()) return std::nullopt;
    if (steady_ns() >= it->second.second) {
      cache.erase(it);
      return std::nullopt;
    }
    return it->second.first;
  }
  void remember(const TokenDigest& d, const OperatorId& who) {
    if (cache.size() >= kAdminAuthCacheMax) {
      auto oldest = cache.begin();
      for (auto it = cache.begin(); it != cache.end(); ++it) {
        if (it->second.second < oldest->second.second) oldest = it;
      }
      cache.erase(oldest);
    }
    cache[d] = {who, steady_ns() + kAdminAuthCacheTtlNs};
  }

  asio::io_context& io;
  Logger& log;
  std::shared_ptr<TlsContext> tls;
  std::shared_ptr<const OperatorStore> operators;
  uint64_t operators_generation = 0;  // +1 at each replace_operators(): a verification against an older one is redone
  AdminHandler handler;
  AdminViewHandler views;  // may be empty: the views answer 404
  std::vector<std::string> peer_origins;  // "https://host:port" of the other coordinators' listeners (set_console_peers)
  std::string console_csp = kConsoleContentSecurityPolicy;
  bool peer_origin(std::string_view origin) const {
    for (const std::string& o : peer_origins) {
      if (o == origin) return true;
    }
    return false;
  }
  AdminLimits limits;
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  asio::steady_timer watch;             // the operators file's (watch_operators)
  std::string operators_file;
  std::pair<int64_t, uintmax_t> operators_stamp{-1, 0};  // its modification time (ns) and size when last looked at
  asio::thread_pool* verifier = nullptr;
  bool closed = false;
  AdminServerStats stats;
  uint64_t next_session = 1;
  std::map<uint64_t, std::weak_ptr<Session>> sessions;
  std::map<std::string, size_t> per_address;
  std::map<std::string, Window> failures;
  std::map<TokenDigest, std::pair<OperatorId, TimeNs>> cache;
  std::array<unsigned char, crypto_generichash_KEYBYTES> cache_key{};
  size_t verifying = 0;
};

namespace {

using State = AdminServer::State;
using Stream = beast::ssl_stream<beast::tcp_stream>;
using Request = http::request<http::string_body>;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<State> state, uint64_t id, std::string address, std::string peer)
      : stream_(std::move(socket), *state->tls), buffer_(state->limits.header_bytes_max + state->limits.body_bytes_max + kFirstReadBytes),
        state_(std::move(state)), id_(id), address_(std::move(address)), peer_(std::move(peer)) {}
  ~Session() {
    if (state_->closed) return;
    state_->sessions.erase(id_);
    if (auto it = state_->per_address.find(address_); it != state_->per_address.end() && --it->second == 0) state_->per_address.erase(it);
  }

  void start() {
    lowest().expires_after(std::chrono::nanoseconds(kTlsHandshakeDeadlineNs));
    stream_.async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](error_code ec) { self->on_handshake(ec); });
  }

  void close() {
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void on_handshake(error_code ec) {
    if (state_->closed) return;
    if (ec) {
      const bool late = ec == beast::error::timeout;
      state_->limit(late ? "tls_handshake_deadline" : "tls_handshake",
                    fmt::format("closing connection from {}: TLS handshake {}", peer_, late ? "not done in time" : "failed: " + ec.message()));
      return close();
    }
    wait_for_request();
  }

  // Between requests: the idle deadline, until the first byte of the next one.
  void wait_for_request() {
    lowest().expires_after(std::chrono::nanoseconds(state_->limits.idle_ns));
    if (buffer_.size() > 0) return read_request();
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes), [self = shared_from_this()](error_code ec, size_t n) {
      if (self->state_->closed) return;
      if (ec == beast::error::timeout) {
        self->state_->limit("idle", fmt::format("closing connection from {}: no request for {} s", self->peer_, self->state_->limits.idle_ns / kNsPerSec));
        return self->close();
      }
      if (ec) return self->close();  // the peer left
      self->buffer_.commit(n);
      self->read_request();
    });
  }

  void read_request() {
    lowest().expires_after(std::chrono::nanoseconds(state_->limits.request_ns));
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->limits.header_bytes_max));
    parser_->body_limit(state_->limits.body_bytes_max);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(error_code ec) {
    if (state_->closed) return;
    if (ec == beast::error::timeout) {
      state_->limit("request_deadline", fmt::format("closing connection from {}: request not whole within {} s", peer_, state_->limits.request_ns / kNsPerSec));
      return close();
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return refuse(http::status::request_header_fields_too_large, "header_too_large",
                    fmt::format("request header larger than {} bytes", state_->limits.header_bytes_max));
    }
    if (ec == http::error::body_limit) {
      return refuse(http::status::payload_too_large, "body_too_large", fmt::format("request body larger than {} bytes", state_->limits.body_bytes_max));
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return refuse(http::status::bad_request, "bad_request", fmt::format("not an HTTP/1.x request ({})", ec.message()));
    }
    if (ec) return close();  // the peer left, or TLS failed under it
    request_ = parser_->release();
    // The console's page and script hold no data: served to anyone, every answer still needs a token.
    if (request_.method() == http::verb::get) {
      const std::string_view target(request_.target().data(), request_.target().size());
      if (const ConsoleFile* file = admin_console_file(target.substr(0, target.find('?')))) {
        response_.set("Content-Security-Policy", state_->console_csp);
        response_.set("X-Content-Type-Options", "nosniff");
        return respond(http::status::ok, std::string(file->body), request_.keep_alive(), file->content_type);
      }
    }
    if (request_.method() == http::verb::options) return preflight();
    authenticate();
  }

  // A browser asks whether a page of another origin may send its token here: only a peer's console may.
  void preflight() {
    const auto origin = request_.find(http::field::origin);
    const std::string_view value = origin == request_.end() ? std::string_view{} : std::string_view(origin->value().data(), origin->value().size());
    if (!state_->peer_origin(value)) {
      return refuse(http::status::forbidden, "cors_origin", fmt::format("a cross-origin request from {}, not a peer coordinator's console",
                                                                        value.empty() ? std::string("no origin") : json_string(value.substr(0, 128))));
    }
    response_.set(http::field::access_control_allow_methods, "GET, POST");
    response_.set(http::field::access_control_allow_headers, "Authorization, Content-Type");
    response_.set(http::field::access_control_max_age, "600");
    respond(http::status::no_content, {}, request_.keep_alive());
  }

  void authenticate() {
    if (state_->rate_limited(address_)) {
      state_->auth_failed(AuthFailure::kRateLimited, peer_, fmt::format("more than {} failures within {} s", state_->limits.auth_failures_max,
                                                                         state_->limits.auth_window_ns / kNsPerSec));
      return respond(http::status::too_many_requests, admin_error_json("too many failed attempts; try again later"), false);
    }
    const auto header = request_.find(http::field::authorization);
    if (header == request_.end()) return deny(AuthFailure::kMissing, "no Authorization header");
    const std::string_view value(header->value().data(), header->value().size());
    if (value.rfind("Bearer ", 0) != 0 || value.size() - 7 > kOperatorTokenBytesMax) return deny(AuthFailure::kMalformed, "not a bearer token");
    token_ = std::string(value.substr(7));
    const TokenDigest digest = state_->digest(token_);
    if (auto who = state_->cached(digest)) return serve(*who);
    if (state_->verifying >= state_->limits.auth_pending_max) {
      state_->auth_failed(AuthFailure::kBusy, peer_, fmt::format("{} verifications under way", state_->verifying));
      return respond(http::status::service_unavailable, admin_error_json("busy; try again"), false);
    }
    // Argon2id on the verifier thread; the answer comes back to this loop. Only the token and the
    // store cross threads; the session waits here, held by `verifying_`.
    ++state_->verifying;
    verifying_ = shared_from_this();
    asio::post(*state_->verifier, [weak = std::weak_ptr<State>(state_), ops = state_->operators, generation = state_->operators_generation,
                                   token = token_, io = &state_->io, id = id_]() {
      AuthFailure why = AuthFailure::kMalformed;
      Result<OperatorId> who = ops->verify(token, &why);
      asio::post(*io, [weak, id, generation, who = std::move(who), why]() mutable {
        auto state = weak.lock();
        if (!state || state->closed) return;
        --state->verifying;
        auto it = state->sessions.find(id);
        auto session = it == state->sessions.end() ? nullptr : it->second.lock();
        if (!session) return;
        if (generation != state->operators_generation) return session->reverify();  // the operators changed meanwhile
        session->verified(std::move(who), why);
      });
    });
  }

 public:
  // The operators were replaced while our token was being verified against the old ones.
  void reverify() {
    auto self = std::move(verifying_);
    authenticate();
  }

  void verified(Result<OperatorId> who, AuthFailure why) {
    auto self = std::move(verifying_);
    if (!who) {
      // The name claimed goes to the log only if it is a name (the token is the peer's bytes).
      const std::string name = token_.substr(0, token_.find('.'));
      return deny(why, valid_operator_name(name) ? fmt::format("operator '{}'", name) : std::string("a token naming no valid operator"));
    }
    state_->remember(state_->digest(token_), *who);
    serve(*who);
  }

 private:
  void deny(AuthFailure why, const std::string& detail) {
    state_->count_failure(address_);
    state_->auth_failed(why, peer_, detail);
    response_.set(http::field::www_authenticate, "Bearer");
    respond(http::status::unauthorized, admin_error_json("authentication failed"), false);
  }

  void serve(const OperatorId& who) {
    const std::string_view method(request_.method_string().data(), request_.method_string().size());
    const std::string_view target(request_.target().data(), request_.target().size());
    auto parsed = parse_admin_call(method, target, request_.body());
    if (auto* e = std::get_if<AdminApiError>(&parsed)) {
      return respond(static_cast<http::status>(e->status), admin_error_json(e->message), request_.keep_alive());
    }
    const AdminCall call = std::get<AdminCall>(parsed);
    if (call.view == AdminView::kPeers) return respond(http::status::ok, peers_json(state_->peer_origins), request_.keep_alive());
    if (call.view != AdminView::kNone) {
      if (!state_->views) return respond(http::status::not_found, admin_error_json("this listener serves no views"), request_.keep_alive());
      AdminViewAnswer answer = state_->views(who, call);
      return respond(static_cast<http::status>(answer.status), std::move(answer.body), request_.keep_alive());
    }
    if (call.whoami) {
      return respond(http::status::ok, admin_answer_json(who, call, AdminAnswer{AdminVerdict::kAllowed, AdminReply{true, {}}}), request_.keep_alive());
    }
    state_->handler(who, call.request, call.claimed, [self = shared_from_this(), who, call](AdminAnswer answer) {
      if (self->state_->closed) return;
      const http::status status = answer.verdict != AdminVerdict::kAllowed ? http::status::forbidden
                                  : answer.reply.ok                        ? http::status::ok
                                                                           : http::status::conflict;
      self->respond(status, admin_answer_json(who, call, answer), self->request_.keep_alive());
    });
  }

  // A request we will not serve, and the connection with it.
  void refuse(http::status status, const std::string& reason, const std::string& why) {
    state_->limit(reason, fmt::format("refusing request from {}: {}; closing", peer_, why));
    respond(status, admin_error_json(why), false);
  }

  void respond(http::status status, std::string body, bool keep_alive, const char* content_type = "application/json") {
    ++state_->stats.answers[static_cast<unsigned>(status)];
    response_.version(11);
    response_.result(status);
    response_.set(http::field::content_type, content_type);
    response_.set(http::field::cache_control, "no-store");
    // A peer coordinator's console may read this answer (set_console_peers); no other page may.
    if (const auto origin = request_.find(http::field::origin); origin != request_.end()) {
      const std::string_view value(origin->value().data(), origin->value().size());
      if (state_->peer_origin(value)) {
        response_.set(http::field::access_control_allow_origin, value);
        response_.set(http::field::vary, "Origin");
      }
    }
    response_.keep_alive(keep_alive);
    response_.body() = std::move(body);
    response_.prepare_payload();
    lowest().expires_after(std::chrono::nanoseconds(state_->limits.request_ns));
    http::async_write(stream_, response_, [self = shared_from_this(), keep_alive](error_code ec, size_t) {
      if (self->state_->closed) return;
      self->response_ = {};
      if (ec) return self->close();
      if (keep_alive) return self->wait_for_request();
      self->lowest().expires_after(std::chrono::nanoseconds(kTlsShutdownNs));
      self->stream_.async_shutdown([self](error_code) { self->close(); });
    });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Request request_;
  http::response<http::string_body> response_;
  std::shared_ptr<State> state_;
  uint64_t id_;
  std::string address_;  // the remote IP address, for the per-address limits
  std::string peer_;     // address and port, for the log
  std::string token_;
  std::shared_ptr<Session> verifying_;  // ourselves, while the verifier thread has our token
};

void start_accept(const std::shared_ptr<State>& state);

void on_accept(const std::shared_ptr<State>& state, tcp::socket socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  const std::string address = ec ? "unknown" : remote.address().to_string();
  const std::string peer = ec ? "unknown peer" : format_endpoint(remote);
  const size_t from_address = state->per_address.count(address) ? state->per_address[address] : 0;
  const char* reason = state->sessions.size() >= state->limits.connections_max                ? "connection_limit"
                       : from_address >= state->limits.connections_per_address_max ? "per_address_limit"
                                                                                    : nullptr;
  if (reason != nullptr) {
    state->limit(reason, fmt::format("closing a new connection from {}: {} open, {} from that address", peer, state->sessions.size(), from_address));
    error_code ignored;
    socket.close(ignored);
    return;
  }
  ++state->stats.connections;
  ++state->per_address[address];
  const uint64_t id = state->next_session++;
  auto session = std::make_shared<Session>(std::move(socket), state, id, address, peer);
  state->sessions[id] = session;
  session->start();
}

void start_accept(const std::shared_ptr<State>& state) {
  state->acceptor.async_accept([state](error_code ec, tcp::socket socket) {
    if (state->closed) return;
    if (!ec) {
      on_accept(state, std::move(socket));
      start_accept(state);
      return;
    }
    if (ec == asio::error::operation_aborted) return;
    log_at(state->log, LogLevel::kWarn, {}, "admin: accept failed: {}; retrying", ec.message());
    state->retry.expires_after(kAcceptRetryDelay);
    state->retry.async_wait([state](error_code wait_ec) {
      if (!wait_ec && !state->closed) start_accept(state);
    });
  });
}

}  // namespace

AdminServer::AdminServer(asio::io_context& io, Logger& log, std::shared_ptr<TlsContext> tls, std::shared_ptr<const OperatorStore> operators,
                         AdminHandler handler, AdminLimits limits)
    : state_(std::make_shared<State>(io, log, std::move(tls), std::move(operators), std::move(handler), limits)) {
  state_->verifier = &verifier_;
}

void AdminServer::set_view_handler(AdminViewHandler views) { state_->views = std::move(views); }

void AdminServer::set_console_peers(const std::vector<std::string>& addresses) {
  AETHER_ASSERT(addresses.size() <= kAdminPeersMax);
  state_->peer_origins.clear();
  for (const std::string& a : addresses) state_->peer_origins.push_back("https://" + a);
  state_->console_csp = console_content_security_policy(state_->peer_origins);
}

AdminServer::~AdminServer() {
  shutdown();
  verifier_.join();
}

Result<std::string> AdminServer::listen(const std::string& address) {
  if (state_->closed) return make_error(Error::Code::kState, "admin server is shut down");
  Result<tcp::endpoint> endpoint = parse_endpoint(address);
  if (!endpoint.ok()) return endpoint.error();
  error_code ec;
  tcp::acceptor& acceptor = state_->acceptor;
  acceptor.open(endpoint->protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(*endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  tcp::endpoint bound;
  if (!ec) bound = acceptor.local_endpoint(ec);
  if (ec) {
    error_code ignored;
    acceptor.close(ignored);
    return make_error(Error::Code::kIo, fmt::format("admin: cannot listen on {}: {}", address, ec.message()));
  }
  start_accept(state_);
  const std::string bound_address = format_endpoint(bound);
  log_at(state_->log, LogLevel::kInfo, {}, "admin: serving operators (HTTPS, {} operators known) on {}", state_->operators->size(), bound_address);
  return bound_address;
}

void AdminServer::shutdown() {
  if (state_->closed) return;
  state_->closed = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  state_->retry.cancel();
  state_->watch.cancel();
  std::vector<std::shared_ptr<Session>> open;
  for (const auto& [id, weak] : state_->sessions) {
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (const auto& s : open) s->close();
  state_->sessions.clear();
}

void AdminServer::replace_operators(std::shared_ptr<const OperatorStore> operators) {
  AETHER_ASSERT(operators != nullptr);
  state_->operators = std::move(operators);
  ++state_->operators_generation;
  state_->cache.clear();
  ++state_->stats.operator_swaps;
  log_at(state_->log, LogLevel::kInfo, {}, "admin: operators replaced ({} known); remembered tokens forgotten", state_->operators->size());
}

namespace {

std::pair<int64_t, uintmax_t> file_stamp(const std::string& path) {
  std::error_code ec;
  const auto when = std::filesystem::last_write_time(path, ec);
  if (ec) return {-1, 0};
  const uintmax_t size = std::filesystem::file_size(path, ec);
  return {std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count(), ec ? 0 : size};
}

void watch_operators(const std::shared_ptr<State>& state, AdminServer* server) {
  state->watch.expires_after(std::chrono::nanoseconds(kOperatorsWatchNs));
  state->watch.async_wait([weak = std::weak_ptr<State>(state), server](error_code ec) {
    auto state = weak.lock();
    if (ec || !state || state->closed) return;
    const auto stamp = file_stamp(state->operators_file);
    if (stamp != state->operators_stamp) {
      state->operators_stamp = stamp;
      auto store = OperatorStore::load(state->operators_file);
      if (store) {
        server->replace_operators(std::make_shared<const OperatorStore>(std::move(store.value())));
      } else {
        ++state->stats.operator_reload_failures;
        log_at(state->log, LogLevel::kError, {}, "admin: operators file changed but is refused ({}); the operators in use stay", store.error().message);
      }
    }
    watch_operators(state, server);
  });
}

}  // namespace

void AdminServer::watch_operators_file(const std::string& path) {
  state_->operators_file = path;
  state_->operators_stamp = file_stamp(path);
  watch_operators(state_, this);
}

const AdminServerStats& AdminServer::stats() const { return state_->stats; }

size_t AdminServer::connections_open() const { return state_->sessions.size(); }

}  // namespace aether::real
