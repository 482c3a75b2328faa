#include "runtime/real/admin_api.h"

#include <map>
#include <set>
#include <variant>
#include <vector>

#include <iterator>

#include <fmt/format.h>

namespace aether::real {

namespace {

using Params = std::multimap<std::string, std::string, std::less<>>;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::optional<Params> parse_params(std::string_view text) {
  Params out;
  while (!text.empty()) {
    const size_t amp = text.find('&');
    const std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq));
    auto value = url_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    out.emplace(std::move(*key), std::move(*value));
  }
  return out;
}

std::optional<uint64_t> decimal(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (max - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  return v;
}

AdminApiError bad(std::string message) { return AdminApiError{400, std::move(message)}; }

// Takes the parameters a route allows: `once` at most once each, `many` any number of times.
std::optional<AdminApiError> only(const Params& p, std::set<std::string_view> once, std::set<std::string_view> many = {}) {
  for (auto it = p.begin(); it != p.end(); it = p.upper_bound(it->first)) {
    const bool single = once.count(it->first) != 0;
    if (!single && many.count(it->first) == 0) return bad(fmt::format("unknown parameter '{}'", it->first.substr(0, 64)));
    if (single && p.count(it->first) > 1) return bad(fmt::format("parameter '{}' given twice", it->first));
  }
  return std::nullopt;
}

std::optional<uint64_t> number(const Params& p, std::string_view name, uint64_t max) {
  auto it = p.find(name);
  if (it == p.end()) return std::nullopt;
  return decimal(it->second, max);
}

// The epoch an order claims: epoch=X (the coordinator's current one), or force=1 (the admin epoch).
std::variant<Epoch, AdminApiError> claimed_epoch(const Params& p) {
  auto force = p.find("force");
  if (force != p.end()) {
    if (force->second != "1") return bad("force must be 1");
    if (p.count("epoch") != 0) return bad("give epoch or force=1, not both");
    return kEpochAdmin;
  }
  auto epoch = number(p, "epoch", kEpochAdmin - 1);
  if (!epoch || *epoch == 0) return bad("an order needs epoch=X (the coordinator's epoch, from GET /api/nodes) or force=1");
  return *epoch;
}

}  // namespace

