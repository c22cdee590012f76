#include "store/latency.h"

#include "chaperone/latency_sketch.h"

namespace chaperone::store {

struct LatencyAccumulator::Impl {
  LatencySketch sketch;
};

Result<LatencyAccumulator> LatencyAccumulator::Decode(std::string_view encoded) {
  LatencyAccumulator acc;
  if (encoded.empty()) return acc;
  auto s = LatencySketch::Decode(encoded);
  if (!s.ok()) return s.status();
  acc.impl_->sketch = std::move(*s);
  return acc;
}

void LatencyAccumulator::Merge(const LatencyAccumulator& other) { impl_->sketch.Merge(other.impl_->sketch); }
bool LatencyAccumulator::Subtract(const LatencyAccumulator& other) { return impl_->sketch.Subtract(other.impl_->sketch); }
bool LatencyAccumulator::empty() const { return impl_->sketch.empty(); }
uint64_t LatencyAccumulator::count() const { return impl_->sketch.count(); }

LatencySummary LatencyAccumulator::Summary() const {
  LatencySummary s;
  const LatencySketch& k = impl_->sketch;
  if (k.empty()) return s;
  s.count = k.count();
  s.mean = k.mean();
  s.p50 = k.Quantile(0.50);
  s.p95 = k.Quantile(0.95);
  s.p99 = k.Quantile(0.99);
  s.max = k.max();
  return s;
}

std::string LatencyAccumulator::Encode() const { return impl_->sketch.empty() ? std::string() : impl_->sketch.Encode(); }


LatencyAccumulator::LatencyAccumulator() : impl_(std::make_unique<Impl>()) {}
LatencyAccumulator::~LatencyAccumulator() = default;
LatencyAccumulator::LatencyAccumulator(LatencyAccumulator&&) noexcept = default;
LatencyAccumulator& LatencyAccumulator::operator=(LatencyAccumulator&&) noexcept = default;

}  // namespace chaperone::store
