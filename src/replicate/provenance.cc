#include "replicate/provenance.h"

#include <fmt/format.h>

#include "common/topic_name.h"
#include "replicate/bytes.h"

namespace chaperone::replicate {

std::string ToString(const OriginPartition& o) {
  return fmt::format("{}/{}/{}", o.cluster, o.topic, o.partition.value());
}

namespace {

Status CheckFields(const Provenance& p) {
  if (p.origin.cluster.empty() || p.origin.cluster.size() > kMaxClusterNameLength)
    return Status::InvalidArgument(
        fmt::format("origin cluster name must be 1 to {} bytes, not {}", kMaxClusterNameLength, p.origin.cluster.size()));
  if (Status s = common::ValidateTopicName(p.origin.topic); !s.ok())
    return Status::InvalidArgument("origin topic: " + s.message());
  if (p.origin.partition.value() < 0) return Status::InvalidArgument("origin partition is negative");
  if (p.offset.value() < 0) return Status::InvalidArgument("origin offset is negative");
  return Status::Ok();
}

}  // namespace

Result<std::vector<Header>> EncodeProvenance(const Provenance& p) {
  if (Status s = CheckFields(p); !s.ok()) return s;
  std::string version, partition, offset;
  PutU8(version, kProvenanceVersion);
  PutI32(partition, p.origin.partition.value());
  PutI64(offset, p.offset.value());
  return std::vector<Header>{
      {std::string(kHeaderVersion), std::move(version)},
      {std::string(kHeaderCluster), p.origin.cluster},
      {std::string(kHeaderTopic), p.origin.topic},
      {std::string(kHeaderPartition), std::move(partition)},
      {std::string(kHeaderOffset), std::move(offset)},
  };
}

Result<std::vector<Header>> WithProvenance(std::span<const HeaderView> source, const Provenance& p) {
  auto ours = EncodeProvenance(p);
  if (!ours.ok()) return ours.status();
  std::vector<Header> out;
  out.reserve(source.size() + ours->size());
  for (const HeaderView& h : source) {
    if (h.name.starts_with(kProvenancePrefix)) continue;
    out.push_back({std::string(h.name), h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
  }
  for (Header& h : *ours) out.push_back(std::move(h));
  return out;
}

Result<Provenance> DecodeProvenance(std::span<const HeaderView> headers) {
  enum Field { kVersion, kCluster, kTopic, kPartition, kOffset, kFields };
  static constexpr std::string_view kNames[kFields] = {kHeaderVersion, kHeaderCluster, kHeaderTopic, kHeaderPartition,
                                                       kHeaderOffset};
  const HeaderView* found[kFields] = {};
  bool any = false;
  for (const HeaderView& h : headers) {
    if (!h.name.starts_with(kProvenancePrefix)) continue;
    any = true;
    for (int f = 0; f < kFields; ++f) {
      if (h.name != kNames[f]) continue;
      if (found[f]) return Status::Corruption(fmt::format("provenance: header {} appears twice", kNames[f]));
      found[f] = &h;
    }
  }
  if (!any) return Status::NotFound("no provenance headers");
  for (int f = 0; f < kFields; ++f) {
    if (!found[f]) return Status::Corruption(fmt::format("provenance: header {} is missing", kNames[f]));
    if (!found[f]->value) return Status::Corruption(fmt::format("provenance: header {} is null", kNames[f]));
  }
  const std::string_view version = *found[kVersion]->value;
  if (version.size() != 1) return Status::Corruption("provenance: version must be 1 byte");
  if (static_cast<uint8_t>(version[0]) != kProvenanceVersion)
    return Status::Corruption(fmt::format("provenance: unsupported version {}", static_cast<uint8_t>(version[0])));

  Provenance p;
  p.origin.cluster = std::string(*found[kCluster]->value);
  p.origin.topic = std::string(*found[kTopic]->value);
  const std::string_view partition = *found[kPartition]->value;
  const std::string_view offset = *found[kOffset]->value;
  if (partition.size() != 4) return Status::Corruption("provenance: partition must be 4 bytes");
  if (offset.size() != 8) return Status::Corruption("provenance: offset must be 8 bytes");
  int32_t part = 0;
  int64_t off = 0;
  ByteReader(partition).I32(&part);  // sizes checked above
  ByteReader(offset).I64(&off);
  p.origin.partition = PartitionId(part);
  p.offset = Offset(off);
  if (Status s = CheckFields(p); !s.ok()) return Status::Corruption("provenance: " + s.message());
  return p;
}

const char* CopyDecisionName(CopyDecision d) {
  switch (d) {
    case CopyDecision::kCopy: return "copy";
    case CopyDecision::kCopyMalformedProvenance: return "copy_malformed_provenance";
    case CopyDecision::kSkipOriginIsDestination: return "skip_origin_is_destination";
  }
  return "unknown";
}

CopyDecision DecideCopy(std::span<const HeaderView> headers, std::string_view destination_cluster) {
  auto p = DecodeProvenance(headers);
  if (p.ok()) return p->origin.cluster == destination_cluster ? CopyDecision::kSkipOriginIsDestination : CopyDecision::kCopy;
  if (p.status().code() == Status::Code::kNotFound) return CopyDecision::kCopy;
  return CopyDecision::kCopyMalformedProvenance;
}

}  // namespace chaperone::replicate
