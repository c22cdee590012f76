#include "analysis/latency_merge.h"

#include <cmath>

#include "chaperone/latency_sketch.h"

namespace chaperone::analysis {

std::optional<MergedLatency> MergeSketches(const std::vector<std::string_view>& encoded) {
  LatencySketch merged;
  for (std::string_view e : encoded) {
    auto s = LatencySketch::Decode(e);
    if (!s.ok()) return std::nullopt;
    merged.Merge(*s);
  }
  if (merged.empty()) return std::nullopt;
  MergedLatency m;
  m.mean = merged.mean();
  m.p50 = merged.Quantile(0.50);
  m.p95 = merged.Quantile(0.95);
  m.p99 = merged.Quantile(0.99);
  m.max = merged.max();
  if (!std::isfinite(m.mean) || !std::isfinite(m.p99) || !std::isfinite(m.max)) return std::nullopt;
  return m;
}

}  // namespace chaperone::analysis
