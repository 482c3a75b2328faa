// `aether cert ca|node|cluster --dir DIR`: development certificates for mutual TLS (docs/security.md).
//   ca       a cluster CA: DIR/ca.pem, DIR/ca.key
//   node     a certificate per identity named (compute-101, gateway-201, admin-1, ...), signed by the
//            CA in DIR: DIR/NAME.pem, DIR/NAME.key
//   cluster  a CA and every identity of a cluster numbered as `aether local` numbers it
//   revoke   the identities named go into the CA's revocation list DIR/crl.pem (made or grown,
//            valid --crl-days); processes given it as tls_crl_file refuse those certificates
// Keys are written readable by their owner only. Production certificates come from the operator's
// own CA; these commands exist so that a development cluster runs the same code.

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "app/commands.h"
#include "app/tls_setup.h"
#include "runtime/real/cert_issuer.h"

namespace aether::app {

namespace {

int failed(const Status& s) {
  fmt::print(stderr, "aether cert: {}\n", s.error().message);
  return 1;
}

}  // namespace

int run_cert(const CertArgs& args) {
  const CertDir dir{args.dir};
  // A new CA would orphan every certificate the old one signed: never replaced silently.
  if ((args.command == "ca" || args.command == "cluster") && ::access(dir.ca_cert().c_str(), F_OK) == 0) {
    fmt::print(stderr, "aether cert: {} exists; remove it first to make a new CA (every certificate it signed goes with it)\n", dir.ca_cert());
    return 2;
  }
  const std::vector<std::string> hosts = args.hosts.empty() ? std::vector<std::string>{"127.0.0.1", "localhost"} : args.hosts;
  if (args.command == "ca") {
    if (Status s = issue_cluster(dir, {}, hosts, args.days); !s) return failed(s);
    fmt::print("aether cert: CA {} (key {})\n", dir.ca_cert(), dir.ca_key());
    return 0;
  }
  if (args.command == "node") {
    if (args.names.empty()) {
      fmt::print(stderr, "aether cert node: name at least one identity (e.g. compute-101, admin-1)\n");
      return 2;
    }
    for (const std::string& name : args.names) {
      if (!parse_peer_identity(name)) {
        fmt::print(stderr, "aether cert node: '{}' is no identity: want coordinator-N, compute-N, gateway-N or admin-N\n", name);
        return 2;
      }
    }
    for (const std::string& name : args.names) {
      if (Status s = real::issue_certificate(dir.ca_cert(), dir.ca_key(), real::CertSubject{name, hosts, args.days}, dir.cert(name), dir.key(name)); !s) {
        return failed(s);
      }
      fmt::print("aether cert: {} (key {})\n", dir.cert(name), dir.key(name));
    }
    return 0;
  }
  if (args.command == "cluster") {
    const auto names = cluster_identities(args.coordinators, args.compute_nodes, args.gateways, args.admins);
    if (Status s = issue_cluster(dir, names, hosts, args.days); !s) return failed(s);
    fmt::print("aether cert: CA {} and {} certificates in {}:", dir.ca_cert(), names.size(), dir.dir);
    for (const std::string& name : names) fmt::print(" {}", name);
    fmt::print("\n");
    return 0;
  }
  if (args.command == "revoke") {
    // No name: the list is issued again as it is (before its --crl-days run out), or made empty.
    std::vector<std::string> files;
    for (const std::string& name : args.names) files.push_back(dir.cert(name));
    if (Status s = real::revoke_certificates(dir.ca_cert(), dir.ca_key(), files, dir.crl(), args.crl_days); !s) return failed(s);
    fmt::print("aether cert: revocation list {} ({} newly revoked: {}), valid {} days: issue it again before (`aether cert revoke` with no name)\n",
               dir.crl(), args.names.size(), fmt::join(args.names, ", "), args.crl_days);
    return 0;
  }
  fmt::print(stderr, "aether cert: unknown command '{}' (ca, node, cluster, revoke)\n", args.command);
  return 2;
}

}  // namespace aether::app
