#include "runtime/common/spd_logger.h"

#include <chrono>

#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace aether::common {

namespace {

spdlog::level::level_enum to_spd(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

void configure(spdlog::logger& logger) {
  logger.set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %-5l %v", spdlog::pattern_time_type::utc);
  logger.set_level(spdlog::level::trace);  // filtering is done by SpdLogger::enabled
  logger.flush_on(spdlog::level::warn);
}

}  // namespace

bool parse_log_level(const std::string& text, LogLevel* out) {
  if (text == "trace") *out = LogLevel::kTrace;
  else if (text == "debug") *out = LogLevel::kDebug;
  else if (text == "info") *out = LogLevel::kInfo;
  else if (text == "warn") *out = LogLevel::kWarn;
  else if (text == "error") *out = LogLevel::kError;
  else return false;
  return true;
}

SpdLogger::SpdLogger(std::shared_ptr<spdlog::logger> sink, std::string name, NodeId node,
                     std::function<int64_t()> now_unix_ns, LogLevel level)
    : sink_(std::move(sink)), name_(std::move(name)), node_(node), now_unix_ns_(std::move(now_unix_ns)), level_(level) {}

void SpdLogger::write(LogLevel level, const LogIds& ids, std::string_view message) {
  if (!enabled(level)) return;
  fmt::memory_buffer line;
  fmt::format_to(std::back_inserter(line), "[{} n={}", name_, node_.value);
  if (ids.epoch != 0) fmt::format_to(std::back_inserter(line), " ep={}", ids.epoch);
  if (ids.tick != 0) fmt::format_to(std::back_inserter(line), " t={}", ids.tick);
  if (ids.entity.valid()) fmt::format_to(std::back_inserter(line), " e={}", ids.entity.value);
  fmt::format_to(std::back_inserter(line), "] {}", message);
  const auto when = spdlog::log_clock::time_point(
      std::chrono::duration_cast<spdlog::log_clock::duration>(std::chrono::nanoseconds(now_unix_ns_())));
  sink_->log(when, spdlog::source_loc{}, to_spd(level), spdlog::string_view_t(line.data(), line.size()));
}

std::shared_ptr<spdlog::logger> make_stderr_sink(const std::string& name) {
  auto logger = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_st>());
  configure(*logger);
  return logger;
}

std::shared_ptr<spdlog::logger> make_file_sink(const std::string& name, const std::string& path) {
  auto logger = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::basic_file_sink_st>(path, true));
  configure(*logger);
  return logger;
}

}  // namespace aether::common
