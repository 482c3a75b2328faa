#include "runtime/real/crl_watch.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <utility>

#include <fmt/format.h>

#include "engine/core/assert.h"

namespace aether::real {

namespace {

Error crl_error(std::string what) { return make_error(Error::Code::kInvalidArgument, std::move(what)); }

struct CrlNumber {
  explicit CrlNumber(const X509_CRL* crl)
      : value(static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl, NID_crl_number, nullptr, nullptr))) {}
  ~CrlNumber() { ASN1_INTEGER_free(value); }
  CrlNumber(const CrlNumber&) = delete;
  CrlNumber& operator=(const CrlNumber&) = delete;
  ASN1_INTEGER* value;  // null: the list carries none
};

// Why `fresh` may not replace `in_force` (empty: it may): a list older than the one in force would
// take back revocations, an old file restored by mistake or on purpose.
std::string older_than(const X509_CRL* fresh, const X509_CRL* in_force) {
  const CrlNumber fresh_number(fresh), in_force_number(in_force);
  if (fresh_number.value != nullptr && in_force_number.value != nullptr && ASN1_INTEGER_cmp(fresh_number.value, in_force_number.value) < 0) {
    return "its CRL number is lower than the list in force's";
  }
  const ASN1_TIME* fresh_last = X509_CRL_get0_lastUpdate(fresh);
  const ASN1_TIME* in_force_last = X509_CRL_get0_lastUpdate(in_force);
  if (fresh_last == nullptr || (in_force_last != nullptr && ASN1_TIME_compare(fresh_last, in_force_last) < 0)) {
    return "it was issued before the list in force (an earlier lastUpdate)";
  }
  return {};
}

// The file's bytes, at most kCrlFileBytesMax: a file being written, or anything else, is not
// trusted to be small.
Result<std::string> read_bounded(const std::string& file_name) {
  FILE* file = std::fopen(file_name.c_str(), "rb");
  if (file == nullptr) return crl_error(fmt::format("cannot open the revocation list {}", file_name));
  std::string bytes(kCrlFileBytesMax + 1, '\0');
  const size_t got = std::fread(bytes.data(), 1, bytes.size(), file);
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return crl_error(fmt::format("cannot read the revocation list {}", file_name));
  if (got > kCrlFileBytesMax) return crl_error(fmt::format("the revocation list {} is over {} bytes", file_name, kCrlFileBytesMax));
  bytes.resize(got);
  return bytes;
}

// The certificates a context trusts (what load_verify_file put in its store), each up-referenced.
std::vector<X509*> trusted_certificates(SSL_CTX* native) {
  std::vector<X509*> out;
  if (STACK_OF(X509)* all = X509_STORE_get1_all_certs(SSL_CTX_get_cert_store(native)); all != nullptr) {
    while (sk_X509_num(all) > 0) out.push_back(sk_X509_pop(all));
    sk_X509_free(all);
  }
  return out;
}

void free_all(const std::vector<X509*>& certs) {
  for (X509* cert : certs) X509_free(cert);
}

// Reads crl_file, at most kCrlFileBytesMax bytes, as a PEM revocation list signed by one of
// `anchors` (by subject and key) and not past its next update. The X509_CRL returned is the caller's.
Result<X509_CRL*> read_revocation_list(const std::string& crl_file, const std::vector<X509*>& anchors) {
  auto bytes = read_bounded(crl_file);
  if (!bytes) return bytes.error();
  BIO* bio = BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size()));
  X509_CRL* crl = bio == nullptr ? nullptr : PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (crl == nullptr) {
    ERR_clear_error();
    return crl_error(fmt::format("{} holds no PEM revocation list", crl_file));
  }
  const bool signed_by_anchor = std::any_of(anchors.begin(), anchors.end(), [crl](X509* ca) {
    return X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 && X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1;
  });
  ERR_clear_error();
  std::string refused;
  if (!signed_by_anchor) {
    refused = fmt::format("the revocation list {} is not signed by the CA", crl_file);
  } else if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl); next == nullptr || X509_cmp_current_time(next) <= 0) {
    refused = fmt::format("the revocation list {} is out of date (its next update is past): issue it again with `aether cert revoke`", crl_file);
  }
  if (!refused.empty()) {
    X509_CRL_free(crl);
    return crl_error(std::move(refused));
  }
  return crl;
}

}  // namespace

Status load_revocation_list(SSL_CTX* native, const std::string& crl_file) {
  const std::vector<X509*> anchors = trusted_certificates(native);
  auto crl = read_revocation_list(crl_file, anchors);
  free_all(anchors);
  if (!crl) return crl.error();
  X509_STORE* store = SSL_CTX_get_cert_store(native);
  const bool ok = X509_STORE_add_crl(store, *crl) == 1 && X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) == 1;
  X509_CRL_free(*crl);  // the store holds its own reference
  ERR_clear_error();
  if (!ok) return crl_error(fmt::format("cannot use the revocation list {}", crl_file));
  return ok_status();
}

CrlWatch::CrlWatch(std::string file, std::vector<std::shared_ptr<TlsContext>> contexts, std::vector<X509*> anchors)
    : file_(std::move(file)), contexts_(std::move(contexts)), anchors_(std::move(anchors)) {}

CrlWatch::~CrlWatch() {
  free_all(anchors_);
  X509_CRL_free(crl_);
}

