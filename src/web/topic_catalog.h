// The store's topic summaries, reused for a few seconds. Listing topics may
// read a large part of the store, and every 404 check and every overview needs
// the list: one refresh serves all requests of that moment.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "chaperone/clock.h"
#include "chaperone/status.h"
#include "store/store.h"

namespace chaperone::web {

class TopicCatalog {
 public:
  using List = std::vector<store::TopicSummary>;

  // `max_age_ms`: how old a list may be when served; `miss_refresh_ms`: how
  // often an unknown topic name may trigger a refresh (bounds the cost of 404s).
  TopicCatalog(const Clock& clock, int64_t max_age_ms, int64_t miss_refresh_ms);

  // The summaries, refreshed through `store` when older than max_age.
  Result<std::shared_ptr<const List>> Get(store::Store& store);
  // Whether the store knows `topic` (any window, any time).
  Result<bool> Exists(store::Store& store, const std::string& topic);

 private:
  Status Refresh(store::Store& store);  // mu_ held

  const Clock& clock_;
  const int64_t max_age_ns_, miss_refresh_ns_;
  std::mutex mu_;                          // serialises refreshes too: concurrent requests wait for one
  std::shared_ptr<const List> list_;       // guarded by mu_
  std::unordered_set<std::string> names_;  // guarded by mu_
  int64_t fetched_ns_ = 0;                 // monotonic; guarded by mu_
};

}  // namespace chaperone::web
