// The tier comparison (src/analysis) on hand-built rows: merging, finality,
// loss, topic status, ordering.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>

#include "chaperone/latency_sketch.h"
#include "analysis/analysis.h"
#include "analysis/tier_order.h"

namespace chaperone::analysis {
namespace {

using store::EmitterRow;
using store::WindowRow;

constexpr int64_t kW = 1'795'303'800;  // a window start (multiple of 600)
constexpr int64_t kNowMs = (kW + 3600) * 1000;

WindowRow Row(const std::string& tier, int64_t window, int64_t count, const std::string& dc = "dc1",
              const std::string& cluster = "c1") {
  WindowRow r;
  r.topic = "orders";
  r.tier = tier;
  r.datacenter = dc;
  r.cluster = cluster;
  r.window_begin_sec = window;
  r.window_end_sec = window + 600;
  r.count = count;
  r.bytes = count * 100;
  r.digest = static_cast<uint64_t>(count) * 0x9E3779B97F4A7C15ULL;  // stands in for a sum of hashes
  r.records = 1;
  r.updated_ms = window * 1000 + 700'000;
  return r;
}

WindowRow WithLatency(WindowRow r, double mean, double p50, double p95, double p99, double max, bool upper = false) {
  r.latency_mean = mean;
  r.latency_p50 = p50;
  r.latency_p95 = p95;
  r.latency_p99 = p99;
  r.latency_max = max;
  r.latency_upper_bound = upper;
  return r;
}

EmitterRow Emitter(const std::string& id, const std::string& tier, int64_t watermark_ms, int64_t last_seen_ms,
                   const std::string& dc = "dc1") {
  EmitterRow e;
  e.emitter_id = id;
  e.tier = tier;
  e.datacenter = dc;
  e.cluster = "c1";
  e.hostname = id;
  e.watermark_ms = watermark_ms;
  e.last_seen_ms = last_seen_ms;
  e.window_sec = 600;
  return e;
}

MergedWindow Merge(const std::vector<WindowRow>& rows) {
  std::vector<const WindowRow*> ptrs;
  for (const auto& r : rows) ptrs.push_back(&r);
  return MergeRows(ptrs);
}

// ---------------------------------------------------------------------------
// MergeRows

TEST(MergeRows, SumsCountsBytesAndCountersAcrossDatacentersAndClusters) {
  WindowRow a = Row("regional", kW, 60, "dc1", "r1");
  a.no_time = 3;
  a.malformed = 1;
  a.records = 4;
  WindowRow b = Row("regional", kW, 40, "dc2", "r2");
  b.no_time = 2;
  b.records = 2;
  b.updated_ms = a.updated_ms + 5;
  MergedWindow m = Merge({a, b});
  EXPECT_EQ(m.window_begin_sec, kW);
  EXPECT_EQ(m.window_end_sec, kW + 600);
  EXPECT_EQ(m.count, 100);
  ASSERT_TRUE(m.bytes.has_value());
  EXPECT_EQ(*m.bytes, 10000);
  EXPECT_EQ(m.no_time, 5);
  EXPECT_EQ(m.malformed, 1);
  EXPECT_EQ(m.records, 6);
  EXPECT_EQ(m.updated_ms, b.updated_ms);
}

TEST(MergeRows, DigestIsTheSumModulo2To64) {
  WindowRow a = Row("regional", kW, 1);
  WindowRow b = Row("regional", kW, 1, "dc2");
  a.digest = std::numeric_limits<uint64_t>::max() - 1;
  b.digest = 5;
  MergedWindow m = Merge({a, b});
  ASSERT_TRUE(m.digest.has_value());
  EXPECT_EQ(*m.digest, 3u);  // wrapped around
}

TEST(MergeRows, DigestAndBytesAreUnknownWhenAnyRowLacksThem) {
  WindowRow a = Row("producer", kW, 10);
  WindowRow b = Row("producer", kW, 10, "dc2");
  b.digest_known = false;
  MergedWindow m = Merge({a, b});
  EXPECT_FALSE(m.digest.has_value());
  EXPECT_TRUE(m.bytes.has_value());
  b.digest_known = true;
  b.bytes_known = false;
  m = Merge({a, b});
  EXPECT_TRUE(m.digest.has_value());
  EXPECT_FALSE(m.bytes.has_value());
}

TEST(MergeRows, OneRowWithLatencyKeepsItsStoredPercentiles) {
  WindowRow a = WithLatency(Row("producer", kW, 10), 10.1, 9, 30, 41, 48);
  WindowRow b = Row("producer", kW, 5, "dc2");  // no latency observed (no event times)
  MergedWindow m = Merge({a, b});
  ASSERT_TRUE(m.has_latency);
  EXPECT_DOUBLE_EQ(m.mean, 10.1);
  EXPECT_DOUBLE_EQ(m.p50, 9);
  EXPECT_DOUBLE_EQ(m.p95, 30);
  EXPECT_DOUBLE_EQ(m.p99, 41);
  EXPECT_DOUBLE_EQ(m.max, 48);
  EXPECT_FALSE(m.latency_upper_bound);
}

TEST(MergeRows, NoLatencyAnywhereMeansNoLatency) {
  MergedWindow m = Merge({Row("producer", kW, 10), Row("producer", kW, 3, "dc2")});
  EXPECT_FALSE(m.has_latency);
  EXPECT_FALSE(m.latency_upper_bound);
}

TEST(MergeRows, LegacyRowsGiveTheMaxOfPercentilesAsAnUpperBound) {
  WindowRow a = WithLatency(Row("producer", kW, 300), 10, 8, 20, 30, 50);  // legacy: no sketch
  WindowRow b = WithLatency(Row("producer", kW, 100, "dc2"), 30, 25, 40, 45, 60);
  MergedWindow m = Merge({a, b});
  ASSERT_TRUE(m.has_latency);
  EXPECT_TRUE(m.latency_upper_bound);
  EXPECT_DOUBLE_EQ(m.p50, 25);
  EXPECT_DOUBLE_EQ(m.p95, 40);
  EXPECT_DOUBLE_EQ(m.p99, 45);
  EXPECT_DOUBLE_EQ(m.max, 60);
  EXPECT_DOUBLE_EQ(m.mean, (10.0 * 300 + 30.0 * 100) / 400);  // weighted by observations
}

TEST(MergeRows, AnUndecodableSketchFallsBackToUpperBounds) {
  WindowRow a = WithLatency(Row("producer", kW, 10), 10, 8, 20, 30, 50);
  WindowRow b = WithLatency(Row("producer", kW, 10, "dc2"), 12, 9, 25, 35, 55);
  a.latency_sketch = "not a sketch";
  b.latency_sketch = "%%%";
  MergedWindow m = Merge({a, b});
  EXPECT_TRUE(m.latency_upper_bound);
  EXPECT_DOUBLE_EQ(m.p99, 35);
}

TEST(MergeRows, SketchesMergeIntoExactPercentilesWithinOnePercent) {
  LatencySketch s1, s2;
  for (int i = 1; i <= 900; ++i) s1.Add(i);          // 1..900 ms
  for (int i = 901; i <= 1000; ++i) s2.Add(i * 10);  // 9010..10000 ms
  WindowRow a = WithLatency(Row("regional", kW, 900), s1.mean(), s1.Quantile(0.5), s1.Quantile(0.95), s1.Quantile(0.99),
                            s1.max());
  WindowRow b = WithLatency(Row("regional", kW, 100, "dc2"), s2.mean(), s2.Quantile(0.5), s2.Quantile(0.95),
                            s2.Quantile(0.99), s2.max());
  a.latency_sketch = s1.Encode();
  b.latency_sketch = s2.Encode();
  MergedWindow m = Merge({a, b});
  ASSERT_TRUE(m.has_latency);
  EXPECT_FALSE(m.latency_upper_bound);
  // Exact values of the 1000 merged observations (rank floor(q * 999)).
  EXPECT_NEAR(m.p50, 500, 5);
  EXPECT_NEAR(m.p95, 9500, 95);
  EXPECT_NEAR(m.p99, 9900, 99);
  EXPECT_NEAR(m.max, 10000, 100);
  double exact_mean = (900.0 * 901 / 2 + 10.0 * (1000.0 * 1001 / 2 - 900.0 * 901 / 2)) / 1000;
  EXPECT_NEAR(m.mean, exact_mean, exact_mean * 1e-9);
  // "Max of p99s" would have said 9990 for p99 and 900 for p50.
  EXPECT_LT(m.p50, 900);
}

TEST(MergeRows, ALegacyRowAmongSketchesMakesTheResultAnUpperBound) {
  LatencySketch s1;
  for (int i = 1; i <= 100; ++i) s1.Add(i);
  WindowRow a = WithLatency(Row("regional", kW, 100), s1.mean(), s1.Quantile(0.5), s1.Quantile(0.95), s1.Quantile(0.99),
                            s1.max());
  a.latency_sketch = s1.Encode();
  WindowRow b = WithLatency(Row("regional", kW, 100, "dc2"), 500, 400, 700, 800, 900);  // legacy
  MergedWindow m = Merge({a, b});
  EXPECT_TRUE(m.latency_upper_bound);
  EXPECT_DOUBLE_EQ(m.p99, 800);
}

// ---------------------------------------------------------------------------
// BuildSeries and tier order

TEST(TierOrder, DefaultOrderFollowsThePipelineThenAlphabetical) {
  std::vector<std::string> tiers = {"zeta",       "consumer:billing", "aggregate", "regional",       "alpha",
                                    "replicator", "proxy-west",       "producer",  "consumer:audit", "proxy-east"};
  TierOrder().Sort(tiers);
  EXPECT_EQ(tiers, (std::vector<std::string>{"producer", "proxy-east", "proxy-west", "regional", "replicator",
                                             "aggregate", "consumer:audit", "consumer:billing", "alpha", "zeta"}));
}

TEST(TierOrder, OverridesComeFirstAndUnlistedTiersKeepTheDefaultOrder) {
  auto order = TierOrder::Parse("mirror,edge*");
  ASSERT_TRUE(order.ok());
  std::vector<std::string> tiers = {"regional", "edge-2", "producer", "mirror", "edge-1", "other"};
  order->Sort(tiers);
  EXPECT_EQ(tiers, (std::vector<std::string>{"mirror", "edge-1", "edge-2", "producer", "regional", "other"}));
}

TEST(TierOrder, ParseRejectsEmptyAndRepeatedItems) {
  EXPECT_FALSE(TierOrder::Parse("a,,b").ok());
  EXPECT_FALSE(TierOrder::Parse("a,b,a").ok());
  EXPECT_FALSE(TierOrder::Parse("a,\x01").ok());
  EXPECT_TRUE(TierOrder::Parse("").ok());
}

TEST(BuildSeries, GroupsPerTierInPipelineOrderWithWindowsAscending) {
  std::vector<WindowRow> rows = {Row("regional", kW + 600, 7), Row("producer", kW, 5), Row("regional", kW, 3),
                                 Row("regional", kW, 4, "dc2"), Row("producer", kW + 600, 6)};
  auto series = BuildSeries(rows, /*by_datacenter=*/false, TierOrder());
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].tier, "producer");
  EXPECT_FALSE(series[0].datacenter.has_value());
  ASSERT_EQ(series[0].points.size(), 2u);
  EXPECT_EQ(series[0].points[0].window_begin_sec, kW);
  EXPECT_EQ(series[0].points[1].count, 6);
  EXPECT_EQ(series[1].tier, "regional");
  ASSERT_EQ(series[1].points.size(), 2u);
  EXPECT_EQ(series[1].points[0].count, 7);  // 3 + 4 over two datacenters
  EXPECT_EQ(series[1].points[1].count, 7);
}

