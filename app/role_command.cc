// `aether coordinator|compute|gateway|bot --config FILE`: one role per process, for deployments.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include "app/admin_endpoint.h"
#include "app/commands.h"
#include "app/content_loader.h"
#include "app/metrics_export.h"
#include "app/real_hosting.h"
#include "app/web_setup.h"
#include "app/text_config.h"
#include "app/tls_setup.h"
#include "config.pb.h"
#include "app/role_config.h"
#include "runtime/real/address.h"
#include "runtime/real/signals.h"

namespace aether::app {

namespace {

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
  const real::TlsFiles files{c.tls_cert_file(), c.tls_key_file(), c.tls_ca_file(), c.tls_crl_file()};
  if (role != "bot") {
    auto id = real::certificate_identity(files.cert_file);
    if (!id) return id.error();
    const PeerIdentity want{role_of(role), NodeId(c.node_id())};
    if (*id != want) {
      return make_error(Error::Code::kInvalidArgument, fmt::format("{} names {}, but this process is {}", files.cert_file,
                                                                   peer_identity_name(*id), peer_identity_name(want)));
    }
  }
  auto settings = tls_settings(role_of(role), files, real::TlsFiles{c.client_tls_cert_file(), c.client_tls_key_file(), {}, {}});
  if (!settings) return settings.error();
  return std::optional<real::TlsSettings>(*settings);
}

// --instance-from-hostname: one ConfigMap for every pod of a Kubernetes StatefulSet (deploy/k8s).
// The pod's ordinal is the number after the last '-' of its host name (the pod name: "compute-3"
// is 3); it is added to node_id, and "{node_id}" in the fields that name this process's own files
// and addresses becomes the result, so that each pod has its own identity, certificate and store.
// A host name without an ordinal is an error: two pods must never share an identity.
Status apply_instance(const std::string& role, wire::ProcessConfig& c) {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return make_error(Error::Code::kIo, "--instance-from-hostname: cannot read the host name");
  const std::string host(name.data());
  const size_t dash = host.rfind('-');
  const std::string digits = dash == std::string::npos ? std::string() : host.substr(dash + 1);
  if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("--instance-from-hostname: host name '{}' does not end in -ORDINAL", host));
  }
  const uint32_t ordinal = static_cast<uint32_t>(std::stoul(digits));
  if (role != "bot") c.set_node_id(c.node_id() + ordinal);
  const std::string id = fmt::format("{}", c.node_id());
  auto fill = [&id](const std::string& field) {
    std::string out = field;
    for (size_t at = out.find("{node_id}"); at != std::string::npos; at = out.find("{node_id}", at + id.size())) out.replace(at, 9, id);
    return out;
  };
  c.set_tls_cert_file(fill(c.tls_cert_file()));
  c.set_tls_key_file(fill(c.tls_key_file()));
  c.set_client_tls_cert_file(fill(c.client_tls_cert_file()));
  c.set_client_tls_key_file(fill(c.client_tls_key_file()));
  c.set_advertise_address(fill(c.advertise_address()));
  c.set_trace_file(fill(c.trace_file()));
  c.set_storage(fill(c.storage()));
  c.set_data_dir(fill(c.data_dir()));
  return validate_process_config(role, c);
}

// Addresses of other processes may name a host ("coordinator-0.aether.svc:7000"): the runtime
// never asks a resolver (runtime/real/address.h), so they are resolved here, once, before anything
// runs, to the first IPv4 address (else the first). Names are therefore for addresses that keep
// their IP across restarts (a Kubernetes Service's ClusterIP, deploy/k8s), never a pod's own name.
Result<std::string> resolved(const std::string& address) {
  if (address.empty() || real::parse_endpoint(address).ok()) return address;
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return make_error(Error::Code::kInvalidArgument, fmt::format("'{}' is not host:port", address));
  const std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(host, port, boost::asio::ip::tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) return make_error(Error::Code::kIo, fmt::format("cannot resolve {}: {}", host, ec ? ec.message() : "no address"));
  boost::asio::ip::tcp::endpoint chosen = results.begin()->endpoint();
  for (const auto& r : results) {
    if (r.endpoint().address().is_v4()) {
      chosen = r.endpoint();
      break;
    }
  }
  return real::format_endpoint(chosen);
}

