#include "lib/kafka/fetch_waker.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>

#include "common/thread_name.h"

namespace chaperone::kafka {
namespace {

// A wake is one round trip; a leader that does not answer within this is
// left to librdkafka's own schedule.
constexpr int kWakeTimeoutMs = 1000;

int64_t PropertyOr(const KafkaProperties& props, std::string_view name, int64_t fallback) {
  const std::string* v = FindKafkaProperty(props, name);
  if (!v) return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  return end != v->c_str() && n > 0 ? n : fallback;
}

bool LibraryHasQueueBackoff() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  bool has = rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", "1", err, sizeof err) == RD_KAFKA_CONF_OK;
  rd_kafka_conf_destroy(conf);
  return has;
}

}  // namespace

FetchWakerPlan PlanFetchWaker(const KafkaProperties& consumer_properties) {
  FetchWakerPlan plan;
  plan.needed = !LibraryHasQueueBackoff();
  plan.max_messages = PropertyOr(consumer_properties, "queued.min.messages", plan.max_messages);
  plan.max_bytes = PropertyOr(consumer_properties, "queued.max.messages.kbytes", plan.max_bytes / 1000) * 1000;
  return plan;
}

FetchWaker::FetchWaker(rd_kafka_t* rk, TargetsFn targets)
    : rk_(rk), targets_(std::move(targets)), thread_(NamedThread("svc-fetch-waker", [this] { Loop(); })) {}

FetchWaker::~FetchWaker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void FetchWaker::Wake() {
  {
    std::lock_guard lock(mu_);
    pending_ = true;
  }
  cv_.notify_one();
}

void FetchWaker::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || pending_; });
    if (stop_) return;
    pending_ = false;
    lock.unlock();
    auto targets = targets_();
    if (!targets.empty()) {
      std::unique_ptr<rd_kafka_topic_partition_list_t, decltype(&rd_kafka_topic_partition_list_destroy)> list(
          rd_kafka_topic_partition_list_new(static_cast<int>(targets.size())), &rd_kafka_topic_partition_list_destroy);
      for (const auto& [topic, partition] : targets)
        rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = RD_KAFKA_OFFSET_END;
      // The answer does not matter: the request itself woke the leaders.
      rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_, list.get(), kWakeTimeoutMs);
      wakes_.fetch_add(1, std::memory_order_relaxed);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        errors_.fetch_add(1, std::memory_order_relaxed);
        spdlog::debug("kafka: fetch wake-up request failed: {}", rd_kafka_err2str(err));
      }
    }
    lock.lock();
  }
}

}  // namespace chaperone::kafka
