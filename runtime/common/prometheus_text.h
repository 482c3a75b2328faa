#pragma once
// The Prometheus text exposition format (version 0.0.4), written by hand: families of samples with
// HELP and TYPE lines, escaped label values, histograms with cumulative buckets, +Inf, _sum and
// _count. Families are rendered in the order they were declared, each with all its samples together,
// whatever order the samples were added in.
//
// Names and label names are ours, not user input: a bad one is a programming error (asserted).
// Label values and HELP text are escaped, so any bytes may go there.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <deque>
#include <vector>

namespace aether::common {

using Labels = std::vector<std::pair<std::string, std::string>>;

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

// HELP text: backslash and newline escaped.
std::string escape_help(std::string_view text);
// Label value: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view text);
// [a-zA-Z_:][a-zA-Z0-9_:]*; label names also may not use ':' nor start with "__".
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// A sample value: integers exactly, others in shortest round-trip form, NaN, +Inf, -Inf.
std::string format_value(double value);

class MetricsText {
 public:
  class Family;

  // Declares a family (or returns the one already declared under that name, which must agree on
  // type). Counters should end in _total; histograms get _bucket, _sum and _count appended.
  Family& family(std::string name, std::string help, MetricType type);

  // The whole exposition, families in declaration order. Families without samples are left out.
  std::string render() const;

  class Family {
   public:
    // A counter or gauge sample.
    void add(const Labels& labels, double value);
    // A histogram: bounds ascending (in the exported unit), per_bucket[i] the samples in
    // (bounds[i-1], bounds[i]] and per_bucket[bounds.size()] those above the last bound (not
    // cumulative: rendering accumulates); sum in the exported unit.
    void add_histogram(const Labels& labels, std::span<const double> bounds, std::span<const uint64_t> per_bucket, double sum);

   private:
    friend class MetricsText;
    Family(std::string name, std::string help, MetricType type);
    void render(std::string& out) const;

    std::string name_;
    std::string help_;
    MetricType type_;
    std::string samples_;  // rendered sample lines
  };

 private:
  std::deque<Family> families_;  // a deque: Family references stay valid as families are added
};

}  // namespace aether::common
