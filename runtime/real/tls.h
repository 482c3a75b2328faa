#pragma once
// TLS for the real runtime: Boost.Asio SSL over OpenSSL. A TcpNetwork speaks TLS on every
// connection when it is given contexts (TlsSettings), plain TCP otherwise (development, tests, and
// whatever runs without certificate files configured).
//
// What is allowed, whatever the files say: TLS 1.2 and 1.3 only; with TLS 1.2, ECDHE key exchange
// and AEAD ciphers only (AES-GCM, ChaCha20-Poly1305), so every session has forward secrecy; TLS
// 1.3's suites are all of that kind. No compression, no renegotiation, no session tickets (nothing
// resumes: a reconnect is a new handshake).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "engine/core/result.h"
#include "engine/core/time.h"
#include "engine/runtime/peer_identity.h"

namespace aether::real {

inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
inline constexpr const char* kTls13Suites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
inline constexpr const char* kTlsGroups = "X25519:P-256:P-384";
// Certificates between a peer's and the CA's: our chains are one deep (CA, then leaf).
inline constexpr int kTlsVerifyDepthMax = 4;
// A handshake not finished within this closes its connection (an accepted one silently, an
// outbound one as a refused connect), logged and counted as "tls_handshake_deadline": a peer that
// opens a connection and says nothing holds a slot for at most this long.
inline constexpr TimeNs kTlsHandshakeDeadlineNs = 5 * kNsPerSec;
// Handshakes under way at once in one network. Past it an accepted connection is closed at once
// ("tls_handshakes_limit"): a flood of handshakes costs a log line, not our CPU.
inline constexpr size_t kTlsHandshakesMax = 1024;
// Handshakes under way at once from one remote IP address. Past it an accepted connection from that
// address is closed at once ("tls_handshakes_per_address_limit"): one address opening connections
// and never finishing their handshakes cannot hold the process-wide kTlsHandshakesMax and lock every
// other player out for the handshake deadline. A role whose configuration raises
// connections_per_address_max (a NAT, a bot farm) raises this with it; `aether local` lifts it.
inline constexpr size_t kTlsHandshakesPerAddressMax = 64;

using TlsContext = boost::asio::ssl::context;
class CrlWatch;  // crl_watch.h

enum class TlsSide : uint8_t {
  kServer,        // presents its certificate, asks for none (the gateway's client port)
  kServerMutual,  // presents its certificate, requires one signed by the CA (server ports)
  kClient,        // requires the server's certificate signed by the CA (players and bots)
  kClientMutual,  // requires the server's, presents its own (links between servers, admin)
};
const char* tls_side_name(TlsSide side);

struct TlsFiles {
  std::string cert_file;  // PEM: the certificate (and any intermediates), for the sides that present one
  std::string key_file;   // PEM: its private key
  std::string ca_file;    // PEM: the CA that signs peers, for the sides that verify one
  // PEM: the CA's certificate revocation list (`aether cert revoke`), for the sides that verify a
  // peer; empty: no revocation. With it, a peer whose certificate it lists fails the handshake.
  std::string crl_file;
};

// A context for one side, from PEM files. Refuses a side without the files it needs, a key that
// does not match its certificate, unreadable files, and a revocation list the CA did not sign or
// whose next update is past (every peer would fail verification), with the reason.
Result<std::shared_ptr<TlsContext>> make_tls_context(TlsSide side, const TlsFiles& files);

// The TLS one TcpNetwork speaks. No context: plain TCP in that direction.
struct TlsSettings {
  std::shared_ptr<TlsContext> accept;   // every listener's connections
  std::shared_ptr<TlsContext> connect;  // every outbound connection
  // Outbound: the server's certificate must also name the host dialled (subjectAltName), as a
  // player's client checks a gateway. Links between servers check the identity instead.
  bool verify_host = false;
  // The revocation list the contexts that verify a peer check it against, read again while the
  // process runs (crl_watch.h); null: no list. Every network given these settings runs on one loop.
  std::shared_ptr<CrlWatch> revocations;
  bool any() const { return accept || connect; }
};

// The identity the peer certificate of an established TLS connection names, if the certificate was
// verified against our CA and its subject has exactly one common name of the identity form.
std::optional<PeerIdentity> verified_peer_identity(SSL* ssl);

// The identity a certificate file's common name states (an admin tool's own, for its messages).
Result<PeerIdentity> certificate_identity(const std::string& cert_file);

}  // namespace aether::real
