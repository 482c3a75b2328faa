#pragma once
// The economy's content (items, the "kill" drop table, recipes) from a content directory's
// .textpb files (proto/content.proto), checked with file:line errors like the game's content.

#include <string>

#include "engine/core/result.h"
#include "engine/economy/vault.h"

namespace aether::app {

Result<economy::EconomyRules> load_economy_rules(const std::string& dir);

}  // namespace aether::app
