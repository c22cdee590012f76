#include "replicate/partition_map.h"

#include <fmt/format.h>

#include "common/topic_name.h"
#include "replicate/checkpoint.h"

namespace chaperone::replicate {

const char* PartitionStrategyName(PartitionStrategy s) {
  return s == PartitionStrategy::kIdentity ? "identity" : "key-hash";
}

Result<PartitionStrategy> ParsePartitionStrategy(std::string_view name) {
  if (name == "identity") return PartitionStrategy::kIdentity;
  if (name == "key-hash") return PartitionStrategy::kKeyHash;
  return Status::InvalidArgument(fmt::format("partition strategy must be identity or key-hash, not '{}'", name));
}

namespace {

bool IsInternal(std::string_view topic) { return topic.starts_with("__") || topic == kCheckpointTopic; }

Result<std::vector<std::regex>> CompileAll(const std::vector<std::string>& patterns, const char* what) {
  std::vector<std::regex> out;
  for (const auto& p : patterns) {
    try {
      out.emplace_back(p, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument(fmt::format("{} pattern '{}': {}", what, p, e.what()));
    }
  }
  return out;
}

}  // namespace

Result<PartitionMap> PartitionMap::Create(PartitionMapConfig config) {
  if (config.source_cluster.empty() || config.destination_cluster.empty())
    return Status::InvalidArgument("replicate: source and destination cluster names must not be empty");
  if (config.source_cluster == config.destination_cluster)
    return Status::InvalidArgument(fmt::format(
        "replicate: source and destination are both cluster '{}' (every record would be its own loop)",
        config.source_cluster));
  PartitionMap m;
  auto inc = CompileAll(config.include, "include");
  if (!inc.ok()) return inc.status();
  auto exc = CompileAll(config.exclude, "exclude");
  if (!exc.ok()) return exc.status();
  m.include_ = std::move(*inc);
  m.exclude_ = std::move(*exc);
  m.config_ = std::move(config);
  for (const auto& [from, to] : m.config_.rename) {
    if (Status s = common::ValidateTopicName(from); !s.ok())
      return Status::InvalidArgument(fmt::format("rename '{}': {}", from, s.message()));
    if (Status s = common::ValidateTopicName(to); !s.ok())
      return Status::InvalidArgument(fmt::format("rename '{}' → '{}': {}", from, to, s.message()));
    if (IsInternal(to))
      return Status::InvalidArgument(fmt::format("rename '{}' → '{}': the target is an internal topic", from, to));
    if (!m.Selects(from))
      return Status::InvalidArgument(
          fmt::format("rename '{}': the include/exclude patterns do not select this topic", from));
  }
  return m;
}

bool PartitionMap::SelectsByPattern(std::string_view topic) const {
  const std::string t(topic);
  bool in = false;
  for (const auto& re : include_) in = in || std::regex_match(t, re);
  if (!in) return false;
  for (const auto& re : exclude_)
    if (std::regex_match(t, re)) return false;
  return true;
}

bool PartitionMap::Selects(std::string_view source_topic) const {
  if (IsInternal(source_topic)) return false;
  for (const auto& t : config_.always_excluded)
    if (t == source_topic) return false;
  return SelectsByPattern(source_topic);
}

std::string PartitionMap::DestinationTopic(std::string_view source_topic) const {
  auto it = config_.rename.find(std::string(source_topic));
  return it != config_.rename.end() ? it->second : std::string(source_topic);
}

Status PartitionMap::CheckPartitionCounts(int32_t source_partitions, int32_t destination_partitions) const {
  if (destination_partitions < 1) return Status::InvalidArgument("the destination topic has no partitions");
  if (config_.strategy == PartitionStrategy::kIdentity && destination_partitions < source_partitions)
    return Status::InvalidArgument(
        fmt::format("identity partitioning needs at least {} destination partitions, the destination has {}",
                    source_partitions, destination_partitions));
  return Status::Ok();
}

PartitionId PartitionMap::DestinationPartition(PartitionId source, std::optional<std::string_view> key,
                                               int32_t destination_partitions) const {
  if (config_.strategy == PartitionStrategy::kKeyHash && key) return KafkaKeyPartition(*key, destination_partitions);
  return PartitionId(source.value() % destination_partitions);
}

std::vector<PartitionId> PartitionMap::DestinationPartitionsOf(PartitionId source,
                                                               int32_t destination_partitions) const {
  if (config_.strategy == PartitionStrategy::kIdentity) return {PartitionId(source.value() % destination_partitions)};
  std::vector<PartitionId> all;
  for (int32_t p = 0; p < destination_partitions; ++p) all.emplace_back(p);
  return all;
}

uint32_t Murmur2(std::string_view data) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t len = data.size();
  uint32_t h = kSeed ^ static_cast<uint32_t>(len);
  while (len >= 4) {
    uint32_t k = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<uint32_t>(p[3]) << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
    p += 4;
    len -= 4;
  }
  switch (len) {
    case 3: h ^= static_cast<uint32_t>(p[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<uint32_t>(p[1]) << 8; [[fallthrough]];
    case 1:
      h ^= p[0];
      h *= kM;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return h;
}

PartitionId KafkaKeyPartition(std::string_view key, int32_t partitions) {
  return PartitionId(static_cast<int32_t>((Murmur2(key) & 0x7fffffff) % static_cast<uint32_t>(partitions)));
}

}  // namespace chaperone::replicate
