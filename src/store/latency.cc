#include "store/latency.h"

#if __has_include("chaperone/latency_sketch.h")
#include "chaperone/latency_sketch.h"
#define CHAPERONE_STORE_HAS_SKETCH 1
#else
#define CHAPERONE_STORE_HAS_SKETCH 0
#endif

namespace chaperone::store {

#if CHAPERONE_STORE_HAS_SKETCH

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

#else  // Built before LatencySketch landed: only empty sketches are supported.

struct LatencyAccumulator::Impl {};

Result<LatencyAccumulator> LatencyAccumulator::Decode(std::string_view encoded) {
  if (!encoded.empty()) return Status::Internal("latencySketch: this build has no LatencySketch codec");
  return LatencyAccumulator();
}
void LatencyAccumulator::Merge(const LatencyAccumulator&) {}
bool LatencyAccumulator::Subtract(const LatencyAccumulator&) { return true; }
bool LatencyAccumulator::empty() const { return true; }
uint64_t LatencyAccumulator::count() const { return 0; }
LatencySummary LatencyAccumulator::Summary() const { return {}; }
std::string LatencyAccumulator::Encode() const { return {}; }

#endif

LatencyAccumulator::LatencyAccumulator() : impl_(std::make_unique<Impl>()) {}
LatencyAccumulator::~LatencyAccumulator() = default;
LatencyAccumulator::LatencyAccumulator(LatencyAccumulator&&) noexcept = default;
LatencyAccumulator& LatencyAccumulator::operator=(LatencyAccumulator&&) noexcept = default;

}  // namespace chaperone::store
