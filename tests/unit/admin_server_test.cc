// The admin listener's pieces: the API's parsing (runtime/real/admin_api.h), the operators file and
// its tokens (operator_store.h), and the HTTPS server with short limits over loopback
// (admin_server.h): each limit answered as documented and counted by its reason.

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/time.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <fstream>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include "app/tls_setup.h"
#include "runtime/real/admin_api.h"
#include "runtime/real/admin_server.h"
#include "runtime/real/operator_store.h"

namespace aether::real {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using C = AdminRequest::Command;

// --- The API ---------------------------------------------------------------------------------------

AdminCall call_of(std::string_view method, std::string_view target, std::string_view body = {}) {
  auto parsed = parse_admin_call(method, target, body);
  EXPECT_TRUE(std::holds_alternative<AdminCall>(parsed)) << method << " " << target << " " << body << ": "
                                                         << (std::holds_alternative<AdminApiError>(parsed) ? std::get<AdminApiError>(parsed).message : "");
  return std::holds_alternative<AdminCall>(parsed) ? std::get<AdminCall>(parsed) : AdminCall{};
}
unsigned refusal_of(std::string_view method, std::string_view target, std::string_view body = {}) {
  auto parsed = parse_admin_call(method, target, body);
  EXPECT_TRUE(std::holds_alternative<AdminApiError>(parsed)) << method << " " << target << " " << body << " was accepted";
  return std::holds_alternative<AdminApiError>(parsed) ? std::get<AdminApiError>(parsed).status : 0;
}

TEST(AdminApi, ReadsAndOrdersParseToTheirCommands) {
  EXPECT_EQ(call_of("GET", "/api/nodes").request.command, C::kListNodes);
  EXPECT_TRUE(call_of("GET", "/api/whoami").whoami);
  const AdminCall entity = call_of("GET", "/api/entity?id=1099511627777");
  EXPECT_EQ(entity.request, (AdminRequest{C::kShowEntity, EntityId(1099511627777ull), {}, {}}));
  EXPECT_EQ(call_of("GET", "/api/ghosts?id=5").request.command, C::kGhostQuery);
  const AdminCall drain = call_of("POST", "/api/drain", "node=101&epoch=3");
  EXPECT_EQ(drain.request, (AdminRequest{C::kDrain, {}, NodeId(101), {}}));
  EXPECT_EQ(drain.claimed, 3u);
  const AdminCall forced = call_of("POST", "/api/failover", "force=1");
  EXPECT_EQ(forced.request.command, C::kFailover);
  EXPECT_EQ(forced.claimed, kEpochAdmin);
  const AdminCall move = call_of("POST", "/api/move", "entity=7&node=102&epoch=2");
  EXPECT_EQ(move.request, (AdminRequest{C::kMove, EntityId(7), NodeId(102), {}}));
  const AdminCall debug = call_of("POST", "/api/debug", "entity=7&entity=8&node=101&off=1&epoch=2");
  EXPECT_EQ(debug.request.debug.entities, (std::vector<EntityId>{EntityId(7), EntityId(8)}));
  EXPECT_EQ(debug.request.debug.nodes, std::vector<NodeId>{NodeId(101)});
  EXPECT_TRUE(debug.request.debug.off);
  const AdminCall list = call_of("GET", "/api/debug");
  EXPECT_TRUE(list.request.debug.entities.empty() && list.request.debug.nodes.empty());
}

TEST(AdminApi, AnythingElseIsRefusedWithItsStatus) {
  EXPECT_EQ(refusal_of("GET", "/metrics"), 404u);
  EXPECT_EQ(refusal_of("GET", "/api/drain?node=101&epoch=1"), 405u) << "an order by GET";
  EXPECT_EQ(refusal_of("POST", "/api/nodes"), 405u);
  EXPECT_EQ(refusal_of("PUT", "/api/debug"), 405u);
  EXPECT_EQ(refusal_of("POST", "/api/drain", "node=101"), 400u) << "no epoch claimed";
  EXPECT_EQ(refusal_of("POST", "/api/drain", "node=101&epoch=0"), 400u);
  EXPECT_EQ(refusal_of("POST", "/api/drain", "node=101&epoch=3&force=1"), 400u);
  EXPECT_EQ(refusal_of("POST", "/api/drain", "node=101&epoch=3&epoch=4"), 400u);
  EXPECT_EQ(refusal_of("POST", "/api/drain", "node=101&epoch=3&entity=5"), 400u) << "a parameter drain does not take";
  EXPECT_EQ(refusal_of("POST", "/api/drain", "node=4294967296&epoch=3"), 400u) << "a node id past 32 bits";
  EXPECT_EQ(refusal_of("POST", "/api/drain", "node=0101&epoch=3"), 400u) << "a leading zero";
  EXPECT_EQ(refusal_of("POST", "/api/drain", "node=-1&epoch=3"), 400u);
  EXPECT_EQ(refusal_of("POST", "/api/drain?node=101", "epoch=3"), 400u) << "parameters in the query of a POST";
  EXPECT_EQ(refusal_of("GET", "/api/entity?id=99999999999999999999"), 400u) << "past 64 bits";
  EXPECT_EQ(refusal_of("GET", "/api/entity?id=%4"), 400u) << "a truncated escape";
  EXPECT_EQ(refusal_of("GET", "/api/nodes", "x=1"), 400u) << "a GET with a body";
  EXPECT_EQ(refusal_of("POST", "/api/debug", "epoch=3"), 400u) << "debug changes need a target";
  EXPECT_EQ(refusal_of("POST", "/api/failover", "force=yes"), 400u);
}

TEST(AdminApi, AnswersAreJsonWithEveryByteEscaped) {
  EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
  const std::string body = admin_answer_json(OperatorId{"olga", OperatorRole::kOperator}, call_of("POST", "/api/drain", "node=101&epoch=3"),
                                             AdminAnswer{AdminVerdict::kAllowed, AdminReply{true, {"draining \"101\""}}});
  EXPECT_EQ(body, "{\"ok\":true,\"operator\":\"olga\",\"role\":\"operator\",\"command\":\"drain\",\"epoch\":3,\"verdict\":\"allowed\","
                  "\"lines\":[\"draining \\\"101\\\"\"]}\n");
}

// --- The operators file ------------------------------------------------------------------------------

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/aether-admin-test-XXXXXX";
    EXPECT_NE(::mkdtemp(pattern), nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::string path;
};

TEST(OperatorStore, RemoveTakesOutOneLineAndRefusesAnUnknownName) {
  TempDir dir;
  const std::string path = dir.path + "/operators";
  ASSERT_TRUE(OperatorStore::add(path, "olga", OperatorRole::kOperator).ok());
  auto vera = OperatorStore::add(path, "vera", OperatorRole::kViewer);
  ASSERT_TRUE(vera.ok());
  ASSERT_TRUE(OperatorStore::remove(path, "olga").ok());
  EXPECT_FALSE(OperatorStore::remove(path, "olga").ok());
  auto left = OperatorStore::load(path);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 1u);
  AuthFailure why = AuthFailure::kMissing;
  auto who = left->verify(*vera, &why);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->name, "vera");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(OperatorStore, TokensVerifyAgainstTheirHashOnly) {
  const std::string secret = OperatorStore::new_secret();
  EXPECT_EQ(secret.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_NE(secret, OperatorStore::new_secret());
  auto hash = OperatorStore::hash_secret(secret);
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->find(secret), std::string::npos);
  auto store = OperatorStore::parse(fmt::format("# operators\n\nolga operator {}\n", *hash), "test");
  ASSERT_TRUE(store.ok()) << store.error().message;
  AuthFailure why = AuthFailure::kMissing;
  auto who = store->verify("olga." + secret, &why);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->name, "olga");
  EXPECT_EQ(who->role, OperatorRole::kOperator);
  EXPECT_FALSE(store->verify("olga." + secret + "x", &why).ok());
  EXPECT_EQ(why, AuthFailure::kWrongSecret);
  EXPECT_FALSE(store->verify("vera." + secret, &why).ok());
  EXPECT_EQ(why, AuthFailure::kUnknownOperator);
  EXPECT_FALSE(store->verify(secret, &why).ok());
  EXPECT_EQ(why, AuthFailure::kMalformed);
  EXPECT_FALSE(store->verify("olga." + std::string(300, 'a'), &why).ok());
  EXPECT_EQ(why, AuthFailure::kMalformed);
}

