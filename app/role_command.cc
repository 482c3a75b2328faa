// `aether coordinator|compute|gateway|bot --config FILE`: one role per process, for deployments.

#include <fmt/format.h>

#include "app/commands.h"
#include "app/metrics_export.h"
#include "app/real_hosting.h"
#include "app/text_config.h"
#include "app/tls_setup.h"
#include "config.pb.h"
#include "runtime/real/signals.h"

namespace aether::app {

namespace {

Status validate(const std::string& role, const wire::ProcessConfig& c) {
  auto bad = [](std::string what) { return Status(make_error(Error::Code::kInvalidArgument, std::move(what))); };
  if (role != "bot" && c.node_id() == 0) return bad("node_id must be > 0");
  if (role != "bot" && c.listen_address().empty()) return bad("listen_address is required");
  if ((role == "compute" || role == "gateway") && c.coordinator_address().empty() && c.coordinator_addresses().empty()) {
    return bad("coordinator_address or coordinator_addresses is required");
  }
  if (role == "bot" && c.gateway_address().empty()) return bad("gateway_address is required");
  if (role == "bot" && (c.bots() == 0 || c.bots() > 10'000)) return bad("bots must be in [1, 10000]");
  if (c.arena_m() > 100'000 || c.view_radius_m() > 100'000 || c.fire_range_m() > 100'000) return bad("distances must be at most 100000 m");
  if (role == "coordinator" && !c.peer_address().empty() && c.peer_node_id() == 0) {
    return bad("peer_node_id is required with peer_address (the only coordinator we replicate to)");
  }
  if (role == "coordinator" && c.peer_node_id() == c.node_id() && c.peer_node_id() != 0) return bad("peer_node_id must not be our own node_id");
  const bool any_tls = !c.tls_cert_file().empty() || !c.tls_key_file().empty() || !c.tls_ca_file().empty();
  if (role == "bot") {
    if (!c.tls_cert_file().empty() || !c.tls_key_file().empty()) return bad("a bot presents no certificate: give it tls_ca_file only");
  } else if (any_tls && (c.tls_cert_file().empty() || c.tls_key_file().empty() || c.tls_ca_file().empty())) {
    return bad("TLS needs tls_cert_file, tls_key_file and tls_ca_file together");
  }
  const bool client_tls = !c.client_tls_cert_file().empty() || !c.client_tls_key_file().empty();
  if (client_tls && (role != "gateway" || !any_tls || c.client_tls_cert_file().empty() || c.client_tls_key_file().empty())) {
    return bad("client_tls_cert_file and client_tls_key_file go together, on a gateway with tls_* set");
  }
  return ok_status();
}

Role role_of(const std::string& role) {
  if (role == "coordinator") return Role::kCoordinator;
  if (role == "compute") return Role::kCompute;
  if (role == "gateway") return Role::kGateway;
  return Role::kClient;
}

// The process's TLS from its config (none: plain TCP). A server's certificate must name it: a
// process started with another node's certificate would be refused by every peer anyway.
Result<std::optional<real::TlsSettings>> tls_of(const std::string& role, const wire::ProcessConfig& c) {
  if (c.tls_ca_file().empty()) return std::optional<real::TlsSettings>{};
  const real::TlsFiles files{c.tls_cert_file(), c.tls_key_file(), c.tls_ca_file()};
  if (role != "bot") {
    auto id = real::certificate_identity(files.cert_file);
    if (!id) return id.error();
    const PeerIdentity want{role_of(role), NodeId(c.node_id())};
    if (*id != want) {
      return make_error(Error::Code::kInvalidArgument, fmt::format("{} names {}, but this process is {}", files.cert_file,
                                                                   peer_identity_name(*id), peer_identity_name(want)));
    }
  }
  auto settings = tls_settings(role_of(role), files, real::TlsFiles{c.client_tls_cert_file(), c.client_tls_key_file(), {}});
  if (!settings) return settings.error();
  return std::optional<real::TlsSettings>(*settings);
}

std::vector<std::string> coordinators_of(const wire::ProcessConfig& c) {
  std::vector<std::string> out(c.coordinator_addresses().begin(), c.coordinator_addresses().end());
  if (!c.coordinator_address().empty()) out.insert(out.begin(), c.coordinator_address());
  return out;
}

ClusterShape shape_of(const wire::ProcessConfig& c) {
  ClusterShape shape;
  if (c.arena_m()) shape.rules.arena_mm = static_cast<int32_t>(c.arena_m() * kMmPerMetre);
  if (c.fire_range_m()) shape.rules.fire_range_mm = static_cast<int32_t>(c.fire_range_m() * kMmPerMetre);
  if (c.teams()) shape.rules.teams = c.teams();
  if (c.view_radius_m()) shape.view_radius_mm = static_cast<int32_t>(c.view_radius_m() * kMmPerMetre);
  return shape;
}

// What a role prints when it stops: the figures an operator looks at first.
std::string summary(const std::vector<Component*>& components) {
  std::string out;
  uint32_t bots = 0, playing = 0;
  uint64_t bytes = 0;
  for (Component* c : components) {
    if (auto* n = dynamic_cast<ComputeNode*>(c)) {
      const ComputeStats& s = n->stats();
      out += fmt::format("compute: {} ticks, tick p50 {:.3f} ms p99 {:.3f} ms max {:.3f} ms, {} overruns, {} entities, {} deaths\n", s.ticks,
                         s.tick_ns.percentile(500) / 1e6, s.tick_ns.percentile(990) / 1e6, s.tick_ns.max() / 1e6, s.tick_overruns,
                         n->world().size(), s.deaths);
    } else if (auto* g = dynamic_cast<Gateway*>(c)) {
      const GatewayStats& s = g->stats();
      out += fmt::format("gateway: {} sessions open, {} opened, {} inputs forwarded, {} updates sent ({} bytes), {} slow clients dropped\n",
                         g->sessions(), s.sessions_opened, s.inputs_forwarded, s.updates_sent, s.update_bytes_sent, s.slow_clients_dropped);
    } else if (auto* k = dynamic_cast<Coordinator*>(c)) {
      out += fmt::format("coordinator: {} at epoch {}, {} entities in the table, {} spawns, {} nodes lost, {} recoveries\n",
                         coordinator_role_name(k->role()), k->epoch(), k->table().size(), k->stats().spawns, k->stats().nodes_lost,
                         k->stats().recoveries);
    } else if (auto* b = dynamic_cast<BotClient*>(c)) {
      ++bots;
      playing += b->playing() ? 1 : 0;
      bytes += b->stats().bytes_received;
    }
  }
  if (bots) out += fmt::format("bots: {} of {} playing, {} bytes received in all\n", playing, bots, bytes);
  return out;
}

void build(const std::string& role, const wire::ProcessConfig& c, RealHosting& hosting) {
  const ClusterShape shape = shape_of(c);
  const NodeId node(c.node_id());
  if (role == "coordinator") {
    CoordinatorConfig cc;
    cc.node = node;
    cc.listen_address = c.listen_address();
    cc.peer_address = c.peer_address();
    cc.peer_node = NodeId(c.peer_node_id());
    cc.identity_required = hosting.verifies_identities();
    cc.start_as_leader = !c.start_as_vice();
    cc.compute_nodes = c.compute_nodes();
    cc.rules = shape.rules;
    hosting.adopt(std::make_unique<Coordinator>(hosting.host(fmt::format("coordinator-{}", node.value), node, Role::kCoordinator), cc));
  } else if (role == "compute") {
    ComputeConfig cc;
    cc.node = node;
    cc.listen_address = c.listen_address();
    cc.coordinator_addresses = coordinators_of(c);
    cc.rules = shape.rules;
    cc.view_radius_mm = shape.view_radius_mm;
    cc.identity_required = hosting.verifies_identities();
    hosting.adopt(std::make_unique<ComputeNode>(hosting.host(fmt::format("compute-{}", node.value), node, Role::kCompute), cc));
  } else if (role == "gateway") {
    GatewayConfig gc;
    gc.node = node;
    gc.listen_address = c.listen_address();
    gc.advertise_address = c.advertise_address();
    gc.coordinator_addresses = coordinators_of(c);
    gc.view_radius_mm = shape.view_radius_mm;
    gc.identity_required = hosting.verifies_identities();
    hosting.adopt(std::make_unique<Gateway>(hosting.host(fmt::format("gateway-{}", node.value), node, Role::kGateway), gc));
  } else {
    for (uint32_t i = 0; i < c.bots(); ++i) {
      BotConfig b;
      b.gateway_addresses = {c.gateway_address()};
      b.name = fmt::format("bot-{}", i + 1);
      b.arena_mm = shape.rules.arena_mm;
      b.fire_range_mm = shape.rules.fire_range_mm;
      b.start_delay_ns = static_cast<TimeNs>(i) * 10 * kNsPerMs;
      hosting.adopt(std::make_unique<BotClient>(hosting.host(b.name, NodeId{}, Role::kClient), b));
    }
  }
}

}  // namespace

int run_role(const RoleArgs& args) {
  const std::string& role = args.role;
  const std::string& config_path = args.config_path;
  std::string text;
  wire::ProcessConfig config;
  Status s = read_text_file(config_path, &text);
  if (s) s = parse_text_proto(config_path, text, &config);
  if (s) s = validate(role, config);
  if (!s) {
    fmt::print(stderr, "aether {}: {}\n", role, s.error().message);
    return 2;
  }
  real::RealOptions options;
  if (config.connections_per_address_max() > 0) options.limits.inbound_per_address_max = config.connections_per_address_max();
  if (!config.log_level().empty() && !common::parse_log_level(config.log_level(), &options.log_level)) {
    fmt::print(stderr, "aether {}: {}: unknown log_level '{}'\n", role, config_path, config.log_level());
    return 2;
  }
  const std::string log_format = args.log_format.empty() ? config.log_format() : args.log_format;
  if (!log_format.empty() && !common::parse_log_format(log_format, &options.log_format)) {
    fmt::print(stderr, "aether {}: unknown log_format '{}' (text, json)\n", role, log_format);
    return 2;
  }
  if (!config.trace_file().empty()) {
    options.trace = std::make_shared<common::TraceFileWriter>();
    if (auto st = options.trace->open(config.trace_file()); !st) {
      fmt::print(stderr, "aether {}: {}\n", role, st.error().message);
      return 2;
    }
  }
  auto tls = tls_of(role, config);
  if (!tls) {
    fmt::print(stderr, "aether {}: {}\n", role, tls.error().message);
    return 2;
  }
  boost::asio::io_context io;
  RealHosting hosting(io, options);
  if (tls->has_value()) {
    hosting.set_tls([settings = **tls](Role, NodeId) { return settings; });
    fmt::print("aether {}: TLS on ({}){}\n", role, role == "bot" ? "verifying the gateway" : "mutual TLS between servers",
               role == "gateway" ? ", TLS on the client port" : "");
  }
  build(role, config, hosting);
  MetricsEndpoint metrics(io, hosting, options);
  const std::string metrics_address = args.metrics_address.empty() ? config.metrics_address() : args.metrics_address;
  if (!metrics_address.empty()) {
    auto bound = metrics.listen(metrics_address);
    if (!bound) {
      fmt::print(stderr, "aether {}: {}\n", role, bound.error().message);
      return 2;
    }
    fmt::print("aether {}: metrics on http://{}/metrics\n", role, *bound);
    std::fflush(stdout);
  }
  std::string figures;
  // SIGTERM drains the role first (Component::begin_drain: docs/running.md, "Stopping").
  real::GracefulStop graceful;
  graceful.begin = [&] {
    for (Component* c : hosting.components()) c->begin_drain();
  };
  graceful.done = [&] {
    for (Component* c : hosting.components()) {
      if (!c->drained()) return false;
    }
    return true;
  };
  real::run_until_stopped(io, static_cast<TimeNs>(config.duration_s()) * kNsPerSec, [&] {
    metrics.shutdown();
    figures = summary(hosting.components());
    hosting.shutdown();
  }, std::move(graceful));
  fmt::print("{}", figures);
  return 0;
}

}  // namespace aether::app
