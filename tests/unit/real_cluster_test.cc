#include <gtest/gtest.h>

#include <thread>

#include <boost/asio/io_context.hpp>

#include "app/real_hosting.h"
#include "engine/wire/client_protocol.h"

namespace aether {
namespace {

// A raw client that sends whatever bytes it is given and records how the server answered.
class RawClient final : public NetworkHandler {
 public:
  RawClient(Runtime& rt, std::string address, std::vector<uint8_t> payload) : rt_(rt), payload_(std::move(payload)) {
    rt_.network.set_handler(this);
    conn_ = rt_.network.connect(address);
  }
  void on_accepted(ConnId, std::string_view) override {}
  void on_connected(ConnId conn) override { rt_.network.send(conn, payload_); }
  void on_message(ConnId, std::span<const uint8_t> payload) override {
    ByteReader r(payload);
    auto m = client::decode_gateway_header(r);
    if (m.ok() && m->type == client::Type::kGoodbye) goodbye = m->goodbye.reason;
  }
  void on_closed(ConnId, CloseReason reason) override {
    closed = true;
    close_reason = reason;
  }
  bool closed = false;
  CloseReason close_reason = CloseReason::kLocal;
  std::string goodbye;

 private:
  Runtime& rt_;
  std::vector<uint8_t> payload_;
  ConnId conn_ = 0;
};

struct RealCluster {
  explicit RealCluster(uint32_t bots, bool threads = false) : hosting(io, options(), threads) {
    app::ClusterShape shape;
    shape.bots = bots;
    shape.rules.arena_mm = 100'000;
    cluster = std::make_unique<app::Cluster>(hosting, shape, join);
  }
  static real::RealOptions options() {
    real::RealOptions o;
    o.log_level = LogLevel::kWarn;
    o.seed = 99;
    return o;
  }
  boost::asio::io_context io;
  app::RealHosting hosting;
  Xoshiro256 join{1};
  std::unique_ptr<app::Cluster> cluster;
};

// House rule 3 over real sockets: a peer sending bytes that are not a client message is told why and
// disconnected; the honest bot on the same gateway keeps playing.
TEST(RealCluster, GarbageFromOneClientHarmsNoOtherClient) {
  RealCluster c(1);
  real::RealRuntime raw_rt(c.io, "raw", NodeId{}, RealCluster::options());
  const std::vector<uint8_t> garbage = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x42, 0x13, 0x37};
  RawClient raw(raw_rt.runtime(), c.cluster->gateways().front()->address(), garbage);
  c.io.run_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(raw.closed);
  EXPECT_EQ(raw.goodbye, "malformed message");
  EXPECT_EQ(c.cluster->gateways().front()->stats().protocol_errors, 1u);
  const BotClient* bot = c.cluster->bots().front();
  EXPECT_TRUE(bot->playing());
  EXPECT_GT(bot->stats().updates_received, 5u);
  EXPECT_EQ(c.cluster->computes().front()->world().size(), 1u) << "the garbage client never got an avatar";
  raw_rt.shutdown();
  c.hosting.shutdown();
}

// The v1 slice over real sockets: bots join through the gateway, get avatars on the compute node and
// receive updates every tick.
TEST(RealCluster, BotsPlayOverLoopback) {
  RealCluster c(10);
  c.io.run_for(std::chrono::milliseconds(3000));
  for (const BotClient* bot : c.cluster->bots()) {
    EXPECT_TRUE(bot->playing());
    EXPECT_GT(bot->stats().updates_received, 5u);
    EXPECT_GT(bot->stats().inputs_sent, 5u);
  }
  EXPECT_EQ(c.cluster->computes().front()->world().size(), 10u);
  EXPECT_GT(c.cluster->computes().front()->stats().inputs_applied, 50u);
  c.hosting.shutdown();
}

// `aether local`'s threads: each server on a loop and thread of its own, the bots on one more. The
// battle runs as on one thread, and paused() parks every loop, so that reading the components from
// the test's thread meanwhile sees them whole (their counters only ever grow, and do not move while
// parked).
TEST(RealCluster, EachServerOnItsOwnThreadAndPausedParksThemAll) {
  RealCluster c(10, /*threads=*/true);
  c.hosting.start_threads();
  EXPECT_EQ(c.hosting.threads(), 4u) << "coordinator, compute node, gateway, and one for the bots";
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  uint64_t applied = 0, again = 0;
  c.hosting.paused([&] {
    applied = c.cluster->computes().front()->stats().inputs_applied;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // three ticks' time: nothing moves
    again = c.cluster->computes().front()->stats().inputs_applied;
  });
  EXPECT_GT(applied, 50u);
  EXPECT_EQ(again, applied) << "a loop ran while paused";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  c.hosting.stop_threads();
  EXPECT_GT(c.cluster->computes().front()->stats().inputs_applied, applied) << "the loops did not resume";
  for (const BotClient* bot : c.cluster->bots()) EXPECT_TRUE(bot->playing());
  c.hosting.shutdown();
}

}  // namespace
}  // namespace aether
