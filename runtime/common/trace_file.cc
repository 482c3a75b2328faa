#include "runtime/common/trace_file.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "trace.pb.h"

namespace aether::common {

TraceFileWriter::~TraceFileWriter() { close(); }

Status TraceFileWriter::open(const std::string& path) {
  close();
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) return make_error(Error::Code::kIo, fmt::format("cannot open trace file {}", path));
  return ok_status();
}

void TraceFileWriter::write(const TraceEvent& e) {
  if (!file_) return;
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
  buffer_.clear();
  {
    google::protobuf::io::StringOutputStream out(&buffer_);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.WriteVarint32(static_cast<uint32_t>(r.ByteSizeLong()));
    r.SerializeWithCachedSizes(&coded);
  }
  std::fwrite(buffer_.data(), 1, buffer_.size(), file_);
}

void TraceFileWriter::close() {
  if (file_) std::fclose(file_);
  file_ = nullptr;
}

}  // namespace aether::common
