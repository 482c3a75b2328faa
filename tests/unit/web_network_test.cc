// The browsers' listener (runtime/real/web_network.h) over loopback, driven by a Beast WebSocket
// client: binary messages both ways through the runtime's Network (RoutedNetwork), over plain TCP and
// TLS; the origin allow-list; text and oversize frames closed with their codes and counted; a dead
// peer closed by the ping timeout; the outbound cap; a local close's code after its last message;
// static files from the built directory only, with their types. The server's loop runs on a thread
// of its own; the test's client is synchronous, and acts on the server only through posts.

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "app/tls_setup.h"
#include "runtime/real/address.h"
#include "runtime/real/real_runtime.h"

namespace aether::real {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;
using Bytes = std::vector<uint8_t>;

struct Recorder final : NetworkHandler {
  std::mutex mu;
  std::vector<ConnId> accepted;
  std::map<ConnId, std::vector<Bytes>> messages;
  std::map<ConnId, CloseReason> closed;

  void on_accepted(ConnId conn, std::string_view) override {
    std::lock_guard lock(mu);
    accepted.push_back(conn);
  }
  void on_connected(ConnId) override {}
  void on_message(ConnId conn, std::span<const uint8_t> payload) override {
    std::lock_guard lock(mu);
    messages[conn].emplace_back(payload.begin(), payload.end());
  }
  void on_closed(ConnId conn, CloseReason reason) override {
    std::lock_guard lock(mu);
    closed[conn] = reason;
  }
};

// Polls cond (under the recorder's lock) for up to 5 s.
bool eventually(Recorder& r, const std::function<bool()>& cond) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    {
      std::lock_guard lock(r.mu);
      if (cond()) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

struct TempDir {
  std::string path;
  TempDir() {
    char pattern[] = "/tmp/aether-web-test-XXXXXX";
    EXPECT_NE(::mkdtemp(pattern), nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  void write(const std::string& name, const std::string& body) const {
    std::filesystem::create_directories(std::filesystem::path(path + "/" + name).parent_path());
    std::ofstream(path + "/" + name) << body;
  }
};

// A gateway-like server: a RealRuntime whose web listener reports to a Recorder, on its own thread.
class Server {
 public:
  explicit Server(WebSettings settings) : rt_(io_, "web-test", NodeId{201}, RealOptions{}) {
    rt_.runtime().network.set_handler(&recorder);
    auto bound = rt_.listen_web("127.0.0.1:0", std::move(settings));
    EXPECT_TRUE(bound.ok()) << (bound.ok() ? "" : bound.error().message);
    if (bound.ok()) port = parse_endpoint(*bound)->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  // Runs fn on the server's loop and waits for it.
  template <class Fn>
  auto on_loop(Fn fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto done = task.get_future();
    asio::post(io_, [&task] { task(); });
    return done.get();
  }
  SendStatus send(ConnId conn, const Bytes& bytes) {
    return on_loop([&] { return rt_.runtime().network.send(conn, bytes); });
  }
  void close(ConnId conn) {
    on_loop([&] { rt_.runtime().network.close(conn); });
  }
  ~Server() {
    on_loop([this] { rt_.shutdown(); });
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  Network& network() { return rt_.runtime().network; }  // on the loop only
  WebStats stats() {
    return on_loop([&] { return rt_.web().stats(); });
  }
  ConnId last_accepted() {
    EXPECT_TRUE(eventually(recorder, [&] { return !recorder.accepted.empty(); }));
    std::lock_guard lock(recorder.mu);
    return recorder.accepted.empty() ? 0 : recorder.accepted.back();
  }

  Recorder recorder;
  uint16_t port = 0;

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  RealRuntime rt_;
  std::thread thread_;
};

using PlainWs = websocket::stream<beast::tcp_stream>;

// A client connected and upgraded, with an Origin header when given one.
std::unique_ptr<PlainWs> connect_ws(asio::io_context& io, uint16_t port, const std::string& origin = "") {
  auto ws = std::make_unique<PlainWs>(io);
  beast::get_lowest_layer(*ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  ws->set_option(websocket::stream_base::decorator([origin](websocket::request_type& req) {
    if (!origin.empty()) req.set(http::field::origin, origin);
  }));
  ws->handshake(fmt::format("127.0.0.1:{}", port), "/play");
  ws->binary(true);
  return ws;
}

Bytes read_binary(PlainWs& ws) {
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_TRUE(ws.got_binary());
  const auto data = buffer.cdata();
  return Bytes(static_cast<const uint8_t*>(data.data()), static_cast<const uint8_t*>(data.data()) + data.size());
}

// Reads until the server's close: its code (0 if the connection broke without one).
unsigned read_until_closed(PlainWs& ws) {
  beast::flat_buffer buffer;
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(5));
  for (;;) {
    beast::error_code ec;
    ws.read(buffer, ec);
    if (ec == websocket::error::closed) return static_cast<unsigned>(ws.reason().code);
    if (ec) return 0;
    buffer.clear();
  }
}

TEST(WebNetwork, BinaryMessagesTravelBothWaysAsClientConnections) {
  Server server(WebSettings{});
  asio::io_context io;
  auto ws = connect_ws(io, server.port);
  const ConnId conn = server.last_accepted();
  EXPECT_GE(conn, kWebConnIdBase);  // never a TcpNetwork id
  ws->write(asio::buffer(Bytes{1, 2, 3}));
  ws->write(asio::buffer(Bytes{4}));
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.messages[conn].size() == 2; }));
  EXPECT_EQ(server.recorder.messages[conn][0], (Bytes{1, 2, 3}));
  EXPECT_EQ(server.recorder.messages[conn][1], (Bytes{4}));
  EXPECT_EQ(server.send(conn, Bytes{9, 8, 7}), SendStatus::kOk);
  EXPECT_EQ(read_binary(*ws), (Bytes{9, 8, 7}));
  ws->close(websocket::close_code::normal);
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.closed.count(conn) == 1; }));
  EXPECT_EQ(server.recorder.closed[conn], CloseReason::kPeerClosed);
  EXPECT_EQ(server.send(conn, Bytes{1}), SendStatus::kClosed);
  EXPECT_EQ(server.stats().upgraded, 1u);
}

