#pragma once
// A process's certificate revocation list, read again while the process runs (docs/security.md,
// "Revoking a certificate"): a revocation needs no restart.
//
// A CrlWatch holds the list in force for the TLS contexts that verify peers against one CA (a
// server's port and its links, or a bot's client: app/tls_setup.h). Every TcpNetwork given those
// contexts asks it, every TcpLimits::crl_check_interval_ns (kCrlReloadIntervalNs), to look at the
// file; once the file's modification time, size or inode changed, or at once when the process is
// told to (SIGHUP: reload()), the file is read and, if it passes, a new X509_STORE (the CA
// certificates in force, the new list, X509_V_FLAG_CRL_CHECK as at start) replaces each context's
// (SSL_CTX_set1_cert_store): every handshake that checks its peer from then on uses the new list.
// The networks it notifies then close their established connections whose peer's certificate the
// new list names (TcpLimitStats::tls_peer_revoked).
//
// Refused, the list in force staying (the reading network logs it at error; counted in stats()): a
// file that cannot be read or is over kCrlFileBytesMax, holds no PEM list, is not signed by a CA in
// force, is past its next update (OpenSSL would fail every handshake with it, as at start), or is
// older than the list in force (an earlier lastUpdate, or a lower CRL number when both carry one).
// A refused file is read again only once it changed (or on reload()).
//
// Threads: a watch and its contexts belong to one event loop; every network sharing them runs on it
// (checked in attach()). The store is swapped by a handler of that loop, between two steps of any
// handshake, so no handshake verifies against a store being replaced.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "engine/core/result.h"
#include "engine/core/time.h"
#include "runtime/real/tls.h"

namespace aether::real {

// How often a network looks at its revocation list's file (a stat; the file is read once it changed).
inline constexpr TimeNs kCrlReloadIntervalNs = 30 * kNsPerSec;
// A list file larger than this is refused unread. `aether cert revoke` writes at most kCrlEntriesMax
// (4,096) entries, about 200 KB in PEM.
inline constexpr size_t kCrlFileBytesMax = 4 << 20;

struct CrlReloadStats {
  uint64_t loaded = 0;   // lists read while running that replaced the one in force
  uint64_t refused = 0;  // files read while running and refused (the list in force stayed)
};

enum class CrlReload : uint8_t {
  kUnchanged,  // not looked at (too soon), or the file did not change
  kLoaded,     // a new list is in force
  kRefused,    // the file changed and was refused; why says why
};

struct CrlReloadOutcome {
  CrlReload what = CrlReload::kUnchanged;
  std::string why;  // kRefused: the reason; kLoaded: what the list holds
};

// Told, on the watch's loop, that a new list is in force.
class RevocationListener {
 public:
  virtual ~RevocationListener() = default;
  virtual void on_revocations_loaded() = 0;
};

// Adds crl_file to the context's store, checked as a reload checks it (at most kCrlFileBytesMax
// bytes, a PEM list signed by a CA the context trusts, not past its next update), and turns on the
// revocation check (X509_V_FLAG_CRL_CHECK: the leaf; our chains are one deep). make_tls_context's.
Status load_revocation_list(SSL_CTX* native, const std::string& crl_file);

class CrlWatch {
 public:
  // Reads crl_file and puts it, with the CA certificates the first context trusts (every context
  // trusts the same: they were made from one CA file), into a new store of each context. Refuses a
  // list as make_tls_context does, and contexts that verify no peer.
  static Result<std::shared_ptr<CrlWatch>> make(const std::string& crl_file, std::vector<std::shared_ptr<TlsContext>> contexts);
  ~CrlWatch();
  CrlWatch(const CrlWatch&) = delete;
  CrlWatch& operator=(const CrlWatch&) = delete;

  // A network on `io` that uses the contexts, told of every new list; all of them on one loop.
  // Listeners destroyed are forgotten (at most one entry per network alive on the loop).
  void attach(boost::asio::io_context& io, std::weak_ptr<RevocationListener> listener);
  // Looks at the file unless it looked less than every_ns ago (now_ns: steady time); reads it once
  // it changed. On the watch's loop.
  CrlReloadOutcome check(TimeNs now_ns, TimeNs every_ns);
  // Reads the file now, changed or not (SIGHUP). On the watch's loop.
  CrlReloadOutcome reload();

  // Whether the list in force names this certificate (its issuer's list, by serial).
  bool revokes(X509* cert) const;
  const std::string& file() const { return file_; }
  const CrlReloadStats& stats() const { return stats_; }
  size_t entries() const;                // certificates the list in force names
  int64_t next_update_unix_s() const;    // when the list in force runs out

 private:
  struct Stamp {
    int64_t mtime_ns = -1;  // -1: the file could not be looked at
    int64_t size = 0;
    ino_t inode = 0;
    bool operator==(const Stamp&) const = default;
  };
  CrlWatch(std::string file, std::vector<std::shared_ptr<TlsContext>> contexts, std::vector<X509*> anchors);
  static Stamp stamp_of(const std::string& file);
  // Reads, checks and, if it passes, installs the file: the list in force from then on.
  CrlReloadOutcome read_and_install(bool at_start);
  Status install(X509_CRL* crl);
  void notify();

  const std::string file_;
  const std::vector<std::shared_ptr<TlsContext>> contexts_;
  const std::vector<X509*> anchors_;  // the CA certificates in force (owned: freed with the watch)
  X509_CRL* crl_ = nullptr;           // the list in force (owned)
  Stamp stamp_;
  TimeNs checked_ns_ = 0;
  bool checked_once_ = false;
  CrlReloadStats stats_;
  const boost::asio::io_context* loop_ = nullptr;  // the one loop (set by the first attach)
  std::vector<std::weak_ptr<RevocationListener>> listeners_;
};

}  // namespace aether::real
