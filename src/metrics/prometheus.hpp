#pragma once
/// The Prometheus text exposition format (version 0.0.4): a histogram with
/// fixed buckets and a writer that emits families with HELP/TYPE lines.
/// No globals and no locking: owners decide which thread touches them.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aa::metrics {

/// Label name/value pairs, in output order.
using Labels = std::vector<std::pair<std::string_view, std::string_view>>;

/// Cumulative histogram over fixed upper bounds (seconds, bytes, ...).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  /// Per-bucket counts (not cumulative); one more than bounds() for +Inf.
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

/// Latency buckets from 100 µs to 10 s: loopback hops are sub-millisecond,
/// a slow PBX or a timeout is seconds.
std::vector<double> latency_buckets();

class TextWriter {
 public:
  /// Start a family: `# HELP` and `# TYPE` lines. type: counter, gauge, histogram.
  TextWriter& family(std::string_view name, std::string_view type, std::string_view help);
  TextWriter& sample(std::string_view name, const Labels& labels, double value);
  TextWriter& sample(std::string_view name, double value) { return sample(name, {}, value); }
  /// `name_bucket{...,le="..."}` lines, then `name_sum` and `name_count`.
  TextWriter& histogram(std::string_view name, const Labels& labels, const Histogram& h);

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void labels(const Labels& labels, std::string_view extra_name = {},
              std::string_view extra_value = {});
  void value(double v);
  std::string out_;
};

/// `\`, `"` and newline escaped as the format requires for label values.
std::string escape_label_value(std::string_view v);

}  // namespace aa::metrics