TEST(WebNetwork, ALocalCloseSendsItsLastMessageThenCode1000) {
  Server server(WebSettings{});
  asio::io_context io;
  auto ws = connect_ws(io, server.port);
  const ConnId conn = server.last_accepted();
  EXPECT_EQ(server.send(conn, Bytes{12, 1}), SendStatus::kOk);
  server.close(conn);
  EXPECT_EQ(read_binary(*ws), (Bytes{12, 1}));
  EXPECT_EQ(read_until_closed(*ws), static_cast<unsigned>(websocket::close_code::normal));
  EXPECT_EQ(ws->reason().reason, "closed by the server");
  // A local close reports nothing to the handler.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard lock(server.recorder.mu);
  EXPECT_EQ(server.recorder.closed.count(conn), 0u);
}

TEST(WebNetwork, OnlyTheOwnOriginAndTheAllowListMayUpgrade) {
  WebSettings settings;
  settings.allowed_origins = {"https://play.example"};
  Server server(settings);
  asio::io_context io;
  EXPECT_NO_THROW(connect_ws(io, server.port, fmt::format("http://127.0.0.1:{}", server.port)));
  EXPECT_NO_THROW(connect_ws(io, server.port, "https://play.example"));
  EXPECT_NO_THROW(connect_ws(io, server.port));  // no Origin: no browser
  try {
    connect_ws(io, server.port, "https://evil.example");
    ADD_FAILURE() << "a foreign origin upgraded";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), websocket::error::upgrade_declined) << e.what();
  }
  EXPECT_EQ(server.stats().origin_refused, 1u);
  EXPECT_EQ(server.stats().upgraded, 3u);
}

TEST(WebNetwork, ATextFrameIsClosed1003AndOthersCarryOn) {
  Server server(WebSettings{});
  asio::io_context io;
  auto honest = connect_ws(io, server.port);
  const ConnId honest_conn = server.last_accepted();
  auto hostile = connect_ws(io, server.port);
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.accepted.size() == 2; }));
  const ConnId hostile_conn = server.last_accepted();
  hostile->text(true);
  hostile->write(asio::buffer(std::string("{\"hello\":1}")));
  EXPECT_EQ(read_until_closed(*hostile), static_cast<unsigned>(websocket::close_code::unknown_data));
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.closed.count(hostile_conn) == 1; }));
  EXPECT_EQ(server.recorder.closed[hostile_conn], CloseReason::kFraming);
  EXPECT_EQ(server.stats().text_frames, 1u);
  honest->write(asio::buffer(Bytes{5}));
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.messages[honest_conn].size() == 1; }));
  EXPECT_EQ(server.send(honest_conn, Bytes{6}), SendStatus::kOk);
  EXPECT_EQ(read_binary(*honest), (Bytes{6}));
}

