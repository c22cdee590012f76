#include "web/latency_merge.h"

#include <cmath>

#if __has_include("chaperone/latency_sketch.h")
#include "chaperone/latency_sketch.h"
#define CHAPERONE_HAVE_LATENCY_SKETCH 1
#endif

namespace chaperone::web {

std::optional<MergedLatency> MergeSketches(const std::vector<std::string_view>& encoded) {
#ifndef CHAPERONE_HAVE_LATENCY_SKETCH
  (void)encoded;
  return std::nullopt;  // LatencySketch not yet in this tree: callers fall back to upper bounds
#else
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
#endif
}

}  // namespace chaperone::web
