// TcpNetwork over loopback: ordering, reassembly of frames cut by TCP, hostile peers (oversize and
// truncated frames) closed without disturbing others, refusal, backpressure, close and shutdown.
// Every test runs the io_context for a bounded time.

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "app/trace_command.h"
#include "engine/core/hash.h"
#include "engine/wire/framing.h"
#include "runtime/real/address.h"
#include "runtime/real/real_runtime.h"

namespace aether::real {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Bytes = std::vector<uint8_t>;

struct Event {
  enum Kind { kAccepted, kConnected, kMessage, kClosed } kind;
  ConnId conn = 0;
  Bytes payload;
  CloseReason reason = CloseReason::kLocal;
};

// Records every callback; optional hooks let a test act from inside one.
struct Recorder final : NetworkHandler {
  std::vector<Event> events;
  std::function<void(ConnId, std::span<const uint8_t>)> on_message_hook;
  std::function<void(ConnId)> on_accepted_hook;

  void on_accepted(ConnId conn, std::string_view) override {
    events.push_back({Event::kAccepted, conn, {}, {}});
    if (on_accepted_hook) on_accepted_hook(conn);
  }
  void on_connected(ConnId conn) override { events.push_back({Event::kConnected, conn, {}, {}}); }
  void on_message(ConnId conn, std::span<const uint8_t> payload) override {
    events.push_back({Event::kMessage, conn, Bytes(payload.begin(), payload.end()), {}});
    if (on_message_hook) on_message_hook(conn, payload);
  }
  void on_closed(ConnId conn, CloseReason reason) override { events.push_back({Event::kClosed, conn, {}, reason}); }

