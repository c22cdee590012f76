// Checkpoints: what bounds the resume scan. A checkpoint for (origin
// partition O, destination partition D) says: every record of O destined for
// D with a source offset below `source_next` is in D at an offset below
// `destination_offset`. It is written only after the records it covers were
// acknowledged (or straight from a resume scan, which proved it), so the scan
// for O in D can start at `destination_offset` and take `source_next − 1` as
// the highest source offset already there.
//
// Checkpoints live in the compacted topic chaperone-replicate-checkpoints on
// the destination cluster, one record per (O, D), keyed so compaction keeps
// the latest; the key picks the partition as Kafka's default partitioner
// would. Binary, version 1 (README.md "Checkpoint records"):
//
//   key    u8 version=1 | str origin cluster | str origin topic | i32 origin partition
//                       | str destination topic | i32 destination partition
//   value  u8 version=1 | i64 source_next | i64 destination_offset
//
// (str: u16 length + bytes; integers big-endian.) A null value (tombstone)
// deletes the key's checkpoint.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "chaperone/status.h"
#include "chaperone/types.h"
#include "replicate/destination_reader.h"
#include "replicate/provenance.h"

namespace chaperone::replicate {

inline constexpr std::string_view kCheckpointTopic = "chaperone-replicate-checkpoints";
inline constexpr uint8_t kCheckpointVersion = 1;

struct CheckpointKey {
  OriginPartition origin;
  DestinationPartition destination;
  auto operator<=>(const CheckpointKey&) const = default;
};

struct Checkpoint {
  CheckpointKey key;
  Offset source_next;         // first source offset not covered
  Offset destination_offset;  // scan for the origin in this destination partition from here
  bool operator==(const Checkpoint&) const = default;
};

using CheckpointMap = std::map<CheckpointKey, Checkpoint>;

// InvalidArgument when a name does not fit (over 65535 bytes) or a number is negative.
Result<std::string> EncodeCheckpointKey(const CheckpointKey& key);
Result<std::string> EncodeCheckpointValue(const Checkpoint& c);
// The checkpoint topic partition a key is written to.
PartitionId CheckpointPartition(std::string_view encoded_key, int32_t partitions);

// Corruption for anything but a valid version-1 key and value (a null value
// is decoded by LoadCheckpoints as a tombstone, not here). Never crashes.
Result<CheckpointKey> DecodeCheckpointKey(std::string_view key);
Result<Checkpoint> DecodeCheckpoint(std::string_view key, std::string_view value);

struct CheckpointLoad {
  CheckpointMap checkpoints;  // the latest per key
  int64_t records = 0;
  int64_t malformed = 0;      // skipped (counted by the caller in its metrics)
};

// Reads every partition of the checkpoint topic, from log start to the high
// watermark, and keeps the latest checkpoint per key (what compaction would
// keep). A partition the topic does not have ends the load (NotFound for the
// topic's partition 0 means: no checkpoints yet, an empty load).
Result<CheckpointLoad> LoadCheckpoints(DestinationReader& reader, std::string_view topic, int32_t partitions);

}  // namespace chaperone::replicate
