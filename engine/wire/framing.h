#pragma once
// Length-prefixed framing for stream transports (the real runtime's TCP). A frame is a 4-byte
// big-endian payload length followed by that many payload bytes. The simulator carries whole messages
// and needs no framing.
//
// FrameDecoder is an incremental parser: feed it whatever a read returned (a partial prefix, half a
// frame, several frames back to back) and take out whole payloads. An announced length above the
// limit is a protocol violation: the decoder enters a failed state and the caller must close the
// connection. Buffered bytes are bounded by frame_bytes_max + the prefix, and grow only with the
// bytes that actually arrived (an announced length reserves nothing): a peer that announces a large
// frame and sends little costs what it sent. A buffer grown past kFrameBufferRetainedBytesMax for a
// large frame is released once that frame is whole.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace aether {

inline constexpr size_t kFramePrefixBytes = 4;
inline constexpr size_t kFrameBufferRetainedBytesMax = 64 << 10;

// Appends prefix + payload to out. The caller checks payload.size() against its limit first.
void append_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload);

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t frame_bytes_max);

  // Consumes all of `bytes`. Returns false if the stream violated framing (see error()).
  bool feed(std::span<const uint8_t> bytes);

  // Whole payloads decoded so far, in order. take() moves them out.
  bool has_frame() const { return next_ < frames_.size(); }
  std::vector<uint8_t> take();

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  // Bytes of an incomplete frame still buffered (for "truncated frame at close" reporting).
  size_t pending_bytes() const { return partial_.size(); }
  // Memory the partial frame's buffer holds (its capacity), for a budget across connections.
  size_t buffered_bytes() const { return partial_.capacity(); }

 private:
  size_t frame_bytes_max_;
  std::vector<uint8_t> partial_;  // prefix and body bytes of the frame being assembled
  std::vector<std::vector<uint8_t>> frames_;
  size_t next_ = 0;
  std::string error_;
};

}  // namespace aether