TEST(OperatorStore, AFileItDoesNotUnderstandWhollyIsRefused) {
  const std::string hash = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$aGFzaA";
  for (const std::string& bad : {fmt::format("olga root {}\n", hash), fmt::format("Olga operator {}\n", hash), std::string("olga operator plaintext\n"),
                                 fmt::format("olga operator {} extra\n", hash), fmt::format("olga operator {}\nolga viewer {}\n", hash, hash)}) {
    EXPECT_FALSE(OperatorStore::parse(bad, "test").ok()) << bad;
  }
}

TEST(OperatorStore, AddAppendsAndRefusesANameTwice) {
  TempDir dir;
  const std::string file = dir.path + "/operators";
  auto token = OperatorStore::add(file, "vera", OperatorRole::kViewer);
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(token->rfind("vera.", 0), 0u);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(OperatorStore::add(file, "vera", OperatorRole::kAdmin).ok());
  EXPECT_FALSE(OperatorStore::add(file, "Not A Name", OperatorRole::kAdmin).ok());
  ASSERT_TRUE(OperatorStore::add(file, "ada", OperatorRole::kAdmin).ok());
  auto store = OperatorStore::load(file);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(store->size(), 2u);
  AuthFailure why{};
  EXPECT_TRUE(store->verify(*token, &why).ok());
}

