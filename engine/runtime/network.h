#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/result.h"
#include "engine/runtime/peer_identity.h"

namespace aether {

// 0 is never a valid connection id. Ids are never reused within one Network.
using ConnId = uint64_t;

// Largest message either runtime carries. The real runtime rejects a length prefix above it and
// closes that connection; send() refuses a larger payload.
inline constexpr size_t kFrameBytesMax = 1 << 20;

// Bytes queued for one connection and not yet handed to the kernel (real) or delivered (sim). A send
// that would go past it is refused with kBackpressure: there is no hidden unbounded buffer.
inline constexpr size_t kSendBufferBytesMax = 4 << 20;

enum class SendStatus : uint8_t {
  kOk,            // queued; will be delivered whole and in order unless the connection closes
  kBackpressure,  // the connection's send buffer is full; nothing was queued; try again later
  kClosed,        // the connection is closed or unknown
  kTooLarge,      // payload larger than kFrameBytesMax; nothing was queued
};

enum class CloseReason : uint8_t {
  kLocal,       // (never reported: a local close() reports nothing)
  kPeerClosed,  // orderly close by the peer
  kRefused,     // an outbound connect failed
  kReset,       // the connection broke (I/O error, peer crashed, partition timeout)
  kFraming,     // the peer sent an oversize or truncated frame
};

const char* close_reason_name(CloseReason r);

// Events a component receives. All calls come from the event loop, never from inside a Network
// method, so a handler may call send/close/connect freely.
class NetworkHandler {
 public:
  virtual ~NetworkHandler() = default;
  // A peer connected to one of our listeners.
  virtual void on_accepted(ConnId conn, std::string_view listen_address) = 0;
  // An outbound connect() succeeded.
  virtual void on_connected(ConnId conn) = 0;
  // One whole message, as the peer passed it to send(). The span is valid only during the call.
  // These are untrusted bytes: decode and validate, never assert on them.
  virtual void on_message(ConnId conn, std::span<const uint8_t> payload) = 0;
  // The connection is gone (also for a failed connect, with kRefused). Not called after close().
  virtual void on_closed(ConnId conn, CloseReason reason) = 0;
};

// Message-oriented, connection-based transport with TCP semantics: per-connection FIFO, whole
// messages, no duplication. Addresses are "host:port" strings in both runtimes.
class Network {
 public:
  virtual ~Network() = default;
  // Must be called before listen/connect. The handler outlives the Network's use.
  virtual void set_handler(NetworkHandler* handler) = 0;
  // Starts accepting on address. Returns the bound address (port 0 picks a free port).
  virtual Result<std::string> listen(std::string_view address) = 0;
  // Starts connecting; the outcome is reported through on_connected or on_closed(kRefused).
  virtual ConnId connect(std::string_view address) = 0;
  virtual SendStatus send(ConnId conn, std::span<const uint8_t> payload) = 0;
  // Closes the connection; pending sends are flushed best-effort. No on_closed follows.
  virtual void close(ConnId conn) = 0;
  // The identity the runtime verified for the peer of conn (engine/runtime/peer_identity.h), known
  // from on_accepted or on_connected on and fixed for the connection's life. nullopt when nothing
  // was verified: a plain connection, a peer without a certificate (a client), a certificate whose
  // name is no identity, an unknown or closed connection. Never what the peer says of itself.
  virtual std::optional<PeerIdentity> peer_identity(ConnId conn) const = 0;
  // Where an accepted connection comes from, as a key for per-address limits (login attempts): the
  // remote IP address in the real runtime, the peer host's name in the simulator; empty when
  // unknown (a test network). Never an identity: many clients may share one address.
  virtual std::string peer_address(ConnId) const { return {}; }
};

}  // namespace aether
