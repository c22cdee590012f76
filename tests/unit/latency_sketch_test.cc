#include "chaperone/latency_sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "lib/util/base64.h"
#include "lib/util/varint.h"

namespace chaperone {
namespace {

constexpr double kAlpha = LatencySketch::kRelativeAccuracy;

std::vector<double> LogNormalSamples(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> d(std::log(40.0), 1.6);  // median 40 ms, long tail
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

std::vector<double> ParetoSamples(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = 5.0 / std::pow(1.0 - u(rng), 1.0 / 1.1);  // x_m = 5 ms, shape 1.1
  return v;
}

double ExactQuantile(std::vector<double> sorted, double q) {
  return sorted[static_cast<size_t>(q * static_cast<double>(sorted.size() - 1))];
}

void ExpectWithinAccuracy(const LatencySketch& s, std::vector<double> values, const char* what) {
  std::sort(values.begin(), values.end());
  for (double q : {0.0, 0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0}) {
    double exact = ExactQuantile(values, q);
    double est = s.Quantile(q);
    EXPECT_LE(std::abs(est - exact), kAlpha * exact) << what << " q=" << q << " exact=" << exact << " est=" << est;
  }
}

TEST(LatencySketchMapping, EveryBucketIsNarrowEnoughForOnePercent) {
  const double gamma = (1 + kAlpha) / (1 - kAlpha);
  for (int32_t i = LatencySketch::kMinIndex; i < LatencySketch::kMaxIndex; ++i) {
    double lo = LatencySketch::BucketLowerBound(i);
    double hi = LatencySketch::BucketLowerBound(i + 1);
    ASSERT_LT(lo, hi) << i;
    ASSERT_LE(hi / lo, gamma) << i;
    double v = LatencySketch::BucketValue(i);
    ASSERT_LE((v - lo) / lo, kAlpha) << i;
    ASSERT_LE((hi - v) / hi, kAlpha) << i;
  }
  EXPECT_EQ(LatencySketch::BucketIndex(LatencySketch::kMinIndexableMs), LatencySketch::kMinIndex);
  EXPECT_EQ(LatencySketch::BucketIndex(LatencySketch::kMaxValueMs), LatencySketch::kMaxIndex);
  EXPECT_EQ(LatencySketch::BucketIndex(1.0), 0);
  EXPECT_EQ(LatencySketch::BucketIndex(2.0), 35);
  EXPECT_EQ(LatencySketch::kNumBuckets, 1961);
}

TEST(LatencySketchMapping, ValuesLandInTheBucketWhoseValueIsWithinOnePercent) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> exponent(-10, 46);
  int32_t prev_index = LatencySketch::kMinIndex;
  double prev = 0;
  std::vector<double> xs(1'000'000);
  for (auto& x : xs) x = std::exp2(exponent(rng));
  std::sort(xs.begin(), xs.end());
  for (double x : xs) {
    if (x < LatencySketch::kMinIndexableMs || x > LatencySketch::kMaxValueMs) continue;
    int32_t i = LatencySketch::BucketIndex(x);
    ASSERT_GE(i, LatencySketch::kMinIndex);
    ASSERT_LE(i, LatencySketch::kMaxIndex);
    ASSERT_GE(i, prev_index) << "mapping not monotone at " << x << " after " << prev;
    double v = LatencySketch::BucketValue(i);
    ASSERT_LE(std::abs(v - x), kAlpha * x) << x;
    prev_index = i;
    prev = x;
  }
  // Every integer millisecond up to an hour, the values latencies usually take.
  for (int ms = 1; ms <= 3'600'000; ++ms) {
    double v = LatencySketch::BucketValue(LatencySketch::BucketIndex(ms));
    ASSERT_LE(std::abs(v - ms), kAlpha * ms) << ms;
  }
}

TEST(LatencySketch, IsEmptyUntilSomethingIsAdded) {
  LatencySketch s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.count(), 0u);
  EXPECT_TRUE(std::isnan(s.Quantile(0.5)));
  EXPECT_TRUE(std::isnan(s.min()));
  EXPECT_TRUE(std::isnan(s.max()));
  EXPECT_TRUE(std::isnan(s.mean()));
  EXPECT_EQ(s.sum(), 0);
  s.Add(12, 0);  // n == 0 is a no-op
  EXPECT_TRUE(s.empty());
}

TEST(LatencySketch, QuantilesOfLogNormalSamplesAreWithinOnePercent) {
  std::vector<double> values = LogNormalSamples(1'000'000, 42);
  LatencySketch s;
  for (double v : values) s.Add(v);
  EXPECT_EQ(s.count(), values.size());
  ExpectWithinAccuracy(s, values, "log-normal");
  EXPECT_EQ(s.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(s.max(), *std::max_element(values.begin(), values.end()));
  double sum = 0;
  for (double v : values) sum += v;
  EXPECT_NEAR(s.sum(), sum, 1e-9 * sum);
  EXPECT_NEAR(s.mean(), sum / values.size(), 1e-9 * sum);
}

TEST(LatencySketch, QuantilesOfParetoSamplesAreWithinOnePercent) {
  std::vector<double> values = ParetoSamples(1'000'000, 43);
  LatencySketch s;
  for (double v : values) s.Add(v);
  ExpectWithinAccuracy(s, values, "pareto");
}

TEST(LatencySketch, IntegerMillisecondsIncludingZeroAreWithinOnePercent) {
  // What the window tracker feeds it: observed_ms - event_ms, often 0.
  std::vector<double> values = LogNormalSamples(200'000, 44);
  for (auto& v : values) v = std::floor(v / 8);
  LatencySketch s;
  for (double v : values) s.Add(v);
  ASSERT_GT(s.zero_count(), 10'000u);
  ExpectWithinAccuracy(s, values, "integer ms");
}

TEST(LatencySketch, MergingTenPartsIsExactlyTheWhole) {
  for (auto [name, values] : {std::pair{"log-normal", LogNormalSamples(1'000'000, 5)},
                              std::pair{"pareto", ParetoSamples(1'000'000, 6)}}) {
    LatencySketch whole;
    std::vector<LatencySketch> parts(10);
    for (size_t i = 0; i < values.size(); ++i) {
      whole.Add(values[i]);
      // Uneven parts: a contiguous tenth each, so parts differ in range.
      parts[i * 10 / values.size()].Add(values[i]);
    }
    LatencySketch merged;
    for (const auto& p : parts) merged.Merge(p);
    EXPECT_EQ(merged.Buckets(), whole.Buckets()) << name;
    EXPECT_EQ(merged.count(), whole.count()) << name;
    EXPECT_EQ(merged.min(), whole.min()) << name;
    EXPECT_EQ(merged.max(), whole.max()) << name;
    EXPECT_NEAR(merged.sum(), whole.sum(), 1e-9 * whole.sum()) << name;
    ExpectWithinAccuracy(merged, values, name);
  }
}

TEST(LatencySketch, NegativeAndNanValuesAreRecordedAsZeroAndCounted) {
  LatencySketch s;
  s.Add(-250);
  s.Add(std::nan(""));
  s.Add(-0.0);
  s.Add(0);
  s.Add(0.0004);  // below the indexable minimum
  s.Add(100);
  EXPECT_EQ(s.count(), 6u);
  EXPECT_EQ(s.negative_count(), 2u);
  EXPECT_EQ(s.zero_count(), 5u);
  EXPECT_EQ(s.min(), 0);
  EXPECT_FALSE(std::signbit(s.min()));
  EXPECT_EQ(s.Quantile(0), 0);
  EXPECT_EQ(s.Quantile(0.5), 0);
  EXPECT_EQ(s.Quantile(0.99), 0);
  EXPECT_NEAR(s.Quantile(1), 100, 1);
  EXPECT_NEAR(s.sum(), 100.0004, 1e-12);
  EXPECT_TRUE(std::isnan(s.Quantile(-0.1)));
  EXPECT_TRUE(std::isnan(s.Quantile(1.5)));
  EXPECT_TRUE(std::isnan(s.Quantile(std::nan(""))));
}

TEST(LatencySketch, HugeValuesAreClampedToTheMaximum) {
  LatencySketch s;
  s.Add(std::numeric_limits<double>::infinity());
  s.Add(1e300);
  s.Add(LatencySketch::kMaxValueMs);
  EXPECT_EQ(s.max(), LatencySketch::kMaxValueMs);
  EXPECT_EQ(s.Quantile(1), LatencySketch::kMaxValueMs);
  ASSERT_EQ(s.Buckets().size(), 1u);
  EXPECT_EQ(s.Buckets()[0], (LatencySketch::Bucket{LatencySketch::kMaxIndex, 3}));
  // The whole range in one sketch stays within the fixed bucket bound.
  s.Add(LatencySketch::kMinIndexableMs);
  EXPECT_EQ(s.Buckets().front().index, LatencySketch::kMinIndex);
  EXPECT_NEAR(s.Quantile(0), LatencySketch::kMinIndexableMs, kAlpha * LatencySketch::kMinIndexableMs);
}

TEST(LatencySketch, AddWithMultiplicityEqualsRepeatedAdds) {
  LatencySketch a, b;
  a.Add(17.5, 1000);
  a.Add(3, 2);
  for (int i = 0; i < 1000; ++i) b.Add(17.5);
  b.Add(3);
  b.Add(3);
  EXPECT_EQ(a.Buckets(), b.Buckets());
  EXPECT_EQ(a.count(), 1002u);
  EXPECT_EQ(a.sum(), b.sum());
}

TEST(LatencySketch, QuietSketchesStaySmallAndBusyOnesTurnDenseTransparently) {
  // 1..40 distinct buckets, added in a scrambled order, in one sketch and
  // through merges of single-value sketches: always the same buckets.
  for (int distinct : {1, 15, 16, 17, 40}) {
    LatencySketch direct, merged;
    std::vector<double> values;
    for (int k = 0; k < distinct; ++k) values.push_back(std::exp2(0.5 * ((k * 7) % distinct)));
    for (double v : values) {
      direct.Add(v, 3);
      LatencySketch one;
      one.Add(v, 3);
      merged.Merge(one);
    }
    ASSERT_EQ(direct.Buckets().size(), static_cast<size_t>(distinct));
    EXPECT_EQ(merged.Buckets(), direct.Buckets()) << distinct;
    EXPECT_EQ(merged.Encode(), direct.Encode()) << distinct;
    for (size_t k = 1; k < direct.Buckets().size(); ++k) {
      EXPECT_LT(direct.Buckets()[k - 1].index, direct.Buckets()[k].index);
    }
    std::sort(values.begin(), values.end());
    EXPECT_NEAR(direct.Quantile(0.5), values[(values.size() * 3 - 1) / 2 / 3],
                kAlpha * values[(values.size() * 3 - 1) / 2 / 3]);
    Result<LatencySketch> d = LatencySketch::Decode(direct.Encode());
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(d->Buckets(), direct.Buckets());
  }
  // A dense sketch subtracted down to a few buckets equals the sparse one.
  LatencySketch small, big;
  small.Add(5);
  small.Add(500);
  for (int i = 1; i < 200; ++i) big.Add(i * 1.5);
  LatencySketch total = small;
  total.Merge(big);
  ASSERT_TRUE(total.Subtract(big));
  EXPECT_EQ(total.Buckets(), small.Buckets());
  EXPECT_TRUE(total.Subtract(small));
  EXPECT_TRUE(total.empty());
  // Counts beyond what the compact form holds.
  LatencySketch huge;
  huge.Add(10, uint64_t{1} << 50);
  huge.Add(10, uint64_t{1} << 50);
  huge.Add(20);
  EXPECT_EQ(huge.Buckets().front().count, uint64_t{1} << 51);
  EXPECT_EQ(huge.count(), (uint64_t{1} << 51) + 1);
}

TEST(LatencySketch, EncodeDecodeRoundTrips) {
  std::vector<double> values = LogNormalSamples(100'000, 9);
  LatencySketch s;
  for (double v : values) s.Add(v);
  s.Add(-3);
  s.Add(0);
  std::string enc = s.Encode();
  Result<LatencySketch> d = LatencySketch::Decode(enc);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->Buckets(), s.Buckets());
  EXPECT_EQ(d->count(), s.count());
  EXPECT_EQ(d->zero_count(), s.zero_count());
  EXPECT_EQ(d->negative_count(), 1u);
  EXPECT_EQ(d->sum(), s.sum());
  EXPECT_EQ(d->min(), s.min());
  EXPECT_EQ(d->max(), s.max());
  EXPECT_EQ(d->Quantile(0.99), s.Quantile(0.99));
  EXPECT_EQ(d->Encode(), enc);
  // Compact: a few hundred buckets in well under 2 KB of base64.
  EXPECT_LT(enc.size(), 2048u) << enc.size() << " chars for " << s.Buckets().size() << " buckets";

  // Version byte first.
  Result<std::string> bin = util::Base64Decode(enc);
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ(static_cast<uint8_t>((*bin)[0]), LatencySketch::kEncodingVersion);
}

TEST(LatencySketch, EmptyAndSingleValueSketchesRoundTrip) {
  LatencySketch empty;
  Result<LatencySketch> d = LatencySketch::Decode(empty.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->empty());
  EXPECT_EQ(d->Encode(), empty.Encode());

  LatencySketch one;
  one.Add(250);
  d = LatencySketch::Decode(one.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->Quantile(0.5), 250);
  EXPECT_EQ(d->count(), 1u);

  LatencySketch zeros;
  zeros.Add(0, 7);
  d = LatencySketch::Decode(zeros.Encode());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->zero_count(), 7u);
  EXPECT_EQ(d->Quantile(1), 0);
}

TEST(LatencySketch, SubtractUndoesMerge) {
  std::vector<double> a_values = LogNormalSamples(50'000, 11);
  std::vector<double> b_values = ParetoSamples(50'000, 12);
  LatencySketch a, b;
  for (double v : a_values) a.Add(std::round(v));  // integers: sums subtract exactly
  for (double v : b_values) b.Add(std::round(v));
  b.Add(-4);
  LatencySketch total = a;
  total.Merge(b);
  ASSERT_EQ(total.count(), a.count() + b.count());

  ASSERT_TRUE(total.Subtract(b));
  EXPECT_EQ(total.Buckets(), a.Buckets());
  EXPECT_EQ(total.count(), a.count());
  EXPECT_EQ(total.zero_count(), a.zero_count());
  EXPECT_EQ(total.negative_count(), 0u);
  EXPECT_EQ(total.sum(), a.sum());
  // min/max cannot be un-merged; they remain bounds of the true values.
  EXPECT_LE(total.min(), a.min());
  EXPECT_GE(total.max(), a.max());
  ExpectWithinAccuracy(total, [&] {
    std::vector<double> r;
    for (double v : a_values) r.push_back(std::round(v));
    return r;
  }(), "after subtract");

  // Replacing a replayed contribution: total - old + new.
  LatencySketch replay = b;
  total.Merge(b);
  ASSERT_TRUE(total.Subtract(b));
  total.Merge(replay);
  ASSERT_TRUE(total.Subtract(replay));
  EXPECT_EQ(total.Buckets(), a.Buckets());

  ASSERT_TRUE(total.Subtract(a));
  EXPECT_TRUE(total.empty());
  EXPECT_EQ(total.sum(), 0);
  EXPECT_TRUE(total.Buckets().empty());
}

TEST(LatencySketch, SubtractKeepsTheSumConsistentDespiteRounding) {
  LatencySketch small, big;
  small.Add(0.3);
  small.Add(0.7);
  for (int i = 0; i < 1000; ++i) big.Add(1e12 + 0.1 * i);
  LatencySketch total = small;
  total.Merge(big);
  ASSERT_TRUE(total.Subtract(big));
  // 1e12-scale rounding would leave the sum of {0.3, 0.7} far off; it is
  // clamped to what min/max allow, and the result still decodes.
  EXPECT_GE(total.sum(), total.min() * 2);
  EXPECT_LE(total.sum(), total.max() * 2);
  EXPECT_TRUE(LatencySketch::Decode(total.Encode()).ok());
}

TEST(LatencySketch, SubtractRefusesWhatIsNotContained) {
  LatencySketch s;
  s.Add(10, 5);
  s.Add(0, 2);
  const std::string before = s.Encode();

  LatencySketch more;
  more.Add(10, 6);
  EXPECT_FALSE(s.Subtract(more));
  LatencySketch elsewhere;
  elsewhere.Add(1000);
  EXPECT_FALSE(s.Subtract(elsewhere));
  LatencySketch negative;
  negative.Add(-1);
  EXPECT_FALSE(s.Subtract(negative));  // the zero bucket has room, the negative count has not
  LatencySketch zeros;
  zeros.Add(0, 3);
  EXPECT_FALSE(s.Subtract(zeros));
  EXPECT_EQ(s.Encode(), before);

  EXPECT_TRUE(s.Subtract(LatencySketch()));
  EXPECT_EQ(s.Encode(), before);
}

// Builds a binary encoding by hand, for the error cases.
struct Raw {
  std::string bin;
  Raw& Byte(uint8_t b) {
    bin.push_back(static_cast<char>(b));
    return *this;
  }
  Raw& Var(uint64_t v) {
    util::PutVarint64(&bin, v);
    return *this;
  }
  Raw& Zig(int64_t v) { return Var(util::ZigZagEncode(v)); }
  Raw& F64(double d) {
    util::PutDoubleLE(&bin, d);
    return *this;
  }
  std::string b64() const { return util::Base64Encode(bin); }
};

std::string DecodeError(const std::string& b64) {
  Result<LatencySketch> r = LatencySketch::Decode(b64);
  return r.ok() ? "ok" : r.status().message();
}

TEST(LatencySketch, DecodeRejectsGarbageWithClearErrors) {
  EXPECT_EQ(DecodeError(""), "latency sketch: empty encoding");
  EXPECT_NE(DecodeError("not base64!").find("latency sketch: base64: invalid character"), std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(2).b64()).find("unsupported encoding version 2"), std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(1).b64()).find("truncated zero count"), std::string::npos);
  // A valid one-bucket sketch, to mutate: value 1 ms (bucket 0) twice.
  auto valid = [] { return Raw().Byte(1).Var(0).Var(0).Var(1).Zig(0).Var(1).Var(2).F64(2).F64(1).F64(1); };
  EXPECT_EQ(DecodeError(valid().b64()), "ok");
  EXPECT_NE(DecodeError(valid().Byte(0).b64()).find("1 unexpected trailing bytes"), std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(1).Var(1).Var(2).Var(0).F64(0).F64(0).F64(0).b64())
                .find("negative count exceeds the zero bucket"),
            std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(1).Var(0).Var(0).Var(5000).b64()).find("too many runs"), std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(1).Var(0).Var(0).Var(1).Zig(1610).Var(2).Var(1).Var(1).b64())
                .find("bucket index 1611 out of range [-350, 1610]"),
            std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(1).Var(0).Var(0).Var(1).Zig(-351).Var(1).Var(1).b64()).find("out of range"),
            std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(1).Var(0).Var(0).Var(1).Zig(0).Var(0).b64()).find("run out of the bucket range"),
            std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(1).Var(0).Var(0).Var(2).Zig(5).Var(1).Var(1).Zig(-1).Var(1).Var(1).b64())
                .find("runs out of order"),
            std::string::npos);
  EXPECT_NE(DecodeError(Raw().Byte(1).Var(1).Var(0).Var(1).Zig(0).Var(1).Var(UINT64_MAX).b64())
                .find("total count exceeds 2^63 - 1"),
            std::string::npos);
  // The zero bucket alone above 2^63 - 1 (found by latency_sketch_fuzz: it
  // decoded, then a merge with itself wrapped the count).
  EXPECT_NE(DecodeError(Raw().Byte(1).Var(uint64_t{INT64_MAX} + 1).Var(0).Var(0).F64(0).F64(0).F64(0).b64())
                .find("total count exceeds 2^63 - 1"),
            std::string::npos);
  EXPECT_EQ(DecodeError(Raw().Byte(1).Var(INT64_MAX).Var(0).Var(0).F64(0).F64(0).F64(0).b64()), "ok");
  auto with_stats = [](double sum, double min, double max) {
    return Raw().Byte(1).Var(0).Var(0).Var(1).Zig(0).Var(1).Var(2).F64(sum).F64(min).F64(max).b64();
  };
  EXPECT_NE(DecodeError(with_stats(std::nan(""), 1, 1)).find("invalid sum"), std::string::npos);
  EXPECT_NE(DecodeError(with_stats(-2, 1, 1)).find("invalid sum"), std::string::npos);
  EXPECT_NE(DecodeError(with_stats(1, 1, 1)).find("invalid sum"), std::string::npos);  // two values >= 1
  EXPECT_NE(DecodeError(with_stats(3, 1, 1)).find("invalid sum"), std::string::npos);  // two values <= 1
  EXPECT_EQ(DecodeError(Raw().Byte(1).Var(1).Var(0).Var(1).Zig(0).Var(1).Var(INT64_MAX - 1).F64(5e18).F64(0).F64(1).b64()),
            "ok");
  EXPECT_NE(DecodeError(with_stats(2, 2, 1)).find("invalid min/max"), std::string::npos);
  EXPECT_NE(DecodeError(with_stats(2, -1, 1)).find("invalid min/max"), std::string::npos);
  EXPECT_NE(DecodeError(with_stats(2, 1, 1e20)).find("invalid min/max"), std::string::npos);
  EXPECT_NE(DecodeError(with_stats(10, 5, 5)).find("min/max inconsistent with the buckets"), std::string::npos);
  EXPECT_NE(DecodeError(with_stats(1, 0.5, 0.5)).find("min/max inconsistent with the buckets"), std::string::npos);
  EXPECT_EQ(DecodeError(with_stats(2, 0.5, 3)), "ok");  // bounds wider than the values are fine
  EXPECT_NE(DecodeError(std::string(2 << 20, 'A')).find("larger than any sketch"), std::string::npos);
}

