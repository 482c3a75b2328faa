#pragma once
// The admin listener's HTTP API (runtime/real/admin_server.h), as pure functions: which request
// is which operator command, and the JSON answers. Parameters come from the query string (GET) or
// an application/x-www-form-urlencoded body (POST), never both; only the names listed are taken,
// each once (entity and node may repeat for debug), numbers in decimal.
//
//   GET  /api/whoami                                   the operator the token names
//   GET  /api/nodes                                    nodes (the first line carries the epoch)
//   GET  /api/entity?id=E                              the entity inspector: the coordinator's record of an
//                                                      entity, its cell, its newest handovers (a view: entity_json)
//   GET  /api/ghosts?id=E                              what each compute node holds of it
//   GET  /api/debug                                    what is debugged
//   POST /api/move      entity=E&node=N&epoch=X        orders: under epoch X (the coordinator's,
//   POST /api/drain     node=N&epoch=X                 read from /api/nodes), or force=1 for the
//   POST /api/failover  epoch=X                        admin epoch
//   POST /api/debug     [entity=E]...[node=N]...[off=1]&epoch=X
//
// Views (structured reads for the console, answered by the listener's view handler; bounded):
//   GET  /api/ownership                                regions and entities by cell and owner (ownership_json)
//   GET  /api/timeline[?after=SEQ]                     the newest handovers after SEQ (timeline_json)
//   GET  /api/peers                                    the other coordinators' admin listeners (peers_json)

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/coordinator/entity_view.h"
#include "engine/coordinator/handover_log.h"
#include "engine/coordinator/ownership_view.h"
#include "engine/net/admin_rule.h"

namespace aether::real {

enum class AdminView : uint8_t { kNone, kOwnership, kTimeline, kEntity, kPeers };

// At most this many handovers in one timeline answer (the newest; the log holds kHandoverLogMax).
inline constexpr size_t kTimelineAnswerMax = 128;

// A view's answer: 200 with its JSON, or 404 when what it names is not known (an unknown entity).
struct AdminViewAnswer {
  unsigned status = 200;
  std::string body;
};

struct AdminCall {
  bool whoami = false;  // answered by the listener itself
  AdminView view = AdminView::kNone;  // a view: answered by the view handler, not the command handler
  uint64_t after = 0;                 // timeline: events after this sequence
  AdminRequest request;
  Epoch claimed = 0;    // reads: 0
};

struct AdminApiError {
  unsigned status = 400;  // 400, 404 or 405
  std::string message;
};

// method: "GET" or "POST" (anything else: 405); target: path and query; body: the POST's body.
std::variant<AdminCall, AdminApiError> parse_admin_call(std::string_view method, std::string_view target, std::string_view body);

// s as a JSON string, quotes included (control characters escaped, other bytes as they are).
std::string json_string(std::string_view s);
// {"ok":...,"operator":...,"role":...,"command":...,"epoch":...,"verdict":...,"lines":[...]}
std::string admin_answer_json(const OperatorId& who, const AdminCall& call, const AdminAnswer& answer);
// {"ok":true,"view":"ownership","epoch":E,"leading":B,"arena_mm":A,"side":S,"homes":[S*S node ids, 0: none],
//  "cells":[[x,y,owner,entities],...],"cells_dropped":N,"nodes":[[node,entities],...],"orphans":N}
std::string ownership_json(const OwnershipView& v);
// {"ok":true,"view":"timeline","now_ms":T,"last":SEQ,"events":[{"seq":..,"at_ms":..,"epoch":..,"kind":"migrated",
//  "entity":..,"from":..,"to":..,"count":..},...]}: at most kTimelineAnswerMax events after `after`.
// Times are the coordinator's clock (not a wall clock): now_ms - at_ms is an event's age.
std::string timeline_json(const HandoverLog& log, uint64_t after, TimeNs now_ns);
// {"ok":true,"view":"entity","epoch":E,"leading":B,"entity":ID,"owner":N,"owner_state":"up","generation":G,"gateway":N,
//  "session":S,"detached":B,"migrating_to":N,"x_mm":X,"y_mm":Y,"hp":H,"team":T,"kind":K,"version":V,"cell":[x,y],"home":N,
//  "handovers":[{"seq",...as in timeline_json}],"lines":[the same in words, for `aether admin entity`]};
// an entity not in the table: 404 {"ok":false,"view":"entity","entity":ID,"error":"entity ID is not in the table"}.
AdminViewAnswer entity_json(const EntityView& v, TimeNs now_ns);
// {"ok":true,"view":"peers","peers":["https://HOST:PORT",...]}: the consoles to read when this one stops answering.
std::string peers_json(const std::vector<std::string>& origins);
// {"ok":false,"error":"..."}
std::string admin_error_json(std::string_view message);

}  // namespace aether::real
