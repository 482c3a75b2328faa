#pragma once
// Scenario files: Protobuf text format checked against proto/scenario.proto, then range-checked.

#include <string>

#include "app/cluster.h"
#include "engine/core/result.h"
#include "scenario.pb.h"

namespace aether::app {

// Reads PATH, or PATH.textpb when PATH itself does not exist (so `aether sim scenarios/v1-battle`
// works). Every error names the file, and for syntax errors the line and column.
Result<wire::Scenario> load_scenario(const std::string& path);

// Range checks that the schema alone cannot express. Returns the first problem found.
Status validate_scenario(const wire::Scenario& s);

// The cluster a (valid) scenario describes.
ClusterShape cluster_shape(const wire::Scenario& s);

}  // namespace aether::app