  size_t count(Event::Kind kind, ConnId conn = 0) const {
    size_t n = 0;
    for (const auto& e : events) n += e.kind == kind && (conn == 0 || e.conn == conn);
    return n;
  }
  std::vector<Bytes> messages(ConnId conn) const {
    std::vector<Bytes> out;
    for (const auto& e : events) {
      if (e.kind == Event::kMessage && e.conn == conn) out.push_back(e.payload);
    }
    return out;
  }
  std::optional<CloseReason> closed(ConnId conn) const {
    for (const auto& e : events) {
      if (e.kind == Event::kClosed && e.conn == conn) return e.reason;
    }
    return std::nullopt;
  }
  ConnId nth_accepted(size_t n) const {
    for (const auto& e : events) {
      if (e.kind == Event::kAccepted && n-- == 0) return e.conn;
    }
    return 0;
  }
};

RealOptions options() {
  RealOptions o;
  o.log_level = LogLevel::kInfo;
  o.seed = 1;
  return o;
}

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

Bytes numbered(uint32_t n, size_t size) {
  Bytes b(std::max<size_t>(size, 4), static_cast<uint8_t>(n));
  std::memcpy(b.data(), &n, sizeof n);
  return b;
}

uint32_t number_of(const Bytes& b) {
  uint32_t n = 0;
  std::memcpy(&n, b.data(), sizeof n);
  return n;
}

// A component on one RealRuntime with a Recorder as its handler.
struct Node {
  Node(asio::io_context& io, std::string name, uint32_t id) : rt(io, std::move(name), NodeId{id}, options()) {
    net().set_handler(&rec);
  }
  Network& net() { return rt.runtime().network; }
  std::string listen() {
    Result<std::string> bound = net().listen("127.0.0.1:0");
    EXPECT_TRUE(bound.ok());
    return bound.ok() ? *bound : std::string();
  }
  Recorder rec;
  RealRuntime rt;
};

// A blocking raw socket, to play a peer that does not follow the rules.
tcp::socket raw_connect(asio::io_context& io, const std::string& address) {
  Result<tcp::endpoint> endpoint = parse_endpoint(address);
  EXPECT_TRUE(endpoint.ok());
  tcp::socket s(io);
  s.connect(*endpoint);
  return s;
}

void echo_everything(Node& server) {
  server.rec.on_message_hook = [&server](ConnId conn, std::span<const uint8_t> payload) {
    EXPECT_EQ(server.net().send(conn, payload), SendStatus::kOk);
  };
}

TEST(RealNetwork, TwoRuntimesExchangeMessagesInOrder) {
  asio::io_context io;
  Node server(io, "server", 1);
  Node client(io, "client", 2);
  echo_everything(server);
  const std::string address = server.listen();
  const ConnId conn = client.net().connect(address);
  EXPECT_TRUE(client.rec.events.empty());  // nothing is reported from inside connect()
  constexpr uint32_t kMessages = 500;
  // Sent before the connection exists: queued, then flushed in order.
  for (uint32_t i = 0; i < kMessages; ++i) ASSERT_EQ(client.net().send(conn, numbered(i, i * 37 % 3000)), SendStatus::kOk);
  ASSERT_TRUE(run_until(io, [&] { return client.rec.count(Event::kMessage) == kMessages; }));
  EXPECT_EQ(client.rec.count(Event::kConnected, conn), 1u);
  const std::vector<Bytes> got = client.rec.messages(conn);
  for (uint32_t i = 0; i < kMessages; ++i) {
    ASSERT_EQ(number_of(got[i]), i);
    ASSERT_EQ(got[i], numbered(i, i * 37 % 3000));
  }
  EXPECT_EQ(server.rt.connections_open(), 1u);
  EXPECT_EQ(client.rt.connections_open(), 1u);
  EXPECT_EQ(client.rt.bytes_sent(), server.rt.bytes_received());
  EXPECT_GT(client.rt.bytes_received(), 0u);
}

TEST(RealNetwork, FrameWrittenInSmallPiecesArrivesWhole) {
  asio::io_context io;
  Node server(io, "server", 1);
  const std::string address = server.listen();
  tcp::socket raw = raw_connect(io, address);
  Bytes frame;
  append_frame(frame, numbered(42, 1000));
  constexpr size_t kPiece = 7;
  for (size_t at = 0; at < frame.size(); at += kPiece) {
    asio::write(raw, asio::buffer(frame.data() + at, std::min(kPiece, frame.size() - at)));
    run_for_ms(io, 1);  // the server reads each piece separately
  }
  ASSERT_TRUE(run_until(io, [&] { return server.rec.count(Event::kMessage) == 1; }));
  const ConnId conn = server.rec.nth_accepted(0);
  EXPECT_EQ(server.rec.messages(conn).at(0), numbered(42, 1000));
  raw.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(run_until(io, [&] { return server.rec.closed(conn).has_value(); }));
  EXPECT_EQ(*server.rec.closed(conn), CloseReason::kPeerClosed);
  EXPECT_EQ(server.rec.count(Event::kMessage), 1u);
}

TEST(RealNetwork, OversizeFrameClosesOnlyThatConnection) {
  asio::io_context io;
  Node server(io, "server", 1);
  Node client(io, "client", 2);
  echo_everything(server);
  const std::string address = server.listen();
  const ConnId good = client.net().connect(address);
  ASSERT_EQ(client.net().send(good, numbered(1, 10)), SendStatus::kOk);
  ASSERT_TRUE(run_until(io, [&] { return client.rec.count(Event::kMessage) == 1; }));

  tcp::socket raw = raw_connect(io, address);
  const uint8_t evil[] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8};
  asio::write(raw, asio::buffer(evil));
  ASSERT_TRUE(run_until(io, [&] { return server.rec.count(Event::kClosed) == 1; }));
  const ConnId bad = server.rec.nth_accepted(1);
  EXPECT_EQ(server.rec.closed(bad), CloseReason::kFraming);
  EXPECT_TRUE(server.rec.messages(bad).empty());
  // The raw peer sees its connection end.
  uint8_t buf[16];
  boost::system::error_code ec;
  raw.read_some(asio::buffer(buf), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();

  ASSERT_EQ(client.net().send(good, numbered(2, 10)), SendStatus::kOk);
  ASSERT_TRUE(run_until(io, [&] { return client.rec.count(Event::kMessage) == 2; }));
  EXPECT_EQ(number_of(client.rec.messages(good).at(1)), 2u);
  EXPECT_FALSE(client.rec.closed(good).has_value());
  EXPECT_EQ(server.rt.connections_open(), 1u);
}

TEST(RealNetwork, TruncatedFrameThenEofIsFraming) {
  asio::io_context io;
  Node server(io, "server", 1);
  const std::string address = server.listen();
  tcp::socket raw = raw_connect(io, address);
  const uint8_t partial[] = {0, 0, 0, 100, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  asio::write(raw, asio::buffer(partial));
  run_for_ms(io, 5);
  raw.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(run_until(io, [&] { return server.rec.count(Event::kClosed) == 1; }));
  EXPECT_EQ(server.rec.closed(server.rec.nth_accepted(0)), CloseReason::kFraming);
  EXPECT_EQ(server.rec.count(Event::kMessage), 0u);
}

TEST(RealNetwork, ConnectToClosedPortIsRefused) {
  asio::io_context io;
  Node client(io, "client", 2);
  tcp::acceptor probe(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const std::string address = format_endpoint(probe.local_endpoint());
  probe.close();
  const ConnId conn = client.net().connect(address);
  EXPECT_NE(conn, 0u);
  EXPECT_TRUE(client.rec.events.empty());
  EXPECT_EQ(client.net().send(conn, numbered(1, 4)), SendStatus::kOk);  // queued while connecting
  ASSERT_TRUE(run_until(io, [&] { return client.rec.closed(conn).has_value(); }));
  EXPECT_EQ(*client.rec.closed(conn), CloseReason::kRefused);
  EXPECT_EQ(client.rec.count(Event::kConnected), 0u);
  EXPECT_EQ(client.net().send(conn, numbered(1, 4)), SendStatus::kClosed);
  EXPECT_EQ(client.rt.connections_open(), 0u);
}

TEST(RealNetwork, MalformedAddressIsRefusedLater) {
  asio::io_context io;
  Node client(io, "client", 2);
  for (const char* address : {"nonsense", "host.example:80", "127.0.0.1:99999", "127.0.0.1:", ":80"}) {
    const ConnId conn = client.net().connect(address);
    EXPECT_TRUE(client.rec.events.empty());
    ASSERT_TRUE(run_until(io, [&] { return client.rec.closed(conn).has_value(); })) << address;
    EXPECT_EQ(*client.rec.closed(conn), CloseReason::kRefused);
    client.rec.events.clear();
  }
  EXPECT_FALSE(client.net().listen("nonsense").ok());
}

TEST(RealNetwork, BackpressureWhenPeerDoesNotRead) {
  asio::io_context io;
  Node client(io, "client", 2);
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const ConnId conn = client.net().connect(format_endpoint(acceptor.local_endpoint()));
  ASSERT_TRUE(run_until(io, [&] { return client.rec.count(Event::kConnected) == 1; }));
  tcp::socket peer = acceptor.accept();  // and then does not read

  EXPECT_EQ(client.net().send(conn, Bytes(kFrameBytesMax + 1)), SendStatus::kTooLarge);
  constexpr size_t kPayload = 64 << 10;
  constexpr uint32_t kSendsMax = 4000;  // far more than kernel buffers + kSendBufferBytesMax hold
  uint32_t accepted = 0;
  bool refused = false;
  while (accepted < kSendsMax && !refused) {
    const SendStatus s = client.net().send(conn, numbered(accepted, kPayload));
    if (s == SendStatus::kOk) ++accepted;
    refused = s == SendStatus::kBackpressure;
    ASSERT_TRUE(s == SendStatus::kOk || s == SendStatus::kBackpressure);
    run_for_ms(io, 0);
    io.poll();  // let writes reach the kernel until its buffers are full too
  }
  ASSERT_TRUE(refused);
  EXPECT_GE(uint64_t{accepted} * kPayload, kSendBufferBytesMax - kPayload);

  // Now read: exactly the accepted frames arrive, in order, and nothing of the refused one.
  peer.non_blocking(true);
  FrameDecoder decoder(kFrameBytesMax);
  uint32_t seen = 0;
  std::vector<uint8_t> buf(256 << 10);
  ASSERT_TRUE(run_until(io, [&] {
    boost::system::error_code ec;
    const size_t n = peer.read_some(asio::buffer(buf), ec);
    if (!ec) {
      EXPECT_TRUE(decoder.feed(std::span<const uint8_t>(buf.data(), n)));
    }
    while (decoder.has_frame()) {
      EXPECT_EQ(number_of(decoder.take()), seen++);
    }
    return seen >= accepted;
  }));
  EXPECT_EQ(seen, accepted);
  run_for_ms(io, 20);
  boost::system::error_code ec;
  peer.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::would_block);
  EXPECT_EQ(client.net().send(conn, numbered(0, 10)), SendStatus::kOk);  // room again
}

TEST(RealNetwork, HandlerClosingInsideOnMessageStopsDelivery) {
  asio::io_context io;
  Node server(io, "server", 1);
  Node client(io, "client", 2);
  server.rec.on_message_hook = [&server](ConnId conn, std::span<const uint8_t>) { server.net().close(conn); };
  const std::string address = server.listen();
  tcp::socket raw = raw_connect(io, address);
  Bytes three;
  for (uint32_t i = 0; i < 3; ++i) append_frame(three, numbered(i, 8));
  asio::write(raw, asio::buffer(three));  // one write: the frames arrive in one read
  ASSERT_TRUE(run_until(io, [&] { return server.rec.count(Event::kMessage) >= 1 && server.rt.connections_open() == 0; }));
  run_for_ms(io, 20);
  EXPECT_EQ(server.rec.count(Event::kMessage), 1u);
  EXPECT_EQ(server.rec.count(Event::kClosed), 0u);  // a local close reports nothing
  // The peer sees an orderly end (the server drained instead of resetting).
  uint8_t buf[16];
  boost::system::error_code ec;
  raw.read_some(asio::buffer(buf), ec);
  EXPECT_EQ(ec, asio::error::eof);
}

TEST(RealNetwork, CloseFlushesQueuedFramesEvenBeforeConnected) {
  asio::io_context io;
  Node server(io, "server", 1);
  Node client(io, "client", 2);
  const std::string address = server.listen();
  const ConnId conn = client.net().connect(address);
  constexpr uint32_t kMessages = 100;
  for (uint32_t i = 0; i < kMessages; ++i) ASSERT_EQ(client.net().send(conn, numbered(i, 100)), SendStatus::kOk);
  client.net().close(conn);
  EXPECT_EQ(client.net().send(conn, numbered(0, 4)), SendStatus::kClosed);
  ASSERT_TRUE(run_until(io, [&] { return server.rec.count(Event::kClosed) == 1; }));
  const ConnId accepted = server.rec.nth_accepted(0);
  EXPECT_EQ(server.rec.messages(accepted).size(), kMessages);
  EXPECT_EQ(server.rec.closed(accepted), CloseReason::kPeerClosed);
  EXPECT_TRUE(client.rec.events.empty());
}

TEST(RealNetwork, ServerCloseIsSeenAsPeerClosed) {
  asio::io_context io;
  Node server(io, "server", 1);
  Node client(io, "client", 2);
  server.rec.on_accepted_hook = [&server](ConnId conn) {
    EXPECT_EQ(server.net().send(conn, numbered(7, 20)), SendStatus::kOk);
    server.net().close(conn);
  };
  const ConnId conn = client.net().connect(server.listen());
  ASSERT_TRUE(run_until(io, [&] { return client.rec.closed(conn).has_value(); }));
  EXPECT_EQ(*client.rec.closed(conn), CloseReason::kPeerClosed);
  EXPECT_EQ(client.rec.messages(conn).size(), 1u);
  EXPECT_EQ(server.rec.count(Event::kClosed), 0u);
}

TEST(RealNetwork, ShutdownWithOperationsPendingIsSilent) {
  asio::io_context io;
  Node server(io, "server", 1);
  auto client = std::make_unique<Node>(io, "client", 2);
  echo_everything(server);
  const std::string address = server.listen();
  const ConnId conn = client->net().connect(address);
  ASSERT_TRUE(run_until(io, [&] { return client->rec.count(Event::kConnected) == 1; }));
  for (uint32_t i = 0; i < 50; ++i) ASSERT_EQ(client->net().send(conn, numbered(i, 5000)), SendStatus::kOk);
  server.rt.shutdown();
  const size_t server_events = server.rec.events.size();
  EXPECT_EQ(server.net().send(server.rec.nth_accepted(0), numbered(0, 4)), SendStatus::kClosed);
  EXPECT_FALSE(server.net().listen("127.0.0.1:0").ok());
  EXPECT_EQ(server.rt.connections_open(), 0u);
  // The client sees the server go away, then is destroyed with its own operations in flight.
  ASSERT_TRUE(run_until(io, [&] { return client->rec.closed(conn).has_value(); }));
  client->net().connect(address);
  client.reset();
  run_for_ms(io, 50);
  EXPECT_EQ(server.rec.events.size(), server_events);
}

TEST(RealNetwork, RuntimeDestroyedInsideOnMessage) {
  asio::io_context io;
  auto server = std::make_unique<Node>(io, "server", 1);
  Node client(io, "client", 2);
  server->rec.on_message_hook = [&server](ConnId, std::span<const uint8_t>) { server.reset(); };
  const ConnId conn = client.net().connect(server->listen());
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(client.net().send(conn, numbered(i, 8)), SendStatus::kOk);
  ASSERT_TRUE(run_until(io, [&] { return server == nullptr; }));
  ASSERT_TRUE(run_until(io, [&] { return client.rec.closed(conn).has_value(); }));
}

TEST(RealNetwork, ListenAddressForms) {
  asio::io_context io;
  Node server(io, "server", 1);
  Result<std::string> local = server.net().listen("localhost:0");
  ASSERT_TRUE(local.ok()) << local.error().message;
  EXPECT_EQ(local->rfind("127.0.0.1:", 0), 0u) << *local;
  EXPECT_NE(*local, "127.0.0.1:0");
  Result<std::string> v6 = server.net().listen("[::1]:0");
  if (v6.ok()) {
    EXPECT_EQ(v6->rfind("[::1]:", 0), 0u) << *v6;
    Node client(io, "client", 2);
    const ConnId conn = client.net().connect(*v6);
    ASSERT_TRUE(run_until(io, [&] { return client.rec.count(Event::kConnected, conn) == 1; }));
  }
  Result<std::string> taken = server.net().listen(*local);  // reuse_address does not allow two listeners
  EXPECT_FALSE(taken.ok());
}

TEST(RealNetwork, ConnectionLimitRefusesExtraPeers) {
  asio::io_context io;
  Node host(io, "host", 1);  // lends its logger
  SteadyClock clock;
  RealTraceSink trace(clock, NodeId{1}, nullptr);
  Recorder rec;
  auto net = std::make_shared<TcpNetwork>(io, host.rt.runtime().log, trace, TcpLimits{2});
  net->set_handler(&rec);
  Result<std::string> address = net->listen("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  Node client(io, "client", 2);
  std::vector<ConnId> conns;
  for (int i = 0; i < 3; ++i) conns.push_back(client.net().connect(*address));
  // Two are accepted; the third is accepted by the kernel, then closed by us at once.
  ASSERT_TRUE(run_until(io, [&] { return client.rec.count(Event::kClosed) == 1 && rec.count(Event::kAccepted) == 2; }));
  run_for_ms(io, 20);
  EXPECT_EQ(rec.count(Event::kAccepted), 2u);
  EXPECT_EQ(net->connections_open(), 2u);
  // Outbound connects count against the same limit.
  const ConnId extra = net->connect(*address);
  ASSERT_TRUE(run_until(io, [&] { return rec.closed(extra).has_value(); }));
  EXPECT_EQ(*rec.closed(extra), CloseReason::kRefused);
  net->shutdown();
}

// One remote address holds at most inbound_per_address_max inbound connections: the next is closed at
// accept (counted); another address is not affected, and a connection that ends gives its slot back.
TEST(RealNetwork, PerAddressLimitRefusesTheExtraConnectionsOfOneAddressOnly) {
  asio::io_context io;
  Node host(io, "host", 1);  // lends its logger
  SteadyClock clock;
  RealTraceSink trace(clock, NodeId{1}, nullptr);
  Recorder rec;
  TcpLimits limits;
  limits.inbound_per_address_max = 2;
  auto net = std::make_shared<TcpNetwork>(io, host.rt.runtime().log, trace, limits);
  net->set_handler(&rec);
  Result<std::string> address = net->listen("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  std::vector<tcp::socket> from_one;
  for (int i = 0; i < 3; ++i) from_one.push_back(raw_connect(io, *address));
  ASSERT_TRUE(run_until(io, [&] { return net->limit_stats().per_address_limit == 1 && rec.count(Event::kAccepted) == 2; }));
  // Another address of the loopback network (127.0.0.2) is not counted with the first.
  const Result<tcp::endpoint> server = parse_endpoint(*address);
  ASSERT_TRUE(server.ok());
  tcp::socket other(io);
  other.open(tcp::v4());
  other.bind(tcp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
  other.connect(*server);
  ASSERT_TRUE(run_until(io, [&] { return rec.count(Event::kAccepted) == 3; }));
  // One of the first address's connections ends: its slot is free again.
  const ConnId first = rec.nth_accepted(0);
  from_one[0].close();
  ASSERT_TRUE(run_until(io, [&] { return rec.closed(first).has_value(); }));
  tcp::socket again = raw_connect(io, *address);
  ASSERT_TRUE(run_until(io, [&] { return rec.count(Event::kAccepted) == 4; }));
  EXPECT_EQ(net->limit_stats().per_address_limit, 1u);
  net->shutdown();
}

// Slowloris: a frame begun and not finished within the deadline closes that connection (counted);
// a peer that finishes its frames in time, beside it, is untouched.
TEST(RealNetwork, AFrameUnfinishedPastTheDeadlineClosesOnlyThatConnection) {
  asio::io_context io;
  Node host(io, "host", 1);  // lends its logger
  SteadyClock clock;
  RealTraceSink trace(clock, NodeId{1}, nullptr);
  Recorder rec;
  TcpLimits limits;
  limits.partial_frame_deadline_ns = 300 * kNsPerMs;
  auto net = std::make_shared<TcpNetwork>(io, host.rt.runtime().log, trace, limits);
  net->set_handler(&rec);
  Result<std::string> address = net->listen("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  tcp::socket slow = raw_connect(io, *address);
  tcp::socket honest = raw_connect(io, *address);
  const uint8_t begun[] = {0, 0, 0, 100, 1, 2, 3};
  asio::write(slow, asio::buffer(begun));
  ASSERT_TRUE(run_until(io, [&] { return rec.count(Event::kAccepted) == 2; }));
  const ConnId slow_conn = rec.nth_accepted(0);
  const ConnId honest_conn = rec.nth_accepted(1);
  for (int i = 0; i < 15; ++i) {  // 1.5 s of whole frames from the honest peer
    const uint8_t frame[] = {0, 0, 0, 1, static_cast<uint8_t>(i)};
    asio::write(honest, asio::buffer(frame));
    run_for_ms(io, 100);
  }
  ASSERT_TRUE(rec.closed(slow_conn).has_value()) << "a frame held unfinished for 1.5 s against a 300 ms deadline";
  EXPECT_EQ(*rec.closed(slow_conn), CloseReason::kFraming);
  EXPECT_FALSE(rec.closed(honest_conn).has_value());
  EXPECT_EQ(rec.count(Event::kMessage, honest_conn), 15u);
  EXPECT_EQ(net->limit_stats().partial_frame_deadline, 1u);
  EXPECT_LT(net->partial_frame_bytes(), 100u) << "a closed connection's partial frame is still counted (the honest one keeps a few bytes of buffer)";
  net->shutdown();
}

// Unfinished frames across all connections are bounded: the read that takes them past the budget
// closes the connection it came on; the memory they held is counted no more.
TEST(RealNetwork, UnfinishedFramesOverTheMemoryBudgetCloseTheConnectionThatGrewThem) {
  asio::io_context io;
  Node host(io, "host", 1);
  SteadyClock clock;
  RealTraceSink trace(clock, NodeId{1}, nullptr);
  Recorder rec;
  TcpLimits limits;
  limits.partial_frames_bytes_max = 256 << 10;
  auto net = std::make_shared<TcpNetwork>(io, host.rt.runtime().log, trace, limits);
  net->set_handler(&rec);
  Result<std::string> address = net->listen("127.0.0.1:0");
  ASSERT_TRUE(address.ok());
  std::vector<tcp::socket> peers;
  const std::vector<uint8_t> body(100 << 10, 0x11);
  for (int i = 0; i < 4; ++i) {  // each announces 512 KiB and sends 100 KiB of it
    peers.push_back(raw_connect(io, *address));
    const uint8_t prefix[] = {0, 0x08, 0, 0};
    asio::write(peers.back(), asio::buffer(prefix));
    asio::write(peers.back(), asio::buffer(body));
    run_for_ms(io, 50);
  }
  ASSERT_TRUE(run_until(io, [&] { return net->limit_stats().partial_frames_budget >= 1; }));
  EXPECT_LE(net->partial_frame_bytes(), limits.partial_frames_bytes_max);
  EXPECT_GE(rec.count(Event::kClosed), 1u);
  EXPECT_EQ(rec.count(Event::kMessage), 0u);
  net->shutdown();
}

TEST(RealNetwork, TraceRecordsRuntimeEvents) {
  const std::string path = ::testing::TempDir() + "/real_network_trace.bin";
  asio::io_context io;
  {
    auto writer = std::make_shared<common::TraceFileWriter>();
    ASSERT_TRUE(writer->open(path).ok());
    RealOptions o = options();
    o.trace = writer;
    RealRuntime server_rt(io, "server", NodeId{5}, o);
    Recorder server;
    server_rt.runtime().network.set_handler(&server);
    Node client(io, "client", 2);
    Result<std::string> address = server_rt.runtime().network.listen("127.0.0.1:0");
    ASSERT_TRUE(address.ok());
    const ConnId conn = client.net().connect(*address);
    ASSERT_EQ(client.net().send(conn, numbered(9, 33)), SendStatus::kOk);
    client.net().close(conn);
    ASSERT_TRUE(run_until(io, [&] { return server.count(Event::kClosed) == 1; }));
    writer->close();
  }
  app::TraceFileContents contents;
  ASSERT_TRUE(app::read_trace_records(path, &contents).ok());
  EXPECT_TRUE(contents.truncated_tail.empty());
  const std::vector<TraceEvent>& events = contents.records;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, TraceKind::kHostStarted);
  EXPECT_EQ(events[1].kind, TraceKind::kMessageDelivered);
  EXPECT_EQ(events[1].a, static_cast<int64_t>(Hasher64::of(numbered(9, 33))));
  EXPECT_EQ(events[1].b, 33);
  EXPECT_EQ(events[2].kind, TraceKind::kConnectionClosed);
  EXPECT_EQ(events[2].a, static_cast<int64_t>(CloseReason::kPeerClosed));
  for (const TraceEvent& e : events) EXPECT_EQ(e.node, NodeId{5});
  EXPECT_LE(events[0].time_ns, events[2].time_ns);
}

TEST(RealAddress, ParseAndFormat) {
  Result<tcp::endpoint> a = parse_endpoint("10.1.2.3:7000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(format_endpoint(*a), "10.1.2.3:7000");
  Result<tcp::endpoint> b = parse_endpoint("[::1]:80");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(format_endpoint(*b), "[::1]:80");
  Result<tcp::endpoint> c = parse_endpoint("::1:80");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port(), 80);
  EXPECT_EQ(format_endpoint(*parse_endpoint("localhost:5")), "127.0.0.1:5");
  for (const char* bad : {"", ":", "1.2.3.4", "1.2.3.4:-1", "1.2.3.4:65536", "1.2.3.4:8x", "a.b:1", "[::1:1"}) {
    EXPECT_FALSE(parse_endpoint(bad).ok()) << bad;
  }
  EXPECT_FALSE(parse_endpoint(std::string(200, '1') + ":1").ok());
}

}  // namespace
}  // namespace aether::real