TEST(WebNetwork, AMessageOverTheCapIsClosed1009) {
  WebSettings settings;
  settings.limits.message_bytes_max = 256;
  Server server(settings);
  asio::io_context io;
  auto ws = connect_ws(io, server.port);
  const ConnId conn = server.last_accepted();
  ws->write(asio::buffer(Bytes(256, 1)));  // at the cap: fine
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.messages[conn].size() == 1; }));
  ws->write(asio::buffer(Bytes(257, 1)));
  EXPECT_EQ(read_until_closed(*ws), static_cast<unsigned>(websocket::close_code::too_big));
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.closed.count(conn) == 1; }));
  EXPECT_EQ(server.recorder.closed[conn], CloseReason::kFraming);
  EXPECT_EQ(server.recorder.messages[conn].size(), 1u);
  EXPECT_EQ(server.stats().message_too_big, 1u);
}

TEST(WebNetwork, APeerThatAnswersNoPingIsClosedAsDead) {
  WebSettings settings;
  settings.limits.idle_timeout_ns = 300 * kNsPerMs;
  Server server(settings);
  asio::io_context io;
  auto ws = connect_ws(io, server.port);  // never reads: the server's pings go unanswered
  const ConnId conn = server.last_accepted();
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.closed.count(conn) == 1; }));
  EXPECT_EQ(server.recorder.closed[conn], CloseReason::kReset);
  EXPECT_EQ(server.stats().dead_peers, 1u);
  // A client that reads answers the pings and stays.
  auto live = connect_ws(io, server.port);
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.accepted.size() == 2; }));
  const ConnId live_conn = server.last_accepted();
  std::thread reader([&] {
    beast::flat_buffer buffer;
    beast::error_code ec;
    live->read(buffer, ec);  // answers pings while it waits; ends at the close below
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  {
    std::lock_guard lock(server.recorder.mu);
    EXPECT_EQ(server.recorder.closed.count(live_conn), 0u);
  }
  server.close(live_conn);
  reader.join();
}

TEST(WebNetwork, OneAddressHoldsAtMostItsShareOfConnections) {
  WebSettings settings;
  settings.limits.connections_per_address_max = 2;
  Server server(settings);
  asio::io_context io;
  auto first = connect_ws(io, server.port);
  auto second = connect_ws(io, server.port);
  EXPECT_THROW(connect_ws(io, server.port), boost::system::system_error);  // closed at accept
  EXPECT_EQ(server.stats().per_address_limit, 1u);
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.accepted.size() == 2; }));
  // The count falls when a connection goes, however it goes.
  first->close(websocket::close_code::normal);
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.closed.size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NO_THROW(connect_ws(io, server.port));
  EXPECT_EQ(server.stats().per_address_limit, 1u);
}

TEST(WebNetwork, TheOutboundCapRefusesWithBackpressure) {
  WebSettings settings;
  settings.limits.outbound_bytes_max = 64 << 10;
  Server server(settings);
  asio::io_context io;
  auto ws = connect_ws(io, server.port);
  const ConnId conn = server.last_accepted();
  // Within one turn of the loop nothing is written yet: the cap counts everything queued.
  const auto statuses = server.on_loop([&] {
    std::vector<SendStatus> out;
    const Bytes chunk(30 << 10, 3);
    for (int i = 0; i < 3; ++i) out.push_back(server.network().send(conn, chunk));
    return out;
  });
  EXPECT_EQ(statuses, (std::vector<SendStatus>{SendStatus::kOk, SendStatus::kOk, SendStatus::kBackpressure}));
}

