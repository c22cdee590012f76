// The web service's query logic, independent of HTTP: merging stored window
// rows per tier, window finality from emitter heartbeats, loss and duplication
// between two tiers, digest comparison and the status of a topic
// (docs/api.md). Everything here is pure: rows and emitters in, values out.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "chaperone/status.h"
#include "store/store.h"
#include "analysis/tier_order.h"

namespace chaperone::analysis {

// ---------------------------------------------------------------------------
// Merging

// What one tier (or one tier in one datacenter) saw of a topic in one window,
// summed over the datacenters and clusters that were merged.
struct MergedWindow {
  int64_t window_begin_sec = 0, window_end_sec = 0;
  int64_t count = 0, no_time = 0, malformed = 0, records = 0;
  int64_t rows = 0;                // window rows merged
  std::optional<int64_t> bytes;    // unknown when some merged row's bytes are unknown (legacy)
  std::optional<uint64_t> digest;  // sum mod 2^64; unknown when some merged row lacks one
  // Latency in ms; absent when no merged row observed any latency.
  bool has_latency = false;
  double mean = 0, p50 = 0, p95 = 0, p99 = 0, max = 0;
  // Some row had no sketch (legacy) or an undecodable one: percentiles are the
  // maximum over rows, an upper bound of the true percentile.
  bool latency_upper_bound = false;
  int64_t updated_ms = 0;
};

// Merges rows of the same window (not checked): counts, bytes and digests add
// up; latency sketches merge bucket-wise; without sketches for every row that
// observed latency, percentiles are the max over rows (latency_upper_bound).
MergedWindow MergeRows(std::span<const store::WindowRow* const> rows);

// One line of the series endpoint: a tier, or a tier in one datacenter.
struct Series {
  std::string tier;
  std::optional<std::string> datacenter;
  std::vector<MergedWindow> points;  // ascending window
};

// Groups rows per tier (or per tier and datacenter) and merges each window.
// Series come in tier order, then datacenter name.
std::vector<Series> BuildSeries(const std::vector<store::WindowRow>& rows, bool by_datacenter, const TierOrder& order);
// The per-tier series (as BuildSeries without datacenters) from the store's
// window totals of one topic: counts, digests and updated_ms; the p99 of a
// window of one row (WindowTotal::Latency::kOne, the other percentiles 0);
// no latency for a window of several rows (merging needs the rows), no bytes
// or no_time.
std::vector<Series> SeriesFromTotals(const std::vector<store::TierTotals>& totals, const TierOrder& order);

// ---------------------------------------------------------------------------
// Finality

struct FinalityOptions {
  int64_t grace_sec = 60;
  // An emitter whose last record is older than this is stale (3 flush intervals).
  int64_t stale_after_ms = 180'000;
};

bool IsStale(const store::EmitterRow& e, int64_t now_ms, const FinalityOptions& opts);

// Per tier: the emitters and what they say about finality.
struct TierFinality {
  std::string tier;
  int emitters = 0;        // known emitters of the tier
  int stale_emitters = 0;  // of which stale
  // Lowest heartbeat watermark among the live (non-stale) emitters that send
  // heartbeats; absent when no live emitter heartbeats.
  std::optional<int64_t> watermark_ms;
};

// Decides whether a window is final for a tier. A window [begin, end) is final
// for a tier when every live emitter of that tier that sends heartbeats has a
// watermark >= end + grace. A tier without such an emitter (legacy clients, or
// every emitter stale) falls back to the wall clock: final when now >= end + grace.
// It also says when a final window's audit is incomplete (Incomplete,
// IncompleteSpans): the judgement then is unknown (ForEachJudged).
class Finality {
 public:
  // `datacenters`: when non-empty, only emitters in these datacenters count.
  Finality(const std::vector<store::EmitterRow>& emitters, int64_t now_ms, FinalityOptions opts,
           const std::vector<std::string>& datacenters = {});

