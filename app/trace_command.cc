// `aether trace dump|check`: trace files read back as untrusted input, and the ownership check over
// the merged records of many processes. See trace_command.h.

#include "app/trace_command.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "runtime/common/trace_file.h"
#include "trace.pb.h"
#include "viz/model.h"

namespace aether::app {

const char* trace_kind_name(TraceKind kind) { return viz::trace_kind_name(kind); }

namespace {

// No record the writer makes comes near it.
constexpr size_t kRecordBytesMax = 4096;
constexpr size_t kLengthPrefixBytesMax = 5;  // a varint32
constexpr size_t kReadChunkBytes = 64 * 1024;

constexpr int64_t kRoleCompute = static_cast<int64_t>(Role::kCompute);

// Bytes of a trace, from memory or streamed from a file in chunks (files may be large).
class ByteSource {
 public:
  explicit ByteSource(std::FILE* file) : file_(file) {}
  explicit ByteSource(const std::string& bytes) : buf_(bytes.begin(), bytes.end()), end_(buf_.size()), eof_(true) {}

  // Makes at least n bytes available unless the input ends first; returns how many are.
  size_t fill(size_t n) {
    while (end_ - begin_ < n && !eof_) {
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (buf_.size() < end_ + kReadChunkBytes) buf_.resize(end_ + kReadChunkBytes);
      const size_t got = std::fread(buf_.data() + end_, 1, buf_.size() - end_, file_);
      end_ += got;
      if (got == 0) {
        eof_ = true;
        io_error_ = std::ferror(file_) != 0;
      }
    }
    return end_ - begin_;
  }
  const uint8_t* data() const { return buf_.data() + begin_; }
  void consume(size_t n) {
    begin_ += n;
    offset_ += n;
  }
  uint64_t offset() const { return offset_; }
  bool io_error() const { return io_error_; }

 private:
  std::FILE* file_ = nullptr;
  std::vector<uint8_t> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  uint64_t offset_ = 0;
  bool eof_ = false;
  bool io_error_ = false;
};

using Visit = std::function<void(const TraceEvent&)>;

Status malformed(const std::string& name, uint64_t index, uint64_t offset, const std::string& what) {
  return make_error(Error::Code::kMalformed, fmt::format("{}: record {} at byte {}: {}", name, index, offset, what));
}

// The one parser: a varint length, then that many bytes of aether.wire.TraceRecord, again and again.
Status parse(ByteSource& src, const std::string& name, const Visit& visit, std::string* truncated_tail) {
  truncated_tail->clear();
  for (uint64_t index = 0;; ++index) {
    const size_t avail = src.fill(kLengthPrefixBytesMax);
    if (src.io_error()) return make_error(Error::Code::kIo, fmt::format("{}: read error after byte {}", name, src.offset()));
    if (avail == 0) return ok_status();  // the clean end
    uint64_t size = 0;
    size_t prefix = 0;
    for (size_t i = 0; i < std::min(avail, kLengthPrefixBytesMax); ++i) {
      const uint8_t b = src.data()[i];
      size |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        prefix = i + 1;
        break;
      }
    }
    if (prefix == 0) {
      if (avail < kLengthPrefixBytesMax && index > 0) {  // the input ended inside the prefix: a record cut short
        *truncated_tail = fmt::format("record {} at byte {}: the file ends inside its length prefix ({} of it)", index, src.offset(), avail);
        return ok_status();
      }
      return malformed(name, index, src.offset(), "length prefix is not a varint32");
    }
    if (size > kRecordBytesMax) return malformed(name, index, src.offset(), fmt::format("length {} is implausible", size));
    const size_t whole = prefix + static_cast<size_t>(size);
    const size_t have = src.fill(whole);
    if (src.io_error()) return make_error(Error::Code::kIo, fmt::format("{}: read error after byte {}", name, src.offset()));
    if (have < whole) {
      // A killed writer leaves whole records before the cut (stdio writes them out in blocks of
      // kilobytes); a file that is nothing but a partial record is no trace at all.
      if (index == 0) return malformed(name, index, src.offset(), fmt::format("a {}-byte record in a {}-byte file", size, have));
      *truncated_tail = fmt::format("record {} at byte {}: the file ends {} bytes into its {}-byte body", index, src.offset(), have - prefix, size);
      return ok_status();
    }
    wire::TraceRecord r;
    if (!r.ParseFromArray(src.data() + prefix, static_cast<int>(size))) return malformed(name, index, src.offset(), "does not parse");
    if (r.time_ns() < 0) return malformed(name, index, src.offset(), fmt::format("negative time {}", r.time_ns()));
    if (r.time_ns() >= kTraceTimeNsMax) return malformed(name, index, src.offset(), fmt::format("time {} out of range", r.time_ns()));
    if (r.kind() > 0xffff) return malformed(name, index, src.offset(), fmt::format("kind {} out of range", r.kind()));
    TraceEvent e;
    e.time_ns = r.time_ns();
    e.node = NodeId(r.node());
    e.epoch = r.epoch();
    e.tick = r.tick();
    e.entity = EntityId(r.entity());
    e.peer = NodeId(r.peer());
    e.kind = static_cast<TraceKind>(r.kind());
    e.a = r.a();
    e.b = r.b();
    visit(e);
    src.consume(whole);
  }
}

Status for_each_record(const std::string& path, const Visit& visit, std::string* truncated_tail) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return make_error(Error::Code::kIo, fmt::format("cannot open trace file {}: {}", path, std::strerror(errno)));
  ByteSource src(f);
  Status s = parse(src, path, visit, truncated_tail);
  std::fclose(f);
  return s;
}

