#pragma once
// The simulator's Storage (engine/runtime/storage.h): one in-memory disk per host that outlives the
// host's crashes and restarts, with faults drawn from the seed.
//
// The model. Each request is decided when it is accepted, in order, against the disk's current
// image (so FIFO and read-your-writes hold by construction) and completes after a cost on a serial
// device: a request starts when the one before it finished (a stalled fsync holds up everything
// behind it, as on a real disk). A write is applied to the live image at once and joins the log of
// unsynced batches. It becomes durable, with every batch before it:
//  - when a synced write completes (its completion runs only after it is durable), or
//  - kSimWritebackNs after it was applied (the OS writing back dirty pages, a WAL checkpoint).
// At a crash of the host, the live image is rebuilt from the durable one plus a prefix of the
// unsynced batches, its length drawn from the seed (0 to all of them): unsynced writes may be lost,
// a later one never without an earlier one, a synced one never. With torn writes on, the first
// lost batch may instead survive torn: its rows come back damaged and reads report kCorrupt.
//
// Determinism: everything is drawn from the disk's own stream of the host's seed, and only when
// storage is used, so runs whose components do not use it are unchanged.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "engine/core/random.h"
#include "engine/core/time.h"
#include "engine/runtime/clock.h"
#include "engine/runtime/log.h"
#include "engine/runtime/storage.h"
#include "engine/runtime/timers.h"
#include "runtime/sim/host_state.h"

namespace aether::sim {

// Costs of a request on a healthy simulated disk.
inline constexpr TimeNs kSimStorageReadNs = 100 * kNsPerUs;
inline constexpr TimeNs kSimStorageWriteNs = 100 * kNsPerUs;  // applied, not synced
inline constexpr TimeNs kSimStorageSyncNs = 2 * kNsPerMs;     // an fsync
// An unsynced write is durable this long after it was applied (write-back).
inline constexpr TimeNs kSimWritebackNs = 1 * kNsPerSec;
// Unsynced batches kept for a crash to lose. Past it the oldest is made durable, as a full
// write-back cache forces a flush.
inline constexpr size_t kSimUnsyncedBatchesMax = 4096;
// Largest latency a fault may add (per request, and per sync).
inline constexpr TimeNs kSimStorageFaultLatencyMaxNs = 60 * kNsPerSec;

struct StorageFaults {
  uint32_t write_fail_permille = 0;  // a write fails with kIoError, nothing written
  TimeNs latency_ns = 0;             // added to every request
  TimeNs sync_stall_ns = 0;          // added to every synced write: a slow or stalled fsync
  bool disk_full = false;            // every write fails with kFull
  uint32_t torn_permille = 0;        // at a crash, the first lost batch survives torn (rows damaged)
  bool any() const { return write_fail_permille || latency_ns || sync_stall_ns || disk_full || torn_permille; }
};

struct SimStorageStats {
  uint64_t requests = 0;
  uint64_t writes_ok = 0;
  uint64_t writes_failed = 0;   // injected kIoError
  uint64_t writes_full = 0;     // kFull
  uint64_t writes_fenced = 0;
  uint64_t busy = 0;            // refused at the call
  uint64_t corrupt_reads = 0;
  uint64_t batches_lost = 0;    // unsynced batches a crash lost (torn ones included)
  uint64_t batches_torn = 0;
};

class SimStorage final : public Storage {
 public:
  // clock, timers and log are the host's own: completions are host timers, so a paused or slow host
  // receives them late and a crashed one never.
  SimStorage(HostState& host, Clock& clock, Timers& timers, Logger& log, uint64_t seed);
  SimStorage(const SimStorage&) = delete;
  SimStorage& operator=(const SimStorage&) = delete;

  StorageCode get(Bytes key, std::function<void(GetResult)> done) override;
  StorageCode scan(Bytes prefix, Bytes start_after, size_t limit, std::function<void(ScanResult)> done) override;
  StorageCode write(WriteBatch batch, std::function<void(WriteResult)> done) override;
  StorageCode read_ledger(uint64_t from_seq, size_t limit, std::function<void(LedgerResult)> done) override;
  size_t in_flight() const override { return in_flight_; }
  // A shared database's disk (sim_database.h) takes kStorageInFlightMax per client connection.
  void set_in_flight_max(size_t max) { in_flight_max_ = max; }

  // Host::crash: pending completions are gone (the host dropped its timers); the image loses what
  // was not durable (see the model above). Returns the batches lost.
  uint64_t crash();
  // Host::restart: the disk's stream of the new incarnation's seed.
  void reseed(uint64_t seed) { random_ = Xoshiro256(seed); }
  void set_faults(const StorageFaults& faults);
  const StorageFaults& faults() const { return faults_; }
  const SimStorageStats& stats() const { return stats_; }
  // Bit rot: the stored bytes of row `key` change under its checksum. False if there is no such row.
  bool damage(const Bytes& key);
  // Row `key` as requests see it now, for the simulator's checker (no request: nothing drawn, no
  // time taken). Null if there is none.
  const Bytes* peek(const Bytes& key) const {
    const auto it = live_.rows.find(key);
    return it == live_.rows.end() ? nullptr : &it->second.value;
  }
  size_t unsynced_batches() const { return log_.size(); }
  size_t rows() const { return live_.rows.size(); }

 private:
  struct Row {
    Bytes value;
    uint64_t fence = 0;
    uint64_t checksum = 0;
  };
  struct Entry {
    Bytes entry;
    uint64_t checksum = 0;
  };
  struct Image {
    std::map<Bytes, Row> rows;
    std::vector<Entry> ledger;  // ledger[i] has seq i + 1
  };
  struct Unsynced {
    uint64_t index = 0;  // write order
    TimeNs applied_ns = 0;
    WriteBatch batch;
  };

  // Refuses (kIoError on a dead host, kBusy past the bound) or accepts a request.
  StorageCode admission();
  // Runs complete (and counts the request done) after base plus the faults' latency, in order.
  void complete_after(TimeNs base_ns, std::function<void()> complete);
  static StorageStatus check_fences(const Image& image, const WriteBatch& batch);
  static void apply(Image& image, const WriteBatch& batch, std::vector<uint64_t>* seqs);
  StorageStatus check_row(const Bytes& key, const Row& row);
  void make_durable(uint64_t upto_index);
  static void damage_image(Image& image, const Bytes& key);
  void write_back();

  HostState& host_;
  Clock& clock_;
  Timers& timers_;
  Logger& log_sink_;
  Xoshiro256 random_;
  StorageFaults faults_;
  SimStorageStats stats_;
  Image live_;     // what requests see
  Image durable_;  // what survives any crash
  std::deque<Unsynced> log_;  // applied to live_, not yet to durable_, in order
  uint64_t next_index_ = 1;
  size_t in_flight_ = 0;
  size_t in_flight_max_ = kStorageInFlightMax;
  TimeNs device_free_ns_ = 0;  // when the serial device finishes what it was given
};

}  // namespace aether::sim
