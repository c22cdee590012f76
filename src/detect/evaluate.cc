#include "detect/evaluate.h"

#include <algorithm>

namespace chaperone::detect {
namespace {

// Judges one topic's tiers (its window totals, ordered by tier) pair by pair.
void JudgeTopic(const std::vector<store::TierTotals>& tiers, const analysis::Finality& finality,
                const EvaluateOptions& opts, Evaluation& out) {
  std::vector<analysis::Series> series = analysis::SeriesFromTotals(tiers, opts.tier_order);
  ++out.topics;
  for (size_t i = 0; i + 1 < series.size(); ++i) {
    ++out.pairs;
    analysis::ForEachJudged(series[i], series[i + 1], finality, [&](const analysis::JudgedWindow& w) {
      ++out.windows;
      ++out.by_verdict[static_cast<size_t>(w.verdict)];
      if (w.verdict != analysis::Verdict::kOk && w.verdict != analysis::Verdict::kPending) {
        out.findings.push_back(Finding{tiers.front().topic, series[i].tier, series[i + 1].tier, w});
      }
    });
  }
}

}  // namespace

Result<Evaluation> Evaluate(store::Store& store, int64_t from_sec, int64_t to_sec, int64_t now_ms,
                            const EvaluateOptions& opts) {
  auto emitters = store.QueryEmitters(std::nullopt);
  if (!emitters.ok()) return emitters.status();
  const analysis::Finality finality(*emitters, now_ms, opts.finality);
  auto listed = store.ListTopics();
  if (!listed.ok()) return listed.status();
  std::vector<std::string> names;
  names.reserve(listed->size());
  for (const auto& t : *listed) {
    if (t.last_window_sec >= from_sec && t.first_window_sec < to_sec) names.push_back(t.topic);
  }
  std::sort(names.begin(), names.end());  // byte order, as the store compares a span of names
  Evaluation out;
  const size_t step = std::max<size_t>(1, opts.topics_per_read);
  for (size_t i = 0; i < names.size(); i += step) {
    const size_t last = std::min(names.size(), i + step) - 1;
    auto totals = store.QueryWindowTotals(from_sec, to_sec, std::pair{names[i], names[last]});
    if (!totals.ok()) return totals.status();
    // Ordered by topic, then tier: one topic's tiers are consecutive.
    for (size_t a = 0, b = 0; a < totals->size(); a = b) {
      const std::string name = (*totals)[a].topic;
      std::vector<store::TierTotals> topic;
      for (b = a; b < totals->size() && (*totals)[b].topic == name; ++b) topic.push_back(std::move((*totals)[b]));
      JudgeTopic(topic, finality, opts, out);
    }
  }
  return out;
}

}  // namespace chaperone::detect
