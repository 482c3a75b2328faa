#pragma once
// Process configs (`aether coordinator|compute|gateway|bot --config FILE`, proto/config.proto): the
// checks a file must pass, and the component configs it makes. The file is untrusted input: a
// config that passes validate_process_config must make components that start without tripping
// any of their assertions (tests/fuzz/fuzz_role_config.cc holds the two to that).

#include <optional>
#include <string>

#include "app/cluster.h"
#include "config.pb.h"
#include "engine/core/result.h"
#include "runtime/real/storage_backend.h"

namespace aether::app {

// Reads, parses and checks a config for `role` (coordinator, compute, gateway or bot). Every error
// names the file.
Result<wire::ProcessConfig> load_process_config(const std::string& role, const std::string& path);

// Range checks that the schema alone cannot express. Returns the first problem found.
Status validate_process_config(const std::string& role, const wire::ProcessConfig& c);

// The directory a role keeps its files in when the config names none.
inline constexpr const char* kDefaultDataDir = "aether-data";

// The store a server role opens (its `storage`, or SQLite in its data directory); nullopt for bots.
std::optional<real::StorageSpec> storage_spec(const std::string& role, const wire::ProcessConfig& c);

// The component configs of a (valid) process config.
ClusterShape process_shape(const wire::ProcessConfig& c);
CoordinatorConfig coordinator_config(const wire::ProcessConfig& c);
ComputeConfig compute_config(const wire::ProcessConfig& c);
GatewayConfig gateway_config(const wire::ProcessConfig& c);
BotConfig bot_config(const wire::ProcessConfig& c, uint32_t index);  // index in [0, bots)

}  // namespace aether::app
