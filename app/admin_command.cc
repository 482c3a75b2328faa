// `aether admin --coordinator ADDR [--force] nodes | entity ID | move ID NODE | drain NODE | failover
//                                   | debug [--entity E]... [--node N]... [--off]`
//
// Reads first ask the coordinator for its epoch, then orders are sent under that epoch, so the log
// and trace show which regime of truth they were given in. --force sends them under the admin epoch
// (INT_MAX), which supersedes any authority (seed section 16): use it to make a vice take over.
//
// --tls-dir DIR speaks mutual TLS with the operator's certificate DIR/admin-N.pem (--as admin-N) and
// the cluster CA DIR/ca.pem, and signs its requests with that identity: with mutual TLS configured,
// servers take admin requests only from admin identities.

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>

#include "app/commands.h"
#include "app/tls_setup.h"
#include "engine/net/outbound_link.h"
#include "engine/wire/codec.h"
#include "runtime/real/real_runtime.h"

namespace aether::app {

namespace {

constexpr auto kAdminTimeout = std::chrono::seconds(3);

// One request, one reply, over its own connection.
class AdminCall final : public NetworkHandler {
 public:
  AdminCall(Runtime& rt, ServerMessage request) : rt_(rt), request_(std::move(request)) { rt_.network.set_handler(this); }
  void on_accepted(ConnId, std::string_view) override {}
  void on_connected(ConnId conn) override { send_server(rt_.network, conn, request_); }
  void on_message(ConnId conn, std::span<const uint8_t> payload) override {
    auto m = decode_server(payload);
    if (m && std::holds_alternative<AdminReply>(m->body)) reply = std::get<AdminReply>(m->body);
    else error = m ? "unexpected answer" : m.error().message;
    rt_.network.close(conn);
    done = true;
  }
  void on_closed(ConnId, CloseReason reason) override {
    if (!done) error = fmt::format("connection {}", close_reason_name(reason));
    done = true;
  }
  std::optional<AdminReply> reply;
  std::string error;
  bool done = false;

 private:
  Runtime& rt_;
  ServerMessage request_;
};

// Who the requests come from: over mutual TLS, the operator's certificate; else the plain default.
struct Operator {
  NodeId node{0xad};
  real::TlsSettings tls;
};
Result<Operator> load_operator(const AdminArgs& args) {
  if (args.tls_dir.empty()) return Operator{};
  const CertDir dir{args.tls_dir};
  auto id = real::certificate_identity(dir.cert(args.as));
  if (!id) return id.error();
  if (id->role != Role::kAdmin) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("{} names {}, not an operator (admin-N)", dir.cert(args.as), peer_identity_name(*id)));
  }
  auto tls = tls_settings(Role::kAdmin, dir.files(args.as));
  if (!tls) return tls.error();
  return Operator{id->node, *tls};
}

Result<AdminReply> ask(const Operator& op, const std::string& address, const AdminRequest& req, Epoch epoch) {
  boost::asio::io_context io;
  real::RealOptions options;
  options.log_level = LogLevel::kError;
  options.tls = op.tls;
  real::RealRuntime rt(io, "admin", NodeId{}, options);
  AdminCall call(rt.runtime(), ServerMessage{op.node, Role::kAdmin, epoch, 0, req});
  rt.runtime().network.connect(address);
  const auto deadline = std::chrono::steady_clock::now() + kAdminTimeout;
  while (!call.done && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(20));
  rt.shutdown();
  if (call.reply) return *call.reply;
  return make_error(Error::Code::kUnavailable, fmt::format("{}: {}", address, call.error.empty() ? "no answer" : call.error));
}

// "coordinator 1 leader at epoch 3: ..." -> 3
Epoch epoch_of(const AdminReply& nodes) {
  if (nodes.lines.empty()) return 0;
  const auto at = nodes.lines[0].find("at epoch ");
  return at == std::string::npos ? 0 : std::strtoull(nodes.lines[0].c_str() + at + 9, nullptr, 10);
}

int print(const Result<AdminReply>& r) {
  if (!r) {
    fmt::print(stderr, "aether admin: {}\n", r.error().message);
    return 2;
  }
  for (const auto& line : r->lines) fmt::print("{}\n", line);
  return r->ok ? 0 : 1;
}

}  // namespace

int run_admin(const AdminArgs& args) {
  const Result<Operator> loaded = load_operator(args);
  if (!loaded) {
    fmt::print(stderr, "aether admin: {}\n", loaded.error().message);
    return 2;
  }
  const Operator& op = *loaded;
  auto nodes = ask(op, args.coordinator, AdminRequest{AdminRequest::Command::kListNodes, {}, {}}, 0);
  if (!nodes) return print(nodes);
  const Epoch epoch = args.force ? kEpochAdmin : epoch_of(nodes.value());
  using C = AdminRequest::Command;
  if (args.command == "nodes") return print(nodes);
  if (args.command == "entity") {
    const int rc = print(ask(op, args.coordinator, AdminRequest{C::kShowEntity, EntityId(args.entity), {}}, epoch));
    for (const auto& line : nodes->lines) {  // "compute 101 at ADDRESS up ..."
      if (line.rfind("compute ", 0) != 0) continue;
      const auto at = line.find(" at ");
      const auto end = line.find(' ', at + 4);
      if (at == std::string::npos || end == std::string::npos) continue;
      auto ghost = ask(op, line.substr(at + 4, end - at - 4), AdminRequest{C::kGhostQuery, EntityId(args.entity), {}}, epoch);
      if (ghost && ghost->ok) print(ghost);
    }
    return rc;
  }
  if (args.command == "move") return print(ask(op, args.coordinator, AdminRequest{C::kMove, EntityId(args.entity), NodeId(args.node)}, epoch));
  if (args.command == "drain") return print(ask(op, args.coordinator, AdminRequest{C::kDrain, {}, NodeId(args.node)}, epoch));
  if (args.command == "failover") return print(ask(op, args.coordinator, AdminRequest{C::kFailover, {}, {}}, epoch));
  if (args.command == "debug") {
    if (args.debug_entities.size() > kDebugEntitiesMax || args.debug_nodes.size() > kDebugNodesMax) {
      fmt::print(stderr, "aether admin: at most {} entities and {} nodes are debugged at once\n", kDebugEntitiesMax, kDebugNodesMax);
      return 2;
    }
    DebugTargets targets;
    for (uint64_t e : args.debug_entities) targets.entities.push_back(EntityId(e));
    for (uint32_t n : args.debug_nodes) targets.nodes.push_back(NodeId(n));
    targets.off = args.debug_off;
    return print(ask(op, args.coordinator, AdminRequest{C::kDebug, {}, {}, std::move(targets)}, epoch));
  }
  fmt::print(stderr, "aether admin: unknown command '{}' (nodes, entity, move, drain, failover, debug)\n", args.command);
  return 2;
}

}  // namespace aether::app
