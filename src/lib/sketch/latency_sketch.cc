#include "chaperone/latency_sketch.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "lib/util/base64.h"
#include "lib/util/varint.h"

namespace chaperone {
namespace {

constexpr int32_t kPerOctave = LatencySketch::kBucketsPerOctave;

// P(t) = (10/7)t - (3/5)t^2 + (6/35)t^3, the same expression as BucketIndex.
double Cubic(double t) { return ((6.0 / 35 * t + -3.0 / 5) * t + 10.0 / 7) * t; }

// Lower bounds of buckets kMinIndex .. kMaxIndex + 1 (the last entry is the
// upper bound of the top bucket): x with f(x) = i / 35, found by bisection of
// the (increasing) cubic on each octave.
struct BoundTable {
  std::array<double, LatencySketch::kNumBuckets + 1> lower{};
  std::array<double, LatencySketch::kNumBuckets> value{};

  BoundTable() {
    for (int32_t i = LatencySketch::kMinIndex; i <= LatencySketch::kMaxIndex + 1; ++i) {
      int32_t e = i >= 0 ? i / kPerOctave : -((-i + kPerOctave - 1) / kPerOctave);
      double r = static_cast<double>(i - e * kPerOctave) / kPerOctave;  // in [0, 1)
      double lo = 0, hi = 1;
      for (int k = 0; k < 80 && lo < hi; ++k) {
        double mid = (lo + hi) / 2;
        if (mid <= lo || mid >= hi) break;
        (Cubic(mid) < r ? lo : hi) = mid;
      }
      double t = r == 0 ? 0 : hi;
      lower[i - LatencySketch::kMinIndex] = std::ldexp(1 + t, e);
    }
    for (int32_t k = 0; k < LatencySketch::kNumBuckets; ++k) {
      double a = lower[k], b = lower[k + 1];
      value[k] = 2 * a * b / (a + b);
    }
  }
};

const BoundTable& Bounds() {
  static const BoundTable table;
  return table;
}

Status Corrupt(const std::string& what) { return Status::Corruption("latency sketch: " + what); }

}  // namespace

double LatencySketch::BucketLowerBound(int32_t index) {
  index = std::clamp(index, kMinIndex, kMaxIndex);
  return Bounds().lower[index - kMinIndex];
}

double LatencySketch::BucketValue(int32_t index) {
  index = std::clamp(index, kMinIndex, kMaxIndex);
  return Bounds().value[index - kMinIndex];
}

template <typename F>
void LatencySketch::ForEachBucket(F&& f) const {
  if (dense_) {
    for (size_t i = 0; i < counts_.size(); ++i) {
      if (counts_[i] != 0 && !f(offset_ + static_cast<int32_t>(i), counts_[i])) return;
    }
  } else {
    for (uint64_t e : counts_) {
      if (!f(static_cast<int32_t>(e >> kSparseShift) + kMinIndex, e & kSparseCountMask)) return;
    }
  }
}

uint64_t LatencySketch::CountAt(int32_t index) const {
  if (dense_) {
    auto slot = static_cast<uint32_t>(index - offset_);
    return slot < counts_.size() ? counts_[slot] : 0;
  }
  for (uint64_t e : counts_) {
    if (static_cast<int32_t>(e >> kSparseShift) + kMinIndex == index) return e & kSparseCountMask;
  }
  return 0;
}

void LatencySketch::Grow(int32_t lo, int32_t hi) {
  lo = std::max(lo, kMinIndex);
  hi = std::min(hi, kMaxIndex);
  auto size = static_cast<int32_t>(counts_.size());
  if (size == 0) {
    // Start with a little room around the first values.
    int32_t new_lo = std::max(kMinIndex, lo - 8);
    int32_t new_hi = std::min(kMaxIndex, hi + 8);
    counts_.assign(static_cast<size_t>(new_hi - new_lo + 1), 0);
    offset_ = new_lo;
    return;
  }
  int32_t cur_lo = offset_, cur_hi = offset_ + size - 1;
  if (lo >= cur_lo && hi <= cur_hi) return;
  // Grow geometrically in the direction(s) needed, so a sequence of Adds that
  // widens the span costs amortized O(1) copies.
  int32_t slack = std::max<int32_t>(16, size / 2);
  int32_t new_lo = lo < cur_lo ? std::max(kMinIndex, std::min(lo, cur_lo - slack)) : cur_lo;
  int32_t new_hi = hi > cur_hi ? std::min(kMaxIndex, std::max(hi, cur_hi + slack)) : cur_hi;
  std::vector<uint64_t> grown(static_cast<size_t>(new_hi - new_lo + 1), 0);
  std::copy(counts_.begin(), counts_.end(), grown.begin() + (cur_lo - new_lo));
  counts_ = std::move(grown);
  offset_ = new_lo;
}

void LatencySketch::ToDense() {
  if (dense_) return;
  std::vector<uint64_t> entries = std::move(counts_);
  counts_.clear();
  dense_ = true;
  if (entries.empty()) return;
  Grow(static_cast<int32_t>(entries.front() >> kSparseShift) + kMinIndex,
       static_cast<int32_t>(entries.back() >> kSparseShift) + kMinIndex);
  for (uint64_t e : entries) {
    counts_[static_cast<size_t>(static_cast<int32_t>(e >> kSparseShift) + kMinIndex - offset_)] = e & kSparseCountMask;
  }
}

void LatencySketch::AddSparse(int32_t index, uint64_t n) {
  const uint64_t key = static_cast<uint64_t>(index - kMinIndex) << kSparseShift;
  auto it = counts_.begin();
  while (it != counts_.end() && (*it & ~kSparseCountMask) < key) ++it;
  if (it != counts_.end() && (*it & ~kSparseCountMask) == key) {
    if (n <= kSparseCountMask - (*it & kSparseCountMask)) {
      *it += n;
      return;
    }
  } else if (counts_.size() < kMaxSparse && n <= kSparseCountMask) {
    counts_.insert(it, key | n);
    return;
  }
  // A 17th bucket or a huge count: switch to the dense array.
  ToDense();
  Grow(index);
  counts_[static_cast<size_t>(index - offset_)] += n;
}

void LatencySketch::AddToBucket(int32_t index, uint64_t n) {
  if (!dense_) {
    AddSparse(index, n);
    return;
  }
  Grow(index);
  counts_[static_cast<size_t>(index - offset_)] += n;
}

void LatencySketch::Merge(const LatencySketch& o) {
  if (o.count_ == 0) return;
  if (o.dense_) {
    // Size the dense array once for o's non-empty span.
    int32_t first = 0, last = -1;
    bool any = false;
    o.ForEachBucket([&](int32_t index, uint64_t) {
      if (!any) first = index;
      last = index;
      any = true;
      return true;
    });
    if (any) {
      ToDense();
      Grow(first, last);
      for (int32_t i = first; i <= last; ++i) {
        counts_[static_cast<size_t>(i - offset_)] += o.counts_[static_cast<size_t>(i - o.offset_)];
      }
    }
  } else {
    o.ForEachBucket([this](int32_t index, uint64_t c) {
      AddToBucket(index, c);
      return true;
    });
  }
  count_ += o.count_;
  zero_count_ += o.zero_count_;
  negative_count_ += o.negative_count_;
  sum_ += o.sum_;
  min_ = std::min(min_, o.min_);
  max_ = std::max(max_, o.max_);
}

bool LatencySketch::Subtract(const LatencySketch& o) {
  if (o.count_ == 0) return true;
  if (o.count_ > count_ || o.zero_count_ > zero_count_ || o.negative_count_ > negative_count_) return false;
  bool contained = true;
  o.ForEachBucket([&](int32_t index, uint64_t c) {
    contained = c <= CountAt(index);
    return contained;
  });
  if (!contained) return false;
  if (o.count_ == count_) {
    // Everything goes (containment above made every bucket equal).
    Reset();
    return true;
  }
  if (dense_) {
    o.ForEachBucket([this](int32_t index, uint64_t c) {
      counts_[static_cast<size_t>(index - offset_)] -= c;
      return true;
    });
  } else {
    o.ForEachBucket([this](int32_t index, uint64_t c) {
      const uint64_t key = static_cast<uint64_t>(index - kMinIndex) << kSparseShift;
      for (auto it = counts_.begin(); it != counts_.end(); ++it) {
        if ((*it & ~kSparseCountMask) == key) {
          *it -= c;
          if ((*it & kSparseCountMask) == 0) counts_.erase(it);
          break;
        }
      }
      return true;
    });
  }
  count_ -= o.count_;
  zero_count_ -= o.zero_count_;
  negative_count_ -= o.negative_count_;
  // Rounding can leave the difference slightly off; the true sum of count_
  // values lies within [min, max] * count_, so clamping only reduces the error.
  const auto n = static_cast<double>(count_);
  sum_ = std::clamp(sum_ - o.sum_, min_ * n, max_ * n);
  return true;
}

double LatencySketch::Quantile(double q) const {
  if (count_ == 0 || !(q >= 0 && q <= 1)) return std::numeric_limits<double>::quiet_NaN();
  double rank = q * static_cast<double>(count_ - 1);
  uint64_t target = rank >= static_cast<double>(count_ - 1) ? count_ - 1 : static_cast<uint64_t>(rank);
  double v = max_;
  if (target < zero_count_) {
    v = 0;
  } else {
    uint64_t seen = zero_count_;
    ForEachBucket([&](int32_t index, uint64_t c) {
      seen += c;
      if (seen > target) {
        v = BucketValue(index);
        return false;
      }
      return true;
    });
  }
  // The true quantile lies in [min, max], so clamping never adds error.
  return std::clamp(v, min_, max_);
}

std::vector<LatencySketch::Bucket> LatencySketch::Buckets() const {
  std::vector<Bucket> out;
  ForEachBucket([&](int32_t index, uint64_t c) {
    out.push_back({index, c});
    return true;
  });
  return out;
}

// Binary layout, version 1 (docs/latency-sketch.md):
//   u8      version (1)
//   varint  zero_count
//   varint  negative_count
//   varint  number of runs
//   runs:   varint zigzag(start - previous run's end; the first: start - 0),
//           varint length, then `length` varint counts
//   if the total count > 0: f64 sum, f64 min, f64 max (little-endian)
std::string LatencySketch::Encode() const {
  // Runs of buckets, split where two or more consecutive buckets are empty (a
  // single empty bucket inside a run costs one byte, a new run at least two).
  std::vector<Bucket> buckets = Buckets();
  std::vector<std::pair<size_t, size_t>> runs;  // [begin, end) into buckets
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (i == 0 || buckets[i].index > buckets[i - 1].index + 2) runs.push_back({i, i});
    runs.back().second = i + 1;
  }