  bool IsFinal(std::string_view tier, int64_t window_end_sec) const;
  // The time (ms) at which windows ending at or before it are final for the tier.
  int64_t FinalBeforeMs(std::string_view tier) const;
  // Stale emitters of the tier that were still reporting at or after `since_ms`.
  bool HasStaleEmitter(std::string_view tier, int64_t since_ms) const;
  // The tier's stale emitters as (last_seen_ms, watermark_ms).
  std::span<const std::pair<int64_t, int64_t>> StaleEmitters(std::string_view tier) const;
  // Whether a tier's count of window [begin, end) may be incomplete, given
  // the tier's `stale` emitters (StaleEmitters): one of them went silent while
  // the window was open to it, that is, it was last seen at or after the
  // window began and its heartbeat watermark had not passed the window's end
  // (it may have counted messages of the window that it never reported). An
  // emitter that went silent after the window was final for it does not count.
  static bool Incomplete(std::span<const std::pair<int64_t, int64_t>> stale, int64_t window_begin_sec,
                         int64_t window_end_sec);
  // The tier's incomplete spans: every emitter's EmitterRow::incomplete_ms
  // (records that never arrived, records it dropped), merged, ascending. A
  // window overlapping one may lack counts of the tier (SpanCursor).
  std::span<const std::pair<int64_t, int64_t>> IncompleteSpans(std::string_view tier) const;
  const TierFinality* Find(std::string_view tier) const;
  const FinalityOptions& options() const { return opts_; }
  int64_t now_ms() const { return now_ms_; }

 private:
  struct TierState {
    TierFinality info;
    int64_t latest_stale_seen_ms = -1;  // most recent last_seen_ms among stale emitters
    // The stale emitters' (last_seen_ms, watermark_ms): what Incomplete asks.
    std::vector<std::pair<int64_t, int64_t>> stale;
    std::vector<std::pair<int64_t, int64_t>> incomplete;  // IncompleteSpans
  };
  const TierState* State(std::string_view tier) const;
  int64_t now_ms_;
  FinalityOptions opts_;
  std::unordered_map<std::string, TierState> tiers_;
};

// Whether windows overlap a tier's incomplete spans (Finality::IncompleteSpans):
// window [begin, end) overlaps span [from, to] when from < end and to >=
// begin (in ms). Asked for windows in ascending order of begin, it moves a
// pointer along the spans: a day of windows costs one pass over them.
class SpanCursor {
 public:
  explicit SpanCursor(std::span<const std::pair<int64_t, int64_t>> spans) : next_(spans.begin()), end_(spans.end()) {}
  bool Overlaps(int64_t window_begin_sec, int64_t window_end_sec) {
    while (next_ != end_ && next_->second < window_begin_sec * 1000) ++next_;
    return next_ != end_ && next_->first < window_end_sec * 1000;
  }

