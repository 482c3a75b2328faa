#include "runtime/common/spd_logger.h"

#include <chrono>
#include <ctime>

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

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info ";
    case LogLevel::kWarn: return "warn ";
    case LogLevel::kError: return "error";
  }
  return "?    ";
}

// RFC 3339 UTC with microseconds. We format the time ourselves rather than through spdlog's %Y...%f:
// spdlog caches the formatted date per second and shows 1900-01-00 for second 0, which is exactly
// where the simulator's virtual time starts.
void append_time(fmt::memory_buffer& out, int64_t unix_ns) {
  const int64_t secs = unix_ns >= 0 ? unix_ns / 1'000'000'000 : (unix_ns - 999'999'999) / 1'000'000'000;
  const int64_t micros = (unix_ns - secs * 1'000'000'000) / 1000;
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
}

const char* json_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return "trace";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

// Length of the valid UTF-8 sequence starting at text[i], or 0 if the bytes there are not one
// (overlong forms, surrogates and code points past U+10FFFF are not valid).
size_t utf8_sequence(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07;
  else return 0;
  if (i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  return n;
}

// The time as a JSON string value (RFC 3339, UTC, microseconds).
void append_json_time(fmt::memory_buffer& out, int64_t unix_ns) {
  fmt::memory_buffer t;
  append_time(t, unix_ns);
  out.push_back('"');
  out.append(t.data(), t.data() + t.size() - 1);  // without append_time's trailing space
  out.push_back('"');
}

void configure(spdlog::logger& logger) {
  logger.set_pattern("%v");
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

bool parse_log_format(const std::string& text, LogFormat* out) {
  if (text == "text") *out = LogFormat::kText;
  else if (text == "json") *out = LogFormat::kJson;
  else return false;
  return true;
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '\b') out += "\\b";
    else if (c == '\f') out += "\\f";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\u{:04x}", c);
    else if (c < 0x80) out += static_cast<char>(c);
    else if (const size_t n = utf8_sequence(text, i); n != 0) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    } else {
      out += "\\ufffd";
    }
    ++i;
  }
  return out;
}

SpdLogger::SpdLogger(std::shared_ptr<spdlog::logger> sink, std::string name, NodeId node,
                     std::function<int64_t()> now_unix_ns, LogLevel level, LogFormat format)
    : sink_(std::move(sink)), name_(std::move(name)), node_(node), now_unix_ns_(std::move(now_unix_ns)), level_(level), format_(format) {}

void SpdLogger::write(LogLevel level, const LogIds& ids, std::string_view message) {
  if (!enabled(level)) return;
  fmt::memory_buffer line;
  const int64_t now = now_unix_ns_();
  if (format_ == LogFormat::kJson) {
    line.append(std::string_view("{\"time\":"));
    append_json_time(line, now);
    fmt::format_to(std::back_inserter(line), ",\"level\":\"{}\",\"component\":\"{}\",\"node\":{}", json_level_name(level),
                   json_escape(name_), node_.value);
    if (ids.epoch != 0) fmt::format_to(std::back_inserter(line), ",\"epoch\":{}", ids.epoch);
    if (ids.tick != 0) fmt::format_to(std::back_inserter(line), ",\"tick\":{}", ids.tick);
    if (ids.entity.valid()) fmt::format_to(std::back_inserter(line), ",\"entity\":{}", ids.entity.value);
    fmt::format_to(std::back_inserter(line), ",\"msg\":\"{}\"}}", json_escape(message));
  } else {
    emit_text(line, now, level, ids, message);
  }
  const auto when = spdlog::log_clock::time_point(
      std::chrono::duration_cast<spdlog::log_clock::duration>(std::chrono::nanoseconds(now)));
  sink_->log(when, spdlog::source_loc{}, to_spd(level), spdlog::string_view_t(line.data(), line.size()));
}

void SpdLogger::emit_text(fmt::memory_buffer& line, int64_t now, LogLevel level, const LogIds& ids, std::string_view message) const {
  append_time(line, now);
  fmt::format_to(std::back_inserter(line), "{} [{} n={}", level_name(level), name_, node_.value);
  if (ids.epoch != 0) fmt::format_to(std::back_inserter(line), " ep={}", ids.epoch);
  if (ids.tick != 0) fmt::format_to(std::back_inserter(line), " t={}", ids.tick);
  if (ids.entity.valid()) fmt::format_to(std::back_inserter(line), " e={}", ids.entity.value);
  fmt::format_to(std::back_inserter(line), "] {}", message);
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
