// The storage section of a role's config (app/role_config.h): checked, and what it opens.

#include <gtest/gtest.h>

#include "app/role_config.h"
#include "app/text_config.h"
#include "runtime/real/admin_server.h"

namespace aether::app {
namespace {

wire::ProcessConfig config(const std::string& text) {
  wire::ProcessConfig c;
  EXPECT_TRUE(parse_text_proto("test", "node_id: 101 listen_address: \"127.0.0.1:0\" coordinator_address: \"127.0.0.1:7000\" " + text, &c).ok());
  return c;
}

TEST(RoleConfig, AServerDefaultsToSqliteInItsDataDirectory) {
  auto spec = storage_spec("compute", config(""));
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(spec->kind, real::StorageSpec::Kind::kSqlite);
  EXPECT_EQ(spec->target, std::string(kDefaultDataDir) + "/compute-101.sqlite");
  spec = storage_spec("compute", config("data_dir: \"/var/lib/aether\""));
  EXPECT_EQ(spec->target, "/var/lib/aether/compute-101.sqlite");
  EXPECT_FALSE(storage_spec("bot", wire::ProcessConfig{}).has_value());
}

TEST(RoleConfig, StorageNamesSqliteOrPostgres) {
  const auto pg = config("storage: \"postgres:host=/tmp/pg port=5432 dbname=aether\"");
  ASSERT_TRUE(validate_process_config("coordinator", pg).ok());
  auto spec = storage_spec("coordinator", pg);
  EXPECT_EQ(spec->kind, real::StorageSpec::Kind::kPostgres);
  EXPECT_EQ(spec->target, "host=/tmp/pg port=5432 dbname=aether");
  const auto file = config("storage: \"sqlite:/srv/a.db\"");
  ASSERT_TRUE(validate_process_config("gateway", file).ok());
  EXPECT_EQ(storage_spec("gateway", file)->target, "/srv/a.db");
  for (const char* bad : {"storage: \"mysql:x\"", "storage: \"sqlite:\"", "storage: \"postgres:\"", "storage: \"/srv/a.db\""}) {
    const Status s = validate_process_config("compute", config(bad));
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find("sqlite:PATH or postgres:CONNINFO"), std::string::npos) << s.error().message;
  }
  wire::ProcessConfig bot;
  bot.set_gateway_address("127.0.0.1:7200");
  bot.set_bots(1);
  ASSERT_TRUE(validate_process_config("bot", bot).ok());
  bot.set_storage("sqlite:/tmp/x");
  EXPECT_FALSE(validate_process_config("bot", bot).ok()) << "a bot keeps no store";
}

// admin_peers: the other coordinators' admin listeners (the console follows them): host:port each,
// at most kAdminPeersMax, only beside admin_address.
TEST(RoleConfig, AdminPeersAreHostPortsBesideAnAdminListener) {
  const std::string admin = "tls_cert_file: \"c.pem\" tls_key_file: \"c.key\" tls_ca_file: \"ca.pem\" admin_address: \"127.0.0.1:0\" operators_file: \"ops\" ";
  EXPECT_TRUE(validate_process_config("coordinator", config(admin + "admin_peers: \"127.0.0.1:7444\" admin_peers: \"c2.example:7443\"")).ok());
  const Status alone = validate_process_config("coordinator", config("admin_peers: \"127.0.0.1:7444\""));
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.error().message.find("admin_peers goes with admin_address"), std::string::npos) << alone.error().message;
  for (const char* bad : {"\"\"", "\"no-port\"", "\"127.0.0.1:7444/x\"", "\"a b:1\"", "\"h:1'\""}) {
    const Status s = validate_process_config("coordinator", config(admin + "admin_peers: " + bad));
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.error().message.find("is not host:port"), std::string::npos) << s.error().message;
  }
  std::string many = admin;
  for (size_t i = 0; i <= real::kAdminPeersMax; ++i) many += "admin_peers: \"127.0.0.1:" + std::to_string(7000 + i) + "\" ";
  const Status too_many = validate_process_config("coordinator", config(many));
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.error().message.find("at most 8"), std::string::npos) << too_many.error().message;
}

}  // namespace
}  // namespace aether::app
