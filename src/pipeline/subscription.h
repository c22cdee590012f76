// PendingSubscription: hands a topic set from a discovery thread to the
// consume thread, which subscribes at its next loop turn (LoopHooks::OnIteration).
// Offer from any thread; Apply on the consume thread only.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "lib/kafka/consumer.h"

namespace chaperone::pipeline {

class PendingSubscription {
 public:
  // The topic set to consume from now on (replaces an earlier offer not yet applied).
  void Offer(std::vector<std::string> topics);
  // Subscribes to the last offer if it differs from the current subscription.
  // An error is logged (`log_prefix`) and returned; the offer is dropped (the
  // caller offers again at its next discovery).
  Status Apply(kafka::Consumer& consumer, const char* log_prefix);
  const std::vector<std::string>& subscribed() const { return subscribed_; }

 private:
  std::mutex mu_;
  std::optional<std::vector<std::string>> pending_;  // guarded by mu_
  std::vector<std::string> subscribed_;               // consume thread
};

}  // namespace chaperone::pipeline
