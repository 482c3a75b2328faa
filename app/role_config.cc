#include "app/role_config.h"

#include <fmt/format.h>

#include "app/text_config.h"
#include "runtime/real/admin_server.h"

namespace aether::app {

Result<wire::ProcessConfig> load_process_config(const std::string& role, const std::string& path) {
  std::string text;
  wire::ProcessConfig config;
  Status s = read_text_file(path, &text);
  if (s) s = parse_text_proto(path, text, &config);
  if (!s) return s.error();
  if (auto v = validate_process_config(role, config); !v) return make_error(Error::Code::kInvalidArgument, fmt::format("{}: {}", path, v.error().message));
  return config;
}

Status validate_process_config(const std::string& role, const wire::ProcessConfig& c) {
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
  if (!c.tls_crl_file().empty() && c.tls_ca_file().empty()) return bad("tls_crl_file needs tls_ca_file (the CA whose list it is)");
  const bool client_tls = !c.client_tls_cert_file().empty() || !c.client_tls_key_file().empty();
  if (client_tls && (role != "gateway" || !any_tls || c.client_tls_cert_file().empty() || c.client_tls_key_file().empty())) {
    return bad("client_tls_cert_file and client_tls_key_file go together, on a gateway with tls_* set");
  }
  if ((!c.admin_address().empty() || !c.operators_file().empty() || c.admin_epoch_enabled()) && role != "coordinator") {
    return bad("admin_address, operators_file and admin_epoch_enabled are a coordinator's");
  }
  if (!c.admin_address().empty() && (!any_tls || c.operators_file().empty())) {
    return bad("admin_address needs the tls_* fields (operators speak HTTPS only) and operators_file");
  }
  if (!c.operators_file().empty() && c.admin_address().empty()) return bad("operators_file goes with admin_address");
  if (c.admin_peers_size() != 0 && c.admin_address().empty()) return bad("admin_peers goes with admin_address");
  if (static_cast<size_t>(c.admin_peers_size()) > real::kAdminPeersMax) return bad(fmt::format("admin_peers: at most {}", real::kAdminPeersMax));
  for (const std::string& peer : c.admin_peers()) {
    if (peer.empty() || peer.size() > 253 || peer.find_first_of(" /\"'\\;,") != std::string::npos || peer.find(':') == std::string::npos) {
      return bad(fmt::format("admin_peers: '{}' is not host:port", peer.substr(0, 64)));
    }
  }
  if (role == "bot" && (!c.storage().empty() || !c.data_dir().empty())) return bad("a bot keeps no store: remove storage and data_dir");
  if (!c.storage().empty()) {
    if (auto spec = real::parse_storage_spec(c.storage()); !spec) return bad(spec.error().message);
  }
  if (c.data_dir().find('\0') != std::string::npos) return bad("data_dir holds a NUL byte");
  if (c.access_token_ttl_s() > 86'400) return bad("access_token_ttl_s must be at most 86400 (a day)");
  if ((c.access_token_ttl_s() != 0 || c.registrations_per_address_max() != 0) && (role != "gateway" || !c.accounts())) {
    return bad("access_token_ttl_s and registrations_per_address_max are a gateway's, with accounts");
  }
  return ok_status();
}

std::optional<real::StorageSpec> storage_spec(const std::string& role, const wire::ProcessConfig& c) {
  if (role == "bot") return std::nullopt;
  if (!c.storage().empty()) return real::parse_storage_spec(c.storage()).value();
  const std::string dir = c.data_dir().empty() ? kDefaultDataDir : c.data_dir();
  return real::StorageSpec{real::StorageSpec::Kind::kSqlite, fmt::format("{}/{}-{}.sqlite", dir, role, c.node_id())};
}

namespace {
std::vector<std::string> coordinators_of(const wire::ProcessConfig& c) {
  std::vector<std::string> out(c.coordinator_addresses().begin(), c.coordinator_addresses().end());
  if (!c.coordinator_address().empty()) out.insert(out.begin(), c.coordinator_address());
  return out;
}
}  // namespace

ClusterShape process_shape(const wire::ProcessConfig& c) {
  ClusterShape shape;
  if (c.arena_m()) shape.rules.arena_mm = static_cast<int32_t>(c.arena_m() * kMmPerMetre);
  if (c.fire_range_m()) shape.rules.fire_range_mm = static_cast<int32_t>(c.fire_range_m() * kMmPerMetre);
  if (c.teams()) shape.rules.teams = c.teams();
  if (c.view_radius_m()) shape.view_radius_mm = static_cast<int32_t>(c.view_radius_m() * kMmPerMetre);
  return shape;
}

CoordinatorConfig coordinator_config(const wire::ProcessConfig& c) {
  CoordinatorConfig cc;
  cc.node = NodeId(c.node_id());
  cc.listen_address = c.listen_address();
  cc.peer_address = c.peer_address();
  cc.peer_node = NodeId(c.peer_node_id());
  cc.start_as_leader = !c.start_as_vice();
  cc.compute_nodes = c.compute_nodes();
  cc.rules = process_shape(c).rules;
  cc.admin_epoch_enabled = c.admin_epoch_enabled();
  return cc;
}

ComputeConfig compute_config(const wire::ProcessConfig& c) {
  const ClusterShape shape = process_shape(c);
  ComputeConfig cc;
  cc.node = NodeId(c.node_id());
  cc.listen_address = c.listen_address();
  cc.coordinator_addresses = coordinators_of(c);
  cc.rules = shape.rules;
  cc.view_radius_mm = shape.view_radius_mm;
  return cc;
}

GatewayConfig gateway_config(const wire::ProcessConfig& c) {
  GatewayConfig gc;
  gc.node = NodeId(c.node_id());
  gc.listen_address = c.listen_address();
  gc.advertise_address = c.advertise_address();
  gc.coordinator_addresses = coordinators_of(c);
  gc.view_radius_mm = process_shape(c).view_radius_mm;
  gc.accounts.enabled = c.accounts();
  if (c.access_token_ttl_s() > 0) gc.accounts.sessions.access_ttl_ns = static_cast<TimeNs>(c.access_token_ttl_s()) * kNsPerSec;
  if (c.registrations_per_address_max() > 0) gc.accounts.login.registrations_per_address_max = c.registrations_per_address_max();
  return gc;
}

BotConfig bot_config(const wire::ProcessConfig& c, uint32_t index) {
  const ClusterShape shape = process_shape(c);
  BotConfig b;
  b.gateway_addresses = {c.gateway_address()};
  b.name = fmt::format("bot-{}", index + 1);
  b.arena_mm = shape.rules.arena_mm;
  b.fire_range_mm = shape.rules.fire_range_mm;
  b.content = shape.rules.content;
  b.start_delay_ns = static_cast<TimeNs>(index) * 10 * kNsPerMs;
  if (c.accounts()) {
    b.account.enabled = true;
    b.account.password = fmt::format("{}-password", b.name);  // bots' passwords are no secret
    const uint32_t teams = shape.rules.teams ? shape.rules.teams : 1;
    b.account.class_id = gameplay::class_for_spawn(*gameplay::content_of(shape.rules), index / teams).id;
  }
  return b;
}

}  // namespace aether::app