TEST(BuildSeries, ByDatacenterKeepsDatacentersApartButMergesClusters) {
  std::vector<WindowRow> rows = {Row("regional", kW, 3, "dc2", "a"), Row("regional", kW, 4, "dc1", "a"),
                                 Row("regional", kW, 5, "dc1", "b")};
  auto series = BuildSeries(rows, /*by_datacenter=*/true, TierOrder());
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].datacenter, "dc1");
  EXPECT_EQ(series[0].points.at(0).count, 9);
  EXPECT_EQ(series[1].datacenter, "dc2");
  EXPECT_EQ(series[1].points.at(0).count, 3);
}

TEST(BuildSeries, NoRowsNoSeries) { EXPECT_TRUE(BuildSeries({}, false, TierOrder()).empty()); }

// ---------------------------------------------------------------------------
// Finality

FinalityOptions Opts() { return FinalityOptions{.grace_sec = 60, .stale_after_ms = 180'000}; }

TEST(Finality, AWindowIsFinalWhenEveryLiveEmitterPassedItsEndPlusGrace) {
  int64_t end = kW + 600;
  std::vector<EmitterRow> emitters = {Emitter("p1", "producer", (end + 60) * 1000, kNowMs),
                                      Emitter("p2", "producer", (end + 59) * 1000, kNowMs)};
  Finality f(emitters, kNowMs, Opts());
  EXPECT_FALSE(f.IsFinal("producer", end));  // p2 is one second short
  emitters[1].watermark_ms = (end + 60) * 1000;
  Finality g(emitters, kNowMs, Opts());
  EXPECT_TRUE(g.IsFinal("producer", end));
  EXPECT_FALSE(g.IsFinal("producer", end + 600));
  ASSERT_NE(g.Find("producer"), nullptr);
  EXPECT_EQ(g.Find("producer")->emitters, 2);
  EXPECT_EQ(*g.Find("producer")->watermark_ms, (end + 60) * 1000);
}

TEST(Finality, StaleEmittersDoNotHoldWindowsOpen) {
  int64_t end = kW + 600;
  std::vector<EmitterRow> emitters = {Emitter("p1", "producer", (end + 600) * 1000, kNowMs),
                                      Emitter("dead", "producer", 1000, kNowMs - 181'000)};
  Finality f(emitters, kNowMs, Opts());
  EXPECT_TRUE(f.IsFinal("producer", end));
  EXPECT_EQ(f.Find("producer")->stale_emitters, 1);
  EXPECT_TRUE(f.HasStaleEmitter("producer", 0));
  // An emitter that went silent before the range began does not count against it.
  EXPECT_FALSE(f.HasStaleEmitter("producer", kNowMs - 100'000));
}

TEST(Finality, WithoutHeartbeatsTheWallClockDecides) {
  // Legacy clients never send heartbeats (watermark 0); unknown tiers have no emitter at all.
  std::vector<EmitterRow> emitters = {Emitter("legacy", "producer", 0, kNowMs)};
  int64_t now_ms = (kW + 600 + 60) * 1000;
  Finality f(emitters, now_ms, Opts());
  EXPECT_TRUE(f.IsFinal("producer", kW + 600));
  EXPECT_FALSE(f.IsFinal("producer", kW + 601));
  EXPECT_TRUE(f.IsFinal("unknown-tier", kW + 600));
  EXPECT_FALSE(f.IsFinal("unknown-tier", kW + 1200));
}

TEST(Finality, DatacenterFilterOnlyCountsThoseEmitters) {
  int64_t end = kW + 600;
  std::vector<EmitterRow> emitters = {Emitter("a", "regional", (end + 60) * 1000, kNowMs, "dc1"),
                                      Emitter("b", "regional", 1000, kNowMs, "dc2")};
  EXPECT_FALSE(Finality(emitters, kNowMs, Opts()).IsFinal("regional", end));
  EXPECT_TRUE(Finality(emitters, kNowMs, Opts(), {"dc1"}).IsFinal("regional", end));
}

TEST(Finality, IncompleteSpansAreMergedPerTierOverItsEmitters) {
  std::vector<EmitterRow> emitters = {Emitter("p1", "producer", 0, kNowMs), Emitter("p2", "producer", 0, kNowMs),
                                      Emitter("r", "regional", 0, kNowMs, "dc2")};
  emitters[0].incomplete_ms = {{100, 200}, {900, 1000}};
  emitters[1].incomplete_ms = {{150, 300}, {500, 600}};
  emitters[2].incomplete_ms = {{0, 50}};
  Finality f(emitters, kNowMs, Opts());
  using Spans = std::vector<std::pair<int64_t, int64_t>>;
  auto spans = [](std::span<const std::pair<int64_t, int64_t>> s) { return Spans(s.begin(), s.end()); };
  EXPECT_EQ(spans(f.IncompleteSpans("producer")), (Spans{{100, 300}, {500, 600}, {900, 1000}}));
  EXPECT_EQ(spans(f.IncompleteSpans("regional")), (Spans{{0, 50}}));
  EXPECT_TRUE(f.IncompleteSpans("aggregate").empty());
  EXPECT_TRUE(Finality(emitters, kNowMs, Opts(), {"dc1"}).IncompleteSpans("regional").empty());
}

// The moving pointer answers as a scan of every span would, for windows in
// ascending order, of any length, touching spans at either end.
TEST(SpanCursor, AgreesWithAScanOfEverySpan) {
  uint64_t x = 0x9E3779B97F4A7C15ULL;
  auto next = [&](int64_t bound) {  // xorshift: the same numbers every run
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return static_cast<int64_t>(x % static_cast<uint64_t>(bound));
  };
  for (int round = 0; round < 50; ++round) {
    std::vector<std::pair<int64_t, int64_t>> spans;
    for (int i = 0, n = static_cast<int>(next(20)); i < n; ++i) {
      const int64_t from = next(100'000) * 100;
      spans.emplace_back(from, from + next(3) * 600'000 + next(2));
    }
    store::MergeSpans(spans, 0);
    SpanCursor cursor(spans);
    for (int64_t begin = 0; begin < 10'000'000; begin += 1 + next(1200)) {
      const int64_t end = begin + 1 + next(900);
      const bool scan = std::any_of(spans.begin(), spans.end(),
                                    [&](const auto& s) { return s.first < end * 1000 && s.second >= begin * 1000; });
      ASSERT_EQ(cursor.Overlaps(begin, end), scan) << "round " << round << " window [" << begin << ", " << end << ")";
    }
  }
}

// ---------------------------------------------------------------------------
// Loss

TEST(ComputeLoss, TargetIsComparedToTheSumOfTheSourceOverDatacenters) {
  // Two regional clusters feed one aggregate cluster.
  std::vector<WindowRow> rows = {Row("regional", kW, 60, "dc1"), Row("regional", kW, 40, "dc2"),
                                 Row("aggregate", kW, 98, "dc1")};
  Finality fin({}, kNowMs, Opts());
  auto w = ComputeLoss(rows, LossQuery{"regional", "aggregate", {}, {}}, fin, fin);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].window_begin_sec, kW);
  EXPECT_EQ(w[0].source_count, 100);
  EXPECT_EQ(w[0].target_count, 98);
  EXPECT_EQ(w[0].lost, 2);
  EXPECT_EQ(w[0].duplicated, 0);
  EXPECT_DOUBLE_EQ(w[0].loss_ratio, 0.02);
  ASSERT_TRUE(w[0].digest_match.has_value());
  EXPECT_FALSE(*w[0].digest_match);
  EXPECT_TRUE(w[0].final);

  // Only dc1's regional cluster as the source: the aggregate saw more.
  auto d = ComputeLoss(rows, LossQuery{"regional", "aggregate", {"dc1"}, {}}, fin, fin);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].source_count, 60);
  EXPECT_EQ(d[0].lost, 0);
  EXPECT_EQ(d[0].duplicated, 38);
}

TEST(ComputeLoss, EqualSumsAndDigestsMatch) {
  std::vector<WindowRow> rows = {Row("regional", kW, 60, "dc1"), Row("regional", kW, 40, "dc2")};
  WindowRow agg = Row("aggregate", kW, 100);
  agg.digest = rows[0].digest + rows[1].digest;
  rows.push_back(agg);
  Finality fin({}, kNowMs, Opts());
  auto w = ComputeLoss(rows, LossQuery{"regional", "aggregate", {}, {}}, fin, fin);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].lost, 0);
  EXPECT_EQ(*w[0].digest_match, true);
}

TEST(ComputeLoss, AWindowMissingFromTheTargetIsEntirelyLost) {
  std::vector<WindowRow> rows = {Row("producer", kW, 10), Row("producer", kW + 600, 20), Row("regional", kW, 10)};
  rows[2].digest = rows[0].digest;
  Finality fin({}, kNowMs, Opts());
  auto w = ComputeLoss(rows, LossQuery{"producer", "regional", {}, {}}, fin, fin);
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].lost, 0);
  EXPECT_EQ(w[1].window_begin_sec, kW + 600);
  EXPECT_EQ(w[1].target_count, 0);
  EXPECT_EQ(w[1].lost, 20);
  EXPECT_DOUBLE_EQ(w[1].loss_ratio, 1.0);
}

