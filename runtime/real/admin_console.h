#pragma once
// The operators' console: a page the admin listener serves (never a data port), built into the
// binary so that the coordinator reads no file for it. The page holds no data and needs no token;
// everything it shows comes from the JSON API (admin_api.h) with the token the operator types,
// kept in the tab's sessionStorage only. Nodes and their load against the N/(N+1) line, refreshed
// every second; drain a node after a confirmation naming it and the epoch the order claims; a live
// ownership map (GET /api/ownership) and a timeline of migrations and failovers (GET /api/timeline);
// an entity inspector (GET /api/entity). When the coordinator serving it stops answering, the page
// reads the other coordinators' listeners (GET /api/peers, with the same token) and says so.

#include <string>
#include <string_view>
#include <vector>

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
// The same, with the page allowed to read the other coordinators' listeners (their origins,
// "https://HOST:PORT"): the console moves to one of them when its own coordinator stops answering.
std::string console_content_security_policy(const std::vector<std::string>& peer_origins);

}  // namespace aether::real
