#pragma once
// A manual runtime for driving one component alone (tests/unit/protocol_rules_test.cc): nothing
// happens unless the test makes it happen. Time moves only when the test advances it, and timers
// fire then, in deadline order (same instant: scheduling order), each with the clock set to its own
// deadline. The network connects nothing by itself: the test accepts connections, completes or
// refuses the component's connects, delivers messages and resets connections, and reads back every
// payload the component sent, decoded with decode_server. The test plays every other process.
//
// Unlike runtime/sim, there is no kernel, no latency and no other host: a protocol rule can be
// checked message by message, at exact instants, with no seed to search for.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/assert.h"
#include "engine/core/random.h"
#include "engine/runtime/runtime.h"
#include "engine/wire/codec.h"
#include "runtime/sim/sim_passwords.h"

namespace aether::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeNs start_ns) : now_ns_(start_ns) {}
  TimeNs now_ns() const override { return now_ns_; }
  int64_t unix_ns() const override { return kFakeCalendarStartUnixNs + now_ns_; }
  static constexpr int64_t kFakeCalendarStartUnixNs = int64_t{1'767'225'600} * 1'000'000'000;  // 2026-01-01 UTC
  // A jump: timers that fall due meanwhile fire at the next advance, late (never early), as real
  // timers do after a forward jump. The Clock contract forbids going back.
  void set(TimeNs at_ns) {
    AETHER_ASSERT(at_ns >= now_ns_);
    now_ns_ = at_ns;
  }

 private:
  TimeNs now_ns_;
};

class FakeTimers final : public Timers {
 public:
  explicit FakeTimers(FakeClock& clock) : clock_(clock) {}

  TimerId schedule(TimeNs delay_ns, std::function<void()> fn) override {
    const TimerId id = ++last_id_;
    const Key key{clock_.now_ns() + std::max<TimeNs>(delay_ns, 0), id};
    due_.emplace(key, std::move(fn));
    keys_.emplace(id, key);
    return id;
  }
  bool cancel(TimerId id) override {
    auto it = keys_.find(id);
    if (it == keys_.end()) return false;
    due_.erase(it->second);
    keys_.erase(it);
    return true;
  }

  // Fires every timer due at or before `until_ns` (including those the callbacks schedule), each
  // with the clock at its deadline, then leaves the clock at `until_ns`.
  void advance_to(TimeNs until_ns) {
    AETHER_ASSERT(until_ns >= clock_.now_ns());
    while (!due_.empty() && due_.begin()->first.deadline_ns <= until_ns) {
      auto first = due_.begin();
      const Key key = first->first;
      std::function<void()> fn = std::move(first->second);
      due_.erase(first);
      keys_.erase(key.id);
      if (key.deadline_ns > clock_.now_ns()) clock_.set(key.deadline_ns);
      fn();
    }
    clock_.set(until_ns);
  }
  size_t pending() const { return due_.size(); }

 private:
  struct Key {
    TimeNs deadline_ns = 0;
    TimerId id = 0;  // ids grow: same-instant timers fire in scheduling order
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  FakeClock& clock_;
  TimerId last_id_ = 0;
  std::map<Key, std::function<void()>> due_;
  std::map<TimerId, Key> keys_;
};

// One payload the component handed to send(), with the time it did.
struct SentPayload {
  ConnId conn = 0;
  TimeNs at_ns = 0;
  std::vector<uint8_t> bytes;
};

class FakeNetwork final : public Network {
 public:
  explicit FakeNetwork(const FakeClock& clock) : clock_(clock) {}

