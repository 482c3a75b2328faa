#pragma once
// The admin listener: operators' HTTPS endpoint (Boost.Beast over Asio SSL), on an address of its
// own (`admin_address`), never the cluster's data port. It serves the JSON API of admin_api.h; who
// may do what is the engine's rule (engine/net/admin_rule.h), applied by the component the handler
// hands each command to (the coordinator).
//
// Authentication: a bearer token (`Authorization: Bearer NAME.SECRET`) checked against the
// operators file (operator_store.h) with Argon2id on a thread of its own, so that the component's
// event loop never waits on a hash; a token that verified is remembered (by a keyed hash, never in
// clear) for kAdminAuthCacheTtlNs. A client that fails is told "authentication failed" and nothing
// more; the reason is counted (AdminServerStats::auth_failures) and logged.
//
// Every peer is untrusted. Limits (AdminLimits, defaults below), each counted by reason in
// AdminServerStats::closes or auth_failures and logged at warn (the first and every power of two):
// - TLS only: a handshake that fails (plain TCP, a protocol or suite refused) or takes longer than
//   kTlsHandshakeDeadlineNs closes the connection ("tls_handshake", "tls_handshake_deadline");
// - connections at once: connections_max in all, connections_per_address_max per remote address;
//   past either a new connection is closed at once ("connection_limit", "per_address_limit");
// - a connection with no request under way for idle_ns is closed ("idle"); a request must be read,
//   handled and answered within request_ns of its first byte ("request_deadline");
// - request header at most header_bytes_max (431, "header_too_large"), body at most body_bytes_max
//   (413, "body_too_large"); what is not HTTP/1.x gets 400 ("bad_request"); all three close;
// - failed authentications per address: auth_failures_max within auth_window_ns, then 429 without
//   looking at the token until the window ends ("rate_limited");
// - Argon2id verifications queued: auth_pending_max, then 503 ("busy").
// - cross-origin reads: only from the peers' origins (set_console_peers); a preflight (OPTIONS)
//   from any other origin is 403 and closes ("cors_origin").
//
// Revocation: replace_operators() swaps the operators in use and forgets every remembered token at
// once; a verification under way against the old operators is done again against the new ones, so
// a removed operator's request is never served after the swap. watch_operators_file() looks at the
// file every kOperatorsWatchNs and swaps in what it holds once it changed (`aether operator remove`,
// or a Kubernetes Secret updated): revoking an operator needs no restart. A changed file that does
// not load leaves the operators in use as they were (logged at error, counted).

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "engine/core/result.h"
#include "engine/core/time.h"
#include "engine/net/admin_rule.h"
#include "engine/runtime/log.h"
#include "runtime/real/operator_store.h"
#include "runtime/real/tls.h"

namespace aether::real {

inline constexpr size_t kAdminHeaderBytesMax = 8 * 1024;
inline constexpr size_t kAdminBodyBytesMax = 4 * 1024;
inline constexpr TimeNs kAdminRequestDeadlineNs = 10 * kNsPerSec;
inline constexpr TimeNs kAdminIdleDeadlineNs = 30 * kNsPerSec;
inline constexpr size_t kAdminConnectionsMax = 32;
inline constexpr size_t kAdminConnectionsPerAddressMax = 4;
inline constexpr uint32_t kAdminAuthFailuresMax = 5;
inline constexpr TimeNs kAdminAuthWindowNs = 60 * kNsPerSec;
inline constexpr size_t kAdminAuthPendingMax = 4;
inline constexpr size_t kAdminAuthCacheMax = 64;
inline constexpr TimeNs kAdminAuthCacheTtlNs = 300 * kNsPerSec;
// Remote addresses whose failures are remembered; when full (and none has expired), an address not
// remembered yet is rate-limited: failures are never forgotten to make room.
inline constexpr size_t kAdminTrackedAddressesMax = 4096;
inline constexpr TimeNs kOperatorsWatchNs = 2 * kNsPerSec;

struct AdminLimits {
  size_t header_bytes_max = kAdminHeaderBytesMax;
  size_t body_bytes_max = kAdminBodyBytesMax;
  TimeNs request_ns = kAdminRequestDeadlineNs;
  TimeNs idle_ns = kAdminIdleDeadlineNs;
  size_t connections_max = kAdminConnectionsMax;
  size_t connections_per_address_max = kAdminConnectionsPerAddressMax;
  uint32_t auth_failures_max = kAdminAuthFailuresMax;
  TimeNs auth_window_ns = kAdminAuthWindowNs;
  size_t auth_pending_max = kAdminAuthPendingMax;
};

struct AdminServerStats {
  std::map<unsigned, uint64_t> answers;            // by HTTP status
  std::array<uint64_t, kAuthFailureKinds> auth_failures{};  // by AuthFailure
  std::map<std::string, uint64_t> closes;          // by reason (above)
  uint64_t connections = 0;                        // accepted and past the limits
  uint64_t operator_swaps = 0;                     // replace_operators() calls
  uint64_t operator_reload_failures = 0;           // a changed operators file that did not load
};

// Hands an authenticated operator's command to the component; done is called once with the answer
// (on the event loop's thread), or never if the component goes away first.
using AdminHandler = std::function<void(const OperatorId& who, const AdminRequest& req, Epoch claimed, std::function<void(AdminAnswer)> done)>;

struct AdminCall;        // admin_api.h
struct AdminViewAnswer;  // admin_api.h
// Answers a view (GET /api/ownership, /api/timeline, /api/entity: admin_api.h) for an authenticated
// operator, on the event loop's thread: its status and JSON body. Without one, those paths answer 404.
using AdminViewHandler = std::function<AdminViewAnswer(const OperatorId& who, const AdminCall& call)>;

// Other coordinators' admin listeners ("host:port") the console may read when this one dies, at most this many.
inline constexpr size_t kAdminPeersMax = 8;

class AdminServer {
 public:
  // log must outlive the server; tls is a TlsSide::kServer context (the process's certificate).
  AdminServer(boost::asio::io_context& io, Logger& log, std::shared_ptr<TlsContext> tls, std::shared_ptr<const OperatorStore> operators,
              AdminHandler handler, AdminLimits limits = {});
  ~AdminServer();  // closes everything and waits for the verifier thread
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds "host:port" (port 0: any free port) and starts accepting. Returns the bound address.
  Result<std::string> listen(const std::string& address);
  void shutdown();
  // From now on, `operators` decide (see "Revocation" above). Call on the event loop's thread.
  void replace_operators(std::shared_ptr<const OperatorStore> operators);
  // Watches the file the operators were loaded from (see "Revocation" above). Once, before the loop runs or on it.
  void watch_operators_file(const std::string& path);
  // Serves the views with `views` from now on. Once, before the loop runs.
  void set_view_handler(AdminViewHandler views);
  // The other coordinators' admin listeners ("host:port", at most kAdminPeersMax). Their origins
  // (https://host:port) may read this listener's API from a browser (CORS: the console served by one
  // of them, carrying the operator's token, reads this one once its own coordinator stops answering;
  // every request is authenticated as any other), and GET /api/peers lists them for the console.
  // Any other Origin gets no CORS header (the browser keeps the answer from the page), and its
  // preflight a 403. Once, before the loop runs.
  void set_console_peers(const std::vector<std::string>& addresses);

  const AdminServerStats& stats() const;
  size_t connections_open() const;

  struct State;  // shared with the asynchronous handlers (admin_server.cc)

 private:
  boost::asio::thread_pool verifier_{1};
  std::shared_ptr<State> state_;
};

}  // namespace aether::real
