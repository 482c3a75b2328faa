// --log-format json: one JSON object per line, with every byte a message may carry escaped so that
// each line stays valid JSON (quotes, backslashes, control characters, invalid UTF-8).

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include <spdlog/sinks/ostream_sink.h>

#include "runtime/common/spd_logger.h"

namespace aether::common {
namespace {

TEST(JsonLog, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_escape("plain text"), "plain text");
  EXPECT_EQ(json_escape(R"(say "hi" \ bye)"), R"(say \"hi\" \\ bye)");
  EXPECT_EQ(json_escape("a\nb\rc\td\be\ff"), R"(a\nb\rc\td\be\ff)");
  EXPECT_EQ(json_escape(std::string("nul\0x\x1f\x7f", 7)), R"(nul\u0000x\u001f\u007f)");
}

TEST(JsonLog, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(json_escape("\xff"), R"(\ufffd)");
  EXPECT_EQ(json_escape("\xc3"), R"(\ufffd)");              // truncated sequence
  EXPECT_EQ(json_escape("\xc0\xaf"), R"(\ufffd\ufffd)");    // overlong '/'
  EXPECT_EQ(json_escape("\xed\xa0\x80"), R"(\ufffd\ufffd\ufffd)");  // a UTF-16 surrogate
  EXPECT_EQ(json_escape("\xe2\x82"), R"(\ufffd\ufffd)");
}

TEST(JsonLog, ParsesFormats) {
  LogFormat f = LogFormat::kText;
  EXPECT_TRUE(parse_log_format("json", &f));
  EXPECT_EQ(f, LogFormat::kJson);
  EXPECT_TRUE(parse_log_format("text", &f));
  EXPECT_EQ(f, LogFormat::kText);
  EXPECT_FALSE(parse_log_format("JSON", &f));
}

std::shared_ptr<spdlog::logger> stream_sink(std::ostringstream& out) {
  auto logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  return logger;
}

TEST(JsonLog, OneObjectPerLineWithTheIdsThatApply) {
  std::ostringstream out;
  SpdLogger log(stream_sink(out), "compute-1", NodeId(101), [] { return int64_t{1'700'000'000'123'456'789}; }, LogLevel::kInfo,
                LogFormat::kJson);
  log.write(LogLevel::kWarn, {3, 17, EntityId(42)}, "entity \"42\"\nmoved");
  log.write(LogLevel::kInfo, {}, "up");
  log.write(LogLevel::kDebug, {}, "filtered out");
  EXPECT_EQ(out.str(),
            "{\"time\":\"2023-11-14T22:13:20.123456Z\",\"level\":\"warn\",\"component\":\"compute-1\",\"node\":101,\"epoch\":3,"
            "\"tick\":17,\"entity\":42,\"msg\":\"entity \\\"42\\\"\\nmoved\"}\n"
            "{\"time\":\"2023-11-14T22:13:20.123456Z\",\"level\":\"info\",\"component\":\"compute-1\",\"node\":101,\"msg\":\"up\"}\n");
}

TEST(JsonLog, TextFormatIsUnchanged) {
  std::ostringstream out;
  SpdLogger log(stream_sink(out), "gateway-1", NodeId(201), [] { return int64_t{0}; }, LogLevel::kInfo);
  log.write(LogLevel::kInfo, {2, 5, {}}, "hello");
  EXPECT_EQ(out.str(), "1970-01-01T00:00:00.000000Z info  [gateway-1 n=201 ep=2 t=5] hello\n");
}

}  // namespace
}  // namespace aether::common