std::string node_list(const std::vector<NodeId>& nodes) {
  std::string out;
  for (NodeId n : nodes) out += fmt::format("{}{}", out.empty() ? "" : " ", n.value);
  return out.empty() ? "none" : out;
}

double ms(TimeNs ns) { return static_cast<double>(ns) / kNsPerMs; }

// The sweep over merged records. Ownership is per compute node, from its own records only.
class Checker {
 public:
  explicit Checker(const TraceCheckOptions& options) : opt_(options) {}

  TraceCheckResult run(std::vector<TraceEvent> records) {
    std::stable_sort(records.begin(), records.end(), [](const TraceEvent& x, const TraceEvent& y) { return x.time_ns < y.time_ns; });
    classify(records);
    out_.records = records.size();
    for (const TraceEvent& r : records) {
      if (computes_.count(r.node)) {
        on_compute(r);
      } else if (coordinators_.count(r.node)) {
        on_coordinator(r);
      }
    }
    const TimeNs end_ns = records.empty() ? 0 : records.back().time_ns;
    for (const auto& [entity, pending] : pending_) {
      for (const Pending& p : pending) {
        const TimeNs deadline = p.detected_ns + opt_.recovery_target_ns;
        if (deadline > end_ns) {
          ++out_.recoveries_unobserved;
          continue;
        }
        violation(TraceViolation::Kind::kNotRecovered, deadline, entity, {p.lost},
                  fmt::format("entity {} of lost compute node {} (loss detected at {}) not written by any other node within {:.1f} ms",
                              entity.value, p.lost.value, when(p.detected_ns), ms(opt_.recovery_target_ns)));
      }
    }
    std::stable_sort(out_.violations.begin(), out_.violations.end(),
                     [](const TraceViolation& x, const TraceViolation& y) { return x.time_ns < y.time_ns; });
    out_.entities = tracks_.size();
    out_.compute_nodes.assign(computes_.begin(), computes_.end());
    out_.coordinators.assign(coordinators_.begin(), coordinators_.end());
    return out_;
  }

 private:
  struct NodeWrites {
    TimeNs last_write_ns = -1;
    TimeNs last_grant_ns = -1;
  };
  struct Track {
    NodeId last_writer{};
    TimeNs last_write_ns = -1;
    std::map<NodeId, NodeWrites> by_node;
  };
  struct Pending {
    NodeId lost{};
    TimeNs detected_ns = 0;
  };

  // Compute nodes tick, promise or lapse, or were registered as compute by a coordinator; coordinators
  // lead, stand, register or lose nodes. A node that does both is taken for a coordinator.
  void classify(const std::vector<TraceEvent>& records) {
    for (const TraceEvent& r : records) {
      switch (r.kind) {
        case TraceKind::kLeaderElected:
        case TraceKind::kCandidacy:
        case TraceKind::kSteppedDown:
        case TraceKind::kNodeLost:
          coordinators_.insert(r.node);
          break;
        case TraceKind::kNodeRegistered:
          coordinators_.insert(r.node);
          if (r.a == kRoleCompute && r.peer.valid()) computes_.insert(r.peer);
          break;
        case TraceKind::kTickDone:
        case TraceKind::kPromised:
        case TraceKind::kLeaseLapsed:
          computes_.insert(r.node);
          break;
        default: break;
      }
    }
    for (NodeId c : coordinators_) computes_.erase(c);
    origin_ns_ = records.empty() ? 0 : records.front().time_ns;
  }

