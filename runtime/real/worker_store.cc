#include "runtime/real/worker_store.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

#include "engine/core/assert.h"

namespace aether::real {

WorkerStore::WorkerStore(boost::asio::io_context& io, Logger& log) : io_(io), log_(log) {}

WorkerStore::~WorkerStore() { shutdown(); }

void WorkerStore::open(std::unique_ptr<StorageBackend> backend) {
  AETHER_ASSERT(backend != nullptr);
  AETHER_ASSERT_MSG(!open_ && !worker_.joinable(), "a store is opened once");
  description_ = backend->describe();
  open_ = true;
  worker_ = std::thread([queue = queue_, backend = std::move(backend)] {
    for (;;) {
      std::function<void(StorageBackend&)> job;
      {
        std::unique_lock lock(queue->mu);
        queue->cv.wait(lock, [&] { return queue->stop || !queue->jobs.empty(); });
        if (queue->stop) return;
        job = std::move(queue->jobs.front());
        queue->jobs.pop_front();
      }
      job(*backend);
    }
  });
  log_at(log_, LogLevel::kInfo, {}, "storage: {} open", description_);
}

void WorkerStore::shutdown() {
  open_ = false;
  alive_->value = false;
  std::deque<std::function<void(StorageBackend&)>> dropped;
  {
    std::lock_guard lock(queue_->mu);
    queue_->stop = true;
    dropped.swap(queue_->jobs);
  }
  queue_->cv.notify_all();
  if (worker_.joinable()) worker_.join();
  in_flight_ = 0;
}

StorageCode WorkerStore::admission() const {
  if (!open_) return StorageCode::kIoError;
  if (in_flight_ >= kStorageInFlightMax) return StorageCode::kBusy;
  return StorageCode::kOk;
}

void WorkerStore::note(const StorageStatus& s, const char* what) {
  switch (s.code) {
    case StorageCode::kCorrupt:
      ++stats_.corrupt;
      log_at(log_, LogLevel::kWarn, {}, "storage: {} of {}: corrupt: {}", what, description_, s.reason);
      break;
    case StorageCode::kIoError:
      ++stats_.io_errors;
      log_at(log_, LogLevel::kWarn, {}, "storage: {} of {}: {}", what, description_, s.reason);
      break;
    case StorageCode::kFenced:
      ++stats_.fenced;
      log_at(log_, LogLevel::kDebug, {}, "storage: {} refused: {}", what, s.reason);
      break;
    default:
      break;
  }
}

template <class R>
StorageCode WorkerStore::submit(std::function<R(StorageBackend&)> job, std::function<void(R)> done) {
  if (const StorageCode a = admission(); a != StorageCode::kOk) {
    if (a == StorageCode::kBusy) ++stats_.busy;
    return a;
  }
  ++in_flight_;
  ++stats_.requests;
  auto task = [this, alive = alive_, job = std::move(job), done = std::move(done)](StorageBackend& backend) mutable {
    R result = job(backend);
    boost::asio::post(io_, [this, alive = std::move(alive), result = std::move(result), done = std::move(done)]() mutable {
      if (!alive->value) return;  // closed meanwhile: `this` may be gone
      AETHER_ASSERT(in_flight_ > 0);
      --in_flight_;
      note(result.status, "request");
      done(std::move(result));
    });
  };
  {
    std::lock_guard lock(queue_->mu);
    queue_->jobs.push_back(std::move(task));
  }
  queue_->cv.notify_one();
  return StorageCode::kOk;
}

StorageCode WorkerStore::get(Bytes key, std::function<void(GetResult)> done) {
  if (check_key(key) != StorageCode::kOk) return StorageCode::kTooLarge;
  return submit<GetResult>([key = std::move(key)](StorageBackend& b) { return b.get(key); }, std::move(done));
}

StorageCode WorkerStore::scan(Bytes prefix, Bytes start_after, size_t limit, std::function<void(ScanResult)> done) {
  if (prefix.size() > kStorageKeyBytesMax || start_after.size() > kStorageKeyBytesMax) return StorageCode::kTooLarge;
  limit = std::min(limit, kStorageScanRowsMax);
  return submit<ScanResult>(
      [prefix = std::move(prefix), start_after = std::move(start_after), limit](StorageBackend& b) { return b.scan(prefix, start_after, limit); },
      std::move(done));
}

StorageCode WorkerStore::write(WriteBatch batch, std::function<void(WriteResult)> done) {
  if (check_write(batch) != StorageCode::kOk) return StorageCode::kTooLarge;
  return submit<WriteResult>([batch = std::move(batch)](StorageBackend& b) { return b.write(batch); }, std::move(done));
}

StorageCode WorkerStore::read_ledger(uint64_t from_seq, size_t limit, std::function<void(LedgerResult)> done) {
  limit = std::min(limit, kStorageLedgerReadMax);
  from_seq = std::max<uint64_t>(from_seq, 1);
  return submit<LedgerResult>([from_seq, limit](StorageBackend& b) { return b.read_ledger(from_seq, limit); }, std::move(done));
}

}  // namespace aether::real
