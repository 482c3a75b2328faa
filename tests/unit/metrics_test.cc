// /metrics: the Prometheus text rendering (escaping, histogram buckets, families kept together), the
// HTTP server over real loopback sockets (GET, 404, 405, HEAD, and hostile peers: garbage, oversized
// headers, bodies, too many connections, each refused without disturbing the next request), and the
// exposition of a whole cluster in one process.

#include <gtest/gtest.h>

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "app/metrics_export.h"
#include "app/tls_setup.h"
#include "engine/runtime/metrics.h"
#include "runtime/common/prometheus_text.h"
#include "runtime/real/address.h"
#include "runtime/real/cert_issuer.h"
#include "runtime/real/metrics_server.h"

namespace aether {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using common::MetricsText;
using common::MetricType;

// ---- text rendering ------------------------------------------------------------------------------

TEST(PrometheusText, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(common::escape_label_value(R"(a"b\c)" "\n" "d"), R"(a\"b\\c\nd)");
  EXPECT_EQ(common::escape_help("back\\slash\nnewline \"quotes stay\""), "back\\\\slash\\nnewline \"quotes stay\"");
  MetricsText m;
  m.family("aether_x_total", "Help with a \\ and a\nnewline.", MetricType::kCounter).add({{"node", "a\"b"}}, 3);
  EXPECT_EQ(m.render(),
            "# HELP aether_x_total Help with a \\\\ and a\\nnewline.\n"
            "# TYPE aether_x_total counter\n"
            "aether_x_total{node=\"a\\\"b\"} 3\n");
}

TEST(PrometheusText, ValidatesNames) {
  EXPECT_TRUE(common::valid_metric_name("aether_tick_duration_seconds"));
  EXPECT_TRUE(common::valid_metric_name("a:b_c"));
  EXPECT_FALSE(common::valid_metric_name("9lives"));
  EXPECT_FALSE(common::valid_metric_name("has-dash"));
  EXPECT_FALSE(common::valid_metric_name(""));
  EXPECT_TRUE(common::valid_label_name("node"));
  EXPECT_FALSE(common::valid_label_name("__reserved"));
  EXPECT_FALSE(common::valid_label_name("a:b"));
}

TEST(PrometheusText, FormatsValues) {
  EXPECT_EQ(common::format_value(0), "0");
  EXPECT_EQ(common::format_value(123456789012.0), "123456789012");
  EXPECT_EQ(common::format_value(0.1), "0.1");
  EXPECT_EQ(common::format_value(0.0025), "0.0025");
  EXPECT_EQ(common::format_value(1.0 / 0.0), "+Inf");
  EXPECT_EQ(common::format_value(-1.0 / 0.0), "-Inf");
  EXPECT_EQ(common::format_value(0.0 / 0.0), "NaN");
}

TEST(PrometheusText, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  MetricsText m;
  const std::vector<double> bounds = {0.01, 0.1, 1};
  const std::vector<uint64_t> per_bucket = {2, 3, 0, 1};  // 1 sample above the last bound
  m.family("aether_h_seconds", "A histogram.", MetricType::kHistogram).add_histogram({{"node", "7"}}, bounds, per_bucket, 2.5);
  EXPECT_EQ(m.render(),
            "# HELP aether_h_seconds A histogram.\n"
            "# TYPE aether_h_seconds histogram\n"
            "aether_h_seconds_bucket{node=\"7\",le=\"0.01\"} 2\n"
            "aether_h_seconds_bucket{node=\"7\",le=\"0.1\"} 5\n"
            "aether_h_seconds_bucket{node=\"7\",le=\"1\"} 5\n"
            "aether_h_seconds_bucket{node=\"7\",le=\"+Inf\"} 6\n"
            "aether_h_seconds_sum{node=\"7\"} 2.5\n"
            "aether_h_seconds_count{node=\"7\"} 6\n");
}

TEST(PrometheusText, KeepsEachFamilyTogetherAndSkipsEmptyOnes) {
  MetricsText m;
  m.family("aether_unused", "Never sampled.", MetricType::kGauge);
  m.family("aether_a", "A.", MetricType::kGauge).add({{"node", "1"}}, 1);
  m.family("aether_b_total", "B.", MetricType::kCounter).add({{"node", "1"}}, 2);
  m.family("aether_a", "A.", MetricType::kGauge).add({{"node", "2"}}, 3);
  EXPECT_EQ(m.render(),
            "# HELP aether_a A.\n# TYPE aether_a gauge\naether_a{node=\"1\"} 1\naether_a{node=\"2\"} 3\n"
            "# HELP aether_b_total B.\n# TYPE aether_b_total counter\naether_b_total{node=\"1\"} 2\n");
}

TEST(BucketHistogram, CountsEachSampleOnceAtOrBelowItsBound) {
  TickHistogram h(kTickBucketBoundsNs);
  h.record(0);
  h.record(kTickNs);      // exactly the budget: within it
  h.record(kTickNs + 1);  // just over
  h.record(10 * kNsPerSec);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.counts()[0], 1u);
  EXPECT_EQ(h.counts()[7], 1u);  // the kTickNs bucket
  EXPECT_EQ(h.counts()[8], 1u);
  EXPECT_EQ(h.counts().back(), 1u);
  EXPECT_EQ(h.sum(), static_cast<uint64_t>(2 * kTickNs + 1 + 10 * kNsPerSec));
}

// ---- the HTTP server ----------------------------------------------------------------------------

struct LinesLog final : Logger {
  std::vector<std::string> lines;
  bool enabled(LogLevel) const override { return true; }
  void write(LogLevel, const LogIds&, std::string_view message) override { lines.emplace_back(message); }
};

// The server on its own io_context and thread; the test talks to it with blocking sockets and reads
// the server's state only on that thread (through on_io).
class ServerFixture : public ::testing::Test {
 protected:
  void start(size_t connections_max = real::kMetricsConnectionsMax) {
    server_ = std::make_unique<real::MetricsServer>(io_, log_, [this] { return "aether_up 1\n# scrape " + std::to_string(++renders_) + "\n"; },
                                                    connections_max);
    auto bound = server_->listen("127.0.0.1:0");
    ASSERT_TRUE(bound.ok()) << bound.error().message;
    address_ = *bound;
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }
  template <class F>
  auto on_io(F fn) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    asio::post(io_, [&task] { task(); });
    return result.get();
  }
  void TearDown() override {
    if (!thread_.joinable()) return;
    on_io([this] {
      server_->shutdown();
      return 0;
    });
    work_.reset();
    thread_.join();
  }
  tcp::socket connect() {
    tcp::socket s(client_io_);
    s.connect(*real::parse_endpoint(address_));
    return s;
  }
  // Sends request, then reads until the server closes. Returns everything it answered.
  std::string exchange(const std::string& request) {
    tcp::socket s = connect();
    asio::write(s, asio::buffer(request));
    return read_all(s);
  }
  static std::string read_all(tcp::socket& s) {
    std::string out;
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {
      const size_t n = s.read_some(asio::buffer(buf), ec);
      out.append(buf, n);
      if (ec) break;
    }
    return out;
  }

