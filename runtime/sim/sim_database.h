#pragma once
// What a simulated host's Runtime::storage is: its own disk (SimStorage, the default: every call
// goes straight to it), or, once connect() names one, a shared database host's disk, as the role
// processes of a production cluster share one PostgreSQL database (docs/persistence.md §9e). Then a
// gateway reads what a compute node saved, and one store's faults (latency, failed writes, a full
// disk, a stalled fsync: the faults of the database host's disk) reach every role that uses it.
//
// The connection. A request reaches the database at once and is decided there, in the database's
// order, against its image (so the contract's FIFO, read-your-writes and fences hold across every
// client, as in one PostgreSQL database); its answer comes back kSimDatabaseReplyNs after the
// database completed it, as a timer of the client host. Rules:
//  - A client that crashes loses its answers: one that arrives at a later incarnation is dropped
//    (what it wrote stays written, as a commit whose client died).
//  - A crash of the database host ends every connection: each request still waiting completes
//    kIoError "outcome unknown" (the contract's one exception: it may have committed; a synced write
//    that completed at the database before the crash is durable, an unsynced one may be lost with
//    the database's unsynced tail). While the database is down, every call is refused kIoError.
//  - Bounded: each client keeps the contract's kStorageInFlightMax; the database takes
//    kStorageInFlightMax per client connected (SimStorage::set_in_flight_max).
// Deterministic: nothing is drawn here; answers lost at a database crash fail in request order.

#include <cstdint>
#include <functional>
#include <map>

#include "engine/core/time.h"
#include "engine/runtime/storage.h"
#include "engine/runtime/timers.h"
#include "runtime/sim/host_state.h"
#include "runtime/sim/sim_storage.h"

namespace aether::sim {

// The database's answer's way back to its client (a LAN round trip's second half).
inline constexpr TimeNs kSimDatabaseReplyNs = 500 * kNsPerUs;

class SimStorageSeam final : public Storage {
 public:
  // host and timers are the client host's own; own is its disk.
  SimStorageSeam(HostState& host, Timers& timers, SimStorage& own) : host_(host), timers_(timers), own_(own) {}
  SimStorageSeam(const SimStorageSeam&) = delete;
  SimStorageSeam& operator=(const SimStorageSeam&) = delete;

  // From now on every call goes to `database` (a database host's disk) instead of our own.
  void connect(SimStorage& database) { database_ = &database; }
  bool shared() const { return database_ != nullptr; }

  StorageCode get(Bytes key, std::function<void(GetResult)> done) override;
  StorageCode scan(Bytes prefix, Bytes start_after, size_t limit, std::function<void(ScanResult)> done) override;
  StorageCode write(WriteBatch batch, std::function<void(WriteResult)> done) override;
  StorageCode read_ledger(uint64_t from_seq, size_t limit, std::function<void(LedgerResult)> done) override;
  size_t in_flight() const override { return database_ ? in_flight_ : own_.in_flight(); }

  // Our host crashed: answers on their way are gone (its timers were dropped).
  void client_crashed();
  // The database host crashed: every request waiting for its answer fails, "outcome unknown".
  void database_lost();

 private:
  // Sends one request (`call` hands the database our answer's handler); `fail` answers it with an
  // error should the database be lost first.
  template <class Result>
  StorageCode remote(const std::function<StorageCode(std::function<void(Result)>)>& call, std::function<void(Result)> done);

  HostState& host_;
  Timers& timers_;
  SimStorage& own_;
  SimStorage* database_ = nullptr;
  size_t in_flight_ = 0;  // requests sent whose answer has not run yet
  uint64_t next_request_ = 1;
  // Requests the database has not answered yet, by request number: each fails itself.
  std::map<uint64_t, std::function<void(StorageStatus)>> waiting_;
};

}  // namespace aether::sim
