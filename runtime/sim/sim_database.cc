#include "runtime/sim/sim_database.h"

#include <utility>

#include "engine/core/assert.h"

namespace aether::sim {

template <class Result>
StorageCode SimStorageSeam::remote(const std::function<StorageCode(std::function<void(Result)>)>& call, std::function<void(Result)> done) {
  if (!host_.alive) return StorageCode::kIoError;
  if (in_flight_ >= kStorageInFlightMax) return StorageCode::kBusy;
  const uint64_t id = next_request_++;
  const uint32_t incarnation = host_.incarnation;
  // The answer crosses back to us as our own timer, unless we died (or came back as a new
  // incarnation) meanwhile.
  auto answer = [this, incarnation, done](Result r) {
    if (!host_.alive || host_.incarnation != incarnation) return;
    timers_.schedule(kSimDatabaseReplyNs, [this, done, r = std::move(r)]() mutable {
      AETHER_ASSERT(in_flight_ > 0);
      --in_flight_;
      done(std::move(r));
    });
  };
  const StorageCode code = call([this, id, answer](Result r) {
    if (waiting_.erase(id) == 0) return;  // failed already: the database was lost
    answer(std::move(r));
  });
  if (code != StorageCode::kOk) return code;
  ++in_flight_;
  waiting_.emplace(id, [answer](StorageStatus status) {
    Result r;
    r.status = std::move(status);
    answer(std::move(r));
  });
  return StorageCode::kOk;
}

StorageCode SimStorageSeam::get(Bytes key, std::function<void(GetResult)> done) {
  if (!database_) return own_.get(std::move(key), std::move(done));
  return remote<GetResult>([&](std::function<void(GetResult)> answer) { return database_->get(std::move(key), std::move(answer)); },
                           std::move(done));
}

StorageCode SimStorageSeam::scan(Bytes prefix, Bytes start_after, size_t limit, std::function<void(ScanResult)> done) {
  if (!database_) return own_.scan(std::move(prefix), std::move(start_after), limit, std::move(done));
  return remote<ScanResult>(
      [&](std::function<void(ScanResult)> answer) { return database_->scan(std::move(prefix), std::move(start_after), limit, std::move(answer)); },
      std::move(done));
}

StorageCode SimStorageSeam::write(WriteBatch batch, std::function<void(WriteResult)> done) {
  if (!database_) return own_.write(std::move(batch), std::move(done));
  return remote<WriteResult>([&](std::function<void(WriteResult)> answer) { return database_->write(std::move(batch), std::move(answer)); },
                             std::move(done));
}

StorageCode SimStorageSeam::read_ledger(uint64_t from_seq, size_t limit, std::function<void(LedgerResult)> done) {
  if (!database_) return own_.read_ledger(from_seq, limit, std::move(done));
  return remote<LedgerResult>(
      [&](std::function<void(LedgerResult)> answer) { return database_->read_ledger(from_seq, limit, std::move(answer)); }, std::move(done));
}

void SimStorageSeam::client_crashed() {
  in_flight_ = 0;
  waiting_.clear();  // the database's answers to them find nothing and are dropped
}

void SimStorageSeam::database_lost() {
  std::map<uint64_t, std::function<void(StorageStatus)>> waiting;
  waiting.swap(waiting_);
  for (auto& [id, fail] : waiting) fail(StorageStatus{StorageCode::kIoError, "outcome unknown: the connection to the database was lost"});
}

}  // namespace aether::sim
