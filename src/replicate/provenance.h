// Provenance: where a replicated record came from, carried in the record's
// headers in the destination, and the loop-prevention rule built on it.
//
// Every record the replicator writes carries five headers (format version 1,
// README.md "Provenance headers"):
//
//   chaperone.origin.v          1 byte: the format version, 0x01
//   chaperone.origin.cluster    the origin cluster's configured name (UTF-8, 1..255 bytes)
//   chaperone.origin.topic      the source topic (Kafka's topic-name rule)
//   chaperone.origin.partition  int32, big-endian (4 bytes), ≥ 0
//   chaperone.origin.offset     int64, big-endian (8 bytes), ≥ 0
//
// Decoding is a pure function of the headers: a record without any of them
// is foreign (NotFound), anything else that is not exactly the above is an
// error value (Corruption), never a crash. Safe to fuzz.
#pragma once

#include <compare>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"
#include "chaperone/types.h"

namespace chaperone::replicate {

inline constexpr std::string_view kProvenancePrefix = "chaperone.origin.";
inline constexpr std::string_view kHeaderVersion = "chaperone.origin.v";
inline constexpr std::string_view kHeaderCluster = "chaperone.origin.cluster";
inline constexpr std::string_view kHeaderTopic = "chaperone.origin.topic";
inline constexpr std::string_view kHeaderPartition = "chaperone.origin.partition";
inline constexpr std::string_view kHeaderOffset = "chaperone.origin.offset";
inline constexpr uint8_t kProvenanceVersion = 1;
inline constexpr size_t kMaxClusterNameLength = 255;

// One Kafka record header as seen at the seam: value is nullopt for a null
// value (Kafka distinguishes null from empty). Views into the caller's memory.
struct HeaderView {
  std::string_view name;
  std::optional<std::string_view> value;
};

// An owned header, for records the replicator builds.
struct Header {
  std::string name;
  std::optional<std::string> value;
  bool operator==(const Header&) const = default;
};

// A source partition, named with its cluster: the unit of resume and translation.
struct OriginPartition {
  std::string cluster;
  std::string topic;
  PartitionId partition;
  auto operator<=>(const OriginPartition&) const = default;
};

std::string ToString(const OriginPartition& o);  // "dc1/orders/3"

struct Provenance {
  OriginPartition origin;
  Offset offset;  // the record's offset in its source partition
  bool operator==(const Provenance&) const = default;
};

// The five headers of `p`, in the order above. InvalidArgument when `p` could
// not be decoded again (empty or over-long cluster, bad topic, negative numbers).
Result<std::vector<Header>> EncodeProvenance(const Provenance& p);

// `source` with every chaperone.origin.* header removed (a record replicated
// twice names only its last hop), then the headers of `p` appended. Every
// other header keeps its bytes and its order.
Result<std::vector<Header>> WithProvenance(std::span<const HeaderView> source, const Provenance& p);

// NotFound: no chaperone.origin.* header at all (a foreign record).
// Corruption: some, but not exactly one valid header of each kind (a missing,
// repeated, null or malformed value, or a version other than 1); the message
// says which. Unknown chaperone.origin.* names are ignored (a later version
// may add some).
Result<Provenance> DecodeProvenance(std::span<const HeaderView> headers);

// The loop-prevention rule: a record whose origin cluster is the destination
// cluster came from there and is not copied back (active/active with the same
// topic names on both sides does not loop). A record with malformed
// provenance is copied (never drop data) and counted by the caller.
enum class CopyDecision {
  kCopy,                     // foreign record, or provenance from another cluster
  kCopyMalformedProvenance,  // copied; the caller counts and logs it (rate-limited)
  kSkipOriginIsDestination,  // not copied
};
const char* CopyDecisionName(CopyDecision d);
CopyDecision DecideCopy(std::span<const HeaderView> headers, std::string_view destination_cluster);

}  // namespace chaperone::replicate
