#include "web/topic_catalog.h"

namespace chaperone::web {

TopicCatalog::TopicCatalog(const Clock& clock, int64_t max_age_ms, int64_t miss_refresh_ms)
    : clock_(clock), max_age_ns_(max_age_ms * 1'000'000), miss_refresh_ns_(miss_refresh_ms * 1'000'000) {}

Status TopicCatalog::Refresh(store::Store& store) {
  auto topics = store.ListTopics();
  if (!topics.ok()) return topics.status();
  names_.clear();
  for (const auto& t : *topics) names_.insert(t.topic);
  list_ = std::make_shared<const List>(std::move(*topics));
  fetched_ns_ = clock_.MonotonicNs();
  return Status::Ok();
}

Result<std::shared_ptr<const TopicCatalog::List>> TopicCatalog::Get(store::Store& store) {
  std::lock_guard lock(mu_);
  if (!list_ || clock_.MonotonicNs() - fetched_ns_ > max_age_ns_) {
    if (Status s = Refresh(store); !s.ok()) return s;
  }
  return list_;
}

Result<bool> TopicCatalog::Exists(store::Store& store, const std::string& topic) {
  std::lock_guard lock(mu_);
  if (list_ && names_.count(topic)) return true;
  if (!list_ || clock_.MonotonicNs() - fetched_ns_ > miss_refresh_ns_) {
    if (Status s = Refresh(store); !s.ok()) return s;
  }
  return names_.count(topic) > 0;
}

}  // namespace chaperone::web
