// TopicSync: which source topics are replicated, and whether their
// destination topics are ready to receive them.
//
// One Sync() round lists the topics of both clusters (a metadata request for
// all topics, which never auto-creates one), selects the source topics through
// the PartitionMap, and for each one whose destination topic is missing asks
// the destination to create it with the source's partition count
// (rd_kafka_CreateTopics). A topic is replicated only in state kReady or
// kCreated; every other state is a reason to wait, reported in the state and
// its detail for the log, /health and /metrics (AppendTopicSyncMetrics,
// TopicSyncProblems), never a reason to produce anyway: producing to a
// missing topic would let a cluster with auto-creation create it with its
// default partition count (librdkafka's mock cluster does), and identity
// partitioning would then drop or misplace records.
//
// librdkafka 2.0.2's mock cluster has no CreateTopics handler and does not
// advertise the API; its Metadata answers name no controller, so the client
// fails the request before sending it: "CreateTopics: Failed while waiting
// for controller: Local: Timed out (_TIMED_OUT)" after the request timeout
// (were a controller known, it would be _UNSUPPORTED_FEATURE, "Topic Admin
// API (KIP-4) not supported by broker"). That topic stays kCannotCreate
// until someone creates it (rd_kafka_mock_topic_create). Its Metadata is at
// most v2, which has no AllowAutoTopicCreation flag: a metadata request that
// names a missing topic creates it with 4 partitions, so only listings of
// all topics are used here.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chaperone/kafka_config.h"
#include "chaperone/status.h"
#include "replicate/partition_map.h"

namespace chaperone::replicate {

enum class TopicState {
  kReady,              // the destination exists with a usable partition count
  kCreated,            // created in this round (usable once its metadata shows it)
  kCannotCreate,       // missing, and the destination refused or cannot create it: waiting
  kPartitionMismatch,  // exists with too few partitions for the strategy: waiting
};
const char* TopicStateName(TopicState s);  // "ready", "created", "cannot_create", "partition_mismatch"

struct TopicStatus {
  std::string source_topic;
  std::string destination_topic;
  int32_t source_partitions = 0;
  int32_t destination_partitions = 0;  // 0: missing
  TopicState state = TopicState::kReady;
  std::string detail;  // why it waits, or a note (more destination partitions than source)
  bool replicable() const { return state == TopicState::kReady || state == TopicState::kCreated; }
  bool operator==(const TopicStatus&) const = default;
};

// topic name → partition count
using ClusterTopics = std::map<std::string, int32_t>;

// The pure half: every selected source topic against the destination, sorted
// by source topic. A missing destination is kCannotCreate with detail
// "missing" here; Sync() turns it into kCreated when creation succeeds.
std::vector<TopicStatus> PlanTopics(const PartitionMap& map, const ClusterTopics& source,
                                    const ClusterTopics& destination);

struct TopicSyncReport {
  std::vector<TopicStatus> topics;
  int ready() const;    // replicable
  int waiting() const;  // not replicable
};

// One line per waiting topic: "orders → agg.orders: partition_mismatch: identity partitioning needs ..."
std::vector<std::string> TopicSyncProblems(const TopicSyncReport& report);

// Gauges chaperone_replicate_topics{state="..."} and, per waiting topic,
// chaperone_replicate_topic_waiting{topic="...",state="..."} 1.
void AppendTopicSyncMetrics(std::string& out, const TopicSyncReport& report);

struct TopicSyncOptions {
  KafkaProperties source;
  KafkaProperties destination;
  std::chrono::milliseconds timeout{10'000};  // per metadata request and per creation
  bool create_missing = true;
  int replication_factor = -1;  // -1: the broker's default
};

class TopicSync {
 public:
  static Result<std::unique_ptr<TopicSync>> Create(PartitionMap map, TopicSyncOptions options);
  ~TopicSync();
  TopicSync(const TopicSync&) = delete;
  TopicSync& operator=(const TopicSync&) = delete;

  // One discovery round (called from one thread). Unavailable when a
  // cluster's metadata cannot be read; per-topic trouble is in the report.
  Result<TopicSyncReport> Sync();

  const PartitionMap& map() const { return map_; }

 private:
  TopicSync(PartitionMap map, TopicSyncOptions options) : map_(std::move(map)), options_(std::move(options)) {}
  Result<ClusterTopics> ListTopics(struct rd_kafka_s* rk, const char* which);
  // Creates each missing topic; per topic: Ok or the reason it was not created.
  std::map<std::string, Status> CreateTopics(const std::map<std::string, int32_t>& missing);

  PartitionMap map_;
  TopicSyncOptions options_;
  struct rd_kafka_s* source_ = nullptr;
  struct rd_kafka_s* destination_ = nullptr;
};

}  // namespace chaperone::replicate
