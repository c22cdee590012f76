// Keeps librdkafka's fetchers awake while the service drains a bounded
// prefetch queue.
//
// librdkafka before 2.1 (no fetch.queue.backoff.ms) stops fetching a
// partition once the consumer queue reaches queued.max.messages.kbytes or
// queued.min.messages, and re-checks it only when something wakes the
// broker's thread: with nothing else going on, after up to a second. A small
// prefetch budget (the service's default, to keep memory flat) would then
// idle the service for most of each second whenever the brokers outpace it.
//
// QueueDrainTrigger watches the queue the consume loop drains and says when
// it fell from near the budget to low, i.e. when the fetchers may be asleep
// with data waiting. FetchWaker then sends each partition leader a ListOffsets
// request (rd_kafka_offsets_for_times) from its own thread: the request passes
// through the broker's thread, which re-checks its partitions and fetches.
#ifndef CHAPERONE_LIB_KAFKA_FETCH_WAKER_H_
#define CHAPERONE_LIB_KAFKA_FETCH_WAKER_H_

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "chaperone/kafka_config.h"

namespace chaperone::kafka {

// Pure decision logic; the consume thread owns it.
class QueueDrainTrigger {
 public:
  // The consumer's limits: queued.min.messages and queued.max.messages.kbytes
  // in bytes (librdkafka counts 1000 bytes a kilobyte here).
  QueueDrainTrigger(int64_t max_messages, int64_t max_bytes)
      : max_messages_(std::max<int64_t>(1, max_messages)), max_bytes_(std::max<int64_t>(1, max_bytes)) {}

  // Sees the queue's length and the mean size of the messages taken from it.
  // True when the queue, having reached at least half of a limit, fell a
  // fifth below the highest level seen since. A queue that reached its limit
  // stopped the fetchers; they are woken with most of the budget still left
  // to consume, time enough for the next fetch to arrive before it runs dry.
  // The queue is seen every few hundred messages and its size in bytes is an
  // estimate: both only move the moment of the wake a little.
  bool Observe(int64_t queued_messages, int64_t mean_message_bytes) {
    const int64_t bytes = queued_messages * mean_message_bytes;
    const int64_t level = std::max(bytes * 1000 / max_bytes_, queued_messages * 1000 / max_messages_);  // per mille
    if (level >= 500 && level > peak_) peak_ = level;
    if (peak_ > 0 && level * 5 <= peak_ * 4) {
      peak_ = 0;
      return true;
    }
    return false;
  }

  bool armed() const { return peak_ > 0; }

 private:
  int64_t max_messages_;
  int64_t max_bytes_;
  int64_t peak_ = 0;  // highest level (per mille of a limit) since the last wake; 0: below half
};

// The consumer properties the waker concerns: whether the client library
// needs it, and the trigger for the effective limits.
struct FetchWakerPlan {
  bool needed = false;  // the library lacks fetch.queue.backoff.ms
  int64_t max_messages = 100000;
  int64_t max_bytes = 65536LL * 1000;
};
FetchWakerPlan PlanFetchWaker(const KafkaProperties& consumer_properties);

class FetchWaker {
 public:
  // Partitions to send the request for: one per leader broker is enough.
  using TargetsFn = std::function<std::vector<std::pair<std::string, int32_t>>()>;

  // rk: the consumer (thread-safe handle), alive until the waker is destroyed.
  FetchWaker(rd_kafka_t* rk, TargetsFn targets);
  ~FetchWaker();
  FetchWaker(const FetchWaker&) = delete;
  FetchWaker& operator=(const FetchWaker&) = delete;

  // Non-blocking; requests made while a wake is under way coalesce into one.
  void Wake();

  int64_t wakes() const { return wakes_.load(std::memory_order_relaxed); }
  int64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  void Loop();

  rd_kafka_t* rk_;
  TargetsFn targets_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  std::atomic<int64_t> wakes_{0};
  std::atomic<int64_t> errors_{0};
  std::thread thread_;
};

}  // namespace chaperone::kafka

#endif  // CHAPERONE_LIB_KAFKA_FETCH_WAKER_H_
