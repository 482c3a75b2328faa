#include "runtime/sim/sim_storage.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "engine/core/assert.h"

namespace aether::sim {

namespace {

std::string hex(const Bytes& b) {
  std::string out;
  for (const uint8_t c : b) out += fmt::format("{:02x}", c);
  return out;
}

bool has_prefix(const Bytes& key, const Bytes& prefix) {
  return key.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), key.begin());
}

StorageStatus status(StorageCode code, std::string reason = {}) { return StorageStatus{code, std::move(reason)}; }

}  // namespace

SimStorage::SimStorage(HostState& host, Clock& clock, Timers& timers, Logger& log, uint64_t seed)
    : host_(host), clock_(clock), timers_(timers), log_sink_(log), random_(seed) {}

StorageCode SimStorage::admission() {
  if (!host_.alive) return StorageCode::kIoError;
  if (in_flight_ >= in_flight_max_) {
    ++stats_.busy;
    return StorageCode::kBusy;
  }
  ++stats_.requests;
  write_back();
  return StorageCode::kOk;
}

void SimStorage::complete_after(TimeNs base_ns, std::function<void()> complete) {
  const TimeNs now = clock_.now_ns();
  const TimeNs start = std::max(now, device_free_ns_);
  device_free_ns_ = start + base_ns + faults_.latency_ns;
  ++in_flight_;
  timers_.schedule(device_free_ns_ - now, [this, complete = std::move(complete)] {
    AETHER_ASSERT(in_flight_ > 0);
    --in_flight_;
    complete();
  });
}

StorageStatus SimStorage::check_row(const Bytes& key, const Row& row) {
  if (row_checksum(key, row.value, row.fence) == row.checksum) return {};
  ++stats_.corrupt_reads;
  log_at(log_sink_, LogLevel::kWarn, {}, "storage: row {} fails its checksum", hex(key));
  return status(StorageCode::kCorrupt, fmt::format("row {} fails its checksum", hex(key)));
}

StorageCode SimStorage::get(Bytes key, std::function<void(GetResult)> done) {
  if (check_key(key) != StorageCode::kOk) return StorageCode::kTooLarge;
  if (const StorageCode a = admission(); a != StorageCode::kOk) return a;
  GetResult r;
  const auto it = live_.rows.find(key);
  if (it == live_.rows.end()) {
    r.status = status(StorageCode::kNotFound, "no such row");
  } else {
    r.status = check_row(key, it->second);
    if (r.status.ok()) r.row = StorageRow{std::move(key), it->second.value, it->second.fence};
  }
  complete_after(kSimStorageReadNs, [r = std::move(r), done = std::move(done)]() mutable { done(std::move(r)); });
  return StorageCode::kOk;
}

StorageCode SimStorage::scan(Bytes prefix, Bytes start_after, size_t limit, std::function<void(ScanResult)> done) {
  if (prefix.size() > kStorageKeyBytesMax || start_after.size() > kStorageKeyBytesMax) return StorageCode::kTooLarge;
  if (const StorageCode a = admission(); a != StorageCode::kOk) return a;
  limit = std::min(limit, kStorageScanRowsMax);
  ScanResult r;
  auto it = start_after.empty() || start_after < prefix ? live_.rows.lower_bound(prefix) : live_.rows.upper_bound(start_after);
  for (; it != live_.rows.end() && has_prefix(it->first, prefix); ++it) {
    if (r.rows.size() == limit) {
      r.more = true;
      break;
    }
    r.status = check_row(it->first, it->second);
    if (!r.status.ok()) {
      r.rows.clear();
      r.more = false;
      break;
    }
    r.rows.push_back(StorageRow{it->first, it->second.value, it->second.fence});
  }
  complete_after(kSimStorageReadNs, [r = std::move(r), done = std::move(done)]() mutable { done(std::move(r)); });
  return StorageCode::kOk;
}

StorageStatus SimStorage::check_fences(const Image& image, const WriteBatch& batch) {
  std::map<Bytes, uint64_t> written;  // fences this batch has set so far
  for (const WriteOp& op : batch.ops) {
    if (op.kind == WriteOp::Kind::kAppend) continue;
    uint64_t held = 0;
    bool exists = false;
    if (const auto w = written.find(op.key); w != written.end()) {
      held = w->second;
      exists = true;
    } else if (const auto it = image.rows.find(op.key); it != image.rows.end()) {
      held = it->second.fence;
      exists = true;
    }
    if (exists && op.fence < held) {
      return status(StorageCode::kFenced, fmt::format("row {} is fenced at {}, the write at {}", hex(op.key), held, op.fence));
    }
    written[op.key] = op.fence;
  }
  return {};
}

void SimStorage::apply(Image& image, const WriteBatch& batch, std::vector<uint64_t>* seqs) {
  for (const WriteOp& op : batch.ops) {
    switch (op.kind) {
      case WriteOp::Kind::kPut:
        image.rows[op.key] = Row{op.value, op.fence, row_checksum(op.key, op.value, op.fence)};
        break;
      case WriteOp::Kind::kErase:
        image.rows.erase(op.key);
        break;
      case WriteOp::Kind::kAppend: {
        const uint64_t seq = image.ledger.size() + 1;
        image.ledger.push_back(Entry{op.value, ledger_checksum(seq, op.value)});
        if (seqs) seqs->push_back(seq);
        break;
      }
    }
  }
}

