// TLS in the real runtime, over loopback with certificates issued for the test (runtime/real/
// cert_issuer.h): mutual TLS carries frames and reports both peers' identities; a peer certified by
// another CA, a client without a certificate on a mutual port, a server that is not the host dialled,
// TLS below 1.2, a suite without forward secrecy or AEAD, and plain TCP are all refused and counted;
// the handshake deadline closes a silent peer on either side; a revoked certificate fails the
// handshake, and a revocation list read again while running (crl_watch.h) applies to new handshakes
// and established connections, or is refused and leaves the list in force. Every test runs its loop
// for a bounded time.

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include "app/tls_setup.h"
#include "engine/coordinator/coordinator.h"
#include "engine/net/outbound_link.h"
#include "engine/wire/framing.h"
#include "runtime/real/address.h"
#include "runtime/real/cert_issuer.h"
#include "runtime/real/crl_watch.h"
#include "runtime/real/real_runtime.h"

namespace aether::real {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Bytes = std::vector<uint8_t>;
using app::CertDir;

// Two CAs: ours, and another one whose certificates must never pass for ours.
struct Certs {
  CertDir ours;
  CertDir other;
  std::string root;
};

std::string g_certs_root;  // set once certs() made them; removed when the tests end

const Certs& certs() {
  static const Certs c = [] {
    char pattern[] = "/tmp/aether-tls-test-XXXXXX";
    EXPECT_NE(::mkdtemp(pattern), nullptr);
    Certs out{CertDir{std::string(pattern) + "/ours"}, CertDir{std::string(pattern) + "/other"}, pattern};
    const std::vector<std::string> loopback = {"127.0.0.1", "localhost"};
    EXPECT_TRUE(app::issue_cluster(out.ours, {"coordinator-1", "compute-101", "gateway-201", "admin-1"}, loopback, 1).ok());
    // A certificate of our CA for a host that is not loopback, and one whose name is no identity.
    EXPECT_TRUE(issue_certificate(out.ours.ca_cert(), out.ours.ca_key(), CertSubject{"gateway-202", {"10.9.8.7"}, 1},
                                  out.ours.cert("gateway-202"), out.ours.key("gateway-202")).ok());
    EXPECT_TRUE(issue_certificate(out.ours.ca_cert(), out.ours.ca_key(), CertSubject{"player-tool", loopback, 1},
                                  out.ours.cert("player-tool"), out.ours.key("player-tool")).ok());
    EXPECT_TRUE(app::issue_cluster(out.other, {"compute-101", "coordinator-1"}, loopback, 1).ok());
    g_certs_root = out.root;
    return out;
  }();
  return c;
}

class CleanUp : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ignored;
    if (!g_certs_root.empty()) std::filesystem::remove_all(g_certs_root, ignored);
  }
};
[[maybe_unused]] auto* const clean_up = ::testing::AddGlobalTestEnvironment(new CleanUp);

TlsSettings settings(Role role, const CertDir& dir, const std::string& name) {
  auto s = app::tls_settings(role, dir.files(name));
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? *s : TlsSettings{};
}

struct Recorder final : NetworkHandler {
  std::vector<ConnId> accepted, connected;
  std::vector<std::pair<ConnId, CloseReason>> closed;
  std::vector<std::pair<ConnId, Bytes>> messages;
  Network* net = nullptr;
  bool echo = false;
  void on_accepted(ConnId conn, std::string_view) override { accepted.push_back(conn); }
  void on_connected(ConnId conn) override { connected.push_back(conn); }
  void on_message(ConnId conn, std::span<const uint8_t> payload) override {
    messages.emplace_back(conn, Bytes(payload.begin(), payload.end()));
    if (echo) net->send(conn, payload);
  }
  void on_closed(ConnId conn, CloseReason reason) override { closed.emplace_back(conn, reason); }
};

struct Node {
  Node(asio::io_context& io, TlsSettings tls, TimeNs handshake_deadline_ns = kTlsHandshakeDeadlineNs)
      : rt(io, "node", NodeId(1), options(std::move(tls), handshake_deadline_ns)) {
    rec.net = &net();
    net().set_handler(&rec);
  }
  static RealOptions options(TlsSettings tls, TimeNs handshake_deadline_ns) {
    RealOptions o;
    o.log_level = LogLevel::kWarn;
    o.seed = 1;
    o.tls = std::move(tls);
    o.limits.tls_handshake_deadline_ns = handshake_deadline_ns;
    return o;
  }
  Network& net() { return rt.runtime().network; }
  std::string listen() {
    auto bound = net().listen("127.0.0.1:0");
    EXPECT_TRUE(bound.ok());
    return bound.ok() ? *bound : std::string();
  }
  Recorder rec;
  RealRuntime rt;
};

