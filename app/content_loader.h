#pragma once
// Loads the game's content (content/*.textpb, proto/content.proto) into gameplay::Content: every
// .textpb file of a directory, in name order, parsed as a ContentFile, names resolved to ids, and
// every rule of gameplay::check() applied. Errors name the file, the line and the field.

#include <memory>
#include <string>

#include "engine/core/result.h"
#include "engine/gameplay/content.h"

namespace aether::app {

// At most this many files, each within read_text_file's size limit.
inline constexpr size_t kContentFilesMax = 256;

Result<std::shared_ptr<const gameplay::Content>> load_content(const std::string& dir);
// Zones (docs/gameplay.md, "Zones and portals") lie inside the arena, and no view radius reaches from
// one into another (below gameplay::kZoneGapMm): what a cluster's world must keep for content with zones.
Status check_zones_fit(const gameplay::Content& content, int64_t arena_mm, int64_t view_radius_mm);

}  // namespace aether::app