StorageCode SimStorage::write(WriteBatch batch, std::function<void(WriteResult)> done) {
  if (check_write(batch) != StorageCode::kOk) return StorageCode::kTooLarge;
  if (const StorageCode a = admission(); a != StorageCode::kOk) return a;
  WriteResult r;
  uint64_t index = 0;
  if (faults_.disk_full) {
    ++stats_.writes_full;
    r.status = status(StorageCode::kFull, "the disk is full");
  } else if (faults_.write_fail_permille > 0 && chance(random_, faults_.write_fail_permille, 1000)) {
    ++stats_.writes_failed;
    r.status = status(StorageCode::kIoError, "write failed (injected)");
  } else if (r.status = check_fences(live_, batch); !r.status.ok()) {
    ++stats_.writes_fenced;
  } else {
    ++stats_.writes_ok;
    apply(live_, batch, &r.ledger_seqs);
    index = next_index_++;
    if (log_.size() == kSimUnsyncedBatchesMax) make_durable(log_.front().index);
    log_.push_back(Unsynced{index, clock_.now_ns(), std::move(batch)});
  }
  const bool sync = index != 0 && log_.back().batch.sync;
  const TimeNs cost = kSimStorageWriteNs + (sync ? kSimStorageSyncNs + faults_.sync_stall_ns : 0);
  complete_after(cost, [this, sync, index, r = std::move(r), done = std::move(done)]() mutable {
    // Durable before the caller hears ok: what a completion says is what a crash keeps.
    if (sync) make_durable(index);
    done(std::move(r));
  });
  return StorageCode::kOk;
}

StorageCode SimStorage::read_ledger(uint64_t from_seq, size_t limit, std::function<void(LedgerResult)> done) {
  if (const StorageCode a = admission(); a != StorageCode::kOk) return a;
  limit = std::min(limit, kStorageLedgerReadMax);
  LedgerResult r;
  r.last_seq = live_.ledger.size();
  for (uint64_t seq = std::max<uint64_t>(from_seq, 1); seq <= r.last_seq && r.entries.size() < limit; ++seq) {
    const Entry& e = live_.ledger[seq - 1];
    if (ledger_checksum(seq, e.entry) != e.checksum) {
      ++stats_.corrupt_reads;
      log_at(log_sink_, LogLevel::kWarn, {}, "storage: ledger entry {} fails its checksum", seq);
      r.status = status(StorageCode::kCorrupt, fmt::format("ledger entry {} fails its checksum", seq));
      r.entries.clear();
      break;
    }
    r.entries.push_back(LedgerEntry{seq, e.entry});
  }
  complete_after(kSimStorageReadNs, [r = std::move(r), done = std::move(done)]() mutable { done(std::move(r)); });
  return StorageCode::kOk;
}

void SimStorage::make_durable(uint64_t upto_index) {
  while (!log_.empty() && log_.front().index <= upto_index) {
    apply(durable_, log_.front().batch, nullptr);
    log_.pop_front();
  }
}

void SimStorage::write_back() {
  const TimeNs now = clock_.now_ns();
  uint64_t upto = 0;
  for (const Unsynced& u : log_) {
    if (u.applied_ns + kSimWritebackNs > now) break;
    upto = u.index;
  }
  make_durable(upto);
}

uint64_t SimStorage::crash() {
  in_flight_ = 0;
  device_free_ns_ = 0;
  write_back();
  if (log_.empty()) return 0;
  const uint64_t survive = uniform_below(random_, log_.size() + 1);
  for (uint64_t i = 0; i < survive; ++i) {
    apply(durable_, log_.front().batch, nullptr);
    log_.pop_front();
  }
  const uint64_t lost = log_.size();
  const bool torn = lost > 0 && faults_.torn_permille > 0 && chance(random_, faults_.torn_permille, 1000);
  if (torn) {
    // The first lost batch reached the disk half-written: its bytes are there, wrong.
    Image scratch = durable_;
    apply(durable_, log_.front().batch, nullptr);
    for (const WriteOp& op : log_.front().batch.ops) {
      if (op.kind == WriteOp::Kind::kPut) damage_image(durable_, op.key);
    }
    for (size_t seq = scratch.ledger.size() + 1; seq <= durable_.ledger.size(); ++seq) durable_.ledger[seq - 1].entry.push_back(0xee);
    ++stats_.batches_torn;
  }
  stats_.batches_lost += lost;
  log_.clear();
  live_ = durable_;
  return lost;
}

void SimStorage::damage_image(Image& image, const Bytes& key) {
  const auto it = image.rows.find(key);
  if (it == image.rows.end()) return;  // the batch erased it again
  Row& row = it->second;
  if (row.value.empty()) {
    row.value.push_back(0x01);
  } else {
    row.value[0] ^= 0x01;
  }
}

bool SimStorage::damage(const Bytes& key) {
  if (live_.rows.find(key) == live_.rows.end()) return false;
  damage_image(live_, key);
  // The disk itself rotted: durable or not, the damage stays.
  if (durable_.rows.find(key) != durable_.rows.end()) damage_image(durable_, key);
  return true;
}

void SimStorage::set_faults(const StorageFaults& faults) {
  AETHER_ASSERT(faults.write_fail_permille <= 1000 && faults.torn_permille <= 1000);
  AETHER_ASSERT(faults.latency_ns >= 0 && faults.latency_ns <= kSimStorageFaultLatencyMaxNs);
  AETHER_ASSERT(faults.sync_stall_ns >= 0 && faults.sync_stall_ns <= kSimStorageFaultLatencyMaxNs);
  faults_ = faults;
}

}  // namespace aether::sim