template <class Done>
bool run_until(asio::io_context& io, Done done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(2));
  }
  return done();
}

void run_for_ms(asio::io_context& io, int ms) {
  io.restart();
  io.run_for(std::chrono::milliseconds(ms));
}

tcp::endpoint endpoint_of(const std::string& address) {
  auto e = parse_endpoint(address);
  EXPECT_TRUE(e.ok());
  return e.ok() ? *e : tcp::endpoint{};
}

TEST(RealTls, MutualTlsCarriesFramesAndReportsBothIdentities) {
  asio::io_context io;
  Node server(io, settings(Role::kCoordinator, certs().ours, "coordinator-1"));
  Node client(io, settings(Role::kCompute, certs().ours, "compute-101"));
  server.rec.echo = true;
  const std::string address = server.listen();
  const ConnId conn = client.net().connect(address);
  const Bytes big(200'000, 0x5a);  // many TLS records
  ASSERT_EQ(client.net().send(conn, big), SendStatus::kOk) << "frames sent before the handshake wait for it";
  ASSERT_TRUE(run_until(io, [&] { return client.rec.messages.size() == 1; }));
  EXPECT_EQ(client.rec.messages[0].second, big);
  ASSERT_EQ(server.rec.accepted.size(), 1u);
  EXPECT_EQ(server.net().peer_identity(server.rec.accepted[0]), (PeerIdentity{Role::kCompute, NodeId(101)}));
  EXPECT_EQ(client.net().peer_identity(conn), (PeerIdentity{Role::kCoordinator, NodeId(1)}));
  EXPECT_EQ(server.rt.limit_stats().tls_handshake, 0u);
  EXPECT_EQ(client.rt.limit_stats().tls_handshake, 0u);
  // An orderly close reaches the other side as one.
  client.net().close(conn);
  ASSERT_TRUE(run_until(io, [&] { return !server.rec.closed.empty(); }));
  EXPECT_EQ(server.rec.closed[0].second, CloseReason::kPeerClosed);
}

// A plain network never reports an identity: nothing was verified.
TEST(RealTls, PlainTcpReportsNoIdentity) {
  asio::io_context io;
  Node server(io, {});
  Node client(io, {});
  const ConnId conn = client.net().connect(server.listen());
  ASSERT_TRUE(run_until(io, [&] { return !client.rec.connected.empty() && !server.rec.accepted.empty(); }));
  EXPECT_EQ(client.net().peer_identity(conn), std::nullopt);
  EXPECT_EQ(server.net().peer_identity(server.rec.accepted[0]), std::nullopt);
}

TEST(RealTls, AClientCertifiedByAnotherCaIsRefused) {
  asio::io_context io;
  Node server(io, settings(Role::kCoordinator, certs().ours, "coordinator-1"));
  // The other CA's compute-101, trusting our CA for the server.
  TlsFiles impostor = certs().other.files("compute-101");
  impostor.ca_file = certs().ours.ca_cert();
  auto tls = app::tls_settings(Role::kCompute, impostor);
  ASSERT_TRUE(tls.ok());
  Node client(io, *tls);
  const ConnId conn = client.net().connect(server.listen());
  ASSERT_TRUE(run_until(io, [&] { return !client.rec.closed.empty(); })) << "the impostor's connection stayed up";
  EXPECT_EQ(client.rec.closed[0].first, conn);
  EXPECT_TRUE(server.rec.accepted.empty()) << "the server admitted a certificate of another CA";
  EXPECT_EQ(server.rt.limit_stats().tls_handshake, 1u);
  EXPECT_TRUE(client.rec.messages.empty());
}

TEST(RealTls, AServerCertifiedByAnotherCaIsRefused) {
  asio::io_context io;
  TlsFiles impostor = certs().other.files("coordinator-1");
  impostor.ca_file = certs().ours.ca_cert();
  auto tls = app::tls_settings(Role::kCoordinator, impostor);
  ASSERT_TRUE(tls.ok());
  Node server(io, *tls);
  Node client(io, settings(Role::kCompute, certs().ours, "compute-101"));
  const ConnId conn = client.net().connect(server.listen());
  ASSERT_TRUE(run_until(io, [&] { return !client.rec.closed.empty(); }));
  EXPECT_EQ(client.rec.closed[0], (std::pair{conn, CloseReason::kRefused}));
  EXPECT_TRUE(client.rec.connected.empty()) << "the client took a server of another CA";
  EXPECT_EQ(client.rt.limit_stats().tls_handshake, 1u);
}

TEST(RealTls, AMutualPortRefusesAClientWithoutACertificate) {
  asio::io_context io;
  Node server(io, settings(Role::kCompute, certs().ours, "compute-101"));
  Node client(io, settings(Role::kClient, certs().ours, "compute-101"));  // the CA only, as a player holds
  client.net().connect(server.listen());
  ASSERT_TRUE(run_until(io, [&] { return !client.rec.closed.empty(); }));
  EXPECT_TRUE(server.rec.accepted.empty());
  EXPECT_EQ(server.rt.limit_stats().tls_handshake, 1u);
}

// A verified certificate whose name is no identity gets through the handshake but names no one.
TEST(RealTls, ACertificateWhoseNameIsNoIdentityNamesNoOne) {
  asio::io_context io;
  Node server(io, settings(Role::kCompute, certs().ours, "compute-101"));
  Node client(io, settings(Role::kCompute, certs().ours, "player-tool"));
  client.net().connect(server.listen());
  ASSERT_TRUE(run_until(io, [&] { return !server.rec.accepted.empty(); }));
  EXPECT_EQ(server.net().peer_identity(server.rec.accepted[0]), std::nullopt);
}

// Players check that the gateway is the host they dialled.
TEST(RealTls, AClientRefusesAServerWhoseCertificateNamesAnotherHost) {
  asio::io_context io;
  Node right(io, settings(Role::kGateway, certs().ours, "gateway-201"));
  Node wrong(io, settings(Role::kGateway, certs().ours, "gateway-202"));  // names 10.9.8.7 only
  Node client(io, settings(Role::kClient, certs().ours, ""));
  const ConnId ok = client.net().connect(right.listen());
  const ConnId refused = client.net().connect(wrong.listen());
  ASSERT_TRUE(run_until(io, [&] { return client.rec.connected.size() + client.rec.closed.size() == 2; }));
  EXPECT_EQ(client.rec.connected, std::vector<ConnId>{ok});
  ASSERT_EQ(client.rec.closed.size(), 1u);
  EXPECT_EQ(client.rec.closed[0], (std::pair{refused, CloseReason::kRefused}));
  EXPECT_EQ(client.net().peer_identity(ok), (PeerIdentity{Role::kGateway, NodeId(201)}));
}

// A raw TLS client of our choosing against the gateway's client port: whether the handshake passes.
bool raw_handshake(asio::io_context& io, const std::string& address, int max_version, const char* tls12_ciphers) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  SSL_CTX_set_security_level(ctx.native_handle(), 0);  // let the client offer what we mean to be refused
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx.native_handle(), max_version);
  EXPECT_EQ(SSL_CTX_set_cipher_list(ctx.native_handle(), tls12_ciphers), 1);
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<tcp::socket> stream(io, ctx);
  stream.lowest_layer().connect(endpoint_of(address));
  std::optional<boost::system::error_code> result;
  stream.async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& ec) { result = ec; });
  EXPECT_TRUE(run_until(io, [&] { return result.has_value(); }));
  return result && !*result;
}

