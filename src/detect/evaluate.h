// One evaluation cycle of the loss detector: every topic's windows over a
// range, judged tier pair by tier pair (analysis::JudgePair, the judgement the
// dashboard shows), from the store's window totals: never the window rows.
// The alert lifecycle and the notifications are built on its findings.
//
// Thread and memory contract: Evaluate reads `store` from the calling thread,
// and `store` and opts.readers from one thread each (the next spans of topics
// are read while the last one is judged; Store is thread-safe) and keeps
// nothing once it returns; it holds the totals of at most (connections + 1)
// x `topics_per_read` topics at a time, plus its findings.
#pragma once

#include <array>
#include <functional>
#include <string_view>
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analysis.h"
#include "analysis/tier_order.h"
#include "chaperone/status.h"
#include "store/store.h"

namespace chaperone::detect {

struct EvaluateOptions {
  analysis::TierOrder tier_order;
  analysis::FinalityOptions finality;
  size_t topics_per_read = 500;  // topics whose window totals are read in one query
  // Seconds of grace a topic needs beyond finality.grace_sec (a rule's own
  // grace): its windows that are final under finality but not under the
  // larger grace are pending. Empty: none.
  std::function<int64_t(std::string_view topic)> extra_grace_sec;
  // More connections to the same store: the window totals are read on all of
  // them at once (each on a thread of its own), besides `store`.
  std::vector<store::Store*> readers;
};

// A final window of one pair of tiers that is not ok.
struct Finding {
  std::string topic, source, target;
  analysis::JudgedWindow window;
};

struct Evaluation {
  int64_t topics = 0;   // topics with windows in the range
  int64_t pairs = 0;    // pairs of consecutive tiers judged
  int64_t windows = 0;  // windows judged over all pairs
  std::array<int64_t, 6> by_verdict{};  // windows per analysis::Verdict
  std::vector<Finding> findings;        // neither ok nor pending: by topic, pair, window
  int64_t count(analysis::Verdict v) const { return by_verdict[static_cast<size_t>(v)]; }
};

// Judges the windows beginning in [from, to) of every topic, as of `now_ms`
// (finality from the emitters' heartbeats as the store has them now).
Result<Evaluation> Evaluate(store::Store& store, int64_t from_sec, int64_t to_sec, int64_t now_ms,
                            const EvaluateOptions& opts);

}  // namespace chaperone::detect
