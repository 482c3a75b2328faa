#include "engine/wire/framing.h"

#include <fmt/format.h>

#include "engine/core/assert.h"

namespace aether {

void append_frame(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
  AETHER_ASSERT(payload.size() <= 0xffffffffULL);
  const auto n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<uint8_t>(n >> 24));
  out.push_back(static_cast<uint8_t>(n >> 16));
  out.push_back(static_cast<uint8_t>(n >> 8));
  out.push_back(static_cast<uint8_t>(n));
  out.insert(out.end(), payload.begin(), payload.end());
}

FrameDecoder::FrameDecoder(size_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {}

bool FrameDecoder::feed(std::span<const uint8_t> bytes) {
  if (failed()) return false;
  size_t i = 0;
  while (i < bytes.size()) {
    if (partial_.size() < kFramePrefixBytes) {
      const size_t want = kFramePrefixBytes - partial_.size();
      const size_t n = std::min(want, bytes.size() - i);
      partial_.insert(partial_.end(), bytes.begin() + i, bytes.begin() + i + n);
      i += n;
      if (partial_.size() < kFramePrefixBytes) break;
      const uint32_t len = (uint32_t{partial_[0]} << 24) | (uint32_t{partial_[1]} << 16) |
                           (uint32_t{partial_[2]} << 8) | uint32_t{partial_[3]};
      if (len > frame_bytes_max_) {
        error_ = fmt::format("frame of {} bytes announced, limit is {}", len, frame_bytes_max_);
        partial_.clear();
        return false;
      }
    }
    const uint32_t len = (uint32_t{partial_[0]} << 24) | (uint32_t{partial_[1]} << 16) |
                         (uint32_t{partial_[2]} << 8) | uint32_t{partial_[3]};
    const size_t have = partial_.size() - kFramePrefixBytes;
    const size_t n = std::min<size_t>(len - have, bytes.size() - i);
    partial_.insert(partial_.end(), bytes.begin() + i, bytes.begin() + i + n);
    i += n;
    if (partial_.size() - kFramePrefixBytes == len) {
      frames_.emplace_back(partial_.begin() + kFramePrefixBytes, partial_.end());
      partial_.clear();
      if (partial_.capacity() > kFrameBufferRetainedBytesMax) std::vector<uint8_t>().swap(partial_);
    }
  }
  return true;
}

std::vector<uint8_t> FrameDecoder::take() {
  AETHER_ASSERT(has_frame());
  std::vector<uint8_t> out = std::move(frames_[next_]);
  ++next_;
  if (next_ == frames_.size()) {
    frames_.clear();
    next_ = 0;
  }
  return out;
}

}  // namespace aether
