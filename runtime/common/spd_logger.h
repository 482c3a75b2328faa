#pragma once
// The Logger of both runtimes, on spdlog. The time of each line comes from the runtime's Clock, not
// from spdlog: virtual time in the simulator (so one seed logs the same bytes every run), the
// process's wall clock in the real runtime.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/runtime/log.h"

namespace aether::common {

// Output format of log lines.
enum class LogFormat { kText, kJson };

// Parses "trace|debug|info|warn|error"; returns false on anything else.
bool parse_log_level(const std::string& text, LogLevel* out);
// Parses "text|json"; returns false on anything else.
bool parse_log_format(const std::string& text, LogFormat* out);

// `text` as the inside of a JSON string: quote, backslash and every control character escaped
// (\n, \t, ... or \u00XX); bytes that are not valid UTF-8 become U+FFFD, so a line is always
// valid JSON whatever bytes a message carried.
std::string json_escape(std::string_view text);

class SpdLogger final : public Logger {
 public:
  // name: the component, e.g. "compute-2". now_unix_ns: the time stamped on each line.
  // format: kText gives "TIME level [name n=N ep=E t=T e=E] message"; kJson one object per line with
  // the fields time, level, component, node, and epoch, tick, entity where they apply, then msg.
  SpdLogger(std::shared_ptr<spdlog::logger> sink, std::string name, NodeId node,
            std::function<int64_t()> now_unix_ns, LogLevel level, LogFormat format = LogFormat::kText);

  bool enabled(LogLevel level) const override { return level >= level_; }
  void write(LogLevel level, const LogIds& ids, std::string_view message) override;
  void set_level(LogLevel level) { level_ = level; }

 private:
  void emit_text(fmt::memory_buffer& line, int64_t now, LogLevel level, const LogIds& ids, std::string_view message) const;

  std::shared_ptr<spdlog::logger> sink_;
  std::string name_;
  NodeId node_;
  std::function<int64_t()> now_unix_ns_;
  LogLevel level_;
  LogFormat format_;
};

// A sink writing each line as SpdLogger formatted it (time, level, component, ids, message) to stderr.
std::shared_ptr<spdlog::logger> make_stderr_sink(const std::string& name);
// Same, to a file (truncated).
std::shared_ptr<spdlog::logger> make_file_sink(const std::string& name, const std::string& path);

}  // namespace aether::common
