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
  worker_ = std::thread([queue = queue_, backend = std::move(backend)] { work(*queue, *backend); });
  log_at(log_, LogLevel::kInfo, {}, "storage: {} open", description_);
}

void WorkerStore::work(Queue& queue, StorageBackend& backend) {
  for (;;) {
    std::vector<Job> jobs;
    {
      std::unique_lock lock(queue.mu);
      queue.cv.wait(lock, [&] { return queue.stop || !queue.jobs.empty(); });
      if (queue.stop) return;
      do {
        jobs.push_back(std::move(queue.jobs.front()));
        queue.jobs.pop_front();
      } while (!jobs.front().read && !queue.jobs.empty() && !queue.jobs.front().read && jobs.size() < kGroupCommitBatchesMax);
    }
    if (jobs.front().read) {
      jobs.front().read(backend);
      continue;
    }
    std::vector<const WriteBatch*> batches;
    for (const Job& j : jobs) batches.push_back(&j.batch);
    std::vector<WriteResult> results = backend.write_group(batches);
    AETHER_ASSERT(results.size() == jobs.size());
    for (size_t i = 0; i < jobs.size(); ++i) jobs[i].finish(std::move(results[i]));
  }
}

void WorkerStore::enqueue(Job job) {
  {
    std::lock_guard lock(queue_->mu);
    queue_->jobs.push_back(std::move(job));
  }
  queue_->cv.notify_one();
}

void WorkerStore::shutdown() {
  open_ = false;
  alive_->value = false;
  std::deque<Job> dropped;
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
std::function<void(R)> WorkerStore::poster(std::function<void(R)> done) {
  // Runs on the worker: hands the result to the loop, where the completion runs.
  return [this, alive = alive_, done = std::move(done)](R result) {
    boost::asio::post(io_, [this, alive, result = std::move(result), done]() mutable {
      if (!alive->value) return;  // closed meanwhile: `this` may be gone
      AETHER_ASSERT(in_flight_ > 0);
      --in_flight_;
      note(result.status, "request");
      done(std::move(result));
    });
  };
}

template <class R>
StorageCode WorkerStore::submit(std::function<R(StorageBackend&)> job, std::function<void(R)> done) {
  if (const StorageCode a = accept(); a != StorageCode::kOk) return a;
  enqueue(Job{[job = std::move(job), post = poster(std::move(done))](StorageBackend& backend) { post(job(backend)); }, {}, {}});
  return StorageCode::kOk;
}

StorageCode WorkerStore::accept() {
  const StorageCode a = admission();
  if (a == StorageCode::kBusy) ++stats_.busy;
  if (a != StorageCode::kOk) return a;
  ++in_flight_;
  ++stats_.requests;
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
  if (const StorageCode a = accept(); a != StorageCode::kOk) return a;
  enqueue(Job{{}, std::move(batch), poster(std::move(done))});
  return StorageCode::kOk;
}

StorageCode WorkerStore::read_ledger(uint64_t from_seq, size_t limit, std::function<void(LedgerResult)> done) {
  limit = std::min(limit, kStorageLedgerReadMax);
  from_seq = std::max<uint64_t>(from_seq, 1);
  return submit<LedgerResult>([from_seq, limit](StorageBackend& b) { return b.read_ledger(from_seq, limit); }, std::move(done));
}

}  // namespace aether::real
