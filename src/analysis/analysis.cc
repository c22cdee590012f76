#include "analysis/analysis.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>

#include "analysis/latency_merge.h"

namespace chaperone::analysis {

// ---------------------------------------------------------------------------
// Merging

namespace {

// Whether a stored row carries any latency observation. A v1 row without a
// sketch observed no latency (every message lacked an event time); a legacy
// row has no sketch but non-zero latency fields.
using store::HasLatency;

int64_t LatencyWeight(const store::WindowRow& r) { return std::max<int64_t>(0, r.count - r.no_time - r.malformed); }

void CopyLatency(const store::WindowRow& r, MergedWindow& m) {
  m.has_latency = true;
  m.mean = r.latency_mean;
  m.p50 = r.latency_p50;
  m.p95 = r.latency_p95;
  m.p99 = r.latency_p99;
  m.max = r.latency_max;
  m.latency_upper_bound = r.latency_upper_bound;
}

void MergeLatency(std::span<const store::WindowRow* const> rows, MergedWindow& m) {
  std::vector<const store::WindowRow*> with_latency;
  for (const auto* r : rows) {
    if (HasLatency(*r)) with_latency.push_back(r);
  }
  if (with_latency.empty()) return;
  if (with_latency.size() == 1) {
    CopyLatency(*with_latency[0], m);  // the collector already computed its percentiles
    return;
  }
  bool all_sketched = std::all_of(with_latency.begin(), with_latency.end(), [](const store::WindowRow* r) {
    return !r->latency_sketch.empty() && !r->latency_upper_bound;
  });
  if (all_sketched) {
    std::vector<std::string_view> encoded;
    encoded.reserve(with_latency.size());
    for (const auto* r : with_latency) encoded.push_back(r->latency_sketch);
    if (auto merged = MergeSketches(encoded)) {
      m.has_latency = true;
      m.mean = merged->mean;
      m.p50 = merged->p50;
      m.p95 = merged->p95;
      m.p99 = merged->p99;
      m.max = merged->max;
      m.latency_upper_bound = false;
      return;
    }
  }
  // Legacy rows (or an undecodable sketch): the max of percentiles bounds the
  // merged percentile from above; the mean is weighted by observations.
  m.has_latency = true;
  m.latency_upper_bound = true;
  double weighted = 0, plain = 0;
  int64_t weight = 0;
  for (const auto* r : with_latency) {
    m.p50 = std::max(m.p50, r->latency_p50);
    m.p95 = std::max(m.p95, r->latency_p95);
    m.p99 = std::max(m.p99, r->latency_p99);
    m.max = std::max(m.max, r->latency_max);
    weighted += r->latency_mean * static_cast<double>(LatencyWeight(*r));
    plain += r->latency_mean;
    weight += LatencyWeight(*r);
  }
  m.mean = weight > 0 ? weighted / static_cast<double>(weight) : plain / static_cast<double>(with_latency.size());
}

}  // namespace

MergedWindow MergeRows(std::span<const store::WindowRow* const> rows) {
  MergedWindow m;
  if (rows.empty()) return m;
  m.window_begin_sec = rows[0]->window_begin_sec;
  m.rows = static_cast<int64_t>(rows.size());
  bool bytes_known = true, digest_known = true;
  int64_t bytes = 0;
  uint64_t digest = 0;
  for (const auto* r : rows) {
    m.window_end_sec = std::max(m.window_end_sec, r->window_end_sec);
    m.count += r->count;
    m.no_time += r->no_time;
    m.malformed += r->malformed;
    m.records += r->records;
    m.updated_ms = std::max(m.updated_ms, r->updated_ms);
    bytes_known = bytes_known && r->bytes_known;
    bytes += r->bytes;
    digest_known = digest_known && r->digest_known;
    digest += r->digest;  // modulo 2^64
  }
  if (bytes_known) m.bytes = bytes;
  if (digest_known) m.digest = digest;
  MergeLatency(rows, m);
  return m;
}

std::vector<Series> BuildSeries(const std::vector<store::WindowRow>& rows, bool by_datacenter, const TierOrder& order) {
  std::vector<const store::WindowRow*> sorted;
  sorted.reserve(rows.size());
  for (const auto& r : rows) sorted.push_back(&r);
  // Tier ranks are computed once per distinct tier, not per comparison.
  std::map<std::string_view, size_t> rank;
  {
    std::vector<std::string> tiers;
    for (const auto& r : rows) {
      if (rank.emplace(r.tier, 0).second) tiers.push_back(r.tier);
    }
    order.Sort(tiers);
    for (size_t i = 0; i < tiers.size(); ++i) rank[tiers[i]] = i;
  }
  std::sort(sorted.begin(), sorted.end(), [&](const store::WindowRow* a, const store::WindowRow* b) {
    size_t ra = rank[a->tier], rb = rank[b->tier];
    if (ra != rb) return ra < rb;
    if (by_datacenter && a->datacenter != b->datacenter) return a->datacenter < b->datacenter;
    return a->window_begin_sec < b->window_begin_sec;
  });
  std::vector<Series> out;
  size_t i = 0;
  while (i < sorted.size()) {
    const store::WindowRow* first = sorted[i];
    Series s;
    s.tier = first->tier;
    if (by_datacenter) s.datacenter = first->datacenter;
    size_t j = i;
    while (j < sorted.size() && sorted[j]->tier == first->tier &&
           (!by_datacenter || sorted[j]->datacenter == first->datacenter)) {
      size_t k = j;
      while (k < sorted.size() && sorted[k]->tier == first->tier &&
             (!by_datacenter || sorted[k]->datacenter == first->datacenter) &&
             sorted[k]->window_begin_sec == sorted[j]->window_begin_sec) {
        ++k;
      }
      s.points.push_back(MergeRows(std::span<const store::WindowRow* const>(sorted.data() + j, k - j)));
      j = k;
    }
    out.push_back(std::move(s));
    i = j;
  }
  return out;
}

std::vector<Series> SeriesFromTotals(const std::vector<store::TierTotals>& totals, const TierOrder& order) {
  std::vector<Series> out;
  out.reserve(totals.size());
  for (const store::TierTotals& t : totals) {
    Series& s = out.emplace_back(Series{t.tier, std::nullopt, {}});
    s.points.reserve(t.windows.size());
    for (const store::WindowTotal& w : t.windows) {
      MergedWindow& m = s.points.emplace_back();
      m.window_begin_sec = w.window_begin_sec;
      m.window_end_sec = w.window_end_sec;
      m.count = w.count;
      m.rows = w.rows;
      if (w.digest_known()) m.digest = w.digest;
      m.updated_ms = w.updated_ms;
      if (w.latency == store::WindowTotal::Latency::kOne) {
        m.has_latency = true;
        m.p99 = w.p99;
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [&](const Series& a, const Series& b) { return order.Less(a.tier, b.tier); });
  return out;
}

// ---------------------------------------------------------------------------
// Finality

bool IsStale(const store::EmitterRow& e, int64_t now_ms, const FinalityOptions& opts) {
  return now_ms - e.last_seen_ms > opts.stale_after_ms;
}

Finality::Finality(const std::vector<store::EmitterRow>& emitters, int64_t now_ms, FinalityOptions opts,
                   const std::vector<std::string>& datacenters)
    : now_ms_(now_ms), opts_(opts) {
  for (const auto& e : emitters) {
    if (!datacenters.empty() && std::find(datacenters.begin(), datacenters.end(), e.datacenter) == datacenters.end()) {
      continue;
    }
    TierState& t = tiers_[e.tier];
    t.info.tier = e.tier;
    ++t.info.emitters;
    t.incomplete.insert(t.incomplete.end(), e.incomplete_ms.begin(), e.incomplete_ms.end());
    if (IsStale(e, now_ms, opts_)) {
      ++t.info.stale_emitters;
      t.latest_stale_seen_ms = std::max(t.latest_stale_seen_ms, e.last_seen_ms);
      t.stale.emplace_back(e.last_seen_ms, e.watermark_ms);
    } else if (e.watermark_ms > 0) {
      t.info.watermark_ms = t.info.watermark_ms ? std::min(*t.info.watermark_ms, e.watermark_ms) : e.watermark_ms;
    }
  }
  for (auto& [name, t] : tiers_) store::MergeSpans(t.incomplete, /*max_spans=*/0);
}

const Finality::TierState* Finality::State(std::string_view tier) const {
  auto it = tiers_.find(std::string(tier));
  return it == tiers_.end() ? nullptr : &it->second;
}

std::span<const std::pair<int64_t, int64_t>> Finality::IncompleteSpans(std::string_view tier) const {
  const TierState* t = State(tier);
  if (t == nullptr) return {};
  return t->incomplete;
}

std::span<const std::pair<int64_t, int64_t>> Finality::StaleEmitters(std::string_view tier) const {
  const TierState* t = State(tier);
  if (t == nullptr) return {};
  return t->stale;
}

bool Finality::Incomplete(std::span<const std::pair<int64_t, int64_t>> stale, int64_t window_begin_sec,
                          int64_t window_end_sec) {
  return std::any_of(stale.begin(), stale.end(), [&](const auto& e) {
    const auto [last_seen_ms, watermark_ms] = e;
    return last_seen_ms >= window_begin_sec * 1000 && watermark_ms < window_end_sec * 1000;
  });
}

const TierFinality* Finality::Find(std::string_view tier) const {
  auto it = tiers_.find(std::string(tier));
  return it == tiers_.end() ? nullptr : &it->second.info;
}

int64_t Finality::FinalBeforeMs(std::string_view tier) const {
  const TierFinality* t = Find(tier);
  int64_t reference = t && t->watermark_ms ? *t->watermark_ms : now_ms_;
  return reference - opts_.grace_sec * 1000;
}

bool Finality::IsFinal(std::string_view tier, int64_t window_end_sec) const {
  return window_end_sec * 1000 <= FinalBeforeMs(tier);
}

bool Finality::HasStaleEmitter(std::string_view tier, int64_t since_ms) const {
  auto it = tiers_.find(std::string(tier));
  return it != tiers_.end() && it->second.info.stale_emitters > 0 && it->second.latest_stale_seen_ms >= since_ms;
}

// ---------------------------------------------------------------------------
// Loss

namespace {

struct Side {
  int64_t count = 0;
  uint64_t digest = 0;
  bool digest_known = true;
  int64_t end_sec = 0;
};

bool Contains(const std::vector<std::string>& list, const std::string& v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

void AddTo(Side& s, const store::WindowRow& r) {
  s.count += r.count;
  s.digest += r.digest;
  s.digest_known = s.digest_known && r.digest_known;
  s.end_sec = std::max(s.end_sec, r.window_end_sec);
}

// Compares one window of two tiers.
LossWindow Compare(int64_t begin, const Side& src, const Side& dst, bool final) {
  LossWindow w;
  w.window_begin_sec = begin;
  w.window_end_sec = std::max(src.end_sec, dst.end_sec);
  CompareSides(w, src.count, src.digest_known ? std::optional(src.digest) : std::nullopt, dst.count,
               dst.digest_known ? std::optional(dst.digest) : std::nullopt);
  w.loss_ratio = src.count > 0 ? static_cast<double>(w.lost) / static_cast<double>(src.count) : 0.0;
  w.final = final;
  return w;
}

}  // namespace

std::vector<LossWindow> ComputeLoss(const std::vector<store::WindowRow>& rows, const LossQuery& q,
                                    const Finality& source_finality, const Finality& target_finality) {
  std::map<int64_t, std::pair<Side, Side>> windows;
  for (const auto& r : rows) {
    if (r.tier == q.source && Contains(q.source_datacenters, r.datacenter)) AddTo(windows[r.window_begin_sec].first, r);
    if (r.tier == q.target && Contains(q.target_datacenters, r.datacenter)) {
      AddTo(windows[r.window_begin_sec].second, r);
    }
  }
  std::vector<LossWindow> out;
  out.reserve(windows.size());
  for (const auto& [begin, sides] : windows) {
    int64_t end = std::max(sides.first.end_sec, sides.second.end_sec);
    bool final = source_finality.IsFinal(q.source, end) && target_finality.IsFinal(q.target, end);
    out.push_back(Compare(begin, sides.first, sides.second, final));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Topic status

std::string_view StatusName(TopicStatus s) {
  switch (s) {
    case TopicStatus::kHealthy:
      return "healthy";
    case TopicStatus::kNoData:
      return "no_data";
    case TopicStatus::kStaleEmitter:
      return "stale_emitter";
    case TopicStatus::kDelay:
      return "delay";
    case TopicStatus::kLoss:
      return "loss";
  }
  return "unknown";
}

std::optional<TopicStatus> ParseStatus(std::string_view s) {
  for (auto st : {TopicStatus::kHealthy, TopicStatus::kNoData, TopicStatus::kStaleEmitter, TopicStatus::kDelay,
                  TopicStatus::kLoss}) {
    if (StatusName(st) == s) return st;
  }
  return std::nullopt;
}

int64_t TopicAnalysis::loss_total() const {
  int64_t total = 0;
  for (const auto& p : pairs) total += p.lost + p.duplicated;
  return total;
}

double TopicAnalysis::max_p99() const {
  double m = -1;
  for (const auto& [tier, p99] : p99_by_tier) m = std::max(m, p99);
  return m;
}

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kLoss:
      return "loss";
    case Verdict::kDuplicate:
      return "duplicate";
    case Verdict::kDigestMismatch:
      return "digest_mismatch";
    case Verdict::kUnknown:
      return "unknown";
    case Verdict::kPending:
      return "pending";
  }
  return "pending";
}

std::vector<JudgedWindow> JudgePair(const Series& src, const Series& dst, const Finality& finality) {
  std::vector<JudgedWindow> out;
  out.reserve(std::max(src.points.size(), dst.points.size()));
  ForEachJudged(src, dst, finality, [&](const JudgedWindow& w) { out.push_back(w); });
  return out;
}

namespace {

const MergedWindow* FindPoint(const Series& s, int64_t window) {
  auto it = std::lower_bound(s.points.begin(), s.points.end(), window,
                             [](const MergedWindow& p, int64_t w) { return p.window_begin_sec < w; });
  return it != s.points.end() && it->window_begin_sec == window ? &*it : nullptr;
}

PairSummary SummarisePair(const Series& src, const Series& dst, const Finality& finality) {
  PairSummary p;
  p.source = src.tier;
  p.target = dst.tier;
  ForEachJudged(src, dst, finality, [&](const JudgedWindow& w) {
    if (w.verdict == Verdict::kPending) return;
    ++p.final_windows;
    if (w.verdict == Verdict::kUnknown) {
      ++p.unknown_windows;
      return;
    }
    p.lost += w.lost;
    p.duplicated += w.duplicated;
    if (w.lost == 0 && w.duplicated == 0 && w.digest_match == false) p.digest_mismatch = true;
  });
  return p;
}

}  // namespace

TopicAnalysis AnalyzeTopic(const store::TopicSummary& summary, const std::vector<store::WindowRow>& rows,
                           const Finality& finality, const AnalysisOptions& opts, int64_t range_from_sec) {
  return AnalyzeSeries(summary, BuildSeries(rows, /*by_datacenter=*/false, opts.tier_order), finality, opts,
                       range_from_sec);
}

TopicAnalysis AnalyzeSeries(const store::TopicSummary& summary, const std::vector<Series>& all_series,
                            const Finality& finality, const AnalysisOptions& opts, int64_t range_from_sec) {
  TopicAnalysis t;
  t.topic = summary.topic;
  t.last_updated_ms = summary.last_updated_ms;
  if (!summary.tiers.empty() || summary.last_window_sec > 0) t.latest_window_sec = summary.last_window_sec;
  std::vector<const Series*> series;
  for (const auto& s : all_series) {
    if (!s.points.empty()) series.push_back(&s);
  }
  if (series.empty()) {
    t.status = TopicStatus::kNoData;
    return t;
  }
  // Windows are final for the topic when final for every tier: the earliest
  // finality horizon over its tiers decides.
  int64_t final_before_ms = std::numeric_limits<int64_t>::max();
  for (const Series* s : series) {
    t.tiers.push_back(s->tier);
    final_before_ms = std::min(final_before_ms, finality.FinalBeforeMs(s->tier));
    int64_t last = s->points.back().window_begin_sec;
    t.last_window_sec = t.last_window_sec ? std::max(*t.last_window_sec, last) : last;
    for (const auto& p : s->points) t.last_updated_ms = std::max(t.last_updated_ms, p.updated_ms);
  }
  t.latest_window_sec = std::max(t.latest_window_sec.value_or(*t.last_window_sec), *t.last_window_sec);
  for (const Series* s : series) {
    for (auto it = s->points.rbegin(); it != s->points.rend(); ++it) {
      if (it->window_end_sec * 1000 <= final_before_ms) {
        if (!t.last_final_window_sec || it->window_begin_sec > *t.last_final_window_sec) {
          t.last_final_window_sec = it->window_begin_sec;
        }
        break;
      }
    }
  }
  for (size_t i = 0; i + 1 < series.size(); ++i) {
    t.pairs.push_back(SummarisePair(*series[i], *series[i + 1], finality));
  }

  JudgeLatency(t, all_series, finality, opts, range_from_sec);
  return t;
}

std::optional<int64_t> ShownWindow(const TopicAnalysis& t) {
  return t.last_final_window_sec ? t.last_final_window_sec : t.last_window_sec;
}

void JudgeLatency(TopicAnalysis& t, const std::vector<Series>& latency, const Finality& finality,
                  const AnalysisOptions& opts, int64_t range_from_sec) {
  t.p99_by_tier.clear();
  if (t.tiers.empty()) return;  // no data: the status stays no_data
  const int64_t shown = *ShownWindow(t);
  for (const Series& s : latency) {
    const MergedWindow* p = FindPoint(s, shown);
    if (p && p->has_latency) t.p99_by_tier.emplace_back(s.tier, p->p99);
  }

  bool loss = std::any_of(t.pairs.begin(), t.pairs.end(),
                          [](const PairSummary& p) { return p.lost > 0 || p.duplicated > 0 || p.digest_mismatch; });
  bool delay = t.last_final_window_sec && t.max_p99() > static_cast<double>(opts.delay_threshold_ms);
  bool stale = std::any_of(t.tiers.begin(), t.tiers.end(), [&](const std::string& tier) {
    return finality.HasStaleEmitter(tier, range_from_sec * 1000);
  });
  t.status = loss    ? TopicStatus::kLoss
             : delay ? TopicStatus::kDelay
             : stale ? TopicStatus::kStaleEmitter
                     : TopicStatus::kHealthy;
}

// ---------------------------------------------------------------------------
// Listing topics

Result<TopicSort> ParseTopicSort(std::string_view s) {
  TopicSort sort;
  std::string_view key = s;
  if (!key.empty() && key[0] == '-') {
    sort.descending = true;
    key.remove_prefix(1);
  }
  if (key == "topic") {
    sort.key = TopicSortKey::kTopic;
  } else if (key == "status") {
    sort.key = TopicSortKey::kStatus;
  } else if (key == "loss") {
    sort.key = TopicSortKey::kLoss;
  } else if (key == "p99") {
    sort.key = TopicSortKey::kP99;
  } else {
    return Status::InvalidArgument("sort: unknown key '" + std::string(s.substr(0, 64)) +
                                   "' (expected topic, status, loss or p99, optionally prefixed by '-')");
  }
  return sort;
}

void SortTopics(std::vector<TopicAnalysis>& topics, const TopicSort& sort) {
  auto by_key = [&](const TopicAnalysis& a, const TopicAnalysis& b) -> int {  // <0, 0, >0
    switch (sort.key) {
      case TopicSortKey::kTopic:
        return a.topic.compare(b.topic);
      case TopicSortKey::kStatus:
        return static_cast<int>(a.status) - static_cast<int>(b.status);
      case TopicSortKey::kLoss: {
        int64_t la = a.loss_total(), lb = b.loss_total();
        return la < lb ? -1 : la > lb ? 1 : 0;
      }
      case TopicSortKey::kP99: {
        double pa = a.max_p99(), pb = b.max_p99();
        return pa < pb ? -1 : pa > pb ? 1 : 0;
      }
    }
    return 0;
  };
  std::stable_sort(topics.begin(), topics.end(), [&](const TopicAnalysis& a, const TopicAnalysis& b) {
    if (sort.key == TopicSortKey::kP99) {
      bool ua = a.max_p99() < 0, ub = b.max_p99() < 0;  // unknown p99 sorts last either way
      if (ua != ub) return ub;
    }
    int c = by_key(a, b);
    if (c != 0) return sort.descending ? c > 0 : c < 0;
    return a.topic < b.topic;
  });
}

bool TopicMatches(std::string_view topic, std::string_view q) {
  if (q.empty()) return true;
  auto it = std::search(topic.begin(), topic.end(), q.begin(), q.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != topic.end();
}

}  // namespace chaperone::analysis
