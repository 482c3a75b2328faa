#include "runtime/real/cert_issuer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

namespace aether::real {

namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

// Clock skew between the machine that issues and the ones that verify.
constexpr long kNotBeforeSkewS = 5 * 60;
constexpr size_t kNameBytesMax = 64;
constexpr int kSerialBits = 127;

Status fail(std::string what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    what += fmt::format(": {}", text);
  }
  return make_error(Error::Code::kIo, std::move(what));
}

// Names and hosts reach an OpenSSL configuration string: only the characters of host names pass.
bool plain_name(std::string_view s) {
  if (s.empty() || s.size() > kNameBytesMax) return false;
  for (const char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

Result<std::string> alt_names(const std::vector<std::string>& hosts) {
  if (hosts.size() > kCertHostsMax) return make_error(Error::Code::kInvalidArgument, fmt::format("at most {} hosts", kCertHostsMax));
  std::string out;
  for (const std::string& host : hosts) {
    boost::system::error_code ec;
    const boost::asio::ip::address ip = boost::asio::ip::make_address(host, ec);
    std::string entry;
    if (!ec) {
      entry = "IP:" + ip.to_string();
    } else if (plain_name(host)) {
      entry = "DNS:" + host;
    } else {
      return make_error(Error::Code::kInvalidArgument, fmt::format("host '{}' is neither an IP literal nor a DNS name", host));
    }
    out += out.empty() ? entry : "," + entry;
  }
  return out;
}

KeyPtr new_key() { return KeyPtr(EVP_EC_gen("P-256"), EVP_PKEY_free); }

Status add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return fail(fmt::format("cannot make the extension {}={}", OBJ_nid2sn(nid), value));
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) return fail("cannot add an extension");
  return ok_status();
}

// A certificate for key, named common_name, valid for `days`; extensions and signature follow.
Result<CertPtr> new_certificate(EVP_PKEY* key, const std::string& common_name, int days) {
  if (!plain_name(common_name)) return make_error(Error::Code::kInvalidArgument, fmt::format("bad common name '{}'", common_name));
  if (days < 1 || days > kCertDaysMax) return make_error(Error::Code::kInvalidArgument, fmt::format("days must be in [1, {}]", kCertDaysMax));
  CertPtr cert(X509_new(), X509_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  X509_NAME* name = cert ? X509_get_subject_name(cert.get()) : nullptr;
  if (!cert || !serial || name == nullptr || X509_set_version(cert.get(), 2) != 1 ||
      BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kNotBeforeSkewS) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1) {
    return fail("cannot build a certificate").error();
  }
  return cert;
}

Status write_certificate(X509* cert, const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return make_error(Error::Code::kIo, fmt::format("cannot write {}", path));
  const int written = PEM_write_X509(file, cert);
  if (std::fclose(file) != 0 || written != 1) return fail(fmt::format("cannot write {}", path));
  return ok_status();
}

// Readable and writable by the owner only, from the first byte on.
Status write_key(EVP_PKEY* key, const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    if (fd >= 0) ::close(fd);
    return make_error(Error::Code::kIo, fmt::format("cannot write {}", path));
  }
  FILE* file = ::fdopen(fd, "w");
  if (file == nullptr) {
    ::close(fd);
    return make_error(Error::Code::kIo, fmt::format("cannot write {}", path));
  }
  const int written = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  if (std::fclose(file) != 0 || written != 1) return fail(fmt::format("cannot write {}", path));
  return ok_status();
}

Result<CertPtr> read_certificate(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return make_error(Error::Code::kIo, fmt::format("cannot read {}", path));
  CertPtr cert(PEM_read_X509(file, nullptr, nullptr, nullptr), X509_free);
  std::fclose(file);
  if (!cert) return fail(fmt::format("{} holds no PEM certificate", path)).error();
  return cert;
}

Result<KeyPtr> read_key(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return make_error(Error::Code::kIo, fmt::format("cannot read {}", path));
  KeyPtr key(PEM_read_PrivateKey(file, nullptr, nullptr, nullptr), EVP_PKEY_free);
  std::fclose(file);
  if (!key) return fail(fmt::format("{} holds no PEM private key", path)).error();
  return key;
}

}  // namespace