  void on_compute(const TraceEvent& r) {
    std::map<EntityId, int64_t>& owned = owned_[r.node];
    switch (r.kind) {
      case TraceKind::kOwnershipGranted:
        if (!r.entity.valid()) break;
        owned[r.entity] = r.a;
        tracks_[r.entity].by_node[r.node].last_grant_ns = r.time_ns;
        break;
      case TraceKind::kOwnershipRevoked:
      case TraceKind::kEntityDespawned:
      case TraceKind::kMigrationReleased:  // handed over to peer: no longer ours to write
        owned.erase(r.entity);
        break;
      case TraceKind::kEvicted:
        owned.clear();
        break;
      case TraceKind::kTickDone:
        for (const auto& [entity, generation] : owned) write(r.node, entity, r.time_ns);
        break;
      default: break;
    }
  }

  void on_coordinator(const TraceEvent& r) {
    switch (r.kind) {
      case TraceKind::kNodeLost: {
        if (!computes_.count(r.peer)) break;
        ++out_.nodes_lost;
        for (const auto& [entity, generation] : owned_[r.peer]) {
          std::vector<Pending>& pending = pending_[entity];
          const bool already = std::any_of(pending.begin(), pending.end(), [&](const Pending& p) { return p.lost == r.peer; });
          if (!already) pending.push_back(Pending{r.peer, r.time_ns});
        }
        break;
      }
      case TraceKind::kOwnershipRevoked: {  // the session ended: nothing to recover any more
        if (r.b == 3) break;                 // fenced by a new leader: re-granted later, still to recover
        auto it = pending_.find(r.entity);
        if (it == pending_.end()) break;
        out_.recoveries_closed += it->second.size();
        pending_.erase(it);
        break;
      }
      case TraceKind::kOwnershipGranted:
        if (r.b == 1) ++out_.regrants;
        break;
      default: break;
    }
  }

  void write(NodeId node, EntityId entity, TimeNs t) {
    ++out_.writes;
    Track& track = tracks_[entity];
    NodeWrites& mine = track.by_node[node];
    bool reported = false;
    if (track.last_writer.valid() && track.last_writer != node) {
      ++out_.handoffs;
      if (mine.last_write_ns >= 0 && mine.last_grant_ns <= track.last_write_ns) {
        reported = true;
        violation(TraceViolation::Kind::kTwoWriters, t, entity, {track.last_writer, node},
                  fmt::format("two writers: entity {} written by node {} at {} after node {} wrote it at {}; node {} had written it "
                              "before (last at {}) and was last granted it at {}",
                              entity.value, node.value, when(t), track.last_writer.value, when(track.last_write_ns), node.value,
                              when(mine.last_write_ns), when(mine.last_grant_ns)));
      }
    }
    for (const auto& [other, w] : track.by_node) {
      if (other == node || w.last_write_ns < 0 || t - w.last_write_ns >= opt_.same_tick_window_ns) continue;
      if (!owned_[other].count(entity)) continue;
      if (reported && other == track.last_writer) continue;
      violation(TraceViolation::Kind::kTwoWriters, t, entity, {other, node},
                fmt::format("two writers: entity {} written by node {} at {} and by node {} at {}, {:.1f} ms apart, both owning it",
                            entity.value, other.value, when(w.last_write_ns), node.value, when(t), ms(t - w.last_write_ns)));
    }
    mine.last_write_ns = t;
    track.last_writer = node;
    track.last_write_ns = t;

    auto p = pending_.find(entity);
    if (p == pending_.end()) return;
    std::vector<Pending>& pending = p->second;
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->lost == node) {
        ++it;
        continue;
      }
      const TimeNs took = t - it->detected_ns;
      ++out_.recoveries_measured;
      out_.recovery_max_ns = std::max(out_.recovery_max_ns, took);
      if (took > opt_.recovery_target_ns) {
        violation(TraceViolation::Kind::kSlowRecovery, it->detected_ns + opt_.recovery_target_ns, entity, {it->lost, node},
                  fmt::format("slow recovery: entity {} of lost compute node {} (loss detected at {}) first written by node {} at {}, "
                              "{:.1f} ms after detection (target {:.1f} ms)",
                              entity.value, it->lost.value, when(it->detected_ns), node.value, when(t), ms(took),
                              ms(opt_.recovery_target_ns)));
      }
      it = pending.erase(it);
    }
    if (pending.empty()) pending_.erase(p);
  }

  // One incident is reported once: later writes by the same pair of nodes of the same entity repeat it.
  void violation(TraceViolation::Kind kind, TimeNs t, EntityId entity, std::vector<NodeId> nodes, std::string what) {
    std::vector<NodeId> key_nodes = nodes;
    std::sort(key_nodes.begin(), key_nodes.end());
    if (!reported_.insert({static_cast<int>(kind), entity, key_nodes}).second) return;
    ++out_.violations_total;
    if (out_.violations.size() < opt_.violations_kept_max) {
      out_.violations.push_back(TraceViolation{kind, t, entity, std::move(nodes), std::move(what)});
    }
  }

  std::string when(TimeNs t) const {
    if (t < 0) return "never";
    return fmt::format("+{:.3f} s", static_cast<double>(t - origin_ns_) / kNsPerSec);
  }

  const TraceCheckOptions opt_;
  TraceCheckResult out_;
  TimeNs origin_ns_ = 0;
  std::set<NodeId> computes_;
  std::set<NodeId> coordinators_;
  std::map<NodeId, std::map<EntityId, int64_t>> owned_;  // entity -> generation
  std::map<EntityId, Track> tracks_;
  std::map<EntityId, std::vector<Pending>> pending_;
  std::set<std::tuple<int, EntityId, std::vector<NodeId>>> reported_;
};

