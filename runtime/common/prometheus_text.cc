#include "runtime/common/prometheus_text.h"

#include <cmath>

#include <fmt/format.h>

#include "engine/core/assert.h"

namespace aether::common {

namespace {

bool name_char(char c, bool first, bool colon_ok) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

const char* type_name(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

void append_labels(std::string& out, const Labels& labels, const char* extra_name = nullptr, std::string_view extra_value = {}) {
  if (labels.empty() && extra_name == nullptr) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    AETHER_ASSERT_MSG(valid_label_name(name), "bad label name");
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  }
  if (extra_name != nullptr) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

}  // namespace

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, true)) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, false)) return false;
  }
  return true;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integers up to 2^53 exactly, without an exponent: counters read naturally.
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) return fmt::format("{}", static_cast<int64_t>(value));
  return fmt::format("{}", value);
}

MetricsText::Family::Family(std::string name, std::string help, MetricType type)
    : name_(std::move(name)), help_(std::move(help)), type_(type) {}

MetricsText::Family& MetricsText::family(std::string name, std::string help, MetricType type) {
  AETHER_ASSERT_MSG(valid_metric_name(name), "bad metric name");
  for (Family& f : families_) {
    if (f.name_ == name) {
      AETHER_ASSERT_MSG(f.type_ == type, "one metric family, two types");
      return f;
    }
  }
  families_.push_back(Family(std::move(name), std::move(help), type));
  return families_.back();
}

void MetricsText::Family::add(const Labels& labels, double value) {
  AETHER_ASSERT_MSG(type_ != MetricType::kHistogram, "histograms take add_histogram");
  samples_ += name_;
  append_labels(samples_, labels);
  samples_ += ' ';
  samples_ += format_value(value);
  samples_ += '\n';
}

void MetricsText::Family::add_histogram(const Labels& labels, std::span<const double> bounds, std::span<const uint64_t> per_bucket,
                                        double sum) {
  AETHER_ASSERT_MSG(type_ == MetricType::kHistogram, "add_histogram on a counter or gauge");
  AETHER_ASSERT_MSG(per_bucket.size() == bounds.size() + 1, "one count per bound, plus the overflow");
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    AETHER_ASSERT_MSG(i == 0 || i == bounds.size() || bounds[i] > bounds[i - 1], "bounds ascend");
    cumulative += per_bucket[i];
    samples_ += name_;
    samples_ += "_bucket";
    append_labels(samples_, labels, "le", i == bounds.size() ? std::string("+Inf") : format_value(bounds[i]));
    samples_ += ' ';
    samples_ += format_value(static_cast<double>(cumulative));
    samples_ += '\n';
  }
  samples_ += name_ + "_sum";
  append_labels(samples_, labels);
  samples_ += ' ' + format_value(sum) + '\n';
  samples_ += name_ + "_count";
  append_labels(samples_, labels);
  samples_ += ' ' + format_value(static_cast<double>(cumulative)) + '\n';
}

void MetricsText::Family::render(std::string& out) const {
  out += "# HELP " + name_ + ' ' + escape_help(help_) + '\n';
  out += "# TYPE " + name_ + ' ' + type_name(type_) + '\n';
  out += samples_;
}

std::string MetricsText::render() const {
  std::string out;
  for (const Family& f : families_) {
    if (!f.samples_.empty()) f.render(out);
  }
  return out;
}

}  // namespace aether::common
