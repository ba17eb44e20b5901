#include "metrics/prometheus.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace aa::metrics {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

void Histogram::observe(double value) {
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);  // le: value <= bound
  ++counts_[static_cast<size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

std::vector<double> latency_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

TextWriter& TextWriter::family(std::string_view name, std::string_view type,
                               std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  // HELP text escapes only backslash and newline.
  for (char c : help) {
    if (c == '\\') {
      out_ += "\\\\";
    } else if (c == '\n') {
      out_ += "\\n";
    } else {
      out_ += c;
    }
  }
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
  return *this;
}

void TextWriter::labels(const Labels& labels, std::string_view extra_name,
                        std::string_view extra_value) {
  if (labels.empty() && extra_name.empty()) return;
  out_ += '{';
  bool first = true;
  auto one = [&](std::string_view k, std::string_view v) {
    if (!first) out_ += ',';
    first = false;
    out_ += k;
    out_ += "=\"";
    out_ += escape_label_value(v);
    out_ += '"';
  };
  for (const auto& [k, v] : labels) one(k, v);
  if (!extra_name.empty()) one(extra_name, extra_value);
  out_ += '}';
}

void TextWriter::value(double v) {
  out_ += ' ';
  if (std::isinf(v)) {
    out_ += v > 0 ? "+Inf" : "-Inf";
  } else if (std::isnan(v)) {
    out_ += "NaN";
  } else if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out_ += fmt::format("{}", static_cast<int64_t>(v));
  } else {
    out_ += fmt::format("{}", v);
  }
  out_ += '\n';
}

TextWriter& TextWriter::sample(std::string_view name, const Labels& l, double v) {
  out_ += name;
  labels(l);
  value(v);
  return *this;
}

TextWriter& TextWriter::histogram(std::string_view name, const Labels& l, const Histogram& h) {
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds().size(); ++i) {
    cumulative += h.counts()[i];
    out_ += bucket;
    labels(l, "le", fmt::format("{}", h.bounds()[i]));
    value(static_cast<double>(cumulative));
  }
  out_ += bucket;
  labels(l, "le", "+Inf");
  value(static_cast<double>(h.count()));
  out_ += name;
  out_ += "_sum";
  labels(l);
  value(h.sum());
  out_ += name;
  out_ += "_count";
  labels(l);
  value(static_cast<double>(h.count()));
  return *this;
}

}  // namespace aa::metrics
