#include "web/overview_cache.h"

#include <algorithm>
#include <tuple>

namespace chaperone::web {

OverviewCache::OverviewCache(const Clock& clock, OverviewCacheOptions opts, TierOrder order)
    : clock_(clock), opts_(opts), order_(std::move(order)) {}

size_t OverviewCache::topics() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

int64_t OverviewCache::rows_read() const { return read_.load(std::memory_order_relaxed); }

void OverviewCache::Retain(const std::unordered_set<std::string>& keep) {
  std::lock_guard lock(mu_);
  std::erase_if(entries_, [&](const auto& kv) { return !keep.count(kv.first); });
  std::erase_if(latency_, [&](const auto& kv) { return !keep.count(kv.first); });
}

// One topic's window totals (a few stored values per tier a day), counted in read_.
Result<std::vector<store::TierTotals>> OverviewCache::ReadTotals(store::Store& store, const std::string& topic,
                                                                 int64_t from_sec, int64_t to_sec) {
  auto totals = store.QueryWindowTotals(from_sec, to_sec, std::span<const std::string>(&topic, 1));
  if (totals.ok()) {
    for (const auto& t : *totals) read_.fetch_add(static_cast<int64_t>(t.windows.size()), std::memory_order_relaxed);
  }
  return totals;
}

Result<std::shared_ptr<const OverviewCache::SeriesList>> OverviewCache::Latency(store::Store& store,
                                                                                const std::string& topic,
                                                                                int64_t window_sec,
                                                                                const SeriesList& series) {
  // The window's totals say whether its rows changed since they were read;
  // windows of one row hold their p99 already (then nothing is read).
  std::vector<int64_t> stamp;
  bool several = false;
  for (const Series& s : series) {
    auto p = std::lower_bound(s.points.begin(), s.points.end(), window_sec,
                              [](const MergedWindow& m, int64_t w) { return m.window_begin_sec < w; });
    const bool found = p != s.points.end() && p->window_begin_sec == window_sec;
    stamp.push_back(found ? p->updated_ms : -1);
    several = several || (found && p->rows > 1);
  }
  if (!several) return std::shared_ptr<const SeriesList>();
  std::lock_guard lock(mu_);
  auto it = latency_.find(topic);
  if (it != latency_.end() && it->second.window_sec == window_sec && it->second.stamp == stamp) {
    return it->second.series;
  }
  auto rows = store.QueryWindows(topic, std::nullopt, window_sec, window_sec + 1);
  if (!rows.ok()) return rows.status();
  read_.fetch_add(static_cast<int64_t>(rows->size()), std::memory_order_relaxed);
  auto built = std::make_shared<const SeriesList>(BuildSeries(*rows, /*by_datacenter=*/false, order_));
  latency_[topic] = LatencyEntry{window_sec, std::move(stamp), built};
  return built;
}

Result<std::shared_ptr<const OverviewCache::SeriesList>> OverviewCache::Get(store::Store& store,
                                                                            const std::string& topic, int64_t from_sec,
                                                                            int64_t to_sec,
                                                                            std::span<const store::TopicDay> days) {
  if (to_sec - from_sec > opts_.max_range_sec) {
    auto totals = ReadTotals(store, topic, from_sec, to_sec);
    if (!totals.ok()) return totals.status();
    return std::make_shared<const SeriesList>(SeriesFromTotals(*totals, order_));
  }

  std::lock_guard lock(mu_);
  int64_t now_ns = clock_.MonotonicNs();
  auto it = entries_.find(topic);
  bool full = it == entries_.end() || from_sec < it->second.from_sec || to_sec < it->second.to_sec ||
              now_ns - it->second.full_read_ns > opts_.full_refresh_sec * 1'000'000'000;
  if (full) {
    auto totals = ReadTotals(store, topic, from_sec, to_sec);
    if (!totals.ok()) return totals.status();
    Entry e;
    e.series = std::make_shared<const SeriesList>(SeriesFromTotals(*totals, order_));
    e.from_sec = from_sec;
    e.to_sec = to_sec;
    e.full_read_ns = now_ns;
    e.days.assign(days.begin(), days.end());
    auto result = e.series;
    entries_[topic] = std::move(e);
    return result;
  }

  Entry& e = it->second;
  // The days whose summary changed since the last read (a row added, gone or
  // different, its change counter included), and whether a window begins
  // where the last read did not reach.
  std::vector<int64_t> changed;
  bool beyond = false;
  {
    auto key = [](const store::TopicDay& d) { return std::tie(d.tier, d.day_sec); };
    auto a = e.days.begin();
    auto b = days.begin();
    while (a != e.days.end() || b != days.end()) {
      if (b == days.end() || (a != e.days.end() && key(*a) < key(*b))) {
        changed.push_back((a++)->day_sec);
      } else if (a == e.days.end() || key(*b) < key(*a)) {
        changed.push_back((b++)->day_sec);
      } else {
        if (*a != *b) changed.push_back(b->day_sec);
        ++a, ++b;
      }
    }
    for (const auto& d : days) beyond = beyond || d.last_window_sec >= e.to_sec;
  }
  if (changed.empty() && !beyond) {
    // Nothing changed and nothing new came into the range: the series as it
    // was, cut to the range (shared as it is when no point left it).
    e.from_sec = from_sec;
    e.to_sec = to_sec;
    bool inside = std::all_of(e.series->begin(), e.series->end(), [&](const Series& s) {
      return s.points.empty() || (s.points.front().window_begin_sec >= from_sec && s.points.back().window_begin_sec < to_sec);
    });
    if (inside) return e.series;
    auto same = std::make_shared<SeriesList>();
    for (const auto& old : *e.series) {
      Series kept{old.tier, old.datacenter, {}};
      for (const auto& p : old.points) {
        if (p.window_begin_sec >= from_sec && p.window_begin_sec < to_sec) kept.points.push_back(p);
      }
      if (!kept.points.empty()) same->push_back(std::move(kept));
    }
    e.series = std::move(same);
    return e.series;
  }
  // Re-read from `cut` on: the recent windows, anything new since the last
  // read, and always the newest window of every tier (it may still be filling);
  // and each changed day that ends before `cut`.
  int64_t cut = std::min(e.to_sec, to_sec - opts_.recent_sec);
  for (const auto& s : *e.series) {
    if (!s.points.empty()) cut = std::min(cut, s.points.back().window_begin_sec);
  }
  cut = std::max(cut, from_sec);
  std::vector<std::pair<int64_t, int64_t>> spans;  // [begin, end), ascending, disjoint
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  for (int64_t day : changed) {
    // A change in the day of `cut` may be older than `cut`: the full refresh
    // reads it (re-reading that whole day with every change would cost more
    // than the recent windows do).
    if (day + 86400 > cut) continue;
    int64_t begin = std::max(day, from_sec), end = day + 86400;
    if (begin < end) spans.emplace_back(begin, end);
  }
  spans.emplace_back(cut, to_sec);
  std::vector<store::TierTotals> read;
  for (const auto& [begin, end] : spans) {  // ascending: a tier's windows stay in order
    auto totals = ReadTotals(store, topic, begin, end);
    if (!totals.ok()) return totals.status();
    for (auto& t : *totals) {
      auto same = std::find_if(read.begin(), read.end(), [&](const store::TierTotals& r) { return r.tier == t.tier; });
      if (same == read.end()) {
        read.push_back(std::move(t));
      } else {
        same->windows.insert(same->windows.end(), t.windows.begin(), t.windows.end());
      }
    }
  }
  std::vector<Series> fresh = SeriesFromTotals(read, order_);
  auto reread = [&](int64_t w) {
    return std::any_of(spans.begin(), spans.end(), [&](const auto& sp) { return sp.first <= w && w < sp.second; });
  };

  auto next = std::make_shared<SeriesList>();
  for (const auto& old : *e.series) {
    Series kept{old.tier, old.datacenter, {}};
    for (const auto& p : old.points) {
      if (p.window_begin_sec >= from_sec && p.window_begin_sec < cut && !reread(p.window_begin_sec)) {
        kept.points.push_back(p);
      }
    }
    next->push_back(std::move(kept));
  }
  for (auto& f : fresh) {
    auto same = std::find_if(next->begin(), next->end(), [&](const Series& s) { return s.tier == f.tier; });
    if (same == next->end()) {
      next->push_back(std::move(f));
    } else {
      same->points.insert(same->points.end(), std::make_move_iterator(f.points.begin()),
                          std::make_move_iterator(f.points.end()));
      if (spans.size() > 1) {  // re-read days lie between kept points
        std::sort(same->points.begin(), same->points.end(), [](const MergedWindow& a, const MergedWindow& b) {
          return a.window_begin_sec < b.window_begin_sec;
        });
      }
    }
  }
  std::erase_if(*next, [](const Series& s) { return s.points.empty(); });
  std::sort(next->begin(), next->end(), [&](const Series& a, const Series& b) { return order_.Less(a.tier, b.tier); });
  e.series = std::move(next);
  e.from_sec = from_sec;
  e.to_sec = to_sec;
  e.days.assign(days.begin(), days.end());
  return e.series;
}

}  // namespace chaperone::web