Status issue_ca(const std::string& common_name, int days, const std::string& cert_file, const std::string& key_file) {
  KeyPtr key = new_key();
  if (!key) return fail("cannot make a P-256 key");
  Result<CertPtr> cert = new_certificate(key.get(), common_name, days);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) return fail("cannot name the issuer");
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                   std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                                   std::pair{NID_subject_key_identifier, "hash"},
                                   std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (Status s = add_extension(c, c, nid, value); !s) return s;
  }
  if (X509_sign(c, key.get(), EVP_sha256()) == 0) return fail("cannot sign the CA certificate");
  if (Status s = write_key(key.get(), key_file); !s) return s;
  return write_certificate(c, cert_file);
}

Status issue_certificate(const std::string& ca_cert_file, const std::string& ca_key_file, const CertSubject& subject,
                         const std::string& cert_file, const std::string& key_file) {
  Result<std::string> alt = alt_names(subject.hosts);
  if (!alt) return alt.error();
  Result<CertPtr> ca = read_certificate(ca_cert_file);
  if (!ca) return ca.error();
  Result<KeyPtr> ca_key = read_key(ca_key_file);
  if (!ca_key) return ca_key.error();
  if (X509_check_private_key(ca->get(), ca_key->get()) != 1) return fail(fmt::format("{} is not the key of {}", ca_key_file, ca_cert_file));
  KeyPtr key = new_key();
  if (!key) return fail("cannot make a P-256 key");
  Result<CertPtr> cert = new_certificate(key.get(), subject.common_name, subject.days);
  if (!cert) return cert.error();
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(ca->get())) != 1) return fail("cannot name the issuer");
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                                   std::pair{NID_key_usage, std::string("critical,digitalSignature")},
                                   std::pair{NID_ext_key_usage, std::string("serverAuth,clientAuth")},
                                   std::pair{NID_subject_key_identifier, std::string("hash")},
                                   std::pair{NID_authority_key_identifier, std::string("keyid:always")},
                                   std::pair{NID_subject_alt_name, *alt}}) {
    if (nid == NID_subject_alt_name && value.empty()) continue;
    if (Status s = add_extension(c, ca->get(), nid, value); !s) return s;
  }
  if (X509_sign(c, ca_key->get(), EVP_sha256()) == 0) return fail("cannot sign the certificate");
  if (Status s = write_key(key.get(), key_file); !s) return s;
  return write_certificate(c, cert_file);
}