// What the check looks at; everything else (deliveries, damage, sessions) is counted and dropped.
bool relevant(TraceKind kind) {
  switch (kind) {
    case TraceKind::kNodeRegistered:
    case TraceKind::kNodeLost:
    case TraceKind::kLeaderElected:
    case TraceKind::kCandidacy:
    case TraceKind::kSteppedDown:
    case TraceKind::kPromised:
    case TraceKind::kOwnershipGranted:
    case TraceKind::kOwnershipRevoked:
    case TraceKind::kEntityDespawned:
    case TraceKind::kMigrationReleased:
    case TraceKind::kTickDone:
    case TraceKind::kLeaseLapsed:
    case TraceKind::kEvicted:
      return true;
    default: return false;
  }
}

}  // namespace

Status parse_trace_records(const std::string& bytes, TraceFileContents* out) {
  out->records.clear();
  ByteSource src(bytes);
  return parse(src, "<memory>", [out](const TraceEvent& e) { out->records.push_back(e); }, &out->truncated_tail);
}

Status visit_trace_file(const std::string& path, const std::function<void(const TraceEvent&)>& visit) {
  std::string tail;
  Status s = for_each_record(path, visit, &tail);
  if (s && !tail.empty()) return make_error(Error::Code::kMalformed, fmt::format("{}: truncated: {}", path, tail));
  return s;
}

Status visit_trace_records(const std::string& path, const std::function<void(const TraceEvent&)>& visit, std::string* truncated_tail) {
  return for_each_record(path, visit, truncated_tail);
}

Status read_trace_records(const std::string& path, TraceFileContents* out) {
  out->records.clear();
  return for_each_record(path, [out](const TraceEvent& e) { out->records.push_back(e); }, &out->truncated_tail);
}

TraceCheckResult check_records(std::vector<TraceEvent> records, const TraceCheckOptions& options) {
  return Checker(options).run(std::move(records));
}

int run_trace_check(const std::vector<std::string>& trace_files, TimeNs recovery_target_ns) {
  if (trace_files.empty()) {
    fmt::print(stderr, "aether trace check: no trace files given\n");
    return 2;
  }
  if (recovery_target_ns <= 0) {
    fmt::print(stderr, "aether trace check: the recovery target must be positive\n");
    return 2;
  }
  std::vector<TraceEvent> records;
  std::vector<std::string> lines;
  for (const std::string& path : trace_files) {
    uint64_t count = 0;
    std::string tail;
    Status s = for_each_record(
        path,
        [&](const TraceEvent& e) {
          ++count;
          if (relevant(e.kind)) records.push_back(e);
        },
        &tail);
    if (!s) {
      fmt::print(stderr, "aether trace check: {}\n", s.error().message);
      return 2;
    }
    lines.push_back(fmt::format("  {}: {} records{}", path, count, tail.empty() ? "" : fmt::format(" (truncated last record dropped: {})", tail)));
  }
  TraceCheckOptions options;
  options.recovery_target_ns = recovery_target_ns;
  const TraceCheckResult r = check_records(std::move(records), options);

  fmt::print("trace check: {} file(s)\n", trace_files.size());
  for (const std::string& line : lines) fmt::print("{}\n", line);
  fmt::print("compute nodes: {}; coordinators: {}\n", node_list(r.compute_nodes), node_list(r.coordinators));
  fmt::print("entities {}, writes {}, handoffs {}, re-grants by coordinators {}\n", r.entities, r.writes, r.handoffs, r.regrants);
  fmt::print("compute nodes lost {}; recoveries measured {}, max {:.1f} ms after detection (target {:.1f} ms); closed instead {}; "
             "unobserved (trace ends first) {}\n",
             r.nodes_lost, r.recoveries_measured, ms(r.recovery_max_ns), ms(recovery_target_ns), r.recoveries_closed,
             r.recoveries_unobserved);
  if (r.ok()) {
    fmt::print("violations: 0\ntrace check: ok\n");
    return 0;
  }
  const size_t listed = std::min<size_t>(r.violations.size(), 20);
  fmt::print("violations: {} (first {} listed)\n", r.violations_total, listed);
  for (size_t i = 0; i < listed; ++i) fmt::print("  {}\n", r.violations[i].what);
  fmt::print("trace check: FAILED\n");
  return 1;
}

