// `aether local --bots N --duration S`: the whole cluster in one process on loopback TCP, real
// sockets and timers, each server on a loop and thread of its own and the bots on one more (as if
// each had its own process), then the figures that matter.

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "app/admin_endpoint.h"
#include "app/commands.h"
#include "app/content_loader.h"
#include "app/metrics_export.h"
#include "app/real_hosting.h"
#include "app/tls_setup.h"
#include "app/web_setup.h"
#include "runtime/real/cert_issuer.h"
#include "runtime/real/signals.h"

namespace aether::app {

namespace {

// A directory of our own making, removed with its keys when the run ends.
struct TemporaryDir {
  std::string path;
  ~TemporaryDir() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
};

// Certificates for every server of the run and one operator, into dir, and the TLS each component
// speaks.
Status set_up_tls(const LocalArgs& args, const std::string& dir, RealHosting& hosting) {
  const CertDir certs{dir};
  const auto names = cluster_identities(args.coordinators, args.compute_nodes, args.gateways, /*admins=*/1);
  if (Status s = issue_cluster(certs, names, {"127.0.0.1", "localhost"}, real::kCertDaysDefault); !s) return s.error();
  // An empty revocation list of the new CA (a list left in dir was the old CA's): every server
  // checks its peers against it, and `aether cert revoke --dir DIR NAME` during the run reaches them
  // within 30 s, or at once on SIGHUP (docs/security.md, "Revoking a certificate").
  std::error_code ignored;
  std::filesystem::remove(certs.crl(), ignored);
  if (Status s = real::revoke_certificates(certs.ca_cert(), certs.ca_key(), {}, certs.crl(), real::kCrlDaysDefault); !s) return s.error();
  std::map<std::pair<Role, uint32_t>, real::TlsSettings> plan;
  for (const std::string& name : names) {
    const std::optional<PeerIdentity> id = parse_peer_identity(name);
    if (!id || id->role == Role::kAdmin) continue;
    real::TlsFiles files = certs.files(name);
    files.crl_file = certs.crl();
    auto settings = tls_settings(id->role, files);
    if (!settings) return settings.error();
    plan[{id->role, id->node.value}] = *settings;
  }
  auto client = tls_settings(Role::kClient, real::TlsFiles{{}, {}, certs.ca_cert(), {}});
  if (!client) return client.error();
  hosting.set_tls([plan = std::move(plan), client = *client](Role role, NodeId node) {
    auto it = plan.find({role, node.value});
    AETHER_ASSERT_MSG(role == Role::kClient || it != plan.end(), "a server without a certificate");
    return it == plan.end() ? client : it->second;
  });
  return ok_status();
}

}  // namespace

int run_local(const LocalArgs& args) {
  real::RealOptions options;
  options.limits.inbound_per_address_max = 0;  // every bot comes from 127.0.0.1: no per-address limit
  options.limits.tls_handshakes_per_address_max = 0;
  // Hundreds of bots register at once on one worker thread per gateway: Argon2id at its minimum
  // cost here (a development run; role processes use the interactive cost).
  options.password_cost = real::PasswordCost::kMinimum;
  if (!common::parse_log_level(args.log_level, &options.log_level)) {
    fmt::print(stderr, "aether local: unknown log level '{}'\n", args.log_level);
    return 2;
  }
  if (!common::parse_log_format(args.log_format, &options.log_format)) {
    fmt::print(stderr, "aether local: unknown log format '{}' (text, json)\n", args.log_format);
    return 2;
  }
  if (!args.trace_path.empty()) {
    options.trace = std::make_shared<common::TraceFileWriter>();
    if (auto s = options.trace->open(args.trace_path); !s) {
      fmt::print(stderr, "aether local: {}\n", s.error().message);
      return 2;
    }
  }
  if (args.admin_address.empty() != args.operators_file.empty() || (!args.admin_address.empty() && !args.tls)) {
    fmt::print(stderr, "aether local: --admin and --operators go together, with --tls (operators speak HTTPS only)\n");
    return 2;
  }
  boost::asio::io_context io;
  RealHosting hosting(io, options, /*threads=*/!args.one_thread);
  TemporaryDir issued;
  if (args.tls) {
    std::string dir = args.tls_dir;
    if (dir.empty()) {
      char pattern[] = "/tmp/aether-tls-XXXXXX";
      if (::mkdtemp(pattern) == nullptr) {
        fmt::print(stderr, "aether local: TLS: cannot create a temporary directory\n");
        return 2;
      }
      dir = issued.path = pattern;
    }
    if (Status s = set_up_tls(args, dir, hosting); !s) {
      fmt::print(stderr, "aether local: TLS: {}\n", s.error().message);
      return 2;
    }
    fmt::print("aether local: TLS to the gateways, mutual TLS between servers; certificates in {}{} "
               "(operator: aether admin --tls-dir {} --admin ADDR with --admin and --operators)\n",
               dir, issued.path.empty() ? "" : ", removed when the run ends (--tls-dir keeps them)", dir);
  }
  ClusterShape shape;
  std::map<uint32_t, std::unique_ptr<real::StorageBackend>> stores;  // by node: gateways and compute nodes
  if (args.arena_m) shape.rules.arena_mm = static_cast<int32_t>(args.arena_m * kMmPerMetre);
  if (!args.content_dir.empty()) {
    auto content = load_content(args.content_dir);
    if (!content) {
      fmt::print(stderr, "aether local: {}\n", content.error().message);
      return 2;
    }
    shape.rules.content = content.value();
    if (auto st = check_zones_fit(*content.value(), shape.rules.arena_mm, shape.view_radius_mm); !st) {
      fmt::print(stderr, "aether local: {}: {}\n", args.content_dir, st.error().message);
      return 2;
    }
  }
  shape.travellers = args.travellers;
  shape.coordinators = args.coordinators;
  shape.compute_nodes = args.compute_nodes;
  shape.gateways = args.gateways;
  shape.bots = args.bots;
  shape.bots_join_spread_ns = 2 * kNsPerSec;
  if (!args.anonymous) {
    // Accounts: each gateway keeps them in a SQLite file of its own (no set-up; a cluster of role
    // processes shares one PostgreSQL database instead). Every bot comes from 127.0.0.1: the
    // per-address login limits are lifted, the per-account ones stay.
    shape.accounts = true;
    shape.account_login.failures_per_address_max = UINT32_MAX;
    shape.account_login.registrations_per_address_max = UINT32_MAX;
    if (args.access_ttl_s != 0) shape.account_sessions.access_ttl_ns = static_cast<TimeNs>(args.access_ttl_s) * kNsPerSec;
    std::error_code ec;
    std::filesystem::create_directories(args.data_dir, ec);
    if (ec) {
      fmt::print(stderr, "aether local: cannot create {}: {}\n", args.data_dir, ec.message());
      return 2;
    }
    // One SQLite file for the cluster, as one PostgreSQL database is for role processes: accounts
    // (gateways), characters' saves and the loot ledger (compute nodes), each component on a
    // connection of its own (docs/persistence.md §9d).
    const std::string path = args.storage.empty() ? fmt::format("sqlite:{}/local.sqlite", args.data_dir) : args.storage;
    const auto spec = real::parse_storage_spec(path);
    if (!spec) {
      fmt::print(stderr, "aether local: --storage: {}\n", spec.error().message);
      return 2;
    }
    std::vector<uint32_t> nodes;
    for (uint32_t i = 0; i < args.gateways; ++i) nodes.push_back(gateway_node_id(i).value);
    for (uint32_t i = 0; i < args.compute_nodes; ++i) nodes.push_back(compute_node_id(i).value);
    for (uint32_t node : nodes) {
      auto opened = real::open_backend(*spec);
      if (!opened) {
        fmt::print(stderr, "aether local: {}\n", opened.error().message);
        return 2;
      }
      stores.emplace(node, std::move(*opened));
    }
    hosting.set_storage([&stores](Role role, NodeId node) -> std::unique_ptr<real::StorageBackend> {
      if (role != Role::kGateway && role != Role::kCompute) return nullptr;
      auto it = stores.find(node.value);
      return it == stores.end() ? nullptr : std::move(it->second);
    });
    fmt::print("aether local: accounts on (bots register and log in); accounts, characters' saves and the loot ledger in {} (--anonymous: none)\n",
               spec->kind == real::StorageSpec::Kind::kSqlite ? path : std::string("PostgreSQL (--storage)"));
  }
  Xoshiro256 join_random(derive_seed(0x10ca1, args.bots));
  Cluster cluster(hosting, shape, join_random);
  if (cluster.coordinators().front()->address().empty() || cluster.gateways().front()->address().empty()) {
    fmt::print(stderr, "aether local: a server could not listen on loopback (see the log above)\n");
    return 1;
  }
  fmt::print("aether local: coordinator {}, {} compute node(s), {} gateway(s) (first on {}), {} bots, {} s\n",
             cluster.coordinators().front()->address(), args.compute_nodes, args.gateways, cluster.gateways().front()->address(),
             args.bots, args.duration_s);
  std::string servers;
  for (const Coordinator* c : cluster.coordinators()) servers += fmt::format(" coordinator-{}={}", c->node().value, c->address());
  for (const ComputeNode* c : cluster.computes()) servers += fmt::format(" compute-{}={}", c->node().value, c->data_address());
  for (const Gateway* g : cluster.gateways()) servers += fmt::format(" gateway-{}={}", g->node().value, g->address());
  fmt::print("aether local: servers{}\n", servers);
  MetricsEndpoint metrics(io, hosting, options);
  if (!args.metrics_address.empty()) {
    auto bound = metrics.listen(args.metrics_address);
    if (!bound) {
      fmt::print(stderr, "aether local: {}\n", bound.error().message);
      return 2;
    }
    fmt::print("aether local: metrics on http://{}/metrics\n", *bound);
  }
  // Every coordinator serves operators: coordinator 1 on --admin, the others on its host at a port of
  // their own; each names the others as its admin peers (admin_peers), so that a console follows the
  // cluster's coordinators as it does in a cluster of role processes (docs/browser.md).
  std::vector<std::unique_ptr<AdminEndpoint>> admins;
  if (!args.admin_address.empty()) {
    const CertDir certs{args.tls_dir.empty() ? issued.path : args.tls_dir};
    const std::string host = args.admin_address.substr(0, args.admin_address.rfind(':'));
    std::vector<std::string> bound_addresses;
    for (Coordinator* c : cluster.coordinators()) {
      const std::string name = peer_identity_name({Role::kCoordinator, c->node()});
      auto made = AdminEndpoint::make(hosting.io_of(c->node()), *c, options, certs.cert(name), certs.key(name), args.operators_file);
      auto bound = made ? made.value()->listen(admins.empty() ? args.admin_address : host + ":0") : Result<std::string>(made.error());
      if (!bound) {
        fmt::print(stderr, "aether local: {}\n", bound.error().message);
        return 2;
      }
      admins.push_back(std::move(made.value()));
      bound_addresses.push_back(*bound);
      fmt::print("aether local: admin on https://{}/api/ (coordinator {})\n", *bound, c->node().value);
    }
    for (size_t i = 0; i < admins.size(); ++i) {
      std::vector<std::string> peers;
      for (size_t k = 0; k < bound_addresses.size(); ++k) {
        if (k != i) peers.push_back(bound_addresses[k]);
      }
      admins[i]->set_console_peers(peers);
    }
    metrics.set_admin(&admins.front()->server());
  }
  if (!args.web_address.empty()) {
    auto bound = open_web(hosting, cluster.gateways().front()->node(), WebOptions{args.web_address, args.web_root, args.web_origins, /*connections_per_address_max=*/0});
    if (!bound) {
      fmt::print(stderr, "aether local: {}\n", bound.error().message);
      return 2;
    }
    fmt::print("aether local: browsers on {}://{}/\n", args.tls ? "https" : "http", *bound);
  }
  std::fflush(stdout);
  hosting.start_threads();

  ClusterFigures f;
  const auto started = std::chrono::steady_clock::now();
  double seconds = args.duration_s;
  real::run_until_stopped(io, static_cast<TimeNs>(args.duration_s) * kNsPerSec, [&] {
    metrics.shutdown();
    hosting.stop_threads();  // every loop stopped and joined: the components are ours to read
    for (auto& admin : admins) admin->shutdown();
    f = cluster.figures();  // taken before shutdown, while every component is whole
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();  // SIGINT may come early
    hosting.shutdown();
  }, {}, [&hosting] {
    // SIGHUP: each server reads DIR/crl.pem again on its own loop (also looked at every 30 s).
    const size_t lists = hosting.reload_revocations();
    fmt::print(stderr, "aether local: SIGHUP: {}\n", lists ? fmt::format("{} servers read the revocation list again", lists) : std::string("no revocation list (--tls)"));
  });

  fmt::print("tick duration p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms over {} ticks ({} overruns of the 100 ms budget)\n",
             f.tick_ns.percentile(500) / 1e6, f.tick_ns.percentile(990) / 1e6, f.tick_ns.max() / 1e6, f.ticks, f.tick_overruns);
  fmt::print("entities {}, bots playing {} of {}, deaths {}, inputs applied {}\n", f.entities, f.bots_playing, args.bots, f.deaths,
             f.inputs_applied);
  fmt::print("bytes per client per second {:.0f} (updates {:.1f} per client per second)\n",
             args.bots ? f.bot_bytes_received / seconds / args.bots : 0.0, args.bots ? f.bot_updates / seconds / args.bots : 0.0);
  if (args.bots > 0 && f.bots_playing + f.bots_between_gateways < args.bots && seconds >= args.duration_s) {
    fmt::print(stderr, "aether local: only {} of {} bots got into the battle\n", f.bots_playing, args.bots);
    return 1;
  }
  if (f.protocol_errors != 0) {
    fmt::print(stderr, "aether local: {} protocol errors\n", f.protocol_errors);
    return 1;
  }
  return 0;
}

}  // namespace aether::app
