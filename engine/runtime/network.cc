#include "engine/runtime/network.h"

namespace aether {

const char* close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::kLocal: return "local";
    case CloseReason::kPeerClosed: return "peer-closed";
    case CloseReason::kRefused: return "refused";
    case CloseReason::kReset: return "reset";
    case CloseReason::kFraming: return "framing";
  }
  return "unknown";
}

}  // namespace aether
