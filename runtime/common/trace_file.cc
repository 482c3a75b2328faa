#include "runtime/common/trace_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "trace.pb.h"

namespace aether::common {

void append_trace_record(const TraceEvent& e, std::string* out) {
  wire::TraceRecord r;
  r.set_time_ns(e.time_ns);
  r.set_node(e.node.value);
  r.set_epoch(e.epoch);
  r.set_tick(e.tick);
  r.set_entity(e.entity.value);
  r.set_peer(e.peer.value);
  r.set_kind(static_cast<uint32_t>(e.kind));
  r.set_a(e.a);
  r.set_b(e.b);
  google::protobuf::io::StringOutputStream stream(out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.WriteVarint32(static_cast<uint32_t>(r.ByteSizeLong()));
  r.SerializeWithCachedSizes(&coded);
}

TraceFileWriter::~TraceFileWriter() { close(); }

Status TraceFileWriter::open(const std::string& path) {
  close();
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return make_error(Error::Code::kIo, fmt::format("cannot open trace file {}: {}", path, std::strerror(errno)));
  }
  failed_ = false;
  return ok_status();
}

void TraceFileWriter::write(const TraceEvent& e) {
  std::lock_guard lock(mu_);
  if (fd_ < 0 || failed_) return;
  buffer_.clear();
  append_trace_record(e, &buffer_);
  const char* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Disk full or similar: stop tracing rather than write a torn stream; the reader reports
      // the truncated last record. The process itself carries on.
      std::fprintf(stderr, "trace file write failed (%s); tracing stopped\n", std::strerror(errno));
      failed_ = true;
      return;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void TraceFileWriter::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

}  // namespace aether::common
