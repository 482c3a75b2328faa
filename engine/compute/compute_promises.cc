// Durable promises (docs/ownership.md, "Durable promises"): a compute node's one promise per epoch
// survives its restarts, through Runtime::storage.

#include "engine/compute/compute_node.h"

namespace aether {

namespace {
// A store that could not be read at start is asked again this often (the node votes only once read).
constexpr TimeNs kPromiseLoadRetryNs = 1 * kNsPerSec;
}  // namespace

void ComputeNode::load_promise() {
  promise_loaded_ = false;
  promise_load_timer_ = 0;
  std::weak_ptr<char> life = life_;
  const StorageCode code = rt_.storage.get(promise_key(cfg_.node), [this, life](GetResult r) {
    if (life.expired()) return;
    promise_loaded(r);
  });
  if (code != StorageCode::kOk) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "promise record: the store refused the read ({}); this node will not vote until it is read",
           storage_code_name(code));
    promise_load_timer_ = rt_.timers.schedule(kPromiseLoadRetryNs, [this] { load_promise(); });
  }
}

void ComputeNode::promise_loaded(const GetResult& r) {
  if (r.status.code == StorageCode::kNotFound) {
    promise_loaded_ = true;
    return;
  }
  if (r.status.code == StorageCode::kIoError || r.status.code == StorageCode::kBusy) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "promise record unreadable for now ({}); asking again", r.status.reason);
    promise_load_timer_ = rt_.timers.schedule(kPromiseLoadRetryNs, [this] { load_promise(); });
    return;
  }
  const std::optional<PromiseRecord> rec = r.status.ok() ? decode_promise(r.row.value) : std::nullopt;
  if (!rec) {
    // A vote we cannot read is a vote we may have given: never vote again until an operator looks.
    ++stats_.protocol_errors;
    log_at(rt_.log, LogLevel::kError, {epoch_, tick_, {}}, "promise record is corrupt ({}): this node will not vote; see docs/persistence.md",
           r.status.ok() ? "malformed" : r.status.reason);
    return;
  }
  promise_loaded_ = true;
  promised_epoch_ = rec->epoch;
  promised_to_ = rec->to;
  promised_to_incarnation_ = rec->incarnation;
  promise_synced_epoch_ = rec->epoch;
  // We promised to ignore older epochs: the process before us adopted this one.
  if (rec->epoch > epoch_) {
    epoch_before_ = epoch_;
    epoch_ = rec->epoch;
    trace(TraceKind::kEpochChanged, EntityId{}, static_cast<int64_t>(epoch_), 0, rec->to);
  }
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "promise record: epoch {} promised to coordinator {}", rec->epoch, rec->to.value);
}

void ComputeNode::persist_promise(ConnId conn, NodeId from, const Prepare& prepare) {
  promise_waiting_ = WaitingPrepare{conn, from, prepare, promised_epoch_};
  if (promise_writing_) return;  // the write in flight is for this epoch, or its completion writes again
  const PromiseRecord record{promised_epoch_, promised_to_, promised_to_incarnation_};
  WriteBatch batch;
  batch.sync = true;
  batch.put(promise_key(cfg_.node), encode_promise(record), record.epoch);
  std::weak_ptr<char> life = life_;
  const StorageCode code = rt_.storage.write(std::move(batch), [this, life, record](WriteResult r) {
    if (life.expired()) return;
    promise_written(record, r);
  });
  if (code != StorageCode::kOk) {
    ++stats_.promise_write_failures;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "promise for epoch {} not written: the store refused ({}); the Prepare goes unanswered",
           record.epoch, storage_code_name(code));
    promise_waiting_.reset();
    return;
  }
  promise_writing_ = true;
}

void ComputeNode::promise_written(const PromiseRecord& written, const WriteResult& r) {
  promise_writing_ = false;
  if (!r.status.ok()) {
    ++stats_.promise_write_failures;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "promise for epoch {} not written ({}): the Prepare goes unanswered", written.epoch,
           r.status.reason);
    promise_waiting_.reset();
    return;
  }
  ++stats_.promise_writes;
  promise_synced_epoch_ = std::max(promise_synced_epoch_, written.epoch);
  if (!promise_waiting_) return;
  const WaitingPrepare waiting = *promise_waiting_;
  promise_waiting_.reset();
  // Answer only what still stands: the epoch we promised then is still ours and still the current one.
  if (waiting.epoch != epoch_ || waiting.epoch != promised_epoch_) return;
  handle_prepare(waiting.conn, waiting.from, waiting.prepare);  // writes again if a newer promise came meanwhile
}

}  // namespace aether