std::variant<AdminCall, AdminApiError> parse_admin_call(std::string_view method, std::string_view target, std::string_view body) {
  using C = AdminRequest::Command;
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  const bool get = method == "GET";
  const bool post = method == "POST";
  static const std::set<std::string_view> kReads = {"/api/whoami", "/api/nodes", "/api/entity", "/api/ghosts", "/api/ownership", "/api/timeline",
                                                     "/api/peers"};
  static const std::set<std::string_view> kOrders = {"/api/move", "/api/drain", "/api/failover"};
  const bool debug = path == "/api/debug";
  if (!kReads.count(path) && !kOrders.count(path) && !debug) return AdminApiError{404, "no such path: the API is under /api/ (docs/security.md)"};
  if (kReads.count(path) && !get) return AdminApiError{405, "this path is read with GET"};
  if (kOrders.count(path) && !post) return AdminApiError{405, "orders are sent with POST"};
  if (debug && !get && !post) return AdminApiError{405, "GET lists what is debugged, POST changes it"};
  if (get && !body.empty()) return bad("a GET carries no body");
  if (post && !query.empty()) return bad("a POST carries its parameters in its body (application/x-www-form-urlencoded)");
  auto params = parse_params(get ? query : body);
  if (!params) return bad("parameters are not url-encoded");
  const Params& p = *params;
  AdminCall call;
  if (path == "/api/whoami" || path == "/api/nodes" || (debug && get)) {
    if (auto e = only(p, {})) return *e;
    call.whoami = path == "/api/whoami";
    call.request.command = debug ? C::kDebug : C::kListNodes;
    return call;
  }
  if (path == "/api/ownership" || path == "/api/peers") {
    if (auto e = only(p, {})) return *e;
    call.view = path == "/api/peers" ? AdminView::kPeers : AdminView::kOwnership;
    return call;
  }
  if (path == "/api/timeline") {
    if (auto e = only(p, {"after"})) return *e;
    if (p.count("after") != 0) {
      auto after = number(p, "after", UINT64_MAX);
      if (!after) return bad("after=SEQ takes a sequence number (0 for all)");
      call.after = *after;
    }
    call.view = AdminView::kTimeline;
    return call;
  }
  if (path == "/api/entity" || path == "/api/ghosts") {
    if (auto e = only(p, {"id"})) return *e;
    auto id = number(p, "id", UINT64_MAX);
    if (!id) return bad("id=E (an entity id) is required");
    if (*id == 0) return bad("id=E: entity ids start at 1");
    call.request = AdminRequest{path == "/api/entity" ? C::kShowEntity : C::kGhostQuery, EntityId(*id), {}, {}};
    if (path == "/api/entity") call.view = AdminView::kEntity;  // the inspector's view; the same words in its "lines"
    return call;
  }
  auto claimed = claimed_epoch(p);
  if (auto* e = std::get_if<AdminApiError>(&claimed)) return *e;
  call.claimed = std::get<Epoch>(claimed);
  if (path == "/api/move") {
    if (auto e = only(p, {"entity", "node", "epoch", "force"})) return *e;
    auto entity = number(p, "entity", UINT64_MAX);
    auto node = number(p, "node", UINT32_MAX);
    if (!entity || !node) return bad("move needs entity=E and node=N");
    call.request = AdminRequest{C::kMove, EntityId(*entity), NodeId(static_cast<uint32_t>(*node)), {}};
  } else if (path == "/api/drain") {
    if (auto e = only(p, {"node", "epoch", "force"})) return *e;
    auto node = number(p, "node", UINT32_MAX);
    if (!node) return bad("drain needs node=N");
    call.request = AdminRequest{C::kDrain, {}, NodeId(static_cast<uint32_t>(*node)), {}};
  } else if (path == "/api/failover") {
    if (auto e = only(p, {"epoch", "force"})) return *e;
    call.request = AdminRequest{C::kFailover, {}, {}, {}};
  } else {  // POST /api/debug
    if (auto e = only(p, {"off", "epoch", "force"}, {"entity", "node"})) return *e;
    call.request.command = C::kDebug;
    for (auto [it, end] = p.equal_range("entity"); it != end; ++it) {
      auto v = decimal(it->second, UINT64_MAX);
      if (!v) return bad("entity=E takes an entity id");
      if (call.request.debug.entities.size() >= kDebugEntitiesMax) return bad(fmt::format("at most {} entities at once", kDebugEntitiesMax));
      call.request.debug.entities.push_back(EntityId(*v));
    }
    for (auto [it, end] = p.equal_range("node"); it != end; ++it) {
      auto v = decimal(it->second, UINT32_MAX);
      if (!v) return bad("node=N takes a node id");
      if (call.request.debug.nodes.size() >= kDebugNodesMax) return bad(fmt::format("at most {} nodes at once", kDebugNodesMax));
      call.request.debug.nodes.push_back(NodeId(static_cast<uint32_t>(*v)));
    }
    if (call.request.debug.entities.empty() && call.request.debug.nodes.empty()) return bad("POST /api/debug needs entity=E or node=N");
    if (auto off = p.find("off"); off != p.end()) {
      if (off->second != "1") return bad("off must be 1");
      call.request.debug.off = true;
    }
  }
  return call;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

std::string admin_answer_json(const OperatorId& who, const AdminCall& call, const AdminAnswer& answer) {
  std::string lines;
  for (const std::string& line : answer.reply.lines) {
    if (!lines.empty()) lines.push_back(',');
    lines += json_string(line);
  }
  return fmt::format("{{\"ok\":{},\"operator\":{},\"role\":{},\"command\":{},\"epoch\":{},\"verdict\":{},\"lines\":[{}]}}\n",
                     answer.reply.ok ? "true" : "false", json_string(who.name), json_string(operator_role_name(who.role)),
                     json_string(call.whoami ? "whoami" : admin_command_name(call.request.command)), call.claimed,
                     json_string(admin_verdict_name(answer.verdict)), lines);
}

std::string ownership_json(const OwnershipView& v) {
  std::string out = fmt::format("{{\"ok\":true,\"view\":\"ownership\",\"epoch\":{},\"leading\":{},\"arena_mm\":{},\"side\":{},\"homes\":[", v.epoch,
                                v.leading ? "true" : "false", v.arena_mm, v.side);
  out.reserve(out.size() + v.homes.size() * 4 + v.cells.size() * 24);
  for (size_t i = 0; i < v.homes.size(); ++i) fmt::format_to(std::back_inserter(out), "{}{}", i ? "," : "", v.homes[i].value);
  out += "],\"cells\":[";
  for (size_t i = 0; i < v.cells.size(); ++i) {
    const OwnershipView::Cell& c = v.cells[i];
    fmt::format_to(std::back_inserter(out), "{}[{},{},{},{}]", i ? "," : "", c.x, c.y, c.owner.value, c.entities);
  }
  fmt::format_to(std::back_inserter(out), "],\"cells_dropped\":{},\"nodes\":[", v.cells_dropped);
  for (size_t i = 0; i < v.nodes.size(); ++i) fmt::format_to(std::back_inserter(out), "{}[{},{}]", i ? "," : "", v.nodes[i].node.value, v.nodes[i].entities);
  fmt::format_to(std::back_inserter(out), "],\"orphans\":{}}}\n", v.orphans);
  return out;
}

namespace {

void append_handovers(std::string& out, const std::vector<Handover>& events) {
  bool first = true;
  for (const Handover& h : events) {
    fmt::format_to(std::back_inserter(out), "{}{{\"seq\":{},\"at_ms\":{},\"epoch\":{},\"kind\":\"{}\",\"entity\":{},\"from\":{},\"to\":{},\"count\":{}}}",
                   first ? "" : ",", h.seq, h.at_ns / kNsPerMs, h.epoch, handover_kind_name(h.kind), h.entity.value, h.from.value, h.to.value, h.count);
    first = false;
  }
}

}  // namespace

std::string timeline_json(const HandoverLog& log, uint64_t after, TimeNs now_ns) {
  std::string out = fmt::format("{{\"ok\":true,\"view\":\"timeline\",\"now_ms\":{},\"last\":{},\"events\":[", now_ns / kNsPerMs, log.last_seq());
  append_handovers(out, log.since(after, kTimelineAnswerMax));
  out += "]}\n";
  return out;
}

AdminViewAnswer entity_json(const EntityView& v, TimeNs now_ns) {
  if (!v.known) {
    const std::string why = fmt::format("entity {} is not in the table", v.id.value);
    return AdminViewAnswer{404, fmt::format("{{\"ok\":false,\"view\":\"entity\",\"entity\":{},\"error\":{}}}\n", v.id.value, json_string(why))};
  }
  std::string out = fmt::format(
      "{{\"ok\":true,\"view\":\"entity\",\"epoch\":{},\"leading\":{},\"now_ms\":{},\"entity\":{},\"owner\":{},\"owner_state\":{},\"generation\":{},"
      "\"gateway\":{},\"session\":{},\"detached\":{},\"migrating_to\":{},\"x_mm\":{},\"y_mm\":{},\"hp\":{},\"team\":{},\"kind\":{},"
      "\"version\":{},\"cell\":[{},{}],\"home\":{},\"handovers\":[",
      v.epoch, v.leading ? "true" : "false", now_ns / kNsPerMs, v.id.value, v.owner.value, json_string(v.owner_state), v.generation, v.gateway.value,
      v.session, v.detached ? "true" : "false", v.migrating_to.value, v.x_mm, v.y_mm, v.hp, v.team, v.kind, v.version, v.cell_x, v.cell_y,
      v.home.value);
  append_handovers(out, v.handovers);
  // The same in words, as `aether admin entity` prints them.
  const std::string owner = fmt::format("entity {} owner {} generation {} gateway {} session {}{}{}", v.id.value, v.owner.value, v.generation,
                                        v.gateway.value, v.session, v.detached ? " detached" : "",
                                        v.migrating_to.valid() ? fmt::format(" migrating to {}", v.migrating_to.value) : "");
  const std::string where = fmt::format("snapshot at ({}, {}) mm hp {} version {}; cell ({}, {}) home {}; owner {}", v.x_mm, v.y_mm, v.hp,
                                        v.version, v.cell_x, v.cell_y, v.home.value, v.owner_state);
  fmt::format_to(std::back_inserter(out), "],\"lines\":[{},{}]}}\n", json_string(owner), json_string(where));
  return AdminViewAnswer{200, std::move(out)};
}

std::string peers_json(const std::vector<std::string>& origins) {
  std::string out = "{\"ok\":true,\"view\":\"peers\",\"peers\":[";
  for (size_t i = 0; i < origins.size(); ++i) out += (i ? "," : "") + json_string(origins[i]);
  out += "]}\n";
  return out;
}

std::string admin_error_json(std::string_view message) { return fmt::format("{{\"ok\":false,\"error\":{}}}\n", json_string(message)); }

}  // namespace aether::real