Status load_merged_records(const std::vector<std::string>& files, size_t max_records, bool skip_deliveries, std::vector<TraceEvent>* out,
                           std::string* warnings) {
  std::vector<viz::TraceInput> inputs;
  size_t total = 0;
  for (const std::string& path : files) {
    viz::TraceInput in;
    in.name = path;
    std::string tail;
    Status s = for_each_record(
        path,
        [&](const TraceEvent& e) {
          if (skip_deliveries && e.kind == TraceKind::kMessageDelivered) return;
          if (++total <= max_records) in.records.push_back(e);
        },
        &tail);
    if (!s) return s;
    if (total > max_records) {
      return make_error(Error::Code::kTooLarge,
                        fmt::format("{}: more than {} records{} in all", path, max_records, skip_deliveries ? " (without message deliveries)" : ""));
    }
    if (!tail.empty()) *warnings += fmt::format("{}: truncated last record dropped: {}\n", path, tail);
    inputs.push_back(std::move(in));
  }
  *out = viz::merge_records(inputs);
  return ok_status();
}

namespace {

// Trace dump and merge: the merged records, warnings printed, errors printed; false on error.
bool load_for(const char* command, const std::vector<std::string>& files, std::vector<TraceEvent>* records) {
  std::string warnings;
  const Status s = load_merged_records(files, kMergeRecordsMax, false, records, &warnings);
  if (!warnings.empty()) fmt::print(stderr, "aether trace {}: {}", command, warnings);
  if (!s) fmt::print(stderr, "aether trace {}: {}\n", command, s.error().message);
  return s.ok();
}

}  // namespace

int run_trace_dump(const std::vector<std::string>& files) {
  std::vector<TraceEvent> records;
  if (files.size() > 1) {
    if (!load_for("dump", files, &records)) return 2;
  }
  fmt::memory_buffer buf;
  auto flush = [&buf] {
    std::fwrite(buf.data(), 1, buf.size(), stdout);
    buf.clear();
  };
  auto line = [&](const TraceEvent& e) {
    fmt::format_to(std::back_inserter(buf),
                   "{{\"time_ns\":{},\"node\":{},\"epoch\":{},\"tick\":{},\"entity\":{},\"peer\":{},\"kind\":\"{}\",\"a\":{},\"b\":{}}}\n",
                   e.time_ns, e.node.value, e.epoch, e.tick, e.entity.value, e.peer.value, viz::kind_label(e.kind), e.a, e.b);
    if (buf.size() > 64 * 1024) flush();
  };
  if (files.size() > 1) {
    for (const TraceEvent& e : records) line(e);
    flush();
    std::fflush(stdout);
    return 0;
  }
  std::string tail;
  Status s = for_each_record(files.at(0), line, &tail);
  flush();
  std::fflush(stdout);
  if (!s) {
    fmt::print(stderr, "aether trace dump: {}\n", s.error().message);
    return 2;
  }
  if (!tail.empty()) fmt::print(stderr, "aether trace dump: {}: truncated last record dropped: {}\n", files.at(0), tail);
  return 0;
}

int run_trace_merge(const std::vector<std::string>& files, const std::string& out) {
  std::vector<TraceEvent> records;
  if (!load_for("merge", files, &records)) return 2;
  common::TraceFileWriter writer;
  if (Status s = writer.open(out); !s) {
    fmt::print(stderr, "aether trace merge: {}\n", s.error().message);
    return 2;
  }
  for (const TraceEvent& e : records) writer.write(e);
  writer.close();
  fmt::print("merged {} records from {} file(s) into {}\n", records.size(), files.size(), out);
  return 0;
}

}  // namespace aether::app
