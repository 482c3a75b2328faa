// Process configs (app/role_config.h): the text format of `aether coordinator|compute|gateway|bot
// --config FILE`, its checks, and the components a config that passes them makes.
//
// Input: byte 0 picks the role, the rest is the file. A config that parses must print and parse
// back to the same config with the same verdict; its addresses must read back the same when
// printed; and a config that passes must make a component that starts and runs a few seconds (on a
// fake runtime: no sockets) without tripping an assertion. (Bots: the first and the last of the
// process's bots are made, not all of them.)

#include <cstddef>
#include <cstdint>
#include <string>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "app/role_config.h"
#include "app/text_config.h"
#include "runtime/common/spd_logger.h"
#include "runtime/real/address.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/unit/fake_runtime.h"

namespace {

using namespace aether;

constexpr const char* kRoles[] = {"coordinator", "compute", "gateway", "bot"};

void check_address(const std::string& address) {
  if (address.empty()) return;
  auto endpoint = real::parse_endpoint(address);
  if (!endpoint) {
    FUZZ_CHECK(!endpoint.error().message.empty(), "a rejection without a reason");
    return;
  }
  const std::string printed = real::format_endpoint(endpoint.value());
  auto again = real::parse_endpoint(printed);
  FUZZ_CHECK(again.ok(), "'%s' reads, its printed form '%s' does not", address.c_str(), printed.c_str());
  FUZZ_CHECK(again.value() == endpoint.value(), "'%s' and its printed form '%s' differ", address.c_str(), printed.c_str());
}

template <class C, class Config>
void run(NodeId node, Config config) {
  aether::testing::FakeRuntime rt(node);
  C component(rt.runtime, std::move(config));
  component.start();
  rt.advance(3 * kNsPerSec);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  aether::fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string role = kRoles[data[0] % std::size(kRoles)];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  wire::ProcessConfig c;
  if (auto s = app::parse_text_proto("fuzz.textpb", text, &c); !s) {
    FUZZ_CHECK(!s.error().message.empty(), "a parse error without a reason");
    return 0;
  }
  const Status verdict = app::validate_process_config(role, c);

  std::string printed;
  FUZZ_CHECK(google::protobuf::TextFormat::PrintToString(c, &printed), "a parsed config does not print");
  wire::ProcessConfig again;
  FUZZ_CHECK(app::parse_text_proto("printed.textpb", printed, &again).ok(), "a printed config does not parse:\n%s", printed.c_str());
  FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(c, again), "a config changes when printed and read back");
  FUZZ_CHECK(app::validate_process_config(role, again).ok() == verdict.ok(), "a printed config gets another verdict");
  if (!verdict) {
    FUZZ_CHECK(!verdict.error().message.empty(), "a rejection without a reason");
    return 0;
  }

  for (const std::string& a : {c.listen_address(), c.coordinator_address(), c.gateway_address(), c.peer_address(), c.metrics_address(),
                               c.advertise_address()}) {
    check_address(a);
  }
  for (const std::string& a : c.coordinator_addresses()) check_address(a);
  LogLevel level;
  (void)common::parse_log_level(c.log_level(), &level);
  common::LogFormat format;
  (void)common::parse_log_format(c.log_format(), &format);

  const NodeId node(c.node_id());
  if (role == "coordinator") {
    run<Coordinator>(node, app::coordinator_config(c));
  } else if (role == "compute") {
    run<ComputeNode>(node, app::compute_config(c));
  } else if (role == "gateway") {
    run<Gateway>(node, app::gateway_config(c));
  } else {
    run<BotClient>(NodeId{}, app::bot_config(c, 0));
    run<BotClient>(NodeId{}, app::bot_config(c, c.bots() - 1));
  }
  return 0;
}
