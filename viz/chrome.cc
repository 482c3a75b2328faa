// Chrome trace-event JSON (the format Perfetto and chrome://tracing open): a process per node,
// ticks as complete events, ownership moves and cluster events as instants, entities and queue
// depths as counters. Times are microseconds from the run's start.

#include <fmt/format.h>

#include "viz/render.h"

namespace aether::viz {

namespace {

class ChromeWriter {
 public:
  ChromeWriter(const Run& run, const ChromeOptions& opt) : run_(run), opt_(opt) {}

  std::string write() {
    out_ = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
    for (const auto& [id, info] : run_.nodes) {
      event(fmt::format("{{\"ph\":\"M\",\"pid\":{},\"tid\":0,\"name\":\"process_name\",\"args\":{{\"name\":\"{}\"}}}}", id.value,
                        json_escape(node_label(run_, id))));
      event(fmt::format("{{\"ph\":\"M\",\"pid\":{},\"tid\":0,\"name\":\"process_sort_index\",\"args\":{{\"sort_index\":{}}}}}", id.value, id.value));
    }
    for (const auto& [node, samples] : run_.ticks) {
      for (const TickSample& s : samples) tick(node, s);
    }
    for (const OwnerSpan& s : run_.spans) {
      if (s.start == SpanStart::kSpawn) continue;  // spawns are many and dull; moves tell the story
      event(fmt::format("{{\"ph\":\"i\",\"s\":\"t\",\"pid\":{},\"tid\":0,\"ts\":{},\"name\":\"{} of {}\",\"cat\":\"ownership\","
                        "\"args\":{{\"entity\":{},\"tick\":{},\"epoch\":{},\"generation\":{}}}}}",
                        s.node.value, us(s.from_ns), span_start_name(s.start), s.entity.value, s.entity.value, s.tick, s.epoch, s.generation));
    }
    for (const Marker& m : run_.markers) {
      const TraceEvent& e = m.record;
      const bool global = e.kind == TraceKind::kHostCrashed || e.kind == TraceKind::kLeaderElected || e.kind == TraceKind::kNodeLost;
      event(fmt::format("{{\"ph\":\"i\",\"s\":\"{}\",\"pid\":{},\"tid\":0,\"ts\":{},\"name\":\"{}\",\"cat\":\"cluster\","
                        "\"args\":{{\"what\":\"{}\",\"tick\":{},\"epoch\":{},\"peer\":{}}}}}",
                        global ? "g" : "p", e.node.value, us(e.time_ns), json_escape(kind_label(e.kind)), json_escape(m.text), e.tick, e.epoch,
                        e.peer.value));
    }
    out_ += fmt::format("{{\"ph\":\"M\",\"pid\":0,\"tid\":0,\"name\":\"aether_viz\",\"args\":{{\"events_left_out\":{},\"items_over_limits\":{}}}}}\n",
                        left_out_, run_.dropped);
    out_ += "]}\n";
    return out_;
  }

 private:
  std::string us(TimeNs t) const { return fmt::format("{:.3f}", static_cast<double>(t - run_.begin_ns) / 1000.0); }

  void event(const std::string& json) {
    if (events_ >= opt_.events_max) {
      ++left_out_;
      return;
    }
    ++events_;
    out_ += json;
    out_ += ",\n";
  }

  void tick(NodeId node, const TickSample& s) {
    // A simulated tick takes no virtual time: draw it 1 µs wide so it can be seen and clicked.
    const TimeNs dur = s.duration_ns > 0 ? s.duration_ns : 1000;
    event(fmt::format("{{\"ph\":\"X\",\"pid\":{},\"tid\":1,\"ts\":{},\"dur\":{:.3f},\"name\":\"tick\",\"cat\":\"tick\","
                      "\"args\":{{\"tick\":{},\"epoch\":{},\"entities\":{},\"duration_ns\":{}}}}}",
                      node.value, us(s.time_ns - dur), static_cast<double>(dur) / 1000.0, s.tick, s.epoch, s.entities, s.duration_ns));
    std::string args = fmt::format("\"entities\":{}", s.entities);
    if (s.has_queues) {
      for (int q = 0; q < 4; ++q) args += fmt::format(",\"{}\":{}", kQueueNames[q], s.queues[q]);
    }
    event(fmt::format("{{\"ph\":\"C\",\"pid\":{},\"tid\":0,\"ts\":{},\"name\":\"load\",\"args\":{{{}}}}}", node.value, us(s.time_ns), args));
  }

  const Run& run_;
  const ChromeOptions& opt_;
  std::string out_;
  size_t events_ = 0;
  size_t left_out_ = 0;
};

}  // namespace

std::string chrome_trace_json(const Run& run, const ChromeOptions& options) { return ChromeWriter(run, options).write(); }

}  // namespace aether::viz