// --- The server --------------------------------------------------------------------------------------

class CapturingLogger final : public Logger {
 public:
  bool enabled(LogLevel) const override { return true; }
  void write(LogLevel, const LogIds&, std::string_view message) override {
    std::lock_guard lock(mu_);
    lines_.emplace_back(message);
  }
  bool contains(std::string_view text) {
    std::lock_guard lock(mu_);
    for (const auto& l : lines_) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

struct Certs {
  TempDir dir;
  app::CertDir certs{dir.path};
  Certs() { EXPECT_TRUE(app::issue_cluster(certs, {"coordinator-1"}, {"127.0.0.1"}, 1).ok()); }
};

class AdminServerTest : public ::testing::Test {
 protected:
  static constexpr const char* kSecret = "s3cret-of-olga-the-operator";
  void start(AdminLimits limits = {}) {
    auto hash = OperatorStore::hash_secret(kSecret);
    ASSERT_TRUE(hash.ok());
    auto store = OperatorStore::parse(fmt::format("olga operator {}\n", *hash), "test");
    ASSERT_TRUE(store.ok());
    auto tls = make_tls_context(TlsSide::kServer, TlsFiles{certs_.certs.cert("coordinator-1"), certs_.certs.key("coordinator-1"), {}, {}});
    ASSERT_TRUE(tls.ok());
    server_ = std::make_unique<AdminServer>(io_, log_, *tls, std::make_shared<const OperatorStore>(std::move(store.value())),
                                            [this](const OperatorId& who, const AdminRequest& req, Epoch claimed, std::function<void(AdminAnswer)> done) {
                                              seen_.push_back({who.name, req, claimed});
                                              done(answer_);
                                            },
                                            limits);
    if (configure_) configure_(*server_);
    auto bound = server_->listen("127.0.0.1:0");
    ASSERT_TRUE(bound.ok());
    port_ = static_cast<uint16_t>(std::stoi(bound->substr(bound->rfind(':') + 1)));
    thread_ = std::thread([this] { io_.run(); });
  }
  // Asks `seen` on the server's own thread until it says yes, for up to 5 s. A client can see its
  // connection closed before the server has run the handler that counts why: a deadline closes the
  // socket first and completes the pending read after, so a test stopping the loop at once may beat it.
  bool eventually(const std::function<bool()>& seen) {
    for (int i = 0; i < 500; ++i) {
      std::promise<bool> answer;
      std::future<bool> got = answer.get_future();
      asio::post(io_, [&] { answer.set_value(seen()); });
      if (got.get()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  // Stops the server's loop: its figures are then ours to read.
  void stop() {
    if (!thread_.joinable()) return;
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  void TearDown() override {
    stop();
    server_.reset();
  }

  // A TLS connection to the server, with a 5 s receive timeout so that a wrong test fails instead of hanging.
  struct Client {
    asio::io_context io;
    asio::ssl::context ctx{asio::ssl::context::tls_client};
    asio::ssl::stream<tcp::socket> tls{io, ctx};
    explicit Client(uint16_t port, bool handshake = true) {
      tls.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
      timeval tv{5, 0};
      ::setsockopt(tls.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ctx.set_verify_mode(asio::ssl::verify_none);
      if (handshake) tls.handshake(asio::ssl::stream_base::client);
    }
    void send(const std::string& bytes) { asio::write(tls, asio::buffer(bytes)); }
    // Everything until the server closes (or the timeout).
    std::string read_all() {
      std::string out;
      boost::system::error_code ec;
      char buf[4096];
      for (;;) {
        const size_t n = tls.read_some(asio::buffer(buf), ec);
        out.append(buf, n);
        if (ec) break;
        if (out.find("\r\n\r\n") != std::string::npos && out.find("Connection: close") == std::string::npos &&
            out.find("\"ok\"") != std::string::npos) {
          break;  // a keep-alive answer, whole
        }
      }
      return out;
    }
  };
  std::string request(const std::string& raw) {
    Client c(port_);
    c.send(raw);
    return c.read_all();
  }
  static std::string get(const std::string& path, const std::string& token) {
    return fmt::format("GET {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", path, token);
  }
  static std::string post(const std::string& path, const std::string& token, const std::string& body) {
    return fmt::format("POST {} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                       "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                       path, token, body.size(), body);
  }
  uint64_t closes(const std::string& reason) const {
    auto it = server_->stats().closes.find(reason);
    return it == server_->stats().closes.end() ? 0 : it->second;
  }
  uint64_t failures(AuthFailure why) const { return server_->stats().auth_failures[static_cast<size_t>(why)]; }

  struct Seen {
    std::string who;
    AdminRequest req;
    Epoch claimed;
  };
  Certs certs_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_{io_.get_executor()};
  CapturingLogger log_;
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  AdminAnswer answer_{AdminVerdict::kAllowed, AdminReply{true, {"done"}}};
  std::vector<Seen> seen_;  // written on the server's thread; read after stop()
  std::function<void(AdminServer&)> configure_;  // before the server listens (views, peers)
  const std::string token_ = std::string("olga.") + kSecret;
};

TEST_F(AdminServerTest, AnOperatorsOrderReachesTheHandlerWithWhoAndTheEpoch) {
  start();
  const std::string whoami = request(get("/api/whoami", token_));
  EXPECT_EQ(whoami.rfind("HTTP/1.1 200", 0), 0u) << whoami;
  EXPECT_NE(whoami.find("\"operator\":\"olga\",\"role\":\"operator\""), std::string::npos) << whoami;
  const std::string drained = request(post("/api/drain", token_, "node=101&epoch=3"));
  EXPECT_EQ(drained.rfind("HTTP/1.1 200", 0), 0u) << drained;
  answer_ = AdminAnswer{AdminVerdict::kRoleTooLow, AdminReply{false, {"refused: no"}}};
  EXPECT_EQ(request(post("/api/drain", token_, "node=101&epoch=3")).rfind("HTTP/1.1 403", 0), 0u);
  answer_ = AdminAnswer{AdminVerdict::kAllowed, AdminReply{false, {"no compute node 101"}}};
  EXPECT_EQ(request(post("/api/drain", token_, "node=101&epoch=3")).rfind("HTTP/1.1 409", 0), 0u);
  EXPECT_EQ(request(post("/api/drain", token_, "node=101")).rfind("HTTP/1.1 400", 0), 0u);
  stop();
  ASSERT_EQ(seen_.size(), 3u);
  EXPECT_EQ(seen_[0].who, "olga");
  EXPECT_EQ(seen_[0].req, (AdminRequest{C::kDrain, {}, NodeId(101), {}}));
  EXPECT_EQ(seen_[0].claimed, 3u);
}

TEST_F(AdminServerTest, BadCredentialsAreRefusedAlikeCountedByReasonThenRateLimited) {
  AdminLimits limits;
  limits.auth_failures_max = 3;
  start(limits);
  const std::string missing = request("GET /api/nodes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string wrong = request(get("/api/nodes", "olga.not-it"));
  const std::string unknown = request(get("/api/nodes", "mallory.whatever"));
  for (const std::string& a : {missing, wrong, unknown}) {
    EXPECT_EQ(a.rfind("HTTP/1.1 401", 0), 0u) << a;
    EXPECT_NE(a.find("{\"ok\":false,\"error\":\"authentication failed\"}"), std::string::npos) << a;
  }
  const std::string limited = request(get("/api/nodes", token_));
  EXPECT_EQ(limited.rfind("HTTP/1.1 429", 0), 0u) << "a good token looked at past the failure budget: " << limited;
  stop();
  EXPECT_EQ(failures(AuthFailure::kMissing), 1u);
  EXPECT_EQ(failures(AuthFailure::kWrongSecret), 1u);
  EXPECT_EQ(failures(AuthFailure::kUnknownOperator), 1u);
  EXPECT_EQ(failures(AuthFailure::kRateLimited), 1u);
  EXPECT_TRUE(log_.contains("authentication failed from 127.0.0.1"));
  EXPECT_TRUE(seen_.empty());
}

TEST_F(AdminServerTest, OversizedHeadersAndBodiesAreRefusedAndClosed) {
  AdminLimits limits;
  limits.header_bytes_max = 1024;
  limits.body_bytes_max = 64;
  start(limits);
  const std::string header = request(fmt::format("GET /api/nodes HTTP/1.1\r\nX-Pad: {}\r\n\r\n", std::string(2000, 'a')));
  EXPECT_EQ(header.rfind("HTTP/1.1 431", 0), 0u) << header;
  const std::string body = request(post("/api/debug", token_, "epoch=1&entity=" + std::string(100, '1')));
  EXPECT_EQ(body.rfind("HTTP/1.1 413", 0), 0u) << body;
  const std::string garbage = request("\x16\x03 not http at all\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  stop();
  EXPECT_EQ(closes("header_too_large"), 1u);
  EXPECT_EQ(closes("body_too_large"), 1u);
  EXPECT_EQ(closes("bad_request"), 1u);
  EXPECT_TRUE(seen_.empty());
}

TEST_F(AdminServerTest, IdleAndSlowConnectionsAreClosedAtTheirDeadlines) {
  AdminLimits limits;
  limits.idle_ns = 1 * kNsPerSec;  // well past the gap between the slow client's handshake and its first bytes
  limits.request_ns = 300 * kNsPerMs;
  start(limits);
  Client idle(port_);
  EXPECT_EQ(idle.read_all(), "") << "an idle connection was answered";
  Client slow(port_);
  slow.send("GET /api/nodes HTTP/1.1\r\nHost: x\r\n");  // and never the rest (slowloris)
  EXPECT_EQ(slow.read_all(), "");
  EXPECT_TRUE(eventually([&] { return closes("idle") + closes("request_deadline") == 2; }));
  stop();
  EXPECT_EQ(closes("idle"), 1u);
  EXPECT_EQ(closes("request_deadline"), 1u);
}

TEST_F(AdminServerTest, ConnectionsPerAddressAreCapped) {
  AdminLimits limits;
  limits.connections_per_address_max = 2;
  start(limits);
  Client a(port_), b(port_);  // handshakes done: both accepted
  Client refused(port_, /*handshake=*/false);
  char byte = 0;
  boost::system::error_code ec;
  refused.tls.next_layer().read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec) << "a third connection from one address was kept";
  stop();
  EXPECT_EQ(closes("per_address_limit"), 1u);
  EXPECT_EQ(server_->stats().connections, 2u);
}

// Runs f on the server's loop and waits for it.
template <typename F>
void on_loop(asio::io_context& io, F f) {
  std::promise<void> done;
  asio::post(io, [&] {
    f();
    done.set_value();
  });
  done.get_future().get();
}

TEST_F(AdminServerTest, ReplacedOperatorsRevokeARememberedTokenAtOnce) {
  start();
  const std::string before = request(get("/api/whoami", token_));
  EXPECT_EQ(before.rfind("HTTP/1.1 200", 0), 0u) << before;  // verified, and now remembered
  auto hash = OperatorStore::hash_secret("another secret");
  ASSERT_TRUE(hash.ok());
  auto others = OperatorStore::parse(fmt::format("vera viewer {}\n", *hash), "test");
  ASSERT_TRUE(others.ok());
  on_loop(io_, [&] { server_->replace_operators(std::make_shared<const OperatorStore>(std::move(others.value()))); });
  const std::string after = request(get("/api/whoami", token_));
  EXPECT_EQ(after.rfind("HTTP/1.1 401", 0), 0u) << "a token of a removed operator was served from the cache: " << after;
  stop();
  EXPECT_EQ(failures(AuthFailure::kUnknownOperator), 1u);
  EXPECT_EQ(server_->stats().operator_swaps, 1u);
  ASSERT_EQ(seen_.size(), 0u);  // whoami is answered by the listener itself
}

TEST_F(AdminServerTest, AWatchedOperatorsFileTakesEffectWithoutARestartAndABrokenOneIsRefused) {
  start();
  TempDir dir;
  const std::string path = dir.path + "/operators";
  auto hash = OperatorStore::hash_secret(kSecret);
  ASSERT_TRUE(hash.ok());
  const auto write = [&](const std::string& text) {
    std::ofstream(path, std::ios::trunc) << text;
  };
  write(fmt::format("olga operator {}\n", *hash));
  on_loop(io_, [&] { server_->watch_operators_file(path); });
  // A file that does not load: the operators in use stay.
  write("olga operator not-a-hash-at-all and more words\n");
  std::string answer;
  const auto reload_failures = [&] {
    uint64_t n = 0;
    on_loop(io_, [&] { n = server_->stats().operator_reload_failures; });
    return n;
  };
  for (int i = 0; i < 60 && reload_failures() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  answer = request(get("/api/whoami", token_));
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << "a broken operators file changed who may act: " << answer;
  // olga removed (vera only): refused within the watch interval.
  write(fmt::format("vera viewer {}\n", *hash));
  for (int i = 0; i < 60; ++i) {
    answer = request(get("/api/whoami", token_));
    if (answer.rfind("HTTP/1.1 401", 0) == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
  const std::string vera = request(get("/api/whoami", std::string("vera.") + kSecret));
  EXPECT_NE(vera.find("\"operator\":\"vera\",\"role\":\"viewer\""), std::string::npos) << vera;
  stop();
  EXPECT_EQ(server_->stats().operator_reload_failures, 1u);
  EXPECT_EQ(server_->stats().operator_swaps, 1u);
  EXPECT_TRUE(log_.contains("operators file changed but is refused"));
}

// The entity inspector's view (GET /api/entity) is authenticated like every path: no token, a
// wrong one, are refused before the view handler runs; an operator's token reaches it, and its
// status (404: an entity not in the table) is the answer's.
TEST_F(AdminServerTest, TheEntityViewNeedsATokenAndAnswersWithTheViewsStatus) {
  std::vector<uint64_t> asked;  // on the server's thread; read after stop()
  configure_ = [&asked](AdminServer& s) {
    s.set_view_handler([&asked](const OperatorId&, const AdminCall& call) {
      asked.push_back(call.request.entity.value);
      EntityView v;
      v.id = call.request.entity;
      v.known = call.request.entity == EntityId(7);
      v.owner = NodeId(101);
      return entity_json(v, 0);
    });
  };
  start();
  const std::string none = request("GET /api/entity?id=7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(none.rfind("HTTP/1.1 401", 0), 0u) << none;
  const std::string wrong = request(get("/api/entity?id=7", "olga.not-the-secret"));
  EXPECT_EQ(wrong.rfind("HTTP/1.1 401", 0), 0u) << wrong;
  EXPECT_EQ(wrong.find("\"owner\""), std::string::npos) << "nothing of the entity to a wrong token";
  const std::string known = request(get("/api/entity?id=7", token_));
  EXPECT_EQ(known.rfind("HTTP/1.1 200", 0), 0u) << known;
  EXPECT_NE(known.find("\"entity\":7,\"owner\":101"), std::string::npos) << known;
  const std::string unknown = request(get("/api/entity?id=8", token_));
  EXPECT_EQ(unknown.rfind("HTTP/1.1 404", 0), 0u) << unknown;
  EXPECT_NE(unknown.find("entity 8 is not in the table"), std::string::npos) << unknown;
  EXPECT_EQ(request(get("/api/entity?id=0", token_)).rfind("HTTP/1.1 400", 0), 0u) << "0 is no entity";
  EXPECT_EQ(request(get("/api/entity?id=-1", token_)).rfind("HTTP/1.1 400", 0), 0u);
  stop();
  EXPECT_EQ(asked, (std::vector<uint64_t>{7, 8})) << "only authenticated, valid requests reach the view";
  EXPECT_EQ(failures(AuthFailure::kMissing), 1u);
  EXPECT_TRUE(seen_.empty()) << "a view is not a command";
}

// Cross-origin reads: only a peer coordinator's console (set_console_peers) may read this
// listener; its preflight is answered, any other origin's is refused and closed, and answers carry
// the CORS header for a peer's origin only. GET /api/peers names them.
TEST_F(AdminServerTest, OnlyPeerConsolesMayReadAcrossOrigins) {
  configure_ = [](AdminServer& s) { s.set_console_peers({"127.0.0.1:7444"}); };
  start();
  auto preflight = [this](const std::string& origin) {
    return request(fmt::format("OPTIONS /api/nodes HTTP/1.1\r\nHost: x\r\nOrigin: {}\r\nAccess-Control-Request-Method: GET\r\n"
                               "Access-Control-Request-Headers: authorization\r\nConnection: close\r\n\r\n", origin));
  };
  const std::string peer = preflight("https://127.0.0.1:7444");
  EXPECT_EQ(peer.rfind("HTTP/1.1 204", 0), 0u) << peer;
  EXPECT_NE(peer.find("Access-Control-Allow-Origin: https://127.0.0.1:7444"), std::string::npos) << peer;
  EXPECT_NE(peer.find("Access-Control-Allow-Headers: Authorization"), std::string::npos) << peer;
  const std::string other = preflight("https://evil.example");
  EXPECT_EQ(other.rfind("HTTP/1.1 403", 0), 0u) << other;
  EXPECT_EQ(other.find("Access-Control-Allow-Origin"), std::string::npos) << other;
  auto get_from = [this](const std::string& origin) {
    return request(fmt::format("GET /api/peers HTTP/1.1\r\nHost: x\r\nOrigin: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", origin, token_));
  };
  const std::string read = get_from("https://127.0.0.1:7444");
  EXPECT_EQ(read.rfind("HTTP/1.1 200", 0), 0u) << read;
  EXPECT_NE(read.find("Access-Control-Allow-Origin: https://127.0.0.1:7444"), std::string::npos) << read;
  EXPECT_NE(read.find("\"peers\":[\"https://127.0.0.1:7444\"]"), std::string::npos) << read;
  const std::string foreign = get_from("https://127.0.0.1:9999");
  EXPECT_EQ(foreign.find("Access-Control-Allow-Origin"), std::string::npos) << "the browser keeps this answer from a foreign page: " << foreign;
  const std::string page = request("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(page.find("connect-src 'self' https://127.0.0.1:7444;"), std::string::npos) << "the console may read its peer: " << page.substr(0, 600);
  stop();
  EXPECT_EQ(closes("cors_origin"), 1u);
}

TEST_F(AdminServerTest, PlainTcpOnTheTlsPortGetsNoHttpAnswer) {
  start();
  asio::io_context io;
  tcp::socket plain(io);
  plain.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  timeval tv{5, 0};
  ::setsockopt(plain.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  asio::write(plain, asio::buffer(get("/api/nodes", token_)));
  std::string out;
  boost::system::error_code ec;
  char buf[512];
  while (!ec) out.append(buf, plain.read_some(asio::buffer(buf), ec));
  EXPECT_EQ(out.find("HTTP/1.1"), std::string::npos) << out;
  stop();
  EXPECT_EQ(closes("tls_handshake"), 1u);
  EXPECT_TRUE(seen_.empty());
}

}  // namespace
}  // namespace aether::real
