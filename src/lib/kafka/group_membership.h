// The consumer-group generation of a librdkafka consumer: the epoch the
// collector fences zombie chunks with (docs/architecture.md, "Zombies").
//
// librdkafka 2.0 has no getter for it; the only public way out is the
// serialized consumer group metadata (rd_kafka_consumer_group_metadata_write),
// whose format "CGMDv2:" <int32 generation, host order> <group id> NUL
// <member id> NUL ... has not changed from 1.4 to 2.x. The parser checks the
// magic and every length, so a future format reads as "unknown", never as a
// wrong number.
//
// Thread-safe: librdkafka answers from its own thread (one round trip to it).
#pragma once

#include <librdkafka/rdkafka.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace chaperone::kafka {

struct GroupMembership {
  int32_t generation = -1;  // -1: not a member of a generation (joining, or fenced)
  std::string member_id;    // empty: no member id
};

// Parses the serialized consumer group metadata; nullopt when it is not the
// known format.
std::optional<GroupMembership> ParseGroupMetadata(const void* data, size_t size);

// The consumer's current membership: generation -1 and no member id when it
// has not joined (or was fenced); nullopt when `rk` is not a group consumer or
// the metadata is in an unknown format (the caller cannot fence then).
std::optional<GroupMembership> CurrentGroupMembership(rd_kafka_t* rk);

}  // namespace chaperone::kafka
