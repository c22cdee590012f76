#include "pipeline/subscription.h"

#include <spdlog/spdlog.h>

namespace chaperone::pipeline {

void PendingSubscription::Offer(std::vector<std::string> topics) {
  std::lock_guard lock(mu_);
  pending_ = std::move(topics);
}

Status PendingSubscription::Apply(kafka::Consumer& consumer, const char* log_prefix) {
  std::optional<std::vector<std::string>> next;
  {
    std::lock_guard lock(mu_);
    next.swap(pending_);
  }
  if (!next || *next == subscribed_) return Status::Ok();
  if (Status s = consumer.Subscribe(*next); !s.ok()) {
    spdlog::error("{}: subscribe failed (retrying at the next discovery): {}", log_prefix, s.message());
    return s;
  }
  spdlog::info("{}: subscribed to {} topics", log_prefix, next->size());
  subscribed_ = std::move(*next);
  return Status::Ok();
}

}  // namespace chaperone::pipeline