  // --- The component's side (the Network interface) ---
  void set_handler(NetworkHandler* handler) override { handler_ = handler; }
  Result<std::string> listen(std::string_view address) override {
    listening_.emplace_back(address);
    return std::string(address);
  }
  ConnId connect(std::string_view address) override {
    const ConnId id = ++last_conn_;
    conns_[id] = Conn{std::string(address), /*outbound=*/true, State::kConnecting};
    return id;
  }
  SendStatus send(ConnId conn, std::span<const uint8_t> payload) override {
    auto it = conns_.find(conn);
    if (it == conns_.end() || it->second.state != State::kOpen) return SendStatus::kClosed;
    if (payload.size() > kFrameBytesMax) return SendStatus::kTooLarge;
    if (it->second.backpressure) return SendStatus::kBackpressure;
    sent_.push_back(SentPayload{conn, clock_.now_ns(), std::vector<uint8_t>(payload.begin(), payload.end())});
    return SendStatus::kOk;
  }
  void close(ConnId conn) override {
    auto it = conns_.find(conn);
    if (it != conns_.end()) it->second.state = State::kClosed;
  }
  // What the test said the runtime verified for this connection (accept / complete_connect).
  std::optional<PeerIdentity> peer_identity(ConnId conn) const override {
    auto it = conns_.find(conn);
    if (it == conns_.end() || it->second.state != State::kOpen) return std::nullopt;
    return it->second.identity;
  }

  // The connection's send buffer is full (every send refused with kBackpressure), or drained again.
  void set_backpressure(ConnId conn, bool full) { at(conn).backpressure = full; }

  // --- The test's side: events, delivered as the event loop would (never from inside a Network call) ---
  // A peer connects to one of the component's listeners, with the identity the runtime verified for
  // it (nullopt: plain TCP, or a peer without a certificate).
  ConnId accept(std::string_view listen_address, std::optional<PeerIdentity> identity = std::nullopt) {
    const ConnId id = ++last_conn_;
    conns_[id] = Conn{std::string(listen_address), /*outbound=*/false, State::kOpen, std::move(identity)};
    handler().on_accepted(id, listen_address);
    return id;
  }
  // The component's connect() succeeds, answered by a server of that verified identity.
  void complete_connect(ConnId conn, std::optional<PeerIdentity> identity = std::nullopt) {
    Conn& c = at(conn);
    AETHER_ASSERT(c.outbound && c.state == State::kConnecting);
    c.state = State::kOpen;
    c.identity = std::move(identity);
    handler().on_connected(conn);
  }
  // The connection breaks (or a connect is refused), as the peer or the path saw it.
  void reset(ConnId conn, CloseReason reason = CloseReason::kReset) {
    Conn& c = at(conn);
    AETHER_ASSERT(c.state != State::kClosed);
    c.state = State::kClosed;
    handler().on_closed(conn, reason);
  }
  void deliver(ConnId conn, const ServerMessage& message) {
    AETHER_ASSERT(at(conn).state == State::kOpen);
    const std::vector<uint8_t> bytes = encode(message);
    handler().on_message(conn, bytes);
  }
  // Raw bytes (a client's, say), as they arrive.
  void deliver_bytes(ConnId conn, std::span<const uint8_t> bytes) {
    AETHER_ASSERT(at(conn).state == State::kOpen);
    handler().on_message(conn, bytes);
  }

  // --- What the component did ---
  // The newest connection the component opened to `address` (0 if none).
  ConnId outbound_to(std::string_view address) const {
    ConnId newest = 0;
    for (const auto& [id, c] : conns_) {
      if (c.outbound && c.address == address) newest = id;
    }
    return newest;
  }
  bool open(ConnId conn) const {
    auto it = conns_.find(conn);
    return it != conns_.end() && it->second.state == State::kOpen;
  }
  // The component's connects not yet completed or refused, oldest first, with their addresses.
  std::vector<std::pair<ConnId, std::string>> connecting() const {
    std::vector<std::pair<ConnId, std::string>> out;
    for (const auto& [id, c] : conns_) {
      if (c.outbound && c.state == State::kConnecting) out.emplace_back(id, c.address);
    }
    return out;
  }
  const std::vector<SentPayload>& sent() const { return sent_; }
  // Everything sent on `conn`, decoded; a payload that does not decode fails the test.
  std::vector<ServerMessage> sent_on(ConnId conn) const {
    std::vector<ServerMessage> out;
    for (const SentPayload& p : sent_) {
      if (p.conn != conn) continue;
      auto m = decode_server(p.bytes);
      if (!m) {
        ADD_FAILURE() << "the component sent an undecodable payload on connection " << conn << ": " << m.error().message;
        continue;
      }
      out.push_back(std::move(m.value()));
    }
    return out;
  }
  // The bodies of type T sent on `conn`, oldest first.
  template <class T>
  std::vector<T> sent_of(ConnId conn) const {
    std::vector<T> out;
    for (const ServerMessage& m : sent_on(conn)) {
      if (const T* body = std::get_if<T>(&m.body)) out.push_back(*body);
    }
    return out;
  }
  template <class T>
  std::optional<T> last_of(ConnId conn) const {
    std::vector<T> all = sent_of<T>(conn);
    if (all.empty()) return std::nullopt;
    return all.back();
  }
  const std::vector<std::string>& listening() const { return listening_; }

