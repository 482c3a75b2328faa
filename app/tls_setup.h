#pragma once
// Which TLS each kind of process speaks, from its certificate files, and the layout of a directory
// of development certificates (`aether cert`, `aether local --tls`, `aether admin --tls-dir`).
//
//   coordinator, compute: mutual TLS on its port (a peer must present a certificate of our CA) and on
//                         every link it dials;
//   gateway:              TLS on its client port (its client certificate; players present none),
//                         mutual TLS on every link it dials;
//   client (bot):         verifies the gateway's certificate against the CA and the host it dialled;
//   admin:                mutual TLS to the coordinator and compute nodes, as admin-N.

#include <string>
#include <vector>

#include "engine/core/ids.h"
#include "engine/core/result.h"
#include "runtime/real/tls.h"

namespace aether::app {

// files: the process's own certificate, key and the cluster CA, and the CA's revocation list (empty:
// none), which every context that verifies a peer checks and which is read again while the process
// runs (TlsSettings::revocations: the contexts are then for one event loop). client_port: the
// gateway's certificate and key for its client port (empty: its own certificate).
Result<real::TlsSettings> tls_settings(Role role, const real::TlsFiles& files, const real::TlsFiles& client_port = {});

// A directory of certificates: ca.pem and ca.key, and NAME.pem and NAME.key for each identity.
struct CertDir {
  std::string dir;
  std::string ca_cert() const { return dir + "/ca.pem"; }
  std::string ca_key() const { return dir + "/ca.key"; }
  std::string cert(const std::string& name) const { return dir + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir + "/" + name + ".key"; }
  std::string crl() const { return dir + "/crl.pem"; }  // `aether cert revoke`
  // The files a process with identity `name` uses.
  real::TlsFiles files(const std::string& name) const { return real::TlsFiles{cert(name), key(name), ca_cert(), {}}; }
};

// The identities of a cluster's processes (coordinators 1.., compute nodes 101.., gateways 201..,
// operators admin-1..), as `aether local` numbers them.
std::vector<std::string> cluster_identities(uint32_t coordinators, uint32_t compute_nodes, uint32_t gateways, uint32_t admins);

// A CA and a certificate for each identity, every one naming hosts, into dir (created if missing).
Status issue_cluster(const CertDir& dir, const std::vector<std::string>& identities, const std::vector<std::string>& hosts, int days);

}  // namespace aether::app
