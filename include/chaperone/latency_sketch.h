// LatencySketch: a mergeable latency histogram with bounded relative error
// (DDSketch-style logarithmic buckets; docs/latency-sketch.md).
//
// Every quantile it reports is within 1 % (relative) of the exact quantile of
// the values added, and this holds after any number of merges: merging is
// bucket-wise addition, so percentiles combined across hosts, partitions and
// partial reports are as accurate as those of a single sketch.
//
// Value range and memory bound (fixed, identical in every sketch):
//   - values below kMinIndexableMs (2^-10 ms, about 1 µs) go to a zero bucket
//     and are reported as 0 (absolute error below 1 µs);
//   - negative values (clock skew) and NaN are recorded as 0 and counted in
//     negative_count();
//   - values above kMaxValueMs (2^46 ms, about 2,230 years) are recorded as
//     kMaxValueMs;
//   - indexable values fall in one of kNumBuckets (1,961) buckets, 35 per
//     octave. A sketch with at most 16 non-empty buckets keeps them as a sorted
//     list (8 bytes each); beyond that it keeps a dense array of counts over the
//     span of buckets it has seen (8 bytes per bucket, at most ~16 KB; a real
//     latency distribution spans a few hundred buckets). So a quiet window costs
//     little and no sketch exceeds the fixed bound. Because the index range is
//     fixed there is never a collapse of buckets: Merge and Subtract are exact.
//
// Not thread-safe; a sketch is a value type (copyable, movable).
#pragma once

#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"

namespace chaperone {

class LatencySketch {
 public:
  // Guaranteed bound on the relative error of Quantile() for values in
  // [kMinIndexableMs, kMaxValueMs] (the mapping achieves 0.99997 %).
  static constexpr double kRelativeAccuracy = 0.01;
  static constexpr int kBucketsPerOctave = 35;
  static constexpr double kMinIndexableMs = 1.0 / 1024;       // 2^-10
  static constexpr double kMaxValueMs = 70368744177664.0;     // 2^46
  static constexpr int32_t kMinIndex = -10 * kBucketsPerOctave;  // bucket of kMinIndexableMs
  static constexpr int32_t kMaxIndex = 46 * kBucketsPerOctave;   // bucket of kMaxValueMs
  static constexpr int32_t kNumBuckets = kMaxIndex - kMinIndex + 1;
  static constexpr uint8_t kEncodingVersion = 1;

  struct Bucket {
    int32_t index;
    uint64_t count;
    bool operator==(const Bucket&) const = default;
  };

  LatencySketch() = default;

  // Records `n` occurrences of a latency of `ms` milliseconds (see the range
  // rules above). n == 0 is a no-op.
  void Add(double ms, uint64_t n = 1);

  void Merge(const LatencySketch& o);

  // The exact bucket-wise inverse of Merge: afterwards this sketch holds what it
  // held before `o` was merged into it. Returns false and changes nothing when
  // `o` is not contained in this sketch (some bucket, the zero bucket or the
  // negative count of `o` exceeds ours). min() and max() cannot be un-merged:
  // they stay as bounds (the true min/max lie within them). Subtracting
  // everything leaves an empty sketch.
  bool Subtract(const LatencySketch& o);

  // The q-quantile (0 <= q <= 1) of the values added: the value of rank
  // floor(q * (count - 1)) in sorted order, within kRelativeAccuracy. NaN when
  // the sketch is empty or q is outside [0, 1].
  double Quantile(double q) const;

  uint64_t count() const { return count_; }
  double sum() const { return sum_; }
  // Smallest/largest value added (after clamping); NaN when empty.
  double min() const { return count_ ? min_ : std::numeric_limits<double>::quiet_NaN(); }
  double max() const { return count_ ? max_ : std::numeric_limits<double>::quiet_NaN(); }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : std::numeric_limits<double>::quiet_NaN(); }
  uint64_t negative_count() const { return negative_count_; }
  // Values below kMinIndexableMs, including the clamped negatives.
  uint64_t zero_count() const { return zero_count_; }
  bool empty() const { return count_ == 0; }

  // Non-empty buckets in ascending index order (the zero bucket excluded).
  std::vector<Bucket> Buckets() const;