TEST(ComputeLoss, DuplicatesAndLegacyDigests) {
  std::vector<WindowRow> rows = {Row("producer", kW, 10), Row("regional", kW, 13)};
  rows[0].digest_known = false;  // a legacy client
  Finality fin({}, kNowMs, Opts());
  auto w = ComputeLoss(rows, LossQuery{"producer", "regional", {}, {}}, fin, fin);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].duplicated, 3);
  EXPECT_EQ(w[0].lost, 0);
  EXPECT_DOUBLE_EQ(w[0].loss_ratio, 0.0);
  EXPECT_FALSE(w[0].digest_match.has_value());
}

TEST(ComputeLoss, AWindowIsFinalOnlyWhenFinalForBothTiers) {
  std::vector<WindowRow> rows = {Row("producer", kW, 10), Row("regional", kW, 9)};
  std::vector<EmitterRow> emitters = {Emitter("p", "producer", (kW + 700) * 1000, kNowMs),
                                      Emitter("r", "regional", (kW + 600) * 1000, kNowMs)};  // not + grace yet
  Finality fin(emitters, kNowMs, Opts());
  auto w = ComputeLoss(rows, LossQuery{"producer", "regional", {}, {}}, fin, fin);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_FALSE(w[0].final);
  EXPECT_EQ(w[0].lost, 1);  // still reported, but not final
}

