#include "detect/evaluate.h"

#include <algorithm>
#include <deque>
#include <future>

namespace chaperone::detect {
namespace {

// Judges one topic's tiers (its window totals) pair by pair, in pipeline order.
void JudgeTopic(const std::vector<store::TierTotals>& tiers, const analysis::Finality& finality,
                const EvaluateOptions& opts, Evaluation& out) {
  std::vector<const store::TierTotals*> series;
  series.reserve(tiers.size());
  for (const store::TierTotals& t : tiers) series.push_back(&t);
  std::stable_sort(series.begin(), series.end(),
                   [&](const auto* a, const auto* b) { return opts.tier_order.Less(a->tier, b->tier); });
  ++out.topics;
  const int64_t extra_ms = opts.extra_grace_sec ? opts.extra_grace_sec(tiers.front().topic) * 1000 : 0;
  for (size_t i = 0; i + 1 < series.size(); ++i) {
    ++out.pairs;
    const store::TierTotals& src = *series[i];
    const store::TierTotals& dst = *series[i + 1];
    const int64_t final_before_ms = std::min(finality.FinalBeforeMs(src.tier), finality.FinalBeforeMs(dst.tier)) - extra_ms;
    analysis::ForEachJudgedPoints(src.tier, src.windows, dst.tier, dst.windows, finality,
                                  [&](const analysis::JudgedWindow& judged) {
      // A window final under finality's grace but not under the topic's own is pending.
      const bool held = extra_ms > 0 && judged.window_end_sec * 1000 > final_before_ms;
      analysis::JudgedWindow copy;
      if (held) {
        copy = judged;
        copy.verdict = analysis::Verdict::kPending;
      }
      const analysis::JudgedWindow& w = held ? copy : judged;
      ++out.windows;
      ++out.by_verdict[static_cast<size_t>(w.verdict)];
      if (w.verdict != analysis::Verdict::kOk && w.verdict != analysis::Verdict::kPending) {
        out.findings.push_back(Finding{src.topic, src.tier, dst.tier, w});
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
  std::sort(names.begin(), names.end());
  Evaluation out;
  const size_t step = std::max<size_t>(1, opts.topics_per_read);
  // The totals of names[i .. i + step), read on threads of their own while
  // earlier spans are judged on this one: one read in flight per connection
  // (`store` and opts.readers), span k on connection k modulo their number.
  std::vector<store::Store*> readers = {&store};
  for (store::Store* r : opts.readers) {
    if (r != nullptr && r != &store) readers.push_back(r);
  }
  auto read = [&names, step, from_sec, to_sec](store::Store* reader, size_t i) {
    return std::async(std::launch::async, [reader, &names, i, step, from_sec, to_sec] {
      const size_t end = std::min(names.size(), i + step);
      return reader->QueryWindowTotals(from_sec, to_sec, std::span<const std::string>(names).subspan(i, end - i));
    });
  };
  std::deque<std::future<Result<std::vector<store::TierTotals>>>> ahead;
  size_t next_read = 0;
  for (size_t k = 0; k < readers.size() && next_read < names.size(); ++k, next_read += step) {
    ahead.push_back(read(readers[k], next_read));
  }
  for (size_t i = 0, k = 0; i < names.size(); i += step, ++k) {
    auto totals = ahead.front().get();
    ahead.pop_front();
    if (!totals.ok()) return totals.status();
    if (next_read < names.size()) {  // the connection just freed reads the next span
      ahead.push_back(read(readers[k % readers.size()], next_read));
      next_read += step;
    }
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
