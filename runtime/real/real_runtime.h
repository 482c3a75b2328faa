#pragma once
// The production runtime: one component's Runtime on a shared boost::asio::io_context. Several
// components may share one io_context and its single thread (`aether local` runs a whole cluster and
// its bots in one process); each gets its own RealRuntime.

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include "engine/core/random.h"
#include "engine/runtime/runtime.h"
#include "runtime/common/spd_logger.h"
#include "runtime/common/trace_file.h"
#include "runtime/real/argon2_passwords.h"
#include "runtime/real/os_entropy.h"
#include "runtime/real/real_timers.h"
#include "runtime/real/real_trace.h"
#include "runtime/real/tcp_network.h"
#include "runtime/real/web_network.h"
#include "runtime/real/worker_store.h"

namespace aether::real {

struct RealOptions {
  LogLevel log_level = LogLevel::kInfo;
  common::LogFormat log_format = common::LogFormat::kText;
  std::shared_ptr<spdlog::logger> log_sink;        // null: common::make_stderr_sink
  std::shared_ptr<common::TraceFileWriter> trace;  // null: trace events are dropped
  uint64_t seed = 0;                               // 0: drawn from std::random_device
  TlsSettings tls;                                 // no contexts: plain TCP
  TcpLimits limits;                                // the network's limits (tests shorten them)
  PasswordCost password_cost = PasswordCost::kInteractive;  // Argon2id's (argon2_passwords.h)
};

// Wall time, Unix epoch, in ns: what log lines are stamped with in the real runtime.
int64_t unix_now_ns();

// io must outlive the RealRuntime. Destroying it shuts it down first, so it may be destroyed with
// operations pending, even from inside one of its own callbacks.
class RealRuntime {
 public:
  RealRuntime(boost::asio::io_context& io, std::string name, NodeId node, RealOptions options);
  ~RealRuntime();
  RealRuntime(const RealRuntime&) = delete;
  RealRuntime& operator=(const RealRuntime&) = delete;

  Runtime& runtime() { return runtime_; }

  // Gives the component its store (opened and migrated beforehand: open_backend). Before this, and
  // without it, the runtime's storage refuses every request with kIoError.
  void open_storage(std::unique_ptr<StorageBackend> backend) { storage_.open(std::move(backend)); }
  const WorkerStore& storage() const { return storage_; }

  // Opens the browsers' listener (runtime/real/web_network.h): its WebSocket connections reach the
  // component as client connections through the same Network. Call after the component set its
  // handler (at construction) and at most once.
  Result<std::string> listen_web(std::string_view address, WebSettings settings) { return web_->listen(address, std::move(settings)); }
  const WebNetwork& web() const { return *web_; }

  // Closes listeners and connections without callbacks and cancels every timer. Afterwards timers
  // never fire and network calls do nothing (send reports kClosed); the store is closed
  // (worker_store.h). Logging keeps working.
  void shutdown();
  bool is_shut_down() const { return shut_down_; }

  const std::string& name() const { return name_; }
  NodeId node() const { return node_; }
  uint64_t seed() const { return seed_; }
  uint64_t bytes_sent() const { return network_->bytes_sent(); }
  uint64_t bytes_received() const { return network_->bytes_received(); }
  size_t connections_open() const { return network_->connections_open(); }
  size_t partial_frame_bytes() const { return network_->partial_frame_bytes(); }
  const TcpLimitStats& limit_stats() const { return network_->limit_stats(); }
  bool tls() const { return network_->tls(); }
  // The revocation list this runtime's TLS checks peers against (crl_watch.h); null: none.
  const CrlWatch* revocations() const { return network_->revocations(); }
  // From any thread: the runtime's loop reads its revocation list's file again, changed or not
  // (SIGHUP; TcpNetwork::reload_revocations). Nothing without a list.
  void request_revocations_reload();

 private:
  boost::asio::io_context& io_;
  std::string name_;
  NodeId node_;
  uint64_t seed_;
  SteadyClock clock_;
  common::SpdLogger log_;
  RealTraceSink trace_;
  Xoshiro256 random_;
  OsEntropy entropy_;
  std::shared_ptr<RealTimers> timers_;
  std::shared_ptr<TcpNetwork> network_;
  std::shared_ptr<WebNetwork> web_;
  RoutedNetwork routed_;  // what the component sees: TCP, and the web listener's WebSockets
  WorkerStore storage_;
  Argon2Passwords passwords_;
  Runtime runtime_;
  bool shut_down_ = false;
};

}  // namespace aether::real
