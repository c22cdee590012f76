#include "web/overview_cache.h"

#include <algorithm>

namespace chaperone::web {

OverviewCache::OverviewCache(const Clock& clock, OverviewCacheOptions opts, TierOrder order)
    : clock_(clock), opts_(opts), order_(std::move(order)) {}

size_t OverviewCache::topics() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

int64_t OverviewCache::rows_read() const {
  std::lock_guard lock(mu_);
  return rows_read_;
}

void OverviewCache::Retain(const std::unordered_set<std::string>& keep) {
  std::lock_guard lock(mu_);
  std::erase_if(entries_, [&](const auto& kv) { return !keep.count(kv.first); });
}

Result<std::shared_ptr<const OverviewCache::SeriesList>> OverviewCache::Get(store::Store& store,
                                                                            const std::string& topic, int64_t from_sec,
                                                                            int64_t to_sec) {
  if (to_sec - from_sec > opts_.max_range_sec) {
    auto rows = store.QueryWindows(topic, std::nullopt, from_sec, to_sec);
    if (!rows.ok()) return rows.status();
    {
      std::lock_guard lock(mu_);
      rows_read_ += static_cast<int64_t>(rows->size());
    }
    return std::make_shared<const SeriesList>(BuildSeries(*rows, /*by_datacenter=*/false, order_));
  }

  std::lock_guard lock(mu_);
  int64_t now_ns = clock_.MonotonicNs();
  auto it = entries_.find(topic);
  bool full = it == entries_.end() || from_sec < it->second.from_sec || to_sec < it->second.to_sec ||
              now_ns - it->second.full_read_ns > opts_.full_refresh_sec * 1'000'000'000;
  if (full) {
    auto rows = store.QueryWindows(topic, std::nullopt, from_sec, to_sec);
    if (!rows.ok()) return rows.status();
    rows_read_ += static_cast<int64_t>(rows->size());
    Entry e;
    e.series = std::make_shared<const SeriesList>(BuildSeries(*rows, /*by_datacenter=*/false, order_));
    e.from_sec = from_sec;
    e.to_sec = to_sec;
    e.full_read_ns = now_ns;
    auto result = e.series;
    entries_[topic] = std::move(e);
    return result;
  }

  Entry& e = it->second;
  // Re-read from `cut` on: the recent windows, anything new since the last
  // read, and always the newest window of every tier (it may still be filling).
  int64_t cut = std::min(e.to_sec, to_sec - opts_.recent_sec);
  for (const auto& s : *e.series) {
    if (!s.points.empty()) cut = std::min(cut, s.points.back().window_begin_sec);
  }
  cut = std::max(cut, from_sec);
  auto rows = store.QueryWindows(topic, std::nullopt, cut, to_sec);
  if (!rows.ok()) return rows.status();
  rows_read_ += static_cast<int64_t>(rows->size());
  std::vector<Series> fresh = BuildSeries(*rows, /*by_datacenter=*/false, order_);

  auto next = std::make_shared<SeriesList>();
  for (const auto& old : *e.series) {
    Series kept{old.tier, old.datacenter, {}};
    for (const auto& p : old.points) {
      if (p.window_begin_sec >= from_sec && p.window_begin_sec < cut) kept.points.push_back(p);
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
    }
  }
  std::erase_if(*next, [](const Series& s) { return s.points.empty(); });
  std::sort(next->begin(), next->end(), [&](const Series& a, const Series& b) { return order_.Less(a.tier, b.tier); });
  e.series = std::move(next);
  e.from_sec = from_sec;
  e.to_sec = to_sec;
  return e.series;
}

}  // namespace chaperone::web
