// LibrdkafkaConsumer: the Consumer seam (lib/kafka/consumer.h) over a
// librdkafka KafkaConsumer: a cooperative-sticky group member with manual
// commits. Every librdkafka call of the consume loop lives here: creation,
// subscription, the rebalance callback (incremental assign / unassign,
// assignment_lost), committed(), commit, seek_partitions, watermarks,
// consumer_group_metadata (membership), metadata, close and destroy.
//
// With librdkafka < 2.1 it also keeps the fetchers awake while the poller
// drains a bounded prefetch queue (lib/kafka/fetch_waker.h).
//
// Threads: one thread polls (and so runs the rebalance callback) and calls
// everything else, except ListTopics, Membership and fetch_wakes (any thread).
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chaperone/kafka_config.h"
#include "lib/kafka/consumer.h"

namespace chaperone::kafka {

class FetchWaker;
class QueueDrainTrigger;

class LibrdkafkaConsumer final : public Consumer {
 public:
  // `properties`: the complete consumer configuration (group.id,
  // enable.auto.commit=false ...). InvalidArgument for a bad property.
  static Result<std::unique_ptr<LibrdkafkaConsumer>> Create(KafkaProperties properties);
  ~LibrdkafkaConsumer() override;
  LibrdkafkaConsumer(const LibrdkafkaConsumer&) = delete;
  LibrdkafkaConsumer& operator=(const LibrdkafkaConsumer&) = delete;

  Status Subscribe(const std::vector<std::string>& topics) override;
  int Poll(std::chrono::milliseconds timeout, int max_messages, ConsumerEvents& events) override;
  Status Committed(std::vector<PartitionOffset>& partitions, std::chrono::milliseconds timeout) override;
  Status Commit(std::vector<PartitionOffset>& offsets) override;
  Status Seek(std::vector<PartitionOffset>& positions, std::chrono::milliseconds timeout) override;
  bool Watermarks(const TopicPartition& tp, int64_t* low, int64_t* high) override;
  std::optional<GroupMembership> Membership() override;
  Status FatalError() override;
  Result<std::vector<TopicMetadata>> ListTopics(std::chrono::milliseconds timeout) override;
  void Close(ConsumerEvents& events) override;

  // Requests that woke librdkafka's fetchers (0 when the library needs none).
  int64_t fetch_wakes() const;

 private:
  LibrdkafkaConsumer() = default;
  static void RebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                                  void* opaque);
  void OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void Deliver(rd_kafka_message_t* m, ConsumerEvents& events);
  void CheckQueueDrain();
  std::vector<std::pair<std::string, int32_t>> FetchWakeTargets();

  rd_kafka_t* rk_ = nullptr;  // thread-safe handle
  rd_kafka_queue_t* queue_ = nullptr;
  // ---- polling thread ----
  ConsumerEvents* events_ = nullptr;  // during Poll / Close: where the rebalance callback reports
  // Our references to assigned topics keep their names' pointers stable.
  std::map<std::string, std::pair<rd_kafka_topic_t*, int>> topics_;  // name → (handle, assigned partitions)
  std::vector<rd_kafka_message_t*> batch_;
  std::unique_ptr<QueueDrainTrigger> drain_trigger_;
  std::unique_ptr<FetchWaker> waker_;
  int64_t delivered_ = 0, delivered_bytes_ = 0;
  int64_t wakes_at_close_ = 0;
  bool closed_ = false;
  bool subscribed_ever_ = false;
  bool assignment_seen_ = false;
  // ---- any thread ----
  std::mutex mu_;
  std::map<std::string, std::vector<int32_t>> leaders_;  // guarded by mu_: from the last ListTopics
};

}  // namespace chaperone::kafka