Status resolve_addresses(const std::string& role, wire::ProcessConfig& c) {
  auto one = [&role](const std::string& in, auto set) -> Status {
    auto r = resolved(in);
    if (!r) return r.error();
    if (*r != in) fmt::print("aether {}: {} is {}\n", role, in, *r);
    set(*r);
    return ok_status();
  };
  if (auto s = one(c.coordinator_address(), [&](const std::string& v) { c.set_coordinator_address(v); }); !s) return s;
  if (auto s = one(c.peer_address(), [&](const std::string& v) { c.set_peer_address(v); }); !s) return s;
  if (auto s = one(c.gateway_address(), [&](const std::string& v) { c.set_gateway_address(v); }); !s) return s;
  for (int i = 0; i < c.coordinator_addresses_size(); ++i) {
    if (auto s = one(c.coordinator_addresses(i), [&](const std::string& v) { c.set_coordinator_addresses(i, v); }); !s) return s;
  }
  return ok_status();
}

// What a role prints when it stops: the figures an operator looks at first.
std::string summary(const std::vector<Component*>& components) {
  std::string out;
  uint32_t bots = 0, playing = 0, in_transit = 0;
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
      in_transit += !b->playing() && b->between_gateways() ? 1 : 0;
      bytes += b->stats().bytes_received;
    }
  }
  // A bot sent to its region's gateway is between two gateways for a moment: not playing, not lost.
  if (bots) out += fmt::format("bots: {} of {} playing, {} between gateways, {} bytes received in all\n", playing, bots, in_transit, bytes);
  return out;
}

void build(const std::string& role, const wire::ProcessConfig& c, std::shared_ptr<const gameplay::Content> content, RealHosting& hosting) {
  const NodeId node(c.node_id());
  if (role == "coordinator") {
    CoordinatorConfig cc = coordinator_config(c);
    cc.rules.content = content;
    cc.identity_required = hosting.verifies_identities();
    hosting.adopt(std::make_unique<Coordinator>(hosting.host(fmt::format("coordinator-{}", node.value), node, Role::kCoordinator), cc));
  } else if (role == "compute") {
    ComputeConfig cc = compute_config(c);
    cc.rules.content = content;
    cc.identity_required = hosting.verifies_identities();
    cc.durable_promises = true;  // a server role always has its store (run_role opened it)
    hosting.adopt(std::make_unique<ComputeNode>(hosting.host(fmt::format("compute-{}", node.value), node, Role::kCompute), cc));
  } else if (role == "gateway") {
    GatewayConfig gc = gateway_config(c);
    gc.identity_required = hosting.verifies_identities();
    hosting.adopt(std::make_unique<Gateway>(hosting.host(fmt::format("gateway-{}", node.value), node, Role::kGateway), gc));
  } else {
    for (uint32_t i = 0; i < c.bots(); ++i) {
      BotConfig b = bot_config(c, i);
      b.content = content;
      hosting.adopt(std::make_unique<BotClient>(hosting.host(b.name, NodeId{}, Role::kClient), b));
    }
  }
}

}  // namespace