Status revoke_certificates(const std::string& ca_cert_file, const std::string& ca_key_file, const std::vector<std::string>& cert_files,
                           const std::string& crl_file, int days) {
  using CrlPtr = std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)>;
  if (days < 1 || days > kCertDaysMax) return make_error(Error::Code::kInvalidArgument, fmt::format("days must be in [1, {}]", kCertDaysMax));
  Result<CertPtr> ca = read_certificate(ca_cert_file);
  if (!ca) return ca.error();
  Result<KeyPtr> ca_key = read_key(ca_key_file);
  if (!ca_key) return ca_key.error();
  if (X509_check_private_key(ca->get(), ca_key->get()) != 1) return fail(fmt::format("{} is not the key of {}", ca_key_file, ca_cert_file));
  // Serial (as text, which orders them) -> revocation date, the old list's first.
  std::map<std::string, std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)>> revoked;
  auto serial_text = [](const ASN1_INTEGER* serial) -> std::string {
    std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(serial, nullptr), BN_free);
    char* hex = bn ? BN_bn2hex(bn.get()) : nullptr;
    std::string out = hex ? hex : "";
    OPENSSL_free(hex);
    return out;
  };
  std::unique_ptr<BIGNUM, decltype(&BN_free)> number(BN_new(), BN_free);  // the CRL number: 1, or the old list's + 1
  if (!number || BN_set_word(number.get(), 1) != 1) return fail("cannot build a revocation list");
  if (FILE* file = std::fopen(crl_file.c_str(), "r"); file != nullptr) {
    CrlPtr old(PEM_read_X509_CRL(file, nullptr, nullptr, nullptr), X509_CRL_free);
    std::fclose(file);
    if (!old) return fail(fmt::format("{} holds no PEM revocation list", crl_file));
    if (X509_CRL_verify(old.get(), X509_get0_pubkey(ca->get())) != 1) {
      ERR_clear_error();
      return make_error(Error::Code::kInvalidArgument, fmt::format("{} is not {}'s revocation list", crl_file, ca_cert_file));
    }
    // The new list's CRL number follows the old one's, so that a process holding the newer list
    // refuses the older one (runtime/real/crl_watch.h) even when both were issued within one second.
    std::unique_ptr<ASN1_INTEGER, decltype(&ASN1_INTEGER_free)> old_number(
        static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(old.get(), NID_crl_number, nullptr, nullptr)), ASN1_INTEGER_free);
    if (old_number) {
      std::unique_ptr<BIGNUM, decltype(&BN_free)> n(ASN1_INTEGER_to_BN(old_number.get(), nullptr), BN_free);
      if (!n || BN_add_word(n.get(), 1) != 1 || BN_copy(number.get(), n.get()) == nullptr) return fail("cannot read the old list's CRL number");
    }
    STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(old.get());
    for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
      const X509_REVOKED* r = sk_X509_REVOKED_value(entries, i);
      revoked.emplace(serial_text(X509_REVOKED_get0_serialNumber(r)),
                      std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)>(ASN1_TIME_dup(X509_REVOKED_get0_revocationDate(r)), ASN1_TIME_free));
    }
  }
  for (const std::string& path : cert_files) {
    Result<CertPtr> cert = read_certificate(path);
    if (!cert) return cert.error();
    if (X509_check_issued(ca->get(), cert->get()) != X509_V_OK) {
      return make_error(Error::Code::kInvalidArgument, fmt::format("{} was not issued by the CA in {}", path, ca_cert_file));
    }
    const std::string text = serial_text(X509_get0_serialNumber(cert->get()));
    if (revoked.contains(text)) continue;  // revoked already: its first date stands
    std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> now(ASN1_TIME_new(), ASN1_TIME_free);
    if (!now || X509_gmtime_adj(now.get(), 0) == nullptr) return fail("cannot read the time");
    revoked.emplace(text, std::move(now));
  }
  if (revoked.size() > kCrlEntriesMax) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("a revocation list holds at most {} certificates: make a new CA", kCrlEntriesMax));
  }
  CrlPtr crl(X509_CRL_new(), X509_CRL_free);
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> last(ASN1_TIME_new(), ASN1_TIME_free), next(ASN1_TIME_new(), ASN1_TIME_free);
  if (!crl || !last || !next || X509_CRL_set_version(crl.get(), 1) != 1 || X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca->get())) != 1 ||
      X509_gmtime_adj(last.get(), 0) == nullptr || X509_gmtime_adj(next.get(), static_cast<long>(days) * 24 * 3600) == nullptr ||
      X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 || X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return fail("cannot build a revocation list");
  }
  for (const auto& [text, date] : revoked) {
    BIGNUM* bn = nullptr;
    if (BN_hex2bn(&bn, text.c_str()) == 0) return fail("cannot read a serial number back");
    std::unique_ptr<BIGNUM, decltype(&BN_free)> owned(bn, BN_free);
    std::unique_ptr<ASN1_INTEGER, decltype(&ASN1_INTEGER_free)> serial(BN_to_ASN1_INTEGER(bn, nullptr), ASN1_INTEGER_free);
    X509_REVOKED* entry = X509_REVOKED_new();
    if (!serial || entry == nullptr || X509_REVOKED_set_serialNumber(entry, serial.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry, date.get()) != 1 || X509_CRL_add0_revoked(crl.get(), entry) != 1) {
      X509_REVOKED_free(entry);
      return fail("cannot add a revoked certificate");
    }
  }
  std::unique_ptr<ASN1_INTEGER, decltype(&ASN1_INTEGER_free)> crl_number(BN_to_ASN1_INTEGER(number.get(), nullptr), ASN1_INTEGER_free);
  if (!crl_number || X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, crl_number.get(), 0, 0) != 1) return fail("cannot number the revocation list");
  if (X509_CRL_sort(crl.get()) != 1 || X509_CRL_sign(crl.get(), ca_key->get(), EVP_sha256()) == 0) return fail("cannot sign the revocation list");
  const std::string tmp = crl_file + ".tmp";
  FILE* file = std::fopen(tmp.c_str(), "w");
  if (file == nullptr) return make_error(Error::Code::kIo, fmt::format("cannot write {}", tmp));
  const int written = PEM_write_X509_CRL(file, crl.get());
  if (std::fclose(file) != 0 || written != 1) return fail(fmt::format("cannot write {}", tmp));
  if (std::rename(tmp.c_str(), crl_file.c_str()) != 0) return make_error(Error::Code::kIo, fmt::format("cannot replace {}", crl_file));
  return ok_status();
}

}  // namespace aether::real