TEST(LatencySketch, DecodeOfEveryTruncationFailsCleanly) {
  LatencySketch s;
  for (double v : LogNormalSamples(1000, 3)) s.Add(v);
  Result<std::string> bin = util::Base64Decode(s.Encode());
  ASSERT_TRUE(bin.ok());
  for (size_t len = 0; len < bin->size(); ++len) {
    Result<LatencySketch> r = LatencySketch::Decode(util::Base64Encode(bin->substr(0, len)));
    EXPECT_FALSE(r.ok()) << "prefix of " << len << " bytes decoded";
  }
}

TEST(LatencySketch, DecodeSurvivesRandomMutations) {
  LatencySketch s;
  for (double v : ParetoSamples(5000, 4)) s.Add(v);
  s.Add(0, 3);
  Result<std::string> bin = util::Base64Decode(s.Encode());
  ASSERT_TRUE(bin.ok());
  std::mt19937 rng(99);
  int accepted = 0;
  for (int trial = 0; trial < 20'000; ++trial) {
    std::string m = *bin;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<char>(rng() & 0xff);
    if (rng() % 8 == 0) m.resize(rng() % m.size());
    Result<LatencySketch> r = LatencySketch::Decode(util::Base64Encode(m));
    if (r.ok()) {
      ++accepted;
      // Whatever is accepted is a consistent sketch: it re-encodes to a stable form.
      Result<LatencySketch> again = LatencySketch::Decode(r->Encode());
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      EXPECT_EQ(again->Buckets(), r->Buckets());
      EXPECT_EQ(again->count(), r->count());
      (void)r->Quantile(0.99);
    }
  }
  // Mutated counts are still valid sketches, so some are accepted; most are not.
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, 20'000);

  // Pure noise.
  for (int trial = 0; trial < 20'000; ++trial) {
    std::string noise(rng() % 64, '\0');
    for (auto& c : noise) c = static_cast<char>(rng() & 0xff);
    if (!noise.empty()) noise[0] = 1;  // get past the version check
    (void)LatencySketch::Decode(util::Base64Encode(noise));
  }
}

}  // namespace
}  // namespace chaperone
