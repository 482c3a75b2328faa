#pragma once
// Development certificates (`aether cert`, `aether local --tls`, the TLS tests): a cluster
// certificate authority and the certificates it signs, made with OpenSSL's library calls (nothing
// external runs). Keys are ECDSA P-256; certificates are X.509 v3, signed with SHA-256. A node's or
// operator's certificate names its identity as its common name ("compute-101", "admin-1"; see
// engine/runtime/peer_identity.h) and the hosts it serves as subjectAltNames, and may be used on both
// sides of a connection (serverAuth and clientAuth). Private keys are written readable by their
// owner only.

#include <string>
#include <vector>

#include "engine/core/result.h"

namespace aether::real {

// Validity of what `aether cert` issues unless told otherwise.
inline constexpr int kCertDaysDefault = 365;
inline constexpr int kCertDaysMax = 3650;
// Hosts one certificate names at most.
inline constexpr size_t kCertHostsMax = 16;

// A self-signed CA: cert_file and key_file (PEM) are written, replacing what was there.
Status issue_ca(const std::string& common_name, int days, const std::string& cert_file, const std::string& key_file);

struct CertSubject {
  std::string common_name;         // the identity, e.g. "gateway-201"
  std::vector<std::string> hosts;  // IP literals or DNS names, as subjectAltName entries
  int days = kCertDaysDefault;
};

// A certificate for `subject`, signed by the CA in ca_cert_file / ca_key_file.
Status issue_certificate(const std::string& ca_cert_file, const std::string& ca_key_file, const CertSubject& subject,
                         const std::string& cert_file, const std::string& key_file);

// How long a revocation list is valid unless told otherwise: it must be issued again before then
// (a process refuses an out-of-date list, at start and when it reads the file again: crl_watch.h).
inline constexpr int kCrlDaysDefault = 30;
// Certificates one list revokes at most.
inline constexpr size_t kCrlEntriesMax = 4096;

// The CA's revocation list with the certificates in cert_files added (each must be the CA's):
// crl_file is read if it exists (it must be the CA's; what it revoked stays revoked), and written
// again, valid for `days` from now, numbered (CRL number: the old list's + 1, or 1), signed by the
// CA, replaced atomically (a process reading it never sees half a list).
Status revoke_certificates(const std::string& ca_cert_file, const std::string& ca_key_file, const std::vector<std::string>& cert_files,
                           const std::string& crl_file, int days);

}  // namespace aether::real