 private:
  std::span<const std::pair<int64_t, int64_t>>::iterator next_, end_;
};

// ---------------------------------------------------------------------------
// Loss between two tiers

struct LossQuery {
  std::string source, target;
  std::vector<std::string> source_datacenters;  // empty = all
  std::vector<std::string> target_datacenters;  // empty = all
};

struct LossWindow {
  int64_t window_begin_sec = 0, window_end_sec = 0;
  int64_t source_count = 0, target_count = 0;
  int64_t lost = 0, duplicated = 0;
  double loss_ratio = 0;             // lost / source (0 when the source saw nothing)
  std::optional<bool> digest_match;  // absent when either side lacks a digest
  bool final = false;                // final for both tiers
};

// The one comparison of a window's two sides (ComputeLoss, ForEachJudged):
// counts, lost = max(0, source - target), duplicated = max(0, target -
// source), and digest_match when both sides know their digest. `W` is a
// LossWindow or a JudgedWindow.
template <typename W>
void CompareSides(W& w, int64_t source_count, std::optional<uint64_t> source_digest, int64_t target_count,
                  std::optional<uint64_t> target_digest) {
  w.source_count = source_count;
  w.target_count = target_count;
  w.lost = std::max<int64_t>(0, source_count - target_count);
  w.duplicated = std::max<int64_t>(0, target_count - source_count);
  w.digest_match = source_digest && target_digest ? std::optional<bool>(*source_digest == *target_digest)
                                                  : std::nullopt;
}

// Per window present in either tier: the target compared to the SUM of the
// source over the chosen datacenters (the aggregate-cluster rule). A tier with
// no row in a window saw nothing (count 0, digest 0). Ascending window.
std::vector<LossWindow> ComputeLoss(const std::vector<store::WindowRow>& rows, const LossQuery& q,
                                    const Finality& source_finality, const Finality& target_finality);

// ---------------------------------------------------------------------------
// Topic status

enum class TopicStatus { kHealthy, kNoData, kStaleEmitter, kDelay, kLoss };  // ascending severity
std::string_view StatusName(TopicStatus s);
std::optional<TopicStatus> ParseStatus(std::string_view s);

// ---------------------------------------------------------------------------
// Judging windows: one implementation for the overview and the loss detector

// What one window of a pair of tiers is (docs/detect.md, "Verdicts"):
//   kPending         not final for both tiers yet: nothing is said
//   kOk              as many messages in both, same digests (or no digest to compare)
//   kLoss            the target saw fewer than the source
//   kDuplicate       the target saw more
//   kDigestMismatch  as many, with different contents
//   kUnknown         final, but the audit of the window is itself incomplete
//                    on either tier (Finality::Incomplete: a stale emitter
//                    left it open; or it overlaps an incomplete span: records
//                    that never arrived or were dropped): the counts may
//                    differ without any message lost
enum class Verdict : uint8_t { kOk, kLoss, kDuplicate, kDigestMismatch, kUnknown, kPending };
std::string_view VerdictName(Verdict v);

struct JudgedWindow {
  int64_t window_begin_sec = 0, window_end_sec = 0;
  int64_t source_count = 0, target_count = 0;
  int64_t lost = 0, duplicated = 0;  // max(0, source - target), max(0, target - source)
  std::optional<bool> digest_match;  // absent when either side lacks a digest
  Verdict verdict = Verdict::kPending;
};

// Every window present in either series (a tier without a point in a window
// saw nothing), ascending. Both series are one tier each (BuildSeries or
// SeriesFromTotals, datacenters summed: the aggregate rule).
std::vector<JudgedWindow> JudgePair(const Series& source, const Series& target, const Finality& finality);
// The same, each window handed to `each(const JudgedWindow&)` in turn and
// nothing kept (the overview judges every window of a day of every topic per
// request; the detector every topic's at each cycle).
// The digest of a point of a series, when known.
inline std::optional<uint64_t> DigestOf(const MergedWindow& m) { return m.digest; }
inline std::optional<uint64_t> DigestOf(const store::WindowTotal& t) {
  return t.digest_known() ? std::optional<uint64_t>(t.digest) : std::nullopt;
}

// The same over two tiers' points of any kind with window_begin_sec,
// window_end_sec, count and a DigestOf: MergedWindow (a Series) or
// store::WindowTotal (the detector judges the store's totals as they are read,
// without building series).
template <typename Points, typename F>
void ForEachJudgedPoints(std::string_view src_tier, const Points& src, std::string_view dst_tier, const Points& dst,
                         const Finality& finality, F&& each) {
  // Final for both tiers when end * 1000 <= both horizons: looked up once.
  const int64_t final_before_ms = std::min(finality.FinalBeforeMs(src_tier), finality.FinalBeforeMs(dst_tier));
  const auto src_stale = finality.StaleEmitters(src_tier), dst_stale = finality.StaleEmitters(dst_tier);
  SpanCursor src_spans(finality.IncompleteSpans(src_tier)), dst_spans(finality.IncompleteSpans(dst_tier));
  auto a = src.begin(), b = dst.begin();
  JudgedWindow w;
  // Walk the union of both tiers' windows in order; a tier without a point
  // saw nothing (count 0, digest 0).
  while (a != src.end() || b != dst.end()) {
    const bool in_src = a != src.end() && (b == dst.end() || a->window_begin_sec <= b->window_begin_sec);
    const bool in_dst = b != dst.end() && (a == src.end() || b->window_begin_sec <= a->window_begin_sec);
    const auto* s = in_src ? &*a++ : nullptr;
    const auto* d = in_dst ? &*b++ : nullptr;
    w.window_begin_sec = s ? s->window_begin_sec : d->window_begin_sec;
    w.window_end_sec = std::max<int64_t>(s ? s->window_end_sec : 0, d ? d->window_end_sec : 0);
    CompareSides(w, s ? s->count : 0, s ? DigestOf(*s) : std::optional<uint64_t>(0), d ? d->count : 0,
                 d ? DigestOf(*d) : std::optional<uint64_t>(0));
    const bool mismatch = w.digest_match.has_value() && !*w.digest_match;
    w.verdict = w.window_end_sec * 1000 > final_before_ms ? Verdict::kPending
                : Finality::Incomplete(src_stale, w.window_begin_sec, w.window_end_sec) ||
                        Finality::Incomplete(dst_stale, w.window_begin_sec, w.window_end_sec) ||
                        src_spans.Overlaps(w.window_begin_sec, w.window_end_sec) ||
                        dst_spans.Overlaps(w.window_begin_sec, w.window_end_sec)
                    ? Verdict::kUnknown
                : w.lost > 0                ? Verdict::kLoss
                : w.duplicated > 0          ? Verdict::kDuplicate
                : mismatch                  ? Verdict::kDigestMismatch
                                            : Verdict::kOk;
    each(std::as_const(w));
  }
}

template <typename F>
void ForEachJudged(const Series& src, const Series& dst, const Finality& finality, F&& each) {
  ForEachJudgedPoints(src.tier, src.points, dst.tier, dst.points, finality, std::forward<F>(each));
}

struct PairSummary {
  std::string source, target;
  // Over the final windows of the range whose audit is complete: an unknown
  // window (ForEachJudged) is neither loss nor duplicate, as for the detector.
  int64_t lost = 0, duplicated = 0;
  bool digest_mismatch = false;      // equal counts, different digests, in some final window
  int64_t final_windows = 0;
  int64_t unknown_windows = 0;       // of which unknown
};

struct TopicAnalysis {
  std::string topic;
  TopicStatus status = TopicStatus::kNoData;
  std::vector<std::string> tiers;                // tiers with data in the range, in pipeline order
  std::optional<int64_t> last_window_sec;        // latest window in the range
  std::optional<int64_t> latest_window_sec;      // latest window known at all (summary or range)
  std::optional<int64_t> last_final_window_sec;  // final for every tier of the topic
  std::vector<PairSummary> pairs;                // consecutive tiers
  // p99 per tier in the last final window (the last window when none is final).
  std::vector<std::pair<std::string, double>> p99_by_tier;
  int64_t last_updated_ms = 0;  // the later of the summary's and the range's rows

