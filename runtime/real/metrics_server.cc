#include "runtime/real/metrics_server.h"

#include <array>
#include <chrono>
#include <map>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include "runtime/real/address.h"

namespace aether::real {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// After the accept call itself fails (out of file descriptors, say), try again this much later
// rather than spinning.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
// Lingering close after an answer (see Session::linger).
constexpr TimeNs kMetricsLingerNs = 1 * kNsPerSec;
constexpr size_t kMetricsLingerBytesMax = 256 * 1024;
constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

class Session;

}  // namespace

struct MetricsServer::State {
  State(asio::io_context& io_context, Logger& logger, std::function<std::string()> render_fn, size_t max)
      : io(io_context), log(logger), render(std::move(render_fn)), connections_max(max), acceptor(io_context), retry(io_context) {}

  asio::io_context& io;
  Logger& log;
  std::function<std::string()> render;
  Probe healthz;
  Probe readyz;
  size_t connections_max;
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  bool closed = false;
  MetricsServerStats stats;
  uint64_t next_session = 1;
  std::map<uint64_t, std::weak_ptr<Session>> sessions;
};

namespace {

using State = MetricsServer::State;

// One connection: read one request (bounded), answer it, close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<State> state, uint64_t id)
      : stream_(std::move(socket)), buffer_(2 * kMetricsRequestBytesMax), state_(std::move(state)), id_(id) {
    error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    peer_ = ec ? std::string("unknown peer") : format_endpoint(remote);
    parser_.header_limit(static_cast<std::uint32_t>(kMetricsRequestBytesMax));
    parser_.body_limit(0);  // GET and HEAD carry no body
  }
  ~Session() {
    if (!state_->closed) state_->sessions.erase(id_);
  }

  void start() {
    stream_.expires_after(std::chrono::nanoseconds(kMetricsIdleTimeoutNs));
    http::async_read(stream_, buffer_, parser_, [self = shared_from_this()](error_code ec, size_t) { self->on_read(ec); });
  }

  void close() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  void on_read(error_code ec) {
    if (state_->closed) return;
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return close();
    if (ec == beast::error::timeout) {
      ++state_->stats.timeouts;
      log_at(state_->log, LogLevel::kInfo, {}, "metrics: closing connection from {}: no whole request within {} s", peer_,
             kMetricsIdleTimeoutNs / kNsPerSec);
      return close();
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return refuse(http::status::request_header_fields_too_large,
                    fmt::format("request header larger than {} bytes", kMetricsRequestBytesMax));
    }
    if (ec == http::error::body_limit || ec == http::error::unexpected_body) {
      return refuse(http::status::payload_too_large, "a metrics request carries no body");
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return refuse(http::status::bad_request, fmt::format("not an HTTP/1.x request ({})", ec.message()));
    }
    if (ec) {  // the socket itself failed (reset, ...): nothing to answer
      log_at(state_->log, LogLevel::kDebug, {}, "metrics: connection from {} ended: {}", peer_, ec.message());
      return close();
    }
    answer(parser_.get());
  }

  void answer(const http::request<http::empty_body>& request) {
    const beast::string_view target = request.target();
    const beast::string_view path = target.substr(0, target.find('?'));
    const bool head = request.method() == http::verb::head;
    if (request.method() != http::verb::get && !head) {
      ++state_->stats.not_found;
      response_.set(http::field::allow, "GET, HEAD");
      return respond(http::status::method_not_allowed, "only GET and HEAD\n", head);
    }
    const Probe* probe = path == "/healthz" ? &state_->healthz : path == "/readyz" ? &state_->readyz : nullptr;
    if (probe && *probe) {
      ProbeAnswer verdict = (*probe)();
      ++state_->stats.probes;
      if (!verdict.ok) ++state_->stats.probes_failed;
      return respond(verdict.ok ? http::status::ok : http::status::service_unavailable, std::move(verdict.text), head);
    }
    if (path != "/metrics") {
      ++state_->stats.not_found;
      return respond(http::status::not_found, "not found: this server answers GET /metrics, /healthz, /readyz\n", head);
    }
    ++state_->stats.requests;
    response_.set(http::field::content_type, kMetricsContentType);
    respond(http::status::ok, state_->render(), head);
  }