// ---------------------------------------------------------------------------
// Topic status

store::TopicSummary Summary(const std::string& topic = "orders") {
  store::TopicSummary s;
  s.topic = topic;
  s.last_updated_ms = 42;
  return s;
}

// Producer → regional → consumer, all equal and final, latency low.
std::vector<WindowRow> HealthyRows() {
  std::vector<WindowRow> rows;
  for (int64_t w : {kW, kW + 600}) {
    for (const char* tier : {"consumer:billing", "producer", "regional"}) {
      rows.push_back(WithLatency(Row(tier, w, 100), 5, 4, 9, 12, 20));
    }
  }
  return rows;
}

AnalysisOptions AOpts() { return AnalysisOptions{TierOrder(), 60'000}; }

// ---------------------------------------------------------------------------
// JudgePair

std::vector<std::pair<std::string, int64_t>> Verdicts(const std::vector<JudgedWindow>& judged) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const auto& w : judged) out.emplace_back(std::string(VerdictName(w.verdict)), w.window_begin_sec);
  return out;
}

TEST(JudgePair, EveryFinalWindowGetsItsVerdictAndTheRestArePending) {
  WindowRow mismatched = Row("regional", kW + 1800, 4);
  mismatched.digest += 1;
  std::vector<WindowRow> rows = {Row("producer", kW, 10),        Row("regional", kW, 10),
                                 Row("producer", kW + 600, 10),  Row("regional", kW + 600, 8),
                                 Row("producer", kW + 1200, 5),  Row("regional", kW + 1200, 7),
                                 Row("producer", kW + 1800, 4),  mismatched,
                                 Row("producer", kW + 2400, 3),  Row("producer", kW + 3000, 9),
                                 Row("regional", kW + 3000, 1)};
  auto series = BuildSeries(rows, false, TierOrder());
  ASSERT_EQ(series.size(), 2u);
  // Both tiers' emitters passed kW + 3000 + grace, not kW + 3600 + grace.
  std::vector<EmitterRow> emitters = {Emitter("p", "producer", (kW + 3100) * 1000, kNowMs),
                                      Emitter("r", "regional", (kW + 3100) * 1000, kNowMs)};
  Finality f(emitters, kNowMs, Opts());
  auto judged = JudgePair(series[0], series[1], f);
  EXPECT_EQ(Verdicts(judged), (std::vector<std::pair<std::string, int64_t>>{{"ok", kW},
                                                                            {"loss", kW + 600},
                                                                            {"duplicate", kW + 1200},
                                                                            {"digest_mismatch", kW + 1800},
                                                                            {"loss", kW + 2400},
                                                                            {"pending", kW + 3000}}));
  ASSERT_EQ(judged.size(), 6u);
  EXPECT_EQ(judged[1].lost, 2);
  EXPECT_EQ(judged[2].duplicated, 2);
  EXPECT_EQ(judged[4].lost, 3);  // nothing at all in the target: all of it lost
  EXPECT_EQ(judged[4].target_count, 0);
  EXPECT_EQ(judged[5].lost, 8);  // the difference is known, but not judged yet
}