  int64_t loss_total() const;  // lost + duplicated over all pairs
  double max_p99() const;      // -1 when unknown
};

struct AnalysisOptions {
  TierOrder tier_order;
  int64_t delay_threshold_ms = 60'000;
};

// Status of one topic over a range from its rows in that range. `range_from_sec`
// bounds which stale emitters matter (those that went silent within the range).
TopicAnalysis AnalyzeTopic(const store::TopicSummary& summary, const std::vector<store::WindowRow>& rows,
                           const Finality& finality, const AnalysisOptions& opts, int64_t range_from_sec);
// The same from the topic's per-tier series (BuildSeries without datacenters, in tier order).
TopicAnalysis AnalyzeSeries(const store::TopicSummary& summary, const std::vector<Series>& series,
                            const Finality& finality, const AnalysisOptions& opts, int64_t range_from_sec);
// The window whose latency the analysis shows (the last final window, else the last one).
std::optional<int64_t> ShownWindow(const TopicAnalysis& t);
// Sets p99_by_tier from `latency` (series holding at least the shown window
// with its latency) and the status that depends on it: for an analysis of
// series without latency (SeriesFromTotals).
void JudgeLatency(TopicAnalysis& t, const std::vector<Series>& latency, const Finality& finality,
                  const AnalysisOptions& opts, int64_t range_from_sec);

// ---------------------------------------------------------------------------
// Listing topics

enum class TopicSortKey { kTopic, kStatus, kLoss, kP99 };
struct TopicSort {
  TopicSortKey key = TopicSortKey::kTopic;
  bool descending = false;
};
// "topic" | "status" | "loss" | "p99", optionally prefixed by '-'.
Result<TopicSort> ParseTopicSort(std::string_view s);
// Sorts by the key (status by severity, loss by lost + duplicated, p99 by the
// largest p99 of the topic, unknown last); ties by topic name ascending.
void SortTopics(std::vector<TopicAnalysis>& topics, const TopicSort& sort);
// Case-insensitive substring match of `q` in `topic` (empty q matches all).
bool TopicMatches(std::string_view topic, std::string_view q);

}  // namespace chaperone::analysis
