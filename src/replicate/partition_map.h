// PartitionMap: where a source record goes in the destination cluster.
//
// Topics: a source topic is replicated when its whole name matches an include
// regex and no exclude regex, and it is not internal ("__*") or the
// replicator's checkpoint topic. Its destination name is its rename-map entry,
// or its own name.
//
// Partitions: kIdentity (default) keeps the source partition, so it needs a
// destination partition count ≥ the source's; kKeyHash puts a keyed record
// where Kafka's default partitioner (Java, and librdkafka's "murmur2") would:
// (murmur2(key) & 0x7fffffff) % partitions. A record with a null key under
// kKeyHash goes to source partition % partitions (deterministic, unlike the
// Java client's sticky choice: the resume scan relies on it).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"
#include "chaperone/types.h"

namespace chaperone::replicate {

enum class PartitionStrategy { kIdentity, kKeyHash };
const char* PartitionStrategyName(PartitionStrategy s);
// "identity" or "key-hash"; InvalidArgument otherwise.
Result<PartitionStrategy> ParsePartitionStrategy(std::string_view name);

struct PartitionMapConfig {
  std::string source_cluster;       // configured cluster names; must differ
  std::string destination_cluster;
  std::vector<std::string> include = {".*"};  // whole-name regexes (ECMAScript)
  std::vector<std::string> exclude;
  std::map<std::string, std::string> rename;  // source topic → destination topic
  std::vector<std::string> always_excluded;   // e.g. the audit topic
  PartitionStrategy strategy = PartitionStrategy::kIdentity;
};

class PartitionMap {
 public:
  // InvalidArgument naming the first impossible part: equal or empty cluster
  // names, a bad regex, a rename whose source or target is not a valid topic
  // name, targets an internal or the checkpoint topic, or whose source the
  // include/exclude patterns do not select.
  static Result<PartitionMap> Create(PartitionMapConfig config);

  const PartitionMapConfig& config() const { return config_; }

  bool Selects(std::string_view source_topic) const;
  std::string DestinationTopic(std::string_view source_topic) const;

  // Ok when records of a topic with `source_partitions` can be placed in one
  // with `destination_partitions`; InvalidArgument saying why not (identity
  // needs destination ≥ source; every strategy needs ≥ 1).
  Status CheckPartitionCounts(int32_t source_partitions, int32_t destination_partitions) const;

  // The destination partition of one record; `destination_partitions` must
  // have passed CheckPartitionCounts.
  PartitionId DestinationPartition(PartitionId source, std::optional<std::string_view> key,
                                   int32_t destination_partitions) const;

  // Every destination partition records of `source` may land in, ascending
  // (identity: just `source`; key hash: all of them).
  std::vector<PartitionId> DestinationPartitionsOf(PartitionId source, int32_t destination_partitions) const;

 private:
  PartitionMap() = default;
  bool SelectsByPattern(std::string_view topic) const;

  PartitionMapConfig config_;
  std::vector<std::regex> include_;
  std::vector<std::regex> exclude_;
};

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2).
uint32_t Murmur2(std::string_view data);
// Kafka's default partition of a keyed record.
PartitionId KafkaKeyPartition(std::string_view key, int32_t partitions);

}  // namespace chaperone::replicate