int run_role(const RoleArgs& args) {
  const std::string& role = args.role;
  const std::string& config_path = args.config_path;
  auto loaded = load_process_config(role, config_path);
  if (!loaded) {
    fmt::print(stderr, "aether {}: {}\n", role, loaded.error().message);
    return 2;
  }
  if (args.instance_from_hostname) {
    if (auto st = apply_instance(role, loaded.value()); !st) {
      fmt::print(stderr, "aether {}: {}\n", role, st.error().message);
      return 2;
    }
    fmt::print("aether {}: node {} (from the host name's ordinal)\n", role, loaded.value().node_id());
  }
  if (!args.listen_address.empty()) loaded.value().set_listen_address(args.listen_address);
  if (auto st = resolve_addresses(role, loaded.value()); !st) {
    fmt::print(stderr, "aether {}: {}\n", role, st.error().message);
    return 2;
  }
  const wire::ProcessConfig& config = loaded.value();
  std::shared_ptr<const gameplay::Content> content;
  if (!config.content_dir().empty()) {
    const std::filesystem::path dir = std::filesystem::path(config_path).parent_path() / config.content_dir();
    auto c = load_content(dir.lexically_normal().string());
    if (!c) {
      fmt::print(stderr, "aether {}: {}\n", role, c.error().message);
      return 2;
    }
    content = c.value();
    const ClusterShape shape = process_shape(config);
    if (auto st = check_zones_fit(*content, shape.rules.arena_mm, shape.view_radius_mm); !st) {
      fmt::print(stderr, "aether {}: {}: {}\n", role, config_path, st.error().message);
      return 2;
    }
  }
  real::RealOptions options;
  if (config.connections_per_address_max() > 0) {
    options.limits.inbound_per_address_max = config.connections_per_address_max();
    // An address trusted with more connections may also open them at once.
    options.limits.tls_handshakes_per_address_max = std::max(real::kTlsHandshakesPerAddressMax, size_t{config.connections_per_address_max()});
  }
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
  // The store opens (and migrates) before anything runs: a bad one stops the process here.
  std::unique_ptr<real::StorageBackend> store;
  if (const auto spec = storage_spec(role, config)) {
    if (spec->kind == real::StorageSpec::Kind::kSqlite) {
      std::error_code ec;
      const std::filesystem::path parent = std::filesystem::path(spec->target).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      if (ec) {
        fmt::print(stderr, "aether {}: cannot create {}: {}\n", role, parent.string(), ec.message());
        return 2;
      }
    }
    auto opened = real::open_backend(*spec);
    if (!opened) {
      fmt::print(stderr, "aether {}: {}\n", role, opened.error().message);
      return 2;
    }
    store = std::move(*opened);
    fmt::print("aether {}: storage {}\n", role, store->describe());
  }
  boost::asio::io_context io;
  RealHosting hosting(io, options);
  hosting.set_storage([&store](Role, NodeId) { return std::move(store); });  // one server per process: the one store
  if (tls->has_value()) {
    hosting.set_tls([settings = **tls](Role, NodeId) { return settings; });
    fmt::print("aether {}: TLS on ({}){}\n", role, role == "bot" ? "verifying the gateway" : "mutual TLS between servers",
               role == "gateway" ? ", TLS on the client port" : "");
  }
  build(role, config, content, hosting);
  if (role == "gateway" && !config.web_address().empty()) {
    WebOptions web{config.web_address(), {}, {config.web_origins().begin(), config.web_origins().end()}};
    if (config.connections_per_address_max() > 0) web.connections_per_address_max = config.connections_per_address_max();
    if (!config.web_root().empty()) {
      web.root = (std::filesystem::path(config_path).parent_path() / config.web_root()).lexically_normal().string();
    }
    auto bound = open_web(hosting, NodeId(config.node_id()), web);
    if (!bound) {
      fmt::print(stderr, "aether {}: {}\n", role, bound.error().message);
      return 2;
    }
    fmt::print("aether {}: browsers on {}://{}/\n", role, tls->has_value() ? "https" : "http", *bound);
  }
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
  // The coordinator's admin listener (docs/security.md, "Operators"): on its own address, HTTPS.
  std::unique_ptr<AdminEndpoint> admin;
  if (!config.admin_address().empty()) {
    Coordinator* coordinator = nullptr;
    for (Component* c : hosting.components()) coordinator = coordinator ? coordinator : dynamic_cast<Coordinator*>(c);
    auto made = coordinator ? AdminEndpoint::make(io, *coordinator, options, config.tls_cert_file(), config.tls_key_file(), config.operators_file())
                            : Result<std::unique_ptr<AdminEndpoint>>(make_error(Error::Code::kState, "no coordinator to serve"));
    auto bound = made ? made.value()->listen(config.admin_address()) : Result<std::string>(made.error());
    if (!bound) {
      fmt::print(stderr, "aether {}: {}\n", role, bound.error().message);
      return 2;
    }
    admin = std::move(made.value());
    admin->set_console_peers({config.admin_peers().begin(), config.admin_peers().end()});
    metrics.set_admin(&admin->server());
    fmt::print("aether {}: admin on https://{}/api/ (admin epoch {})\n", role, *bound, config.admin_epoch_enabled() ? "enabled" : "disabled");
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
  // SIGHUP reads the revocation list again at once (it is also looked at every 30 s: docs/security.md).
  auto hangup = [&hosting, &role] {
    const size_t lists = hosting.reload_revocations();
    fmt::print(stderr, "aether {}: SIGHUP: {}\n", role, lists ? "reading the revocation list again" : "no revocation list to read (tls_crl_file)");
  };
  real::run_until_stopped(io, static_cast<TimeNs>(config.duration_s()) * kNsPerSec, [&] {
    if (admin) admin->shutdown();
    metrics.shutdown();
    figures = summary(hosting.components());
    hosting.shutdown();
  }, std::move(graceful), hangup);
  fmt::print("{}", figures);
  return 0;
}

}  // namespace aether::app