// The classic false alarm: an emitter that died with counts it never
// reported. Its windows are unknown, not loss; windows it had finished, or that
// began after it went silent, are judged as usual.
TEST(JudgePair, WindowsADeadEmitterLeftOpenAreUnknownNotLoss) {
  std::vector<WindowRow> rows;
  for (int64_t w = kW; w < kW + 2400; w += 600) {
    rows.push_back(Row("producer", w, 10));
    rows.push_back(Row("regional", w, w == kW + 1800 ? 10 : 7));
  }
  auto series = BuildSeries(rows, false, TierOrder());
  std::vector<EmitterRow> emitters = {Emitter("p", "producer", (kW + 3100) * 1000, kNowMs),
                                      Emitter("r", "regional", (kW + 3100) * 1000, kNowMs),
                                      // Counted regional up to kW + 1300, last seen at kW + 1400, then gone.
                                      Emitter("dead", "regional", (kW + 1300) * 1000, (kW + 1400) * 1000)};
  Finality f(emitters, kNowMs, Opts());
  EXPECT_EQ(Verdicts(JudgePair(series[0], series[1], f)),
            (std::vector<std::pair<std::string, int64_t>>{
                {"loss", kW},             // it passed this window's end before dying
                {"loss", kW + 600},       // and this one's
                {"unknown", kW + 1200},   // open when it died: its share may be missing
                {"ok", kW + 1800}}));     // began after it was last seen
  // Still alive (not stale): the window is simply not final yet for that tier.
  emitters[2].last_seen_ms = kNowMs;
  Finality alive(emitters, kNowMs, Opts());
  EXPECT_EQ(VerdictName(JudgePair(series[0], series[1], alive)[2].verdict), "pending");
}