 private:
  enum class State : uint8_t { kConnecting, kOpen, kClosed };
  struct Conn {
    std::string address;  // what was connected to, or the listener accepted on
    bool outbound = false;
    State state = State::kConnecting;
    std::optional<PeerIdentity> identity{};
    bool backpressure = false;  // sends refused with kBackpressure (its send buffer is full)
  };
  Conn& at(ConnId conn) {
    auto it = conns_.find(conn);
    AETHER_ASSERT_MSG(it != conns_.end(), "unknown connection");
    return it->second;
  }
  NetworkHandler& handler() {
    AETHER_ASSERT_MSG(handler_ != nullptr, "no component has set its handler");
    return *handler_;
  }

  const FakeClock& clock_;
  NetworkHandler* handler_ = nullptr;
  ConnId last_conn_ = 0;
  std::map<ConnId, Conn> conns_;
  std::vector<SentPayload> sent_;
  std::vector<std::string> listening_;
};

// Deterministic: one fixed xoshiro256** stream, counted.
class FakeRandom final : public Random {
 public:
  explicit FakeRandom(uint64_t seed) : rng_(seed) {}
  uint64_t next_u64() override {
    ++draws_;
    return rng_.next_u64();
  }
  uint64_t draws() const { return draws_; }

 private:
  Xoshiro256 rng_;
  uint64_t draws_ = 0;
};

struct LogLine {
  TimeNs at_ns = 0;
  LogLevel level = LogLevel::kInfo;
  LogIds ids;
  std::string message;
};

class FakeLogger final : public Logger {
 public:
  explicit FakeLogger(const FakeClock& clock) : clock_(clock) {}
  bool enabled(LogLevel) const override { return true; }  // every line is formatted: a bad format string shows up here
  void write(LogLevel level, const LogIds& ids, std::string_view message) override {
    lines_.push_back(LogLine{clock_.now_ns(), level, ids, std::string(message)});
  }
  const std::vector<LogLine>& lines() const { return lines_; }
  bool contains(std::string_view text) const {
    for (const LogLine& l : lines_) {
      if (l.message.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  const FakeClock& clock_;
  std::vector<LogLine> lines_;
};

// Keeps every record, stamped as a runtime stamps them (time and node).
class FakeTraceSink final : public TraceSink {
 public:
  FakeTraceSink(const FakeClock& clock, NodeId node) : clock_(clock), node_(node) {}
  void record(TraceEvent event) override {
    event.time_ns = clock_.now_ns();
    event.node = node_;
    records_.push_back(event);
  }
  const std::vector<TraceEvent>& records() const { return records_; }
  std::vector<TraceEvent> of(TraceKind kind) const {
    std::vector<TraceEvent> out;
    for (const TraceEvent& e : records_) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

 private:
  const FakeClock& clock_;
  NodeId node_;
  std::vector<TraceEvent> records_;
};

// The whole seam for one component. Declare it before the component: the component's destructor
// cancels its timers and closes its connections through it.
// An in-memory store for unit tests (engine/runtime/storage.h): each request completes from a timer
// at the current instant (advance() delivers it), in order; fences and batches as the contract says;
// prefix scans; no ledger. Two FakeRuntimes may share one disk: a process restarted on the same machine.
class FakeStorage final : public Storage {
 public:
  explicit FakeStorage(Timers& timers) : timers_(timers) {}
  std::shared_ptr<std::map<Bytes, StorageRow>> disk = std::make_shared<std::map<Bytes, StorageRow>>();
  bool refuse = false;  // every call refused with kIoError, as by a process that opened no store
  uint64_t writes = 0;  // completed ok

  StorageCode get(Bytes key, std::function<void(GetResult)> done) override {
    return later([this, key = std::move(key), done = std::move(done)] {
      const auto it = disk->find(key);
      done(it == disk->end() ? GetResult{{StorageCode::kNotFound, "no such row"}, {}} : GetResult{{}, it->second});
    });
  }
  StorageCode scan(Bytes prefix, Bytes start_after, size_t limit, std::function<void(ScanResult)> done) override {
    return later([this, prefix = std::move(prefix), start_after = std::move(start_after), limit, done = std::move(done)] {
      ScanResult out;
      for (auto it = start_after.empty() ? disk->lower_bound(prefix) : disk->upper_bound(start_after); it != disk->end(); ++it) {
        if (it->first.size() < prefix.size() || !std::equal(prefix.begin(), prefix.end(), it->first.begin())) break;
        if (out.rows.size() == std::min(limit, kStorageScanRowsMax)) {
          out.more = true;
          break;
        }
        out.rows.push_back(it->second);
      }
      done(std::move(out));
    });
  }
  StorageCode read_ledger(uint64_t, size_t, std::function<void(LedgerResult)>) override { return StorageCode::kIoError; }
  StorageCode write(WriteBatch batch, std::function<void(WriteResult)> done) override {
    if (check_write(batch) != StorageCode::kOk) return StorageCode::kTooLarge;
    return later([this, batch = std::move(batch), done = std::move(done)] {
      for (const WriteOp& op : batch.ops) {
        const auto it = disk->find(op.key);
        if (it != disk->end() && op.fence < it->second.fence) return done(WriteResult{{StorageCode::kFenced, "fenced"}, {}});
      }
      for (const WriteOp& op : batch.ops) {
        if (op.kind == WriteOp::Kind::kPut) (*disk)[op.key] = StorageRow{op.key, op.value, op.fence};
        if (op.kind == WriteOp::Kind::kErase) disk->erase(op.key);
      }
      ++writes;
      done(WriteResult{});
    });
  }
  size_t in_flight() const override { return in_flight_; }

 private:
  StorageCode later(std::function<void()> fn) {
    if (refuse) return StorageCode::kIoError;
    if (in_flight_ >= kStorageInFlightMax) return StorageCode::kBusy;
    ++in_flight_;
    timers_.schedule(0, [this, fn = std::move(fn)] {
      --in_flight_;
      fn();
    });
    return StorageCode::kOk;
  }
  Timers& timers_;
  size_t in_flight_ = 0;
};

struct FakeRuntime {
  explicit FakeRuntime(NodeId node, TimeNs start_ns = 1000 * kNsPerSec, uint64_t seed = 1)
      : clock(start_ns), timers(clock), network(clock), random(seed), log(clock), trace(clock, node) {}
  FakeRuntime(const FakeRuntime&) = delete;
  FakeRuntime& operator=(const FakeRuntime&) = delete;

  TimeNs now_ns() const { return clock.now_ns(); }
  void advance(TimeNs by_ns) { timers.advance_to(clock.now_ns() + by_ns); }
  void advance_to(TimeNs at_ns) { timers.advance_to(at_ns); }

  FakeClock clock;
  FakeTimers timers;
  FakeNetwork network;
  FakeRandom random;
  FakeLogger log;
  FakeTraceSink trace;
  FakeRandom entropy{0x5ec7e7};
  FakeStorage storage{timers};
  sim::SimPasswordHasher passwords{timers, entropy};
  Runtime runtime{clock, timers, network, random, log, trace, entropy, storage, passwords};
};

}  // namespace aether::testing