TEST(WebNetwork, OverTlsTheSameMessagesTravel) {
  TempDir dir;
  const app::CertDir certs{dir.path};
  ASSERT_TRUE(app::issue_cluster(certs, {"gateway-201"}, {"127.0.0.1", "localhost"}, 1).ok());
  auto server_tls = make_tls_context(TlsSide::kServer, certs.files("gateway-201"));
  ASSERT_TRUE(server_tls.ok());
  WebSettings settings;
  settings.tls = *server_tls;
  Server server(settings);

  asio::io_context io;
  asio::ssl::context client_tls(asio::ssl::context::tls_client);
  client_tls.load_verify_file(certs.ca_cert());
  client_tls.set_verify_mode(asio::ssl::verify_peer);
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(io, client_tls);
  beast::get_lowest_layer(ws).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port));
  ws.next_layer().handshake(asio::ssl::stream_base::client);
  ws.set_option(websocket::stream_base::decorator(
      [&](websocket::request_type& req) { req.set(http::field::origin, fmt::format("https://127.0.0.1:{}", server.port)); }));
  ws.handshake(fmt::format("127.0.0.1:{}", server.port), "/play");
  ws.binary(true);
  const ConnId conn = server.last_accepted();
  ws.write(asio::buffer(Bytes{1, 1}));
  ASSERT_TRUE(eventually(server.recorder, [&] { return server.recorder.messages[conn].size() == 1; }));
  EXPECT_EQ(server.send(conn, Bytes{2, 2}), SendStatus::kOk);
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_EQ(buffer.size(), 2u);
  // Plain HTTP on the TLS port is no request.
  tcp::socket plain(io);
  plain.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port));
  asio::write(plain, asio::buffer(std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")));
  char byte;
  beast::error_code ec;
  plain.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);  // closed (after at most a TLS alert)
  EXPECT_TRUE(eventually(server.recorder, [&] { return true; }));
  EXPECT_GE(server.stats().handshake_failed, 1u);
}

// One GET (or other method) on a fresh connection: status, content type, body.
struct Answer {
  unsigned status = 0;
  std::string type, body, nosniff;
};
Answer fetch(uint16_t port, const std::string& target, http::verb verb = http::verb::get) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req(verb, target, 11);
  req.set(http::field::host, "127.0.0.1");
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  if (verb == http::verb::head) parser.skip(true);
  http::read(stream, buffer, parser);
  const auto& res = parser.get();
  return Answer{static_cast<unsigned>(res.result_int()), std::string(res[http::field::content_type]), res.body(),
                std::string(res["X-Content-Type-Options"])};
}

TEST(WebNetwork, StaticFilesComeOnlyFromTheBuiltDirectoryWithTheirTypes) {
  TempDir dir;
  dir.write("www/index.html", "<html>aether</html>");
  dir.write("www/main.js", "console.log(1)");
  dir.write("www/assets/style.css", "body{}");
  dir.write("www/notes.exe", "MZ");  // not a kind a page needs: never served
  dir.write("secret.txt", "password");
  std::filesystem::create_symlink(dir.path + "/secret.txt", dir.path + "/www/linked.txt");
  WebSettings settings;
  settings.web_root = dir.path + "/www";
  Server server(settings);

  const Answer index = fetch(server.port, "/");
  EXPECT_EQ(index.status, 200u);
  EXPECT_EQ(index.type, "text/html; charset=utf-8");
  EXPECT_EQ(index.body, "<html>aether</html>");
  EXPECT_EQ(index.nosniff, "nosniff");
  EXPECT_EQ(fetch(server.port, "/main.js?v=3").type, "text/javascript; charset=utf-8");
  EXPECT_EQ(fetch(server.port, "/assets/style.css").body, "body{}");
  EXPECT_EQ(fetch(server.port, "/index.html", http::verb::head).status, 200u);
  for (const char* hostile : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/linked.txt", "/notes.exe",
                              "//secret.txt", "/missing.js", "secret.txt"}) {
    const Answer a = fetch(server.port, hostile);
    EXPECT_EQ(a.status, 404u) << hostile;
    EXPECT_EQ(a.body.find("password"), std::string::npos) << hostile;
  }
  EXPECT_EQ(fetch(server.port, "/index.html", http::verb::post).status, 405u);
  EXPECT_EQ(server.stats().files_served, 4u);
  EXPECT_EQ(server.stats().not_found, 8u);
}

TEST(WebNetwork, AnUnreadableRequestIsCountedAndClosed) {
  Server server(WebSettings{});
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server.port));
  asio::write(s, asio::buffer(std::string("\x16\x03\x01 not http at all\r\n\r\n")));
  char byte;
  beast::error_code ec;
  s.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(server.stats().bad_requests, 1u);
}

}  // namespace
}  // namespace aether::real
