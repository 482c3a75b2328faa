#pragma once
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "engine/core/ids.h"

namespace aether {

enum class LogLevel : uint8_t { kTrace, kDebug, kInfo, kWarn, kError };

// The identities a log line is about. Zero means "not applicable" and is not printed.
struct LogIds {
  Epoch epoch = 0;
  Tick tick = 0;
  EntityId entity{};
};

// The runtime owns formatting and the sink: it adds the time (virtual time in the simulator, so two
// runs of one seed log the same bytes) and the component's name and node id.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual bool enabled(LogLevel level) const = 0;
  virtual void write(LogLevel level, const LogIds& ids, std::string_view message) = 0;
};

// log_at(log, LogLevel::kInfo, ids, "node {} joined", id): formats only when the level is enabled.
template <class... Args>
void log_at(Logger& log, LogLevel level, const LogIds& ids, fmt::format_string<Args...> format, Args&&... args) {
  if (!log.enabled(level)) return;
  log.write(level, ids, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace aether
