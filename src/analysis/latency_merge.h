// Merging encoded latency sketches (chaperone::LatencySketch) into percentiles.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace chaperone::analysis {

struct MergedLatency {
  double mean = 0, p50 = 0, p95 = 0, p99 = 0, max = 0;
};

// Decodes and merges the sketches; nullopt when any fails to decode or the
// merged sketch is empty (the caller then falls back to upper bounds).
std::optional<MergedLatency> MergeSketches(const std::vector<std::string_view>& encoded);

}  // namespace chaperone::analysis