TEST(RealTls, OnlyTls12And13WithEcdheAndAeadSuitesAreAccepted) {
  asio::io_context io;
  Node server(io, settings(Role::kGateway, certs().ours, "gateway-201"));
  const std::string address = server.listen();
  // The raw client works: TLS 1.3, and TLS 1.2 with an ECDHE + AEAD suite.
  EXPECT_TRUE(raw_handshake(io, address, TLS1_3_VERSION, "DEFAULT"));
  EXPECT_TRUE(raw_handshake(io, address, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256"));
  EXPECT_EQ(server.rt.limit_stats().tls_handshake, 0u);
  // Refused: TLS 1.1 and 1.0, and TLS 1.2 with a CBC suite or without ECDHE.
  EXPECT_FALSE(raw_handshake(io, address, TLS1_1_VERSION, "DEFAULT"));
  EXPECT_FALSE(raw_handshake(io, address, TLS1_VERSION, "DEFAULT"));
  EXPECT_FALSE(raw_handshake(io, address, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA"));
  EXPECT_FALSE(raw_handshake(io, address, TLS1_2_VERSION, "AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256"));
  run_for_ms(io, 50);
  // Each was refused by the server, not given up by the client before it asked.
  EXPECT_EQ(server.rt.limit_stats().tls_handshake, 4u);
}

TEST(RealTls, PlainTcpOnATlsPortIsRefused) {
  asio::io_context io;
  Node server(io, settings(Role::kGateway, certs().ours, "gateway-201"));
  const std::string address = server.listen();
  tcp::socket raw(io);
  raw.connect(endpoint_of(address));
  Bytes frame;
  append_frame(frame, Bytes{1, 2, 3});
  asio::write(raw, asio::buffer(frame));
  ASSERT_TRUE(run_until(io, [&] { return server.rt.limit_stats().tls_handshake == 1; }));
  EXPECT_TRUE(server.rec.accepted.empty());
  EXPECT_TRUE(server.rec.messages.empty());
}

TEST(RealTls, TheHandshakeDeadlineClosesASilentClient) {
  asio::io_context io;
  constexpr TimeNs kDeadlineNs = 300 * kNsPerMs;
  Node server(io, settings(Role::kCompute, certs().ours, "compute-101"), kDeadlineNs);
  tcp::socket silent(io);
  silent.connect(endpoint_of(server.listen()));
  const auto started = std::chrono::steady_clock::now();
  std::optional<boost::system::error_code> read_end;
  uint8_t byte = 0;
  silent.async_read_some(asio::buffer(&byte, 1), [&](const boost::system::error_code& ec, size_t) { read_end = ec; });
  ASSERT_TRUE(run_until(io, [&] { return read_end.has_value(); }, std::chrono::seconds(5)));
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(*read_end, asio::error::eof) << read_end->message();
  EXPECT_GE(waited, std::chrono::milliseconds(250));
  EXPECT_EQ(server.rt.limit_stats().tls_handshake_deadline, 1u);
  EXPECT_TRUE(server.rec.accepted.empty());
  EXPECT_EQ(server.rt.connections_open(), 0u);
}

TEST(RealTls, TheHandshakeDeadlineRefusesASilentServer) {
  asio::io_context io;
  constexpr TimeNs kDeadlineNs = 300 * kNsPerMs;
  tcp::acceptor mute(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket held(io);
  mute.async_accept(held, [](const boost::system::error_code&) {});  // accepts, never answers
  Node client(io, settings(Role::kCompute, certs().ours, "compute-101"), kDeadlineNs);
  const ConnId conn = client.net().connect(format_endpoint(mute.local_endpoint()));
  ASSERT_TRUE(run_until(io, [&] { return !client.rec.closed.empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(client.rec.closed[0], (std::pair{conn, CloseReason::kRefused}));
  EXPECT_TRUE(client.rec.connected.empty());
  EXPECT_EQ(client.rt.limit_stats().tls_handshake_deadline, 1u);
}

// One address may have at most tls_handshakes_per_address_max handshakes under way: a further
// connection from it is closed at accept and counted; once one of its handshakes ends (here, its
// deadline), the address may open another, and a genuine client then completes its handshake.
TEST(RealTls, HandshakesUnderWayFromOneAddressAreBounded) {
  asio::io_context io;
  RealOptions o = Node::options(settings(Role::kGateway, certs().ours, "gateway-201"), 400 * kNsPerMs);
  o.limits.tls_handshakes_per_address_max = 2;
  RealRuntime server(io, "node", NodeId(1), o);
  Recorder rec;
  rec.net = &server.runtime().network;
  server.runtime().network.set_handler(&rec);
  auto bound = server.runtime().network.listen("127.0.0.1:0");
  ASSERT_TRUE(bound.ok());
  std::vector<std::unique_ptr<tcp::socket>> silent;
  for (int i = 0; i < 2; ++i) {
    silent.push_back(std::make_unique<tcp::socket>(io));
    silent.back()->connect(endpoint_of(*bound));
  }
  run_for_ms(io, 50);  // both accepted, their handshakes waiting for a ClientHello
  EXPECT_EQ(server.limit_stats().tls_handshakes_per_address_limit, 0u);
  tcp::socket third(io);
  third.connect(endpoint_of(*bound));
  std::optional<boost::system::error_code> third_end;
  uint8_t byte = 0;
  third.async_read_some(asio::buffer(&byte, 1), [&](const boost::system::error_code& ec, size_t) { third_end = ec; });
  ASSERT_TRUE(run_until(io, [&] { return third_end.has_value(); }, std::chrono::milliseconds(300)))
      << "a third silent handshake from the same address was taken";
  EXPECT_EQ(server.limit_stats().tls_handshakes_per_address_limit, 1u);
  EXPECT_EQ(server.limit_stats().tls_handshake_deadline, 0u) << "closed at accept, not at the deadline";
  // The two silent ones reach their deadline; the address's handshakes are free again.
  ASSERT_TRUE(run_until(io, [&] { return server.limit_stats().tls_handshake_deadline == 2; }, std::chrono::seconds(5)));
  Node client(io, settings(Role::kClient, certs().ours, ""));  // a player: the CA only
  const ConnId conn = client.net().connect(*bound);
  ASSERT_TRUE(run_until(io, [&] { return !client.rec.connected.empty() || !client.rec.closed.empty(); }));
  EXPECT_EQ(client.rec.connected, std::vector<ConnId>{conn});
  EXPECT_EQ(server.limit_stats().tls_handshakes_per_address_limit, 1u);
}

// End to end: a real coordinator under mutual TLS takes a Hello only as the certificate's identity.
// An impostor holding a genuine certificate of our CA, but another node's, cannot register as
// compute 101; the holder of compute-101's can.
TEST(RealTls, ACoordinatorRefusesAHelloThatIsNotItsCertificatesIdentity) {
  asio::io_context io;
  RealOptions o = Node::options(settings(Role::kCoordinator, certs().ours, "coordinator-1"), kTlsHandshakeDeadlineNs);
  RealRuntime rt(io, "coordinator-1", NodeId(1), o);
  CoordinatorConfig cfg;
  cfg.node = NodeId(1);
  cfg.listen_address = "127.0.0.1:0";
  cfg.identity_required = true;
  Coordinator coordinator(rt.runtime(), cfg);
  coordinator.start();
  ASSERT_FALSE(coordinator.address().empty());
  const auto say_hello = [&](const std::string& cert) {
    auto node = std::make_unique<Node>(io, settings(Role::kCompute, certs().ours, cert));
    const ConnId conn = node->net().connect(coordinator.address());
    EXPECT_EQ(send_server(node->net(), conn, ServerMessage{NodeId(101), Role::kCompute, 0, 0, Hello{Role::kCompute, "127.0.0.1:1", 100, 7, gameplay::content_of(gameplay::Rules{})->hash()}}),
              SendStatus::kOk);
    return std::pair{std::move(node), conn};
  };
  // Named pairs, not structured bindings: Clang 14 cannot capture a binding in a lambda.
  auto impostor = say_hello("admin-1");
  ASSERT_TRUE(run_until(io, [&] { return !impostor.first->rec.closed.empty(); })) << "the impostor stayed connected";
  EXPECT_EQ(coordinator.nodes().count(NodeId(101)), 0u);
  EXPECT_EQ(coordinator.identity_rejections(), 1u);

  auto honest = say_hello("compute-101");
  ASSERT_TRUE(run_until(io, [&] { return coordinator.nodes().count(NodeId(101)) == 1; }));
  run_for_ms(io, 50);
  EXPECT_TRUE(honest.first->rec.closed.empty());
  EXPECT_EQ(coordinator.identity_rejections(), 1u);
  rt.shutdown();
}

// Revocation (`aether cert revoke`, TlsFiles::crl_file): a peer whose certificate the CA's list
// names fails the handshake on a port that loads the list, while the same CA's other certificates
// pass; the list grows without losing what it revoked; a list another CA signed is refused at start.
TEST(RealTls, ARevokedCertificateFailsTheHandshake) {
  const CertDir dir{certs().root + "/revoking"};
  const std::vector<std::string> loopback = {"127.0.0.1", "localhost"};
  ASSERT_TRUE(app::issue_cluster(dir, {"coordinator-1", "compute-101", "compute-102", "compute-103"}, loopback, 1).ok());
  ASSERT_TRUE(revoke_certificates(dir.ca_cert(), dir.ca_key(), {dir.cert("compute-102")}, dir.crl(), 1).ok());
  // Grown: 103 joins 102, which stays revoked.
  ASSERT_TRUE(revoke_certificates(dir.ca_cert(), dir.ca_key(), {dir.cert("compute-103")}, dir.crl(), 1).ok());
  TlsFiles server_files = dir.files("coordinator-1");
  server_files.crl_file = dir.crl();
  auto server_tls = app::tls_settings(Role::kCoordinator, server_files);
  ASSERT_TRUE(server_tls.ok()) << server_tls.error().message;
  asio::io_context io;
  Node server(io, *server_tls);
  const std::string address = server.listen();
  auto attempt = [&](const std::string& name) {
    auto node = std::make_unique<Node>(io, settings(Role::kCompute, dir, name));
    const ConnId conn = node->net().connect(address);
    EXPECT_TRUE(run_until(io, [&] { return !node->rec.connected.empty() || !node->rec.closed.empty(); }));
    run_for_ms(io, 50);  // a refusal after the client's side of the handshake finished reaches it now
    const bool up = !node->rec.connected.empty() && node->rec.closed.empty();
    node->net().close(conn);
    run_for_ms(io, 20);
    return up;
  };
  EXPECT_TRUE(attempt("compute-101"));
  EXPECT_FALSE(attempt("compute-102")) << "a revoked certificate passed";
  EXPECT_FALSE(attempt("compute-103")) << "a certificate revoked by a later list passed";
  EXPECT_EQ(server.rec.accepted.size(), 1u);
  EXPECT_EQ(server.rt.limit_stats().tls_handshake, 2u);
  // The revoking CA's list under another CA, and an unknown certificate to revoke: refused.
  TlsFiles wrong = certs().ours.files("coordinator-1");
  wrong.crl_file = dir.crl();
  auto refused = make_tls_context(TlsSide::kServerMutual, wrong);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("not signed by the CA"), std::string::npos) << refused.error().message;
  EXPECT_FALSE(revoke_certificates(dir.ca_cert(), dir.ca_key(), {certs().other.cert("compute-101")}, dir.crl(), 1).ok());
}

// Whether a fresh compute node with `name`'s certificate completes a handshake with `address`
// (and is not refused just after: a server's refusal reaches the client once its side finished).
bool handshakes(asio::io_context& io, const CertDir& dir, const std::string& name, const std::string& address) {
  Node node(io, settings(Role::kCompute, dir, name));
  const ConnId conn = node.net().connect(address);
  EXPECT_TRUE(run_until(io, [&] { return !node.rec.connected.empty() || !node.rec.closed.empty(); }));
  run_for_ms(io, 50);
  const bool up = !node.rec.connected.empty() && node.rec.closed.empty();
  node.net().close(conn);
  run_for_ms(io, 20);
  return up;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Written whole, then renamed into place, as `aether cert revoke` does: a network looking at the
// file meanwhile never reads half of it.
void write_file(const std::string& path, const std::string& bytes) {
  {
    std::ofstream out(path + ".tmp", std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  std::filesystem::rename(path + ".tmp", path);
}

// A list the CA signed whose next update passed a day ago (`aether cert revoke` never writes one).
std::string out_of_date_list(const CertDir& dir) {
  FILE* f = std::fopen(dir.ca_cert().c_str(), "r");
  X509* ca = f ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
  if (f) std::fclose(f);
  f = std::fopen(dir.ca_key().c_str(), "r");
  EVP_PKEY* key = f ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr) : nullptr;
  if (f) std::fclose(f);
  X509_CRL* crl = X509_CRL_new();
  ASN1_TIME* last = ASN1_TIME_new();
  ASN1_TIME* next = ASN1_TIME_new();
  std::string out;
  if (ca && key && crl && last && next && X509_CRL_set_version(crl, 1) == 1 && X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) == 1 &&
      X509_gmtime_adj(last, -2 * 86400) && X509_gmtime_adj(next, -86400) && X509_CRL_set1_lastUpdate(crl, last) == 1 &&
      X509_CRL_set1_nextUpdate(crl, next) == 1 && X509_CRL_sign(crl, key, EVP_sha256()) > 0) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_CRL(bio, crl);
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(size));
    BIO_free(bio);
  }
  ASN1_TIME_free(last);
  ASN1_TIME_free(next);
  X509_CRL_free(crl);
  EVP_PKEY_free(key);
  X509_free(ca);
  EXPECT_FALSE(out.empty());
  return out;
}

// Revocation without a restart (runtime/real/crl_watch.h): a server whose list is read again
// (SIGHUP's path, RealRuntime::request_revocations_reload) refuses a certificate revoked since it
// started, closes the connection that certificate already held, and lets the CA's others in; a file
// that is no PEM list is refused and the list in force stays.
TEST(RealTls, ARevocationListReadAgainRefusesACertificateRevokedSinceStart) {
  const CertDir dir{certs().root + "/reloading"};
  ASSERT_TRUE(app::issue_cluster(dir, {"coordinator-1", "compute-101", "compute-102"}, {"127.0.0.1", "localhost"}, 1).ok());
  ASSERT_TRUE(revoke_certificates(dir.ca_cert(), dir.ca_key(), {}, dir.crl(), 1).ok());  // empty: nothing revoked yet
  TlsFiles server_files = dir.files("coordinator-1");
  server_files.crl_file = dir.crl();
  auto server_tls = app::tls_settings(Role::kCoordinator, server_files);
  ASSERT_TRUE(server_tls.ok()) << server_tls.error().message;
  ASSERT_NE(server_tls->revocations, nullptr);
  asio::io_context io;
  Node server(io, *server_tls);
  const std::string address = server.listen();
  // compute-102 holds a connection from before its revocation.
  Node held(io, settings(Role::kCompute, dir, "compute-102"));
  const ConnId held_conn = held.net().connect(address);
  ASSERT_TRUE(run_until(io, [&] { return !held.rec.connected.empty() && server.rec.accepted.size() == 1; }));
  const ConnId held_at_server = server.rec.accepted[0];
  EXPECT_TRUE(handshakes(io, dir, "compute-102", address));

  ASSERT_TRUE(revoke_certificates(dir.ca_cert(), dir.ca_key(), {dir.cert("compute-102")}, dir.crl(), 1).ok());
  EXPECT_TRUE(handshakes(io, dir, "compute-102", address)) << "the list in force changed before it was read again";
  server.rt.request_revocations_reload();
  ASSERT_TRUE(run_until(io, [&] { return !held.rec.closed.empty(); })) << "the revoked peer's connection stayed up";
  EXPECT_EQ(held.rec.closed[0].first, held_conn);
  EXPECT_NE(std::find(server.rec.closed.begin(), server.rec.closed.end(), std::pair{held_at_server, CloseReason::kReset}), server.rec.closed.end())
      << "the server did not close the revoked peer's connection as broken";
  EXPECT_EQ(server.rt.limit_stats().tls_peer_revoked, 1u);
  EXPECT_EQ(server.rt.revocations()->stats().loaded, 1u);
  EXPECT_EQ(server.rt.revocations()->entries(), 1u);
  const uint64_t failed_before = server.rt.limit_stats().tls_handshake;
  EXPECT_FALSE(handshakes(io, dir, "compute-102", address)) << "a certificate revoked since start passed";
  EXPECT_EQ(server.rt.limit_stats().tls_handshake, failed_before + 1);
  EXPECT_TRUE(handshakes(io, dir, "compute-101", address));

  // Garbage where the list was: refused, counted; the list in force (102 revoked) stays.
  write_file(dir.crl(), "-----BEGIN X509 CRL-----\nnot a list\n-----END X509 CRL-----\n");
  server.rt.request_revocations_reload();
  run_for_ms(io, 20);
  EXPECT_EQ(server.rt.revocations()->stats().refused, 1u);
  EXPECT_EQ(server.rt.revocations()->stats().loaded, 1u);
  EXPECT_TRUE(handshakes(io, dir, "compute-101", address)) << "a refused file took the list in force with it";
  EXPECT_FALSE(handshakes(io, dir, "compute-102", address)) << "a refused file undid a revocation";
  EXPECT_EQ(server.rt.limit_stats().tls_peer_revoked, 1u);
}

// What a list read again must be, else it is refused and the list in force stays: not older than
// the one in force (a lower CRL number; an old file put back would undo revocations), the CA's, not
// past its next update, at most kCrlFileBytesMax bytes. Each refusal is counted once per change of
// the file, and the file is looked at on the network's own timer (no SIGHUP here): a changed file
// is read within an interval, an unchanged one is not read again.
TEST(RealTls, ARevocationListReadAgainMustBeNewerValidAndTheCas) {
  const CertDir dir{certs().root + "/refusing"};
  ASSERT_TRUE(app::issue_cluster(dir, {"coordinator-1", "compute-101", "compute-102", "compute-103"}, {"127.0.0.1", "localhost"}, 1).ok());
  ASSERT_TRUE(revoke_certificates(dir.ca_cert(), dir.ca_key(), {dir.cert("compute-102")}, dir.crl(), 1).ok());
  const std::string first = read_file(dir.crl());
  TlsFiles server_files = dir.files("coordinator-1");
  server_files.crl_file = dir.crl();
  auto server_tls = app::tls_settings(Role::kCoordinator, server_files);
  ASSERT_TRUE(server_tls.ok()) << server_tls.error().message;
  asio::io_context io;
  RealOptions o = Node::options(*server_tls, kTlsHandshakeDeadlineNs);
  constexpr TimeNs kIntervalNs = 50 * kNsPerMs;
  o.limits.crl_check_interval_ns = kIntervalNs;
  RealRuntime server(io, "coordinator-1", NodeId(1), o);
  Recorder rec;
  rec.net = &server.runtime().network;
  server.runtime().network.set_handler(&rec);
  auto bound = server.runtime().network.listen("127.0.0.1:0");
  ASSERT_TRUE(bound.ok());
  const CrlWatch& watch = *server.revocations();
  auto stats_after_a_while = [&] {
    run_for_ms(io, 4 * kIntervalNs / kNsPerMs);
    return std::pair{watch.stats().loaded, watch.stats().refused};
  };
  EXPECT_EQ(stats_after_a_while(), (std::pair{uint64_t{0}, uint64_t{0}})) << "an unchanged file was read again";

  // A newer list (103 too), found by the timer.
  ASSERT_TRUE(revoke_certificates(dir.ca_cert(), dir.ca_key(), {dir.cert("compute-103")}, dir.crl(), 1).ok());
  EXPECT_EQ(stats_after_a_while(), (std::pair{uint64_t{1}, uint64_t{0}}));
  EXPECT_FALSE(handshakes(io, dir, "compute-103", *bound));
  const std::string second = read_file(dir.crl());
  // The first list again (CRL number 1 under 2): older, refused, once.
  write_file(dir.crl(), first);
  EXPECT_EQ(stats_after_a_while(), (std::pair{uint64_t{1}, uint64_t{1}}));
  // Another CA's list.
  const std::string foreign = certs().root + "/refusing-other-crl.pem";
  ASSERT_TRUE(revoke_certificates(certs().other.ca_cert(), certs().other.ca_key(), {}, foreign, 1).ok());
  write_file(dir.crl(), read_file(foreign));
  EXPECT_EQ(stats_after_a_while(), (std::pair{uint64_t{1}, uint64_t{2}}));
  // Our CA's, but past its next update.
  write_file(dir.crl(), out_of_date_list(dir));
  EXPECT_EQ(stats_after_a_while(), (std::pair{uint64_t{1}, uint64_t{3}}));
  // Too large to be read.
  write_file(dir.crl(), std::string(kCrlFileBytesMax + 1, 'x'));
  EXPECT_EQ(stats_after_a_while(), (std::pair{uint64_t{1}, uint64_t{4}}));
  // Gone.
  std::filesystem::remove(dir.crl());
  EXPECT_EQ(stats_after_a_while(), (std::pair{uint64_t{1}, uint64_t{5}}));
  // Through all of it the second list stayed in force.
  EXPECT_EQ(watch.entries(), 2u);
  EXPECT_FALSE(handshakes(io, dir, "compute-102", *bound));
  EXPECT_FALSE(handshakes(io, dir, "compute-103", *bound));
  EXPECT_TRUE(handshakes(io, dir, "compute-101", *bound));
  // The list in force put back and issued again (`aether cert revoke` without a name: CRL number 3): taken.
  const std::string third = certs().root + "/refusing-third-crl.pem";
  write_file(third, second);
  ASSERT_TRUE(revoke_certificates(dir.ca_cert(), dir.ca_key(), {}, third, 1).ok());
  write_file(dir.crl(), read_file(third));
  EXPECT_EQ(stats_after_a_while(), (std::pair{uint64_t{2}, uint64_t{5}}));
  EXPECT_EQ(watch.entries(), 2u);
  EXPECT_EQ(server.limit_stats().tls_peer_revoked, 0u);  // no connection was up
  server.shutdown();
}

TEST(RealTls, ContextsRefuseMissingOrMismatchedFiles) {
  const CertDir& dir = certs().ours;
  EXPECT_FALSE(make_tls_context(TlsSide::kServerMutual, TlsFiles{dir.cert("compute-101"), dir.key("compute-101"), "", ""}).ok());
  EXPECT_FALSE(make_tls_context(TlsSide::kServer, TlsFiles{dir.cert("compute-101"), "", "", ""}).ok());
  EXPECT_FALSE(make_tls_context(TlsSide::kServer, TlsFiles{dir.cert("compute-101"), dir.key("gateway-201"), "", ""}).ok());
  EXPECT_FALSE(make_tls_context(TlsSide::kClient, TlsFiles{"", "", dir.dir + "/missing.pem", ""}).ok());
  EXPECT_TRUE(make_tls_context(TlsSide::kClient, TlsFiles{"", "", dir.ca_cert(), ""}).ok());
  auto id = certificate_identity(dir.cert("admin-1"));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, (PeerIdentity{Role::kAdmin, NodeId(1)}));
  EXPECT_FALSE(certificate_identity(dir.cert("player-tool")).ok());
}

}  // namespace
}  // namespace aether::real