  // Compact binary encoding (docs/latency-sketch.md), base64 so it can travel
  // inside JSON. Its first byte is kEncodingVersion.
  std::string Encode() const;
  // Decodes Encode()'s output. Any other input yields a Corruption or
  // InvalidArgument status explaining what is wrong; it never crashes and never
  // allocates more than the fixed bound.
  static Result<LatencySketch> Decode(std::string_view b64);

  // The mapping from values to buckets. Bucket i holds the values x whose
  // f(x) = e + P(m - 1) lies in [i/35, (i+1)/35), where x = m * 2^e with
  // 1 <= m < 2 and P(t) = (10/7)t - (3/5)t^2 + (6/35)t^3 (a cubic approximation
  // of log2(1+t)). Precondition: kMinIndexableMs <= ms <= kMaxValueMs.
  static int32_t BucketIndex(double ms) {
    uint64_t bits = std::bit_cast<uint64_t>(ms);
    int exponent = static_cast<int>(bits >> 52) - 1023;
    double t = std::bit_cast<double>((bits & 0x000f'ffff'ffff'ffffULL) | 0x3ff0'0000'0000'0000ULL) - 1.0;
    double f = exponent + ((kP3 * t + kP2) * t + kP1) * t;
    // f * 35 >= -350, so adding kFloorBias makes truncation equal to floor.
    return static_cast<int32_t>(f * kBucketsPerOctave + kFloorBias) - kFloorBias;
  }
  // The smallest value of bucket `index` (kMinIndex <= index <= kMaxIndex).
  static double BucketLowerBound(int32_t index);
  // The value reported for bucket `index`: the point of the bucket whose
  // relative distance to either end is the same, 2*lo*hi/(lo+hi).
  static double BucketValue(int32_t index);

 private:
  static constexpr double kP1 = 10.0 / 7;
  static constexpr double kP2 = -3.0 / 5;
  static constexpr double kP3 = 6.0 / 35;
  static constexpr int kFloorBias = 1024;

  // Sparse mode: at most kMaxSparse entries, each (index - kMinIndex) << 48 |
  // count, sorted (so by index). Counts of 2^48 or more force dense mode.
  static constexpr size_t kMaxSparse = 16;
  static constexpr int kSparseShift = 48;
  static constexpr uint64_t kSparseCountMask = (uint64_t{1} << kSparseShift) - 1;

  // Dense mode only: widens counts_ to include [lo, hi].
  void Grow(int32_t lo, int32_t hi);
  void Grow(int32_t index) { Grow(index, index); }
  void AddSparse(int32_t index, uint64_t n);  // slow path of Add in sparse mode
  void AddToBucket(int32_t index, uint64_t n);
  void ToDense();
  uint64_t CountAt(int32_t index) const;
  // Calls f(index, count) for every non-empty bucket in ascending order while f
  // returns true.
  template <typename F>
  void ForEachBucket(F&& f) const;
  void Reset() { *this = LatencySketch(); }

  // Dense mode: counts_[i] counts bucket offset_ + i; counts_ covers the span of
  // buckets touched so far (plus a little slack), never more than kNumBuckets.
  // Sparse mode: see kMaxSparse.
  std::vector<uint64_t> counts_;
  int32_t offset_ = 0;
  bool dense_ = false;
  uint64_t count_ = 0;          // every value, including the zero bucket
  uint64_t zero_count_ = 0;     // values < kMinIndexableMs (including negatives)
  uint64_t negative_count_ = 0;
  double sum_ = 0;
  double min_ = std::numeric_limits<double>::infinity();
  double max_ = -std::numeric_limits<double>::infinity();
};

inline void LatencySketch::Add(double ms, uint64_t n) {
  if (n == 0) return;
  if (!(ms > 0)) {
    if (ms != 0) negative_count_ += n;  // negative or NaN
    ms = 0;                              // also turns -0.0 into 0
  } else if (ms > kMaxValueMs) {
    ms = kMaxValueMs;
  }
  count_ += n;
  sum_ += ms * static_cast<double>(n);
  if (ms < min_) min_ = ms;
  if (ms > max_) max_ = ms;
  if (ms < kMinIndexableMs) {
    zero_count_ += n;
    return;
  }
  int32_t index = BucketIndex(ms);
  if (!dense_) {
    AddSparse(index, n);
    return;
  }
  auto slot = static_cast<uint32_t>(index - offset_);
  if (slot >= counts_.size()) {
    Grow(index);
    slot = static_cast<uint32_t>(index - offset_);
  }
  counts_[slot] += n;
}

}  // namespace chaperone
