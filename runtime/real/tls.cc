#include "runtime/real/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <string_view>

#include <fmt/format.h>

#include "runtime/real/crl_watch.h"

namespace aether::real {

namespace asio = boost::asio;

namespace {

// The newest OpenSSL error on this thread, as text (and the queue cleared).
std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

Error tls_error(std::string what) { return make_error(Error::Code::kInvalidArgument, std::move(what)); }

bool presents_certificate(TlsSide side) { return side != TlsSide::kClient; }
bool verifies_peer(TlsSide side) { return side != TlsSide::kServer; }
bool is_server(TlsSide side) { return side == TlsSide::kServer || side == TlsSide::kServerMutual; }

std::optional<PeerIdentity> common_name_identity(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  if (subject == nullptr) return std::nullopt;
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return std::nullopt;
  if (X509_NAME_get_index_by_NID(subject, NID_commonName, at) >= 0) return std::nullopt;  // two names: no identity
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  const int length = ASN1_STRING_length(data);
  if (length <= 0 || static_cast<size_t>(length) > kPeerIdentityNameBytesMax) return std::nullopt;
  // A NUL or any byte outside the identity form fails the parse.
  return parse_peer_identity(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)), static_cast<size_t>(length)));
}

}  // namespace

const char* tls_side_name(TlsSide side) {
  switch (side) {
    case TlsSide::kServer: return "server";
    case TlsSide::kServerMutual: return "mutual server";
    case TlsSide::kClient: return "client";
    case TlsSide::kClientMutual: return "mutual client";
  }
  return "unknown";
}

Result<std::shared_ptr<TlsContext>> make_tls_context(TlsSide side, const TlsFiles& files) {
  if (presents_certificate(side) && (files.cert_file.empty() || files.key_file.empty())) {
    return tls_error(fmt::format("a TLS {} needs a certificate and its key", tls_side_name(side)));
  }
  if (verifies_peer(side) && files.ca_file.empty()) return tls_error(fmt::format("a TLS {} needs the CA file", tls_side_name(side)));
  auto ctx = std::make_shared<TlsContext>(is_server(side) ? TlsContext::tls_server : TlsContext::tls_client);
  SSL_CTX* native = ctx->native_handle();
  boost::system::error_code ec;
  ctx->set_options(TlsContext::default_workarounds | TlsContext::no_compression | TlsContext::single_dh_use, ec);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 || SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return tls_error("cannot restrict TLS to versions 1.2 and 1.3: " + openssl_error());
  }
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1 || SSL_CTX_set_ciphersuites(native, kTls13Suites) != 1 ||
      SSL_CTX_set1_groups_list(native, kTlsGroups) != 1) {
    return tls_error("cannot set the TLS cipher suites: " + openssl_error());
  }
  SSL_CTX_set_num_tickets(native, 0);
  if (presents_certificate(side)) {
    ctx->use_certificate_chain_file(files.cert_file, ec);
    if (ec) return tls_error(fmt::format("cannot read the certificate {}: {}", files.cert_file, openssl_error()));
    ctx->use_private_key_file(files.key_file, TlsContext::pem, ec);
    if (ec) return tls_error(fmt::format("cannot read the private key {}: {}", files.key_file, openssl_error()));
    if (SSL_CTX_check_private_key(native) != 1) {
      return tls_error(fmt::format("the key {} does not match the certificate {}", files.key_file, files.cert_file));
    }
  }
  if (verifies_peer(side)) {
    ctx->load_verify_file(files.ca_file, ec);
    if (ec) return tls_error(fmt::format("cannot read the CA file {}: {}", files.ca_file, openssl_error()));
    SSL_CTX_set_verify_depth(native, kTlsVerifyDepthMax);
    const int mode = side == TlsSide::kServerMutual ? asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert : asio::ssl::verify_peer;
    ctx->set_verify_mode(mode, ec);
    if (ec) return tls_error("cannot set the TLS verify mode: " + ec.message());
    if (!files.crl_file.empty()) {
      // A list the CA did not sign, or one already out of date, is refused here: OpenSSL would fail
      // every handshake with it, a whole cluster locked out by a file, and the operator would learn
      // it only from the peers' logs.
      if (Status s = load_revocation_list(native, files.crl_file); !s) return s.error();
    }
  } else {
    ctx->set_verify_mode(asio::ssl::verify_none, ec);
  }
  return ctx;
}

std::optional<PeerIdentity> verified_peer_identity(SSL* ssl) {
  if (ssl == nullptr) return std::nullopt;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  std::optional<PeerIdentity> out;
  if (SSL_get_verify_result(ssl) == X509_V_OK) out = common_name_identity(cert);
  X509_free(cert);
  return out;
}

Result<PeerIdentity> certificate_identity(const std::string& cert_file) {
  FILE* file = std::fopen(cert_file.c_str(), "r");
  if (file == nullptr) return tls_error(fmt::format("cannot open the certificate {}", cert_file));
  X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (cert == nullptr) return tls_error(fmt::format("{} holds no PEM certificate: {}", cert_file, openssl_error()));
  const std::optional<PeerIdentity> id = common_name_identity(cert);
  X509_free(cert);
  if (!id) return tls_error(fmt::format("the common name of {} is no identity (want role-node, e.g. admin-1)", cert_file));
  return *id;
}

}  // namespace aether::real