// Records that never reached the collector (sequence gaps) or that an emitter
// dropped leave incomplete spans on it (EmitterRow::incomplete_ms): a final
// window overlapping one on either tier is unknown, not loss; the others are
// judged as before.
TEST(JudgePair, WindowsOverlappingAnIncompleteSpanOfEitherTierAreUnknownNotLoss) {
  std::vector<WindowRow> rows;
  for (int64_t w = kW; w < kW + 3000; w += 600) {
    rows.push_back(Row("producer", w, 10));
    rows.push_back(Row("regional", w, 7));
  }
  auto series = BuildSeries(rows, false, TierOrder());
  std::vector<EmitterRow> emitters = {Emitter("p", "producer", (kW + 3100) * 1000, kNowMs),
                                      Emitter("r", "regional", (kW + 3100) * 1000, kNowMs),
                                      Emitter("a", "aggregate", (kW + 3100) * 1000, kNowMs)};
  // Within the second window, ending a millisecond before the third begins.
  emitters[0].incomplete_ms = {{(kW + 900) * 1000, (kW + 1200) * 1000 - 1}};
  // One instant: the fourth window's end (not in it), the fifth's beginning.
  emitters[1].incomplete_ms = {{(kW + 2400) * 1000, (kW + 2400) * 1000}};
  // Another tier's spans say nothing of this pair.
  emitters[2].incomplete_ms = {{kW * 1000, (kW + 3000) * 1000}};
  Finality f(emitters, kNowMs, Opts());
  EXPECT_EQ(Verdicts(JudgePair(series[0], series[1], f)),
            (std::vector<std::pair<std::string, int64_t>>{{"loss", kW},
                                                          {"unknown", kW + 600},
                                                          {"loss", kW + 1200},
                                                          {"loss", kW + 1800},
                                                          {"unknown", kW + 2400}}));
  // A span reaching into windows not final yet leaves them pending.
  emitters[1].incomplete_ms = {{(kW + 2400) * 1000, kNowMs}};
  emitters[1].watermark_ms = (kW + 2500) * 1000;
  Finality g(emitters, kNowMs, Opts());
  EXPECT_EQ(VerdictName(JudgePair(series[0], series[1], g).back().verdict), "pending");
}

// A gap hid two of the regional tier's messages of a window: unknown. Once
// the missing record arrives, its span goes and the window is judged on the
// full counts: ok when the record held the difference, loss when it is real.
TEST(JudgePair, AFilledGapMakesTheWindowJudgedAgain) {
  auto judge = [](int64_t regional, std::vector<std::pair<int64_t, int64_t>> spans) {
    std::vector<WindowRow> rows = {Row("producer", kW, 10), Row("regional", kW, regional)};
    auto series = BuildSeries(rows, false, TierOrder());
    std::vector<EmitterRow> emitters = {Emitter("p", "producer", (kW + 3100) * 1000, kNowMs),
                                        Emitter("r", "regional", (kW + 3100) * 1000, kNowMs)};
    emitters[1].incomplete_ms = std::move(spans);
    Finality f(emitters, kNowMs, Opts());
    return std::string(VerdictName(JudgePair(series[0], series[1], f).at(0).verdict));
  };
  // The span of a gap seen at kW + 700 after a heartbeat at kW + 300.
  const std::vector<std::pair<int64_t, int64_t>> gap = {{(kW + 300 - 600) * 1000, (kW + 700) * 1000}};
  EXPECT_EQ(judge(8, gap), "unknown");
  EXPECT_EQ(judge(10, {}), "ok");    // the record held the two
  EXPECT_EQ(judge(9, {}), "loss");   // it held one: one message is lost
}