  asio::io_context io_;
  asio::io_context client_io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  LinesLog log_;
  std::unique_ptr<real::MetricsServer> server_;
  std::thread thread_;
  std::string address_;
  int renders_ = 0;
};

TEST_F(ServerFixture, AnswersGetMetrics) {
  start();
  const std::string answer = exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  EXPECT_NE(answer.find("\r\n\r\naether_up 1\n# scrape 1\n"), std::string::npos) << answer;
  // A query string does not change the path.
  EXPECT_EQ(exchange("GET /metrics?x=1 HTTP/1.0\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(on_io([this] { return server_->stats().requests; }), 2u);
}

TEST_F(ServerFixture, HeadHasLengthButNoBody) {
  start();
  const std::string answer = exchange("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_NE(answer.find("Content-Length: 23\r\n"), std::string::npos) << answer;
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), "");
}

TEST_F(ServerFixture, ProbesAre404UntilSetThen200Or503WithTheirText) {
  start();
  EXPECT_EQ(exchange("GET /healthz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(exchange("GET /readyz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  bool ready = false;
  on_io([&] {
    server_->set_probes([] { return real::ProbeAnswer{true, "alive\n"}; },
                        [&ready] { return real::ProbeAnswer{ready, ready ? "compute 101: ready\n" : "compute 101: not ready (no lease)\n"}; });
    return 0;
  });
  std::string answer = exchange("GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), "alive\n");
  answer = exchange("GET /readyz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << answer;
  EXPECT_EQ(answer.substr(answer.find("\r\n\r\n") + 4), "compute 101: not ready (no lease)\n");
  on_io([&] { return ready = true; });
  answer = exchange("GET /readyz?verbose HTTP/1.1\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
  EXPECT_EQ(exchange("HEAD /readyz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_EQ(exchange("POST /readyz HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 405", 0), 0u);
  const real::MetricsServerStats stats = on_io([this] { return server_->stats(); });
  EXPECT_EQ(stats.probes, 4u);
  EXPECT_EQ(stats.probes_failed, 1u);
  EXPECT_EQ(stats.requests, 0u);  // /metrics only
  EXPECT_EQ(stats.not_found, 3u);  // two probes before they were set, and the POST
}

TEST_F(ServerFixture, OtherPathsAre404AndOtherMethods405) {
  start();
  EXPECT_EQ(exchange("GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404 Not Found\r\n", 0), 0u);
  EXPECT_EQ(exchange("GET /metricsx HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  const std::string post = exchange("DELETE /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(post.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD"), std::string::npos);
  EXPECT_EQ(renders_, 0);
}

TEST_F(ServerFixture, GarbageGets400AndTheServerGoesOn) {
  start();
  std::string garbage("\x01\x02\xff hello\r\n\r\n", 12);
  const std::string answer = exchange(garbage);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << answer;
  EXPECT_EQ(exchange("GET /metrics HTTP/1.1 trailing junk\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
  EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(on_io([this] { return server_->stats().bad_requests; }), 2u);
  bool logged = false;
  on_io([&] {
    for (const auto& line : log_.lines) logged = logged || line.find("not an HTTP/1.x request") != std::string::npos;
    return 0;
  });
  EXPECT_TRUE(logged);
}

TEST_F(ServerFixture, OversizedHeaderGets431) {
  start();
  const std::string big = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(3 * real::kMetricsRequestBytesMax, 'a') + "\r\n\r\n";
  const std::string answer = exchange(big);
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
  EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(ServerFixture, RequestBodyGets413) {
  start();
  const std::string answer = exchange("POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
  EXPECT_EQ(renders_, 0);
}

TEST_F(ServerFixture, ConnectionsBeyondTheLimitAreClosed) {
  start(2);
  tcp::socket a = connect();
  tcp::socket b = connect();
  for (int i = 0; i < 200 && on_io([this] { return server_->connections_open(); }) < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(on_io([this] { return server_->connections_open(); }), 2u);
  tcp::socket c = connect();
  EXPECT_EQ(read_all(c), "");  // closed at once, nothing said
  EXPECT_EQ(on_io([this] { return server_->stats().connections_refused; }), 1u);
  // The two that were let in are still served.
  asio::write(a, asio::buffer(std::string("GET /metrics HTTP/1.1\r\n\r\n")));
  EXPECT_EQ(read_all(a).rfind("HTTP/1.1 200", 0), 0u);
  b.close();
  for (int i = 0; i < 200 && on_io([this] { return server_->connections_open(); }) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(ServerFixture, PeerThatHangsUpMidRequestIsForgotten) {
  start();
  {
    tcp::socket s = connect();
    asio::write(s, asio::buffer(std::string("GET /metr")));
  }
  EXPECT_EQ(exchange("GET /metrics HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200", 0), 0u);
  for (int i = 0; i < 200 && on_io([this] { return server_->connections_open(); }) > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(on_io([this] { return server_->connections_open(); }), 0u);
}

TEST(MetricsServer, RefusesABadAddress) {
  asio::io_context io;
  LinesLog log;
  real::MetricsServer server(io, log, [] { return std::string(); });
  EXPECT_FALSE(server.listen("no-port").ok());
  EXPECT_FALSE(server.listen("example.com:80").ok());
}

// ---- a whole cluster ----------------------------------------------------------------------------

TEST(MetricsExport, LocalClusterSeriesCarryNodeAndRoleLabels) {
  asio::io_context io;
  real::RealOptions options;
  options.log_level = LogLevel::kError;
  app::RealHosting hosting(io, options);
  app::ClusterShape shape;
  shape.compute_nodes = 2;
  shape.bots = 6;
  Xoshiro256 join_random(1);
  app::Cluster cluster(hosting, shape, join_random);
  io.run_for(std::chrono::milliseconds(1500));
  const std::string text = app::render_metrics(hosting, nullptr);
  hosting.shutdown();
  for (const char* want : {"# TYPE aether_tick_duration_seconds histogram", "aether_tick_duration_seconds_bucket{node=\"101\",role=\"compute\",le=\"0.1\"}",
                           "aether_tick_duration_seconds_bucket{node=\"102\",role=\"compute\",le=\"+Inf\"}",
                           "aether_queue_depth{node=\"101\",role=\"compute\",queue=\"intent\"}", "aether_coordinator_leader{node=\"1\",role=\"coordinator\"} 1",
                           "aether_coordinator_epoch{node=\"1\",role=\"coordinator\"} 1", "aether_gateway_connections{node=\"201\",role=\"gateway\"}",
                           "aether_network_received_bytes_total{role=\"bot\"}", "aether_bots{role=\"bot\"} 6", "# TYPE aether_ticks_total counter",
                           // Characters' saves (docs/persistence.md §9d): anonymous bots save and load nothing, but the series exist.
                           "aether_character_saves_total{node=\"101\",role=\"compute\",outcome=\"synced\"} 0",
                           "aether_character_save_write_failures_total{node=\"102\",role=\"compute\"} 0",
                           "aether_gateway_character_loads_total{node=\"201\",role=\"gateway\",outcome=\"absent\"} 0"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  // No entity ids as labels, and each family declared once.
  EXPECT_EQ(text.find("entity="), std::string::npos);
  EXPECT_EQ(text.find("# TYPE aether_epoch gauge"), text.rfind("# TYPE aether_epoch gauge"));
}

// Each server's revocation list (runtime/real/crl_watch.h), with mutual TLS: its reloads by outcome,
// the certificates it names and when it runs out, and the closes of revoked peers, labelled like
// every server series; SIGHUP's path (RealHosting::reload_revocations) reads each list once.
TEST(MetricsExport, EachServersRevocationListIsExported) {
  char pattern[] = "/tmp/aether-metrics-crl-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const app::CertDir certs{pattern};
  const std::vector<std::string> names = app::cluster_identities(1, 1, 1, 0);
  ASSERT_TRUE(app::issue_cluster(certs, names, {"127.0.0.1", "localhost"}, 1).ok());
  ASSERT_TRUE(real::revoke_certificates(certs.ca_cert(), certs.ca_key(), {}, certs.crl(), 1).ok());
  std::map<uint32_t, real::TlsSettings> plan;
  for (const std::string& name : names) {
    const auto id = parse_peer_identity(name);
    ASSERT_TRUE(id.has_value());
    real::TlsFiles files = certs.files(name);
    files.crl_file = certs.crl();
    auto settings = app::tls_settings(id->role, files);
    ASSERT_TRUE(settings.ok()) << settings.error().message;
    plan[id->node.value] = *settings;
  }
  asio::io_context io;
  real::RealOptions options;
  options.log_level = LogLevel::kError;
  app::RealHosting hosting(io, options);
  hosting.set_tls([&plan](Role, NodeId node) { return plan.at(node.value); });
  app::ClusterShape shape;
  Xoshiro256 join_random(1);
  app::Cluster cluster(hosting, shape, join_random);
  io.run_for(std::chrono::milliseconds(300));
  const std::string before = app::render_metrics(hosting, nullptr);
  // The list issued again (CRL number 2), and every server told to read it (SIGHUP).
  ASSERT_TRUE(real::revoke_certificates(certs.ca_cert(), certs.ca_key(), {}, certs.crl(), 1).ok());
  EXPECT_EQ(hosting.reload_revocations(), 3u);
  io.run_for(std::chrono::milliseconds(100));
  const std::string after = app::render_metrics(hosting, nullptr);
  hosting.shutdown();
  std::error_code ignored;
  std::filesystem::remove_all(pattern, ignored);
  for (const char* server : {"node=\"1\",role=\"coordinator\"", "node=\"101\",role=\"compute\"", "node=\"201\",role=\"gateway\""}) {
    const std::string l(server);
    for (const std::string& want : {"aether_tls_crl_reloads_total{" + l + ",outcome=\"loaded\"} 0", "aether_tls_crl_reloads_total{" + l + ",outcome=\"refused\"} 0",
                                    "aether_tls_crl_revoked_certificates{" + l + "} 0", "aether_tls_crl_next_update_timestamp_seconds{" + l + "} ",
                                    "aether_network_limit_closes_total{" + l + ",reason=\"tls_peer_revoked\"} 0"}) {
      EXPECT_NE(before.find(want), std::string::npos) << want << "\n" << before;
    }
    const std::string loaded = "aether_tls_crl_reloads_total{" + l + ",outcome=\"loaded\"} 1";
    EXPECT_NE(after.find(loaded), std::string::npos) << loaded << "\n" << after;
  }
  EXPECT_EQ(before.find("# TYPE aether_tls_crl_reloads_total counter"), before.rfind("# TYPE aether_tls_crl_reloads_total counter"));
}

}  // namespace
}  // namespace aether
