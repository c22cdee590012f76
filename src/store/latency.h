// The store's view of a latency sketch: decode, merge, subtract, summarise.
// The only file of the store that touches LatencySketch, so the rest of the
// store deals in encoded strings and summaries.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "chaperone/status.h"

namespace chaperone::store {

struct LatencySummary {
  uint64_t count = 0;
  double mean = 0, p50 = 0, p95 = 0, p99 = 0, max = 0;
};

// A merged sketch, decoded once and re-encoded once per batch.
class LatencyAccumulator {
 public:
  LatencyAccumulator();
  ~LatencyAccumulator();
  LatencyAccumulator(LatencyAccumulator&&) noexcept;
  LatencyAccumulator& operator=(LatencyAccumulator&&) noexcept;

  // An empty string is an empty sketch.
  static Result<LatencyAccumulator> Decode(std::string_view encoded);

  void Merge(const LatencyAccumulator& other);
  // False when `other` is not contained in this sketch (the result is then
  // clamped bucket-wise at zero by the sketch).
  bool Subtract(const LatencyAccumulator& other);

  bool empty() const;
  uint64_t count() const;
  LatencySummary Summary() const;
  std::string Encode() const;  // "" when empty

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaperone::store