TEST(AnalyzeTopic, HealthyWhenEveryPairMatchesInFinalWindows) {
  Finality fin({}, kNowMs, Opts());
  TopicAnalysis t = AnalyzeTopic(Summary(), HealthyRows(), fin, AOpts(), kW);
  EXPECT_EQ(t.status, TopicStatus::kHealthy);
  EXPECT_EQ(t.tiers, (std::vector<std::string>{"producer", "regional", "consumer:billing"}));
  ASSERT_EQ(t.pairs.size(), 2u);
  EXPECT_EQ(t.pairs[0].source, "producer");
  EXPECT_EQ(t.pairs[0].target, "regional");
  EXPECT_EQ(t.pairs[1].source, "regional");
  EXPECT_EQ(t.pairs[1].target, "consumer:billing");
  EXPECT_EQ(t.pairs[0].final_windows, 2);
  EXPECT_EQ(t.last_window_sec, kW + 600);
  EXPECT_EQ(t.last_final_window_sec, kW + 600);
  ASSERT_EQ(t.p99_by_tier.size(), 3u);
  EXPECT_EQ(t.p99_by_tier[0].first, "producer");
  EXPECT_DOUBLE_EQ(t.p99_by_tier[0].second, 12);
  EXPECT_EQ(t.last_updated_ms, (kW + 600) * 1000 + 700'000);  // fresher than the summary's 42
}

TEST(AnalyzeTopic, LossInAFinalWindowIsLoss) {
  auto rows = HealthyRows();
  rows[5].count = 97;  // regional, second window
  Finality fin({}, kNowMs, Opts());
  TopicAnalysis t = AnalyzeTopic(Summary(), rows, fin, AOpts(), kW);
  EXPECT_EQ(t.status, TopicStatus::kLoss);
  EXPECT_EQ(t.pairs[0].lost, 3);
  EXPECT_EQ(t.pairs[1].duplicated, 3);  // the consumer saw 100 of regional's 97
  EXPECT_EQ(t.loss_total(), 6);
}

TEST(AnalyzeTopic, DifferencesInWindowsNotYetFinalAreNotLoss) {
  auto rows = HealthyRows();
  rows[5].count = 97;                        // regional, second window: still open
  int64_t now_ms = (kW + 1200 + 30) * 1000;  // second window ended 30 s ago: within grace
  Finality fin({}, now_ms, Opts());
  TopicAnalysis t = AnalyzeTopic(Summary(), rows, fin, AOpts(), kW);
  EXPECT_EQ(t.status, TopicStatus::kHealthy);
  EXPECT_EQ(t.last_final_window_sec, kW);
  EXPECT_EQ(t.pairs[0].final_windows, 1);
}

TEST(AnalyzeTopic, EqualCountsWithDifferentDigestsIsLoss) {
  auto rows = HealthyRows();
  rows[2].digest ^= 1;  // regional, first window: same count, other messages
  Finality fin({}, kNowMs, Opts());
  TopicAnalysis t = AnalyzeTopic(Summary(), rows, fin, AOpts(), kW);
  EXPECT_EQ(t.status, TopicStatus::kLoss);
  EXPECT_TRUE(t.pairs[0].digest_mismatch);
  EXPECT_EQ(t.pairs[0].lost, 0);
}

TEST(AnalyzeTopic, UnknownDigestsAreNotAMismatch) {
  auto rows = HealthyRows();
  rows[1].digest_known = false;  // producer, a legacy client
  rows[1].digest = 0;
  Finality fin({}, kNowMs, Opts());
  EXPECT_EQ(AnalyzeTopic(Summary(), rows, fin, AOpts(), kW).status, TopicStatus::kHealthy);
}

TEST(AnalyzeTopic, DelayWhenTheLastFinalWindowsP99IsAboveTheThreshold) {
  auto rows = HealthyRows();
  rows[3] = WithLatency(rows[3], 100, 90, 200, 61'000, 70'000);  // consumer, second window
  Finality fin({}, kNowMs, Opts());
  TopicAnalysis t = AnalyzeTopic(Summary(), rows, fin, AOpts(), kW);
  EXPECT_EQ(t.status, TopicStatus::kDelay);
  EXPECT_DOUBLE_EQ(t.max_p99(), 61'000);
  // A slow window that is not the last final one does not count.
  rows = HealthyRows();
  rows[0] = WithLatency(rows[0], 100, 90, 200, 61'000, 70'000);  // consumer, first window
  EXPECT_EQ(AnalyzeTopic(Summary(), rows, fin, AOpts(), kW).status, TopicStatus::kHealthy);
}

TEST(AnalyzeTopic, StaleEmitterWhenAnEmitterOfItsTiersWentSilent) {
  std::vector<EmitterRow> emitters = {Emitter("p", "producer", (kW + 2000) * 1000, kNowMs),
                                      Emitter("gone", "regional", (kW + 2000) * 1000, kNowMs - 200'000)};
  Finality fin(emitters, kNowMs, Opts());
  TopicAnalysis t = AnalyzeTopic(Summary(), HealthyRows(), fin, AOpts(), kW);
  EXPECT_EQ(t.status, TopicStatus::kStaleEmitter);
  // A stale emitter of another tier does not matter.
  emitters[1].tier = "elsewhere";
  Finality other(emitters, kNowMs, Opts());
  EXPECT_EQ(AnalyzeTopic(Summary(), HealthyRows(), other, AOpts(), kW).status, TopicStatus::kHealthy);
}

TEST(AnalyzeTopic, LossWinsOverDelayWhichWinsOverStale) {
  std::vector<EmitterRow> emitters = {Emitter("gone", "regional", (kW + 2000) * 1000, kNowMs - 200'000)};
  Finality fin(emitters, kNowMs, Opts());
  auto rows = HealthyRows();
  rows[3] = WithLatency(rows[3], 100, 90, 200, 61'000, 70'000);
  EXPECT_EQ(AnalyzeTopic(Summary(), rows, fin, AOpts(), kW).status, TopicStatus::kDelay);
  rows[5].count = 1;
  EXPECT_EQ(AnalyzeTopic(Summary(), rows, fin, AOpts(), kW).status, TopicStatus::kLoss);
}

TEST(AnalyzeTopic, NoRowsIsNoData) {
  Finality fin({}, kNowMs, Opts());
  TopicAnalysis t = AnalyzeTopic(Summary(), {}, fin, AOpts(), kW);
  EXPECT_EQ(t.status, TopicStatus::kNoData);
  EXPECT_TRUE(t.tiers.empty());
  EXPECT_FALSE(t.last_window_sec.has_value());
  EXPECT_DOUBLE_EQ(t.max_p99(), -1);
}

TEST(AnalyzeTopic, TheLatestWindowAndUpdateComeFromTheSummaryOrTheRange) {
  Finality fin({}, kNowMs, Opts());
  store::TopicSummary s = Summary();
  s.tiers = {"producer"};
  s.last_window_sec = kW - 86400;
  s.last_updated_ms = 5;
  TopicAnalysis quiet = AnalyzeTopic(s, {}, fin, AOpts(), kW);
  EXPECT_EQ(quiet.latest_window_sec, kW - 86400);
  EXPECT_FALSE(quiet.last_window_sec.has_value());
  // The range can be fresher than a cached summary.
  TopicAnalysis busy = AnalyzeTopic(s, HealthyRows(), fin, AOpts(), kW);
  EXPECT_EQ(busy.latest_window_sec, kW + 600);
  EXPECT_EQ(busy.last_updated_ms, HealthyRows().back().updated_ms);
}

TEST(AnalyzeTopic, NothingFinalYetShowsTheLastWindowsLatency) {
  Finality fin({}, (kW + 600) * 1000, Opts());  // the first window just ended
  TopicAnalysis t = AnalyzeTopic(Summary(), HealthyRows(), fin, AOpts(), kW);
  EXPECT_FALSE(t.last_final_window_sec.has_value());
  EXPECT_EQ(t.status, TopicStatus::kHealthy);
  EXPECT_EQ(t.p99_by_tier.size(), 3u);
  EXPECT_EQ(t.pairs[0].final_windows, 0);
}

TEST(AnalyzeTopic, ASingleTierHasNoPairs) {
  Finality fin({}, kNowMs, Opts());
  TopicAnalysis t = AnalyzeTopic(Summary(), {Row("producer", kW, 5)}, fin, AOpts(), kW);
  EXPECT_EQ(t.status, TopicStatus::kHealthy);
  EXPECT_TRUE(t.pairs.empty());
  EXPECT_TRUE(t.p99_by_tier.empty());  // no latency observed
}

// ---------------------------------------------------------------------------
// Listing

TopicAnalysis T(const std::string& name, TopicStatus st, int64_t lost, double p99) {
  TopicAnalysis t;
  t.topic = name;
  t.status = st;
  if (lost >= 0) t.pairs.push_back(PairSummary{"a", "b", lost, 0, false, 1});
  if (p99 >= 0) t.p99_by_tier.emplace_back("a", p99);
  return t;
}

std::vector<std::string> Names(const std::vector<TopicAnalysis>& v) {
  std::vector<std::string> out;
  for (const auto& t : v) out.push_back(t.topic);
  return out;
}

TEST(SortTopics, ByEveryKeyWithTiesByName) {
  std::vector<TopicAnalysis> v = {T("b", TopicStatus::kHealthy, 0, 10), T("a", TopicStatus::kLoss, 5, -1),
                                  T("c", TopicStatus::kDelay, 0, 90000), T("d", TopicStatus::kHealthy, 7, 20)};
  SortTopics(v, *ParseTopicSort("-status"));
  EXPECT_EQ(Names(v), (std::vector<std::string>{"a", "c", "b", "d"}));
  SortTopics(v, *ParseTopicSort("status"));
  EXPECT_EQ(Names(v), (std::vector<std::string>{"b", "d", "c", "a"}));
  SortTopics(v, *ParseTopicSort("-loss"));
  EXPECT_EQ(Names(v), (std::vector<std::string>{"d", "a", "b", "c"}));
  SortTopics(v, *ParseTopicSort("p99"));
  EXPECT_EQ(Names(v), (std::vector<std::string>{"b", "d", "c", "a"}));  // unknown p99 last
  SortTopics(v, *ParseTopicSort("-p99"));
  EXPECT_EQ(Names(v), (std::vector<std::string>{"c", "d", "b", "a"}));
  SortTopics(v, *ParseTopicSort("-topic"));
  EXPECT_EQ(Names(v), (std::vector<std::string>{"d", "c", "b", "a"}));
}

TEST(ParseTopicSort, RejectsUnknownKeys) {
  EXPECT_FALSE(ParseTopicSort("name").ok());
  EXPECT_FALSE(ParseTopicSort("--loss").ok());
  EXPECT_FALSE(ParseTopicSort("").ok());
  EXPECT_FALSE(ParseTopicSort("loss;DROP TABLE windows").ok());
}

TEST(ParseStatus, KnowsEveryStatusName) {
  for (auto s : {TopicStatus::kHealthy, TopicStatus::kNoData, TopicStatus::kStaleEmitter, TopicStatus::kDelay,
                 TopicStatus::kLoss}) {
    EXPECT_EQ(ParseStatus(StatusName(s)), s);
  }
  EXPECT_FALSE(ParseStatus("Healthy").has_value());
}

TEST(TopicMatches, IsACaseInsensitiveSubstringMatch) {
  EXPECT_TRUE(TopicMatches("Orders.EU", "orders"));
  EXPECT_TRUE(TopicMatches("orders", ""));
  EXPECT_TRUE(TopicMatches("payments-eu", "S-E"));
  EXPECT_FALSE(TopicMatches("orders", "payments"));
}

}  // namespace
}  // namespace chaperone::analysis