  std::string bin;
  bin.reserve(16 + 3 * buckets.size() + 24);
  bin.push_back(static_cast<char>(kEncodingVersion));
  util::PutVarint64(&bin, zero_count_);
  util::PutVarint64(&bin, negative_count_);
  util::PutVarint64(&bin, runs.size());
  int64_t prev_end = 0;
  for (auto [begin, end] : runs) {
    int64_t start = buckets[begin].index;
    int64_t stop = buckets[end - 1].index + 1;
    util::PutVarint64(&bin, util::ZigZagEncode(start - prev_end));
    util::PutVarint64(&bin, static_cast<uint64_t>(stop - start));
    for (size_t k = begin; k < end; ++k) {
      if (k > begin && buckets[k].index == buckets[k - 1].index + 2) util::PutVarint64(&bin, 0);
      util::PutVarint64(&bin, buckets[k].count);
    }
    prev_end = stop;
  }
  if (count_ > 0) {
    util::PutDoubleLE(&bin, sum_);
    util::PutDoubleLE(&bin, min_);
    util::PutDoubleLE(&bin, max_);
  }
  return util::Base64Encode(bin);
}

Result<LatencySketch> LatencySketch::Decode(std::string_view b64) {
  if (b64.empty()) return Status::InvalidArgument("latency sketch: empty encoding");
  // A full sketch is a few KB; refuse absurd inputs before decoding them.
  constexpr size_t kMaxEncodedSize = 1 << 20;
  if (b64.size() > kMaxEncodedSize) {
    return Status::InvalidArgument("latency sketch: encoding of " + std::to_string(b64.size()) +
                                   " bytes is larger than any sketch");
  }
  Result<std::string> bin = util::Base64Decode(b64);
  if (!bin.ok()) return Status::InvalidArgument("latency sketch: " + bin.status().message());
  util::ByteReader in(*bin);

  uint8_t version = 0;
  if (!in.GetByte(&version)) return Corrupt("no version byte");
  if (version != kEncodingVersion) {
    return Status::InvalidArgument("latency sketch: unsupported encoding version " + std::to_string(version) +
                                   " (this build reads version " + std::to_string(kEncodingVersion) + ")");
  }
  LatencySketch s;
  uint64_t runs = 0;
  if (!in.GetVarint64(&s.zero_count_)) return Corrupt("truncated zero count");
  // Counts travel as int64 in audit records: the total, this included, stays below 2^63.
  if (s.zero_count_ > static_cast<uint64_t>(INT64_MAX)) return Corrupt("total count exceeds 2^63 - 1");
  if (!in.GetVarint64(&s.negative_count_)) return Corrupt("truncated negative count");
  if (s.negative_count_ > s.zero_count_) return Corrupt("negative count exceeds the zero bucket");
  if (!in.GetVarint64(&runs)) return Corrupt("truncated run count");
  if (runs > static_cast<uint64_t>(kNumBuckets)) return Corrupt("too many runs (" + std::to_string(runs) + ")");

  uint64_t total = s.zero_count_;
  int64_t prev_end = 0;
  std::vector<Bucket> buckets;  // non-empty, ascending
  for (uint64_t r = 0; r < runs; ++r) {
    uint64_t delta = 0, len = 0;
    if (!in.GetVarint64(&delta) || !in.GetVarint64(&len)) return Corrupt("truncated run header");
    int64_t d = util::ZigZagDecode(delta);
    if (r > 0 && d < 0) return Corrupt("runs out of order");
    // |d| and len are bounded by the index range before any arithmetic on them.
    if (d < -static_cast<int64_t>(kNumBuckets) * 2 || d > static_cast<int64_t>(kNumBuckets) * 2 || len == 0 ||
        len > static_cast<uint64_t>(kNumBuckets)) {
      return Corrupt("run out of the bucket range");
    }
    int64_t start = prev_end + d;
    int64_t end = start + static_cast<int64_t>(len);
    if (start < kMinIndex || end - 1 > kMaxIndex) {
      return Corrupt("bucket index " + std::to_string(start < kMinIndex ? start : end - 1) + " out of range [" +
                     std::to_string(kMinIndex) + ", " + std::to_string(kMaxIndex) + "]");
    }
    for (int64_t k = start; k < end; ++k) {
      uint64_t c = 0;
      if (!in.GetVarint64(&c)) return Corrupt("truncated bucket count");
      // Counts travel as int64 in audit records: keep the total below 2^63.
      if (c > static_cast<uint64_t>(INT64_MAX) - total) return Corrupt("total count exceeds 2^63 - 1");
      total += c;
      if (c != 0) buckets.push_back({static_cast<int32_t>(k), c});
    }
    prev_end = end;
  }
  if (buckets.size() > kMaxSparse) {
    s.dense_ = true;
    s.Grow(buckets.front().index, buckets.back().index);
  }
  for (const Bucket& b : buckets) s.AddToBucket(b.index, b.count);
  s.count_ = total;

  if (total > 0) {
    if (!in.GetDoubleLE(&s.sum_) || !in.GetDoubleLE(&s.min_) || !in.GetDoubleLE(&s.max_)) {
      return Corrupt("truncated sum/min/max");
    }
    if (!(s.min_ >= 0 && s.min_ <= s.max_ && s.max_ <= kMaxValueMs)) return Corrupt("invalid min/max");
    // The sum of count values in [min, max]; the slack covers rounding.
    const auto n = static_cast<double>(total);
    if (!(s.sum_ >= s.min_ * n * (1 - 1e-6) && s.sum_ <= s.max_ * n * (1 + 1e-6))) return Corrupt("invalid sum");
    // min and max bound the values: min cannot lie above the lowest non-empty
    // bucket, max not below the highest one.
    constexpr double kSlack = 1e-9;  // bucket bounds are computed, not exact
    const std::vector<Bucket>& b = buckets;
    const auto& lower = Bounds().lower;
    double lowest_upper = s.zero_count_ > 0 ? kMinIndexableMs : lower[b.front().index - kMinIndex + 1];
    double highest_lower = b.empty() ? 0 : lower[b.back().index - kMinIndex];
    if (s.min_ > lowest_upper * (1 + kSlack) || s.max_ < highest_lower * (1 - kSlack)) {
      return Corrupt("min/max inconsistent with the buckets");
    }
  }
  if (!in.done()) return Corrupt(std::to_string(in.remaining()) + " unexpected trailing bytes");
  return s;
}

}  // namespace chaperone
