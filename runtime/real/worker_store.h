#pragma once
// The real runtime's Storage: requests go, in order, to one worker thread per store that runs them
// on a blocking StorageBackend; each completion is posted back to the component's io_context and runs
// there (never inside the call, never on the worker). The component's loop never waits on the
// database. Writes queued one behind another are committed together, one transaction and one
// sync for all of them (group commit), each batch still whole or not at all under a savepoint of its
// own: under load, a store syncs once per group instead of once per write.
//
// Lifetime: shutdown() (or the destructor) closes the store: calls refuse with kIoError, queued
// requests are dropped, the request the worker is running finishes (bounded by the backend's
// timeouts) and its completion never runs. Call it on the loop's thread, or once the loop stopped.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "engine/runtime/log.h"
#include "engine/runtime/storage.h"
#include "runtime/real/storage_backend.h"

namespace aether::real {

// Writes one commit may carry: every request the store may have in flight.
inline constexpr size_t kGroupCommitBatchesMax = kStorageInFlightMax;

struct WorkerStoreStats {
  uint64_t requests = 0;
  uint64_t busy = 0;        // refused at the call: kStorageInFlightMax in flight
  uint64_t io_errors = 0;   // completions with kIoError
  uint64_t corrupt = 0;     // completions with kCorrupt (each logged with its key)
  uint64_t fenced = 0;
};

class WorkerStore final : public Storage {
 public:
  // Until open(), every call refuses with kIoError (no store was opened for this process).
  WorkerStore(boost::asio::io_context& io, Logger& log);
  ~WorkerStore() override;
  WorkerStore(const WorkerStore&) = delete;
  WorkerStore& operator=(const WorkerStore&) = delete;

  void open(std::unique_ptr<StorageBackend> backend);
  void shutdown();
  bool is_open() const { return open_; }
  const std::string& description() const { return description_; }

  StorageCode get(Bytes key, std::function<void(GetResult)> done) override;
  StorageCode scan(Bytes prefix, Bytes start_after, size_t limit, std::function<void(ScanResult)> done) override;
  StorageCode write(WriteBatch batch, std::function<void(WriteResult)> done) override;
  StorageCode read_ledger(uint64_t from_seq, size_t limit, std::function<void(LedgerResult)> done) override;
  size_t in_flight() const override { return in_flight_; }
  const WorkerStoreStats& stats() const { return stats_; }

 private:
  // A read runs alone; consecutive writes at the head of the queue are committed together (group
  // commit, StorageBackend::write_group), at most kGroupCommitBatchesMax of them.
  struct Job {
    std::function<void(StorageBackend&)> read;
    WriteBatch batch;                         // when read is empty
    std::function<void(WriteResult)> finish;  // posts the write's result back to the loop
  };
  // What the worker shares with the loop; the loop side holds it through the posted completions too.
  struct Queue {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Job> jobs;
    bool stop = false;
  };
  // Posted completions hold this; false once the store is closed. Touched on the loop thread only.
  struct Alive {
    bool value = true;
  };

  static void work(Queue& queue, StorageBackend& backend);
  StorageCode admission() const;
  // Admission, and the request counted in flight when accepted.
  StorageCode accept();
  void enqueue(Job job);
  template <class R>
  std::function<void(R)> poster(std::function<void(R)> done);
  // Queues job, which runs on the worker and yields a result R posted back to done.
  template <class R>
  StorageCode submit(std::function<R(StorageBackend&)> job, std::function<void(R)> done);
  void note(const StorageStatus& s, const char* what);

  boost::asio::io_context& io_;
  Logger& log_;
  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
  std::shared_ptr<Alive> alive_ = std::make_shared<Alive>();
  std::thread worker_;
  bool open_ = false;
  size_t in_flight_ = 0;
  std::string description_;
  WorkerStoreStats stats_;
};

}  // namespace aether::real
