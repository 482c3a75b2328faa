#pragma once
// Connections accepted on a server port that have not yet said Hello, with when they were accepted.
// A connection silent past kHelloDeadlineNs is closed by its component (counted and logged): a
// silent connection otherwise holds one of the port's slots for good (1,023 of them filled a
// coordinator's cap in an attack). Bounded by the port's connection cap.

#include <map>
#include <vector>

#include "engine/core/time.h"
#include "engine/runtime/network.h"

namespace aether {

inline constexpr TimeNs kHelloDeadlineNs = 5 * kNsPerSec;

class HelloDeadlines {
 public:
  void accepted(ConnId conn, TimeNs now) { waiting_[conn] = now; }
  void greeted(ConnId conn) { waiting_.erase(conn); }
  void closed(ConnId conn) { waiting_.erase(conn); }
  // The connections past the deadline, forgotten here (the caller closes them).
  std::vector<ConnId> expired(TimeNs now) {
    std::vector<ConnId> out;
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (now - it->second > kHelloDeadlineNs) {
        out.push_back(it->first);
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }
  size_t waiting() const { return waiting_.size(); }

 private:
  std::map<ConnId, TimeNs> waiting_;
};

}  // namespace aether