Result<std::shared_ptr<CrlWatch>> CrlWatch::make(const std::string& crl_file, std::vector<std::shared_ptr<TlsContext>> contexts) {
  AETHER_ASSERT_MSG(!contexts.empty(), "a revocation list for no context");
  for (const auto& ctx : contexts) {
    if (SSL_CTX_get_verify_mode(ctx->native_handle()) == SSL_VERIFY_NONE) {
      return crl_error(fmt::format("the revocation list {} is for contexts that verify their peer", crl_file));
    }
  }
  std::vector<X509*> anchors = trusted_certificates(contexts.front()->native_handle());
  std::shared_ptr<CrlWatch> watch(new CrlWatch(crl_file, std::move(contexts), std::move(anchors)));
  if (watch->anchors_.empty()) return crl_error(fmt::format("no CA to check the revocation list {} against", crl_file));
  const CrlReloadOutcome first = watch->read_and_install(/*at_start=*/true);
  if (first.what != CrlReload::kLoaded) return crl_error(first.why);
  return watch;
}

CrlWatch::Stamp CrlWatch::stamp_of(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return Stamp{};
  return Stamp{static_cast<int64_t>(st.st_mtim.tv_sec) * kNsPerSec + st.st_mtim.tv_nsec, static_cast<int64_t>(st.st_size), st.st_ino};
}

CrlReloadOutcome CrlWatch::read_and_install(bool at_start) {
  stamp_ = stamp_of(file_);  // before reading: a change made while we read is seen next time
  auto fresh = read_revocation_list(file_, anchors_);
  std::string refused = fresh ? std::string() : fresh.error().message;
  if (fresh && crl_ != nullptr) {
    if (std::string why = older_than(*fresh, crl_); !why.empty()) refused = fmt::format("the revocation list {} is older than the one in force: {}", file_, why);
  }
  if (fresh && refused.empty()) {
    if (Status s = install(*fresh); !s) refused = s.error().message;
  }
  if (fresh && !refused.empty()) X509_CRL_free(*fresh);
  if (!refused.empty()) {
    if (!at_start) ++stats_.refused;
    return {CrlReload::kRefused, std::move(refused)};
  }
  X509_CRL_free(crl_);
  crl_ = *fresh;
  if (!at_start) ++stats_.loaded;
  notify();
  return {CrlReload::kLoaded, fmt::format("{} certificates revoked, next update in {} h", entries(), (next_update_unix_s() - std::time(nullptr)) / 3600)};
}

// One new store for every context: what make_tls_context put there (the CA certificates, the list,
// the flag), with the new list.
Status CrlWatch::install(X509_CRL* crl) {
  X509_STORE* store = X509_STORE_new();
  bool ok = store != nullptr;
  for (X509* ca : anchors_) ok = ok && X509_STORE_add_cert(store, ca) == 1;
  ok = ok && X509_STORE_add_crl(store, crl) == 1 && X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK) == 1;
  if (!ok) {
    X509_STORE_free(store);
    ERR_clear_error();
    return crl_error(fmt::format("cannot build a certificate store with the revocation list {}", file_));
  }
  for (const auto& ctx : contexts_) SSL_CTX_set1_cert_store(ctx->native_handle(), store);  // each holds a reference
  X509_STORE_free(store);
  return ok_status();
}

void CrlWatch::attach(boost::asio::io_context& io, std::weak_ptr<RevocationListener> listener) {
  AETHER_ASSERT_MSG(loop_ == nullptr || loop_ == &io, "a revocation list's contexts are used from one event loop only");
  loop_ = &io;
  std::erase_if(listeners_, [](const std::weak_ptr<RevocationListener>& l) { return l.expired(); });
  listeners_.push_back(std::move(listener));
}

CrlReloadOutcome CrlWatch::check(TimeNs now_ns, TimeNs every_ns) {
  if (checked_once_ && now_ns - checked_ns_ < every_ns) return {};
  checked_once_ = true;
  checked_ns_ = now_ns;
  if (stamp_of(file_) == stamp_) return {};
  return read_and_install(/*at_start=*/false);
}

CrlReloadOutcome CrlWatch::reload() { return read_and_install(/*at_start=*/false); }

void CrlWatch::notify() {
  // A listener may do anything (close connections, whose handlers run): work on a copy.
  const std::vector<std::weak_ptr<RevocationListener>> listeners = listeners_;
  for (const auto& weak : listeners) {
    if (auto listener = weak.lock()) listener->on_revocations_loaded();
  }
}

bool CrlWatch::revokes(X509* cert) const {
  if (crl_ == nullptr || cert == nullptr) return false;
  if (X509_NAME_cmp(X509_get_issuer_name(cert), X509_CRL_get_issuer(crl_)) != 0) return false;
  X509_REVOKED* entry = nullptr;
  return X509_CRL_get0_by_cert(crl_, &entry, cert) == 1;
}

size_t CrlWatch::entries() const {
  const STACK_OF(X509_REVOKED)* revoked = crl_ == nullptr ? nullptr : X509_CRL_get_REVOKED(crl_);
  return revoked == nullptr ? 0 : static_cast<size_t>(sk_X509_REVOKED_num(revoked));
}

int64_t CrlWatch::next_update_unix_s() const {
  const ASN1_TIME* next = crl_ == nullptr ? nullptr : X509_CRL_get0_nextUpdate(crl_);
  struct tm when {};
  if (next == nullptr || ASN1_TIME_to_tm(next, &when) != 1) return 0;
  return static_cast<int64_t>(timegm(&when));
}

}  // namespace aether::real
