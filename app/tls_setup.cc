#include "app/tls_setup.h"

#include <sys/stat.h>

#include <cerrno>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "app/cluster.h"
#include "runtime/real/cert_issuer.h"
#include "runtime/real/crl_watch.h"

namespace aether::app {

namespace {

Result<std::shared_ptr<real::TlsContext>> context(real::TlsSide side, const real::TlsFiles& files, const char* what) {
  auto ctx = real::make_tls_context(side, files);
  if (!ctx) return make_error(ctx.error().code, fmt::format("{}: {}", what, ctx.error().message));
  return ctx;
}

}  // namespace

Result<real::TlsSettings> tls_settings(Role role, const real::TlsFiles& files, const real::TlsFiles& client_port) {
  real::TlsSettings out;
  std::vector<std::shared_ptr<real::TlsContext>> verifying;  // the contexts that check peers against the CA (and its list)
  switch (role) {
    case Role::kCoordinator:
    case Role::kCompute: {
      auto accept = context(real::TlsSide::kServerMutual, files, "server port");
      if (!accept) return accept.error();
      out.accept = *accept;
      verifying.push_back(out.accept);
      break;
    }
    case Role::kGateway: {
      real::TlsFiles port = client_port.cert_file.empty() ? files : client_port;
      auto accept = context(real::TlsSide::kServer, port, "client port");
      if (!accept) return accept.error();
      out.accept = *accept;
      break;
    }
    case Role::kClient: {
      auto connect = context(real::TlsSide::kClient, real::TlsFiles{{}, {}, files.ca_file, files.crl_file}, "client");
      if (!connect) return connect.error();
      out.connect = *connect;
      out.verify_host = true;
      verifying.push_back(out.connect);
      break;
    }
    case Role::kAdmin: break;
    case Role::kNone: return make_error(Error::Code::kInvalidArgument, "no TLS for role none");
  }
  if (role != Role::kClient) {
    auto connect = context(real::TlsSide::kClientMutual, files, "links");
    if (!connect) return connect.error();
    out.connect = *connect;
    verifying.push_back(out.connect);
  }
  // One list for the process's verifying contexts, read again while it runs (runtime/real/crl_watch.h).
  if (!files.crl_file.empty()) {
    auto watch = real::CrlWatch::make(files.crl_file, std::move(verifying));
    if (!watch) return watch.error();
    out.revocations = *watch;
  }
  return out;
}

std::vector<std::string> cluster_identities(uint32_t coordinators, uint32_t compute_nodes, uint32_t gateways, uint32_t admins) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < coordinators; ++i) out.push_back(peer_identity_name({Role::kCoordinator, coordinator_node_id(i)}));
  for (uint32_t i = 0; i < compute_nodes; ++i) out.push_back(peer_identity_name({Role::kCompute, compute_node_id(i)}));
  for (uint32_t i = 0; i < gateways; ++i) out.push_back(peer_identity_name({Role::kGateway, gateway_node_id(i)}));
  for (uint32_t i = 0; i < admins; ++i) out.push_back(peer_identity_name({Role::kAdmin, NodeId(1 + i)}));
  return out;
}

Status issue_cluster(const CertDir& dir, const std::vector<std::string>& identities, const std::vector<std::string>& hosts, int days) {
  if (::mkdir(dir.dir.c_str(), 0700) != 0 && errno != EEXIST) return make_error(Error::Code::kIo, fmt::format("cannot create {}", dir.dir));
  if (Status s = real::issue_ca("aether-cluster-ca", days, dir.ca_cert(), dir.ca_key()); !s) return s;
  for (const std::string& name : identities) {
    real::CertSubject subject{name, hosts, days};
    if (Status s = real::issue_certificate(dir.ca_cert(), dir.ca_key(), subject, dir.cert(name), dir.key(name)); !s) return s;
  }
  return ok_status();
}

}  // namespace aether::app
