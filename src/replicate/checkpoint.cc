#include "replicate/checkpoint.h"

#include <fmt/format.h>

#include <limits>

#include "replicate/bytes.h"
#include "replicate/partition_map.h"

namespace chaperone::replicate {

namespace {

constexpr size_t kMaxString = std::numeric_limits<uint16_t>::max();

Status CheckKey(const CheckpointKey& k) {
  for (const std::string* s : {&k.origin.cluster, &k.origin.topic, &k.destination.topic}) {
    if (s->empty() || s->size() > kMaxString) return Status::InvalidArgument("checkpoint: a name is empty or too long");
  }
  if (k.origin.partition.value() < 0 || k.destination.partition.value() < 0)
    return Status::InvalidArgument("checkpoint: negative partition");
  return Status::Ok();
}

}  // namespace

Result<std::string> EncodeCheckpointKey(const CheckpointKey& k) {
  if (Status s = CheckKey(k); !s.ok()) return s;
  std::string out;
  PutU8(out, kCheckpointVersion);
  PutString(out, k.origin.cluster);
  PutString(out, k.origin.topic);
  PutI32(out, k.origin.partition.value());
  PutString(out, k.destination.topic);
  PutI32(out, k.destination.partition.value());
  return out;
}

Result<std::string> EncodeCheckpointValue(const Checkpoint& c) {
  if (c.source_next.value() < 0 || c.destination_offset.value() < 0)
    return Status::InvalidArgument("checkpoint: negative offset");
  std::string out;
  PutU8(out, kCheckpointVersion);
  PutI64(out, c.source_next.value());
  PutI64(out, c.destination_offset.value());
  return out;
}

PartitionId CheckpointPartition(std::string_view encoded_key, int32_t partitions) {
  return KafkaKeyPartition(encoded_key, partitions);
}

Result<CheckpointKey> DecodeCheckpointKey(std::string_view key) {
  ByteReader r(key);
  uint8_t version = 0;
  CheckpointKey k;
  int32_t op = 0, dp = 0;
  if (!r.U8(&version)) return Status::Corruption("checkpoint key: empty");
  if (version != kCheckpointVersion)
    return Status::Corruption(fmt::format("checkpoint key: unsupported version {}", version));
  if (!r.String(&k.origin.cluster) || !r.String(&k.origin.topic) || !r.I32(&op) || !r.String(&k.destination.topic) ||
      !r.I32(&dp) || !r.done())
    return Status::Corruption("checkpoint key: truncated or trailing bytes");
  k.origin.partition = PartitionId(op);
  k.destination.partition = PartitionId(dp);
  if (Status s = CheckKey(k); !s.ok()) return Status::Corruption(s.message());
  return k;
}

Result<Checkpoint> DecodeCheckpoint(std::string_view key, std::string_view value) {
  auto k = DecodeCheckpointKey(key);
  if (!k.ok()) return k.status();
  ByteReader r(value);
  uint8_t version = 0;
  int64_t next = 0, dest = 0;
  if (!r.U8(&version)) return Status::Corruption("checkpoint value: empty");
  if (version != kCheckpointVersion)
    return Status::Corruption(fmt::format("checkpoint value: unsupported version {}", version));
  if (!r.I64(&next) || !r.I64(&dest) || !r.done())
    return Status::Corruption("checkpoint value: truncated or trailing bytes");
  if (next < 0 || dest < 0) return Status::Corruption("checkpoint value: negative offset");
  return Checkpoint{std::move(*k), Offset(next), Offset(dest)};
}

Result<CheckpointLoad> LoadCheckpoints(DestinationReader& reader, std::string_view topic, int32_t partitions) {
  CheckpointLoad load;
  for (int32_t p = 0; p < partitions; ++p) {
    DestinationPartition dp{std::string(topic), PartitionId(p)};
    auto range = reader.Watermarks(dp);
    if (!range.ok()) {
      if (p == 0 && range.status().code() == Status::Code::kNotFound) return load;  // no checkpoints yet
      return range.status();
    }
    Status s = reader.Read(dp, range->low, range->high, [&](const DestinationRecordView& rec) {
      ++load.records;
      if (!rec.key) {
        ++load.malformed;
        return;
      }
      if (!rec.value) {  // a tombstone
        auto k = DecodeCheckpointKey(*rec.key);
        if (k.ok()) load.checkpoints.erase(*k);
        else ++load.malformed;
        return;
      }
      auto c = DecodeCheckpoint(*rec.key, *rec.value);
      if (!c.ok()) {
        ++load.malformed;
        return;
      }
      CheckpointKey key = c->key;
      load.checkpoints.insert_or_assign(std::move(key), std::move(*c));
    });
    if (!s.ok()) return s;
  }
  return load;
}

}  // namespace chaperone::replicate
