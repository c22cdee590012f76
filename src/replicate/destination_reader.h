// DestinationReader: the seam through which the resume scan, offset
// translation and the checkpoint loader read a destination partition.
// KafkaDestinationReader reads with an assign-based librdkafka consumer (no
// group, nothing committed); tests use a fake of their own.
#pragma once

#include <chrono>
#include <compare>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/kafka_config.h"
#include "chaperone/status.h"
#include "chaperone/types.h"
#include "replicate/provenance.h"

namespace chaperone::replicate {

struct DestinationPartition {
  std::string topic;
  PartitionId partition;
  auto operator<=>(const DestinationPartition&) const = default;
};

std::string ToString(const DestinationPartition& d);  // "orders/3"

// The offsets a partition holds now: [low, high) (log start, high watermark).
struct OffsetRange {
  Offset low;
  Offset high;
};

// One record, valid only during the visitor call.
struct DestinationRecordView {
  Offset offset;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::span<const HeaderView> headers;
};

using RecordVisitor = std::function<void(const DestinationRecordView&)>;

class DestinationReader {
 public:
  virtual ~DestinationReader() = default;
  // NotFound for a topic or partition the cluster does not have (asking must
  // not create it); Unavailable when the cluster cannot be asked now.
  virtual Result<OffsetRange> Watermarks(const DestinationPartition& p) = 0;
  // The watermarks of several partitions, in order; the first error ends it.
  // The default asks one after the other; a reader over a remote cluster
  // asks concurrently (a resume of 64 partitions must not take 64 round trips).
  virtual Result<std::vector<OffsetRange>> WatermarksOf(std::span<const DestinationPartition> ps) {
    std::vector<OffsetRange> out;
    out.reserve(ps.size());
    for (const DestinationPartition& p : ps) {
      auto r = Watermarks(p);
      if (!r.ok()) return r.status();
      out.push_back(*r);
    }
    return out;
  }
  // Calls `visit` for every record with an offset in [from, to), in offset
  // order (offsets may have holes: compaction, transaction markers). Returns
  // only after the whole range was read, or an error (Unavailable on timeout).
  virtual Status Read(const DestinationPartition& p, Offset from, Offset to, const RecordVisitor& visit) = 0;
};

class KafkaDestinationReader final : public DestinationReader {
 public:
  // `properties`: the destination cluster's client properties (plugin
  // properties are dropped). `timeout` bounds each Watermarks call and each
  // stretch of Read without progress.
  static Result<std::unique_ptr<KafkaDestinationReader>> Create(const KafkaProperties& properties,
                                                                std::chrono::milliseconds timeout);
  ~KafkaDestinationReader() override;
  KafkaDestinationReader(const KafkaDestinationReader&) = delete;
  KafkaDestinationReader& operator=(const KafkaDestinationReader&) = delete;

  Result<OffsetRange> Watermarks(const DestinationPartition& p) override;
  // One metadata request, then up to 16 watermark queries at a time.
  Result<std::vector<OffsetRange>> WatermarksOf(std::span<const DestinationPartition> ps) override;
  Status Read(const DestinationPartition& p, Offset from, Offset to, const RecordVisitor& visit) override;

 private:
  KafkaDestinationReader() = default;
  // NotFound unless every partition exists (asked with one listing of all
  // topics, which creates none).
  Status CheckExist(std::span<const DestinationPartition> ps);
  // The calls are made by one thread at a time (the caller's); WatermarksOf
  // queries from helper threads it joins (librdkafka's calls are thread-safe).
  struct rd_kafka_s* rk_ = nullptr;
  std::chrono::milliseconds timeout_{0};
};

}  // namespace chaperone::replicate