  // A request we will not serve: say why, log it, close after the answer.
  void refuse(http::status status, const std::string& why) {
    ++state_->stats.bad_requests;
    log_at(state_->log, LogLevel::kWarn, {}, "metrics: refusing request from {}: {}; closing", peer_, why);
    respond(status, why + "\n", false);
  }

  void respond(http::status status, std::string body, bool head) {
    response_.version(11);
    response_.result(status);
    if (response_.find(http::field::content_type) == response_.end()) response_.set(http::field::content_type, "text/plain; charset=utf-8");
    response_.keep_alive(false);
    response_.body() = std::move(body);
    response_.prepare_payload();
    if (head) response_.body().clear();  // Content-Length still tells the GET's size
    stream_.expires_after(std::chrono::nanoseconds(kMetricsIdleTimeoutNs));
    http::async_write(stream_, response_, [self = shared_from_this()](error_code ec, size_t) {
      if (self->state_->closed) return;
      if (ec) return self->close();
      self->linger();
    });
  }

  // A lingering close: closing with unread request bytes in the socket would send a reset that can
  // destroy the answer before the peer reads it (an oversized request, typically). So we send our
  // FIN, then read and discard until the peer's FIN, at most kMetricsLingerBytesMax bytes or
  // kMetricsLingerNs, then close.
  void linger() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::nanoseconds(kMetricsLingerNs));
    discard();
  }
  void discard() {
    stream_.async_read_some(asio::buffer(scratch_), [self = shared_from_this()](error_code ec, size_t n) {
      if (self->state_->closed) return;
      self->discarded_ += n;
      if (ec || self->discarded_ > kMetricsLingerBytesMax) return self->close();
      self->discard();
    });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<State> state_;
  uint64_t id_;
  std::string peer_;
  std::array<char, 4096> scratch_{};
  size_t discarded_ = 0;
};

void start_accept(const std::shared_ptr<State>& state);

void on_accept(const std::shared_ptr<State>& state, tcp::socket socket) {
  if (state->sessions.size() >= state->connections_max) {
    ++state->stats.connections_refused;
    log_at(state->log, LogLevel::kWarn, {}, "metrics: {} connections open (the limit); closing a new one", state->sessions.size());
    error_code ignored;
    socket.close(ignored);
    return;
  }
  const uint64_t id = state->next_session++;
  auto session = std::make_shared<Session>(std::move(socket), state, id);
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
    log_at(state->log, LogLevel::kWarn, {}, "metrics: accept failed: {}; retrying", ec.message());
    state->retry.expires_after(kAcceptRetryDelay);
    state->retry.async_wait([state](error_code wait_ec) {
      if (!wait_ec && !state->closed) start_accept(state);
    });
  });
}

}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, Logger& log, std::function<std::string()> render, size_t connections_max)
    : state_(std::make_shared<State>(io, log, std::move(render), connections_max)) {}

MetricsServer::~MetricsServer() { shutdown(); }

void MetricsServer::set_probes(Probe healthz, Probe readyz) {
  state_->healthz = std::move(healthz);
  state_->readyz = std::move(readyz);
}

Result<std::string> MetricsServer::listen(const std::string& address) {
  if (state_->closed) return make_error(Error::Code::kState, "metrics server is shut down");
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
    return make_error(Error::Code::kIo, fmt::format("metrics: cannot listen on {}: {}", address, ec.message()));
  }
  start_accept(state_);
  const std::string bound_address = format_endpoint(bound);
  log_at(state_->log, LogLevel::kInfo, {}, "metrics: serving GET /metrics on {}", bound_address);
  return bound_address;
}

void MetricsServer::shutdown() {
  if (state_->closed) return;
  state_->closed = true;
  error_code ignored;
  state_->acceptor.close(ignored);
  state_->retry.cancel();
  // Hold every session while closing, so none is destroyed (and erased) during the walk.
  std::vector<std::shared_ptr<Session>> open;
  for (const auto& [id, weak] : state_->sessions) {
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  for (const auto& s : open) s->close();
  state_->sessions.clear();
}

const MetricsServerStats& MetricsServer::stats() const { return state_->stats; }

size_t MetricsServer::connections_open() const { return state_->sessions.size(); }

}  // namespace aether::real
