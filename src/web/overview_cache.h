// Per-topic series kept between /api/v1/topics requests, from the store's
// window totals (counts and digests per tier and window, a few stored values
// per topic and tier a day: never the window rows); the latency of the one
// window the overview shows is read from its rows, again only when it changed.
// The overview judges every topic over the last day: re-reading it all each
// time reads every window of that day. Instead, each refresh re-reads only the recent windows (those that
// are still filling up or closing) and reuses the older, merged ones; a full
// re-read every `full_refresh_sec` picks up late changes to older windows.
// The store's topic summary (its days of the range, with their change counter)
// says when nothing changed: then nothing is read at all; and a change in a
// day wholly before the recent windows is re-read at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chaperone/clock.h"
#include "chaperone/status.h"
#include "store/store.h"
#include "analysis/analysis.h"
#include "analysis/tier_order.h"

namespace chaperone::web {

// The tier comparison the API serves (src/analysis).
using namespace ::chaperone::analysis;  // NOLINT(google-build-using-namespace)

struct OverviewCacheOptions {
  int64_t recent_sec = 3600;          // windows that began this close to `to` are always re-read
  int64_t full_refresh_sec = 300;     // older windows are re-read at least this often
  int64_t max_range_sec = 2 * 86400;  // longer ranges are not cached (memory bound)
};

class OverviewCache {
 public:
  using SeriesList = std::vector<Series>;

  OverviewCache(const Clock& clock, OverviewCacheOptions opts, TierOrder order);

  // The per-tier series (BuildSeries without datacenters) of `topic` over
  // windows beginning in [from, to). Ranges longer than max_range_sec are read
  // in full and not kept.
  // `days`: the topic's rows of QueryTopicSummary(from, to), read with this
  // request (ordered by tier, day).
  Result<std::shared_ptr<const SeriesList>> Get(store::Store& store, const std::string& topic, int64_t from_sec,
                                                int64_t to_sec, std::span<const store::TopicDay> days);
  // The per-tier series of `topic`'s window `window_sec` merged from its
  // rows, with latency, when some tier has several rows in that window (the
  // series from Get then hold no latency for it); null when `series` (from
  // Get) hold it already. Read again only when the window's totals changed.
  Result<std::shared_ptr<const SeriesList>> Latency(store::Store& store, const std::string& topic, int64_t window_sec,
                                                    const SeriesList& series);
  // Forgets topics not in `keep` (deleted by retention, or gone from the listing).
  void Retain(const std::unordered_set<std::string>& keep);

  size_t topics() const;
  int64_t rows_read() const;  // window totals and rows read from the store so far (for tests and metrics)

 private:
  struct Entry {
    std::shared_ptr<const SeriesList> series;
    int64_t from_sec = 0, to_sec = 0;  // the range it holds
    int64_t full_read_ns = 0;          // monotonic time of the last full read
    std::vector<store::TopicDay> days;  // the topic summary's days when it was read
  };

  struct LatencyEntry {
    int64_t window_sec = 0;
    std::vector<int64_t> stamp;  // updated_ms of the window per series of Get (-1: absent)
    std::shared_ptr<const SeriesList> series;
  };
  Result<std::vector<store::TierTotals>> ReadTotals(store::Store& store, const std::string& topic, int64_t from_sec,
                                                     int64_t to_sec);

  const Clock& clock_;
  const OverviewCacheOptions opts_;
  const TierOrder order_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;          // guarded by mu_
  std::unordered_map<std::string, LatencyEntry> latency_;   // guarded by mu_
  std::atomic<int64_t> read_{0};
};

}  // namespace chaperone::web
