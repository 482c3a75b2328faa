#pragma once
// The operators' console: a page the admin listener serves (never a data port), built into the
// binary so that the coordinator reads no file for it. The page holds no data and needs no token;
// everything it shows comes from the JSON API (admin_api.h) with the token the operator types,
// kept in the tab's sessionStorage only. Nodes and their load against the N/(N+1) line, refreshed
// every second; drain a node after a confirmation naming it and the epoch the order claims; a live
// ownership map (GET /api/ownership) and a timeline of migrations and failovers (GET /api/timeline).

#include <string_view>

namespace aether::real {

struct ConsoleFile {
  const char* content_type;
  std::string_view body;
};

// The file at a request path ("/" or "/console.js"), or nullptr.
const ConsoleFile* admin_console_file(std::string_view path);

// The headers every console file goes with: only its own origin, no framing, no sniffing.
inline constexpr const char* kConsoleContentSecurityPolicy =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

}  // namespace aether::real
