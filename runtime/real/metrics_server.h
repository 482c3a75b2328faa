#pragma once
// A small HTTP/1.1 server (Boost.Beast) that answers GET /metrics with whatever `render` returns
// (the Prometheus text format), and, once set_probes() gave it the two checks, GET /healthz and
// GET /readyz: 200 with the check's text when it passes, 503 when it does not (what Kubernetes'
// httpGet probes and load balancers read). It runs on the process's io_context beside the components, so a
// scrape costs one render on the event loop's thread between callbacks and never waits on I/O:
// reading the request and writing the answer are asynchronous.
//
// Every peer is untrusted. Limits, and what happens at each:
// - request header bytes: kMetricsRequestBytesMax; beyond it the answer is 431 and the connection
//   closes. Requests carry no body: a body is refused with 413.
// - garbage that is not HTTP/1.x: 400 with the parser's reason, connection closed.
// - connections at once: connections_max; a further one is closed at once (counted, logged).
// - a connection that sends nothing whole within kMetricsIdleTimeoutNs is closed.
// - one request per connection: the answer says "Connection: close"; then we read and discard what
//   the peer still sends (at most 256 KiB, at most 1 s) before closing, so the answer is not lost.
// Other paths get 404; other methods than GET and HEAD get 405.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "engine/core/result.h"
#include "engine/core/time.h"
#include "engine/runtime/log.h"

namespace aether::real {

inline constexpr size_t kMetricsRequestBytesMax = 8 * 1024;
inline constexpr size_t kMetricsConnectionsMax = 16;
inline constexpr TimeNs kMetricsIdleTimeoutNs = 5 * kNsPerSec;

// A probe's verdict: ok gives 200, not ok 503; text is the body (a line per component).
struct ProbeAnswer {
  bool ok = false;
  std::string text;
};
using Probe = std::function<ProbeAnswer()>;

struct MetricsServerStats {
  uint64_t requests = 0;            // /metrics answered with 200
  uint64_t probes = 0;              // /healthz and /readyz answered (200 or 503)
  uint64_t probes_failed = 0;       // of which 503
  uint64_t not_found = 0;           // 404 and 405
  uint64_t bad_requests = 0;        // 400, 413, 431: closed with a reason logged
  uint64_t connections_refused = 0; // over the connection limit
  uint64_t timeouts = 0;
};

class MetricsServer {
 public:
  // log must outlive the server. render is called once per GET /metrics.
  MetricsServer(boost::asio::io_context& io, Logger& log, std::function<std::string()> render,
                size_t connections_max = kMetricsConnectionsMax);
  ~MetricsServer();  // closes the listener and every connection; pending handlers then do nothing
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Serves /healthz (is the process alive) and /readyz (can it do its job) from now on; each probe
  // runs on the event loop's thread, like render. Without them, both paths are 404.
  void set_probes(Probe healthz, Probe readyz);

  // Binds "host:port" (port 0: any free port) and starts accepting. Returns the bound address.
  Result<std::string> listen(const std::string& address);
  void shutdown();

  const MetricsServerStats& stats() const;
  size_t connections_open() const;

  struct State;  // shared with the asynchronous handlers (metrics_server.cc)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace aether::real
