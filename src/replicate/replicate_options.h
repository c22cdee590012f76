// ReplicateOptions: everything `chaperone replicate` needs to run, already
// validated. Built from YAML + flags by replicate_config.h, or filled in by
// hand (tests, `chaperone up` one day).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/clock.h"
#include "chaperone/kafka_config.h"
#include "config/project_file.h"
#include "replicate/partition_map.h"

namespace chaperone {
class Reporter;
}

namespace chaperone::replicate {

struct ReplicateOptions {
  // The clusters, by their names in `clusters:` (written into provenance and
  // checkpoints: unique and stable across the deployment).
  std::string source_cluster;
  KafkaProperties source_properties;
  std::string destination_cluster;
  KafkaProperties destination_properties;

  std::vector<std::string> include = {".*"};
  std::vector<std::string> exclude = {"__.*", "chaperone-.*"};
  std::map<std::string, std::string> rename;  // source topic → destination topic
  PartitionStrategy partitioning = PartitionStrategy::kIdentity;

  std::string group_id;  // empty: chaperone-replicate-<source>-<destination>
  std::chrono::milliseconds discovery_interval{5'000};
  std::chrono::milliseconds flush_interval{1'000};
  std::chrono::milliseconds send_timeout{30'000};        // a flush's wait for acks and audit records
  std::chrono::milliseconds checkpoint_interval{5'000};  // checkpoints written at most this often
  std::string listen = "127.0.0.1:9300";                 // REST; empty: off

  // The audit of what was delivered.
  std::string tier = "replicator";
  std::string datacenter;  // empty: the source cluster's name
  int64_t window_sec = 600;
  std::string audit_cluster;          // empty: the destination
  KafkaProperties audit_properties;   // empty: destination_properties
  std::string audit_topic = kDefaultAuditTopic;
  std::vector<config::TimestampRule> timestamps;

  KafkaProperties producer_properties;  // over the destination's, for the replicating producer
  KafkaProperties consumer_properties;  // over the source's, for the source consumer

  const Clock* clock = &SystemClock::Instance();
  std::shared_ptr<Reporter> reporter;  // tests: where audit records go (null: Kafka on the audit cluster)

  std::string EffectiveGroupId() const {
    return group_id.empty() ? "chaperone-replicate-" + source_cluster + "-" + destination_cluster : group_id;
  }
  std::string EffectiveDatacenter() const { return datacenter.empty() ? source_cluster : datacenter; }
  PartitionMapConfig MapConfig() const;
};

}  // namespace chaperone::replicate
