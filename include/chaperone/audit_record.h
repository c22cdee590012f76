// Audit records: the wire format on the audit topic (docs/audit-record-format.md).
//
// A record is a partial sum for one (topic, window, tier, emitter) and one flush;
// records are merged downstream by the collector. Version 1 adds, to the field
// names of Chaperone's legacy records: cluster, latencySketch, latency50, digest,
// emitterId, seq, partitions, flushId and the heartbeat kind. A record without
// "version" is a legacy record: the fields it lacks are unknown, not zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"

namespace chaperone {

inline constexpr int kAuditRecordVersion = 1;
inline constexpr const char* kDefaultAuditTopic = "chaperone-audit";
// Records larger than this are rejected by the decoder (and never produced by
// the library: a record holds one window of one topic).
inline constexpr size_t kMaxAuditRecordBytes = size_t{1} << 20;
// Longest window (timeEndInSec - timeBeginInSec, windowSizeInSec) accepted: 7 days.
inline constexpr int64_t kMaxWindowSec = 7 * 24 * 3600;

enum class RecordKind {
  kCount,      // counts for one (topic, window)
  kHeartbeat,  // the emitter is alive; its observations up to the watermark are reported
};

// Per partition detail inside a window (service and replicator tiers).
struct PartitionCount {
  int32_t partition = 0;
  int64_t count = 0;
  int64_t first_offset = -1;  // smallest offset counted in this window by this flush
  int64_t last_offset = -1;   // largest offset counted in this window by this flush
  // First offset this emitter consumed from the partition since its last
  // committed position ("chunk start"). A replay after a crash or a partition
  // move starts at the same offset, so the collector replaces the earlier,
  // uncommitted contribution instead of adding to it. -1 when unknown.
  int64_t chunk_start = -1;
  // Fencing (docs/architecture.md, "Zombies"): the consumer-group generation
  // of the member that counted the chunk, and the wall-clock time (ms) at
  // which that member was assigned the partition. A chunk of an older
  // generation never replaces or follows a newer one's. -1 when unknown.
  int64_t generation = -1;
  int64_t assigned_ms = -1;

  friend bool operator==(const PartitionCount&, const PartitionCount&) = default;
};

struct AuditRecord {
  // 0 for a legacy Chaperone record, kAuditRecordVersion otherwise.
  int version = kAuditRecordVersion;
  RecordKind kind = RecordKind::kCount;

  // Who observed.
  std::string tier;
  std::string hostname;
  std::string datacenter;
  std::string cluster;
  std::string uuid;        // unique per record; the collector dedups on it
  std::string emitter_id;  // one per emitting process (v1)
  int64_t seq = -1;        // per emitter, gap-free across all its records (v1)
  std::string flush_id;    // identifies the flush that produced the record (v1)

  // What was observed (kind == kCount).
  std::string topic;
  int64_t window_begin_sec = 0;
  int64_t window_end_sec = 0;
  int64_t count = 0;
  std::optional<int64_t> total_bytes;      // absent in legacy client records
  std::optional<int64_t> no_time_count;    // absent in legacy client records
  std::optional<int64_t> malformed_count;  // absent in legacy client records
  double mean_latency_ms = 0;
  std::optional<double> latency50_ms;  // v1
  double latency95_ms = 0;
  double latency99_ms = 0;
  double max_latency_ms = 0;
  std::string latency_sketch;      // encoded LatencySketch (v1); empty when unknown
  std::optional<uint64_t> digest;  // v1: sum mod 2^64 of MessageDigest(key, value)
  std::vector<PartitionCount> partitions;  // v1, service/replicator tiers

  // Heartbeat (kind == kHeartbeat): everything this emitter observed before
  // `watermark_ms` (wall clock) has been reported in records with smaller seq.
  int64_t watermark_ms = 0;
  int64_t window_sec = 0;            // the emitter's window size
  int64_t dropped_records = 0;       // records dropped on the way out since start (never queued without bound)
  int64_t failed_deliveries = 0;     // client tier: messages whose delivery failed, since start
  // Client tier: messages observed but never counted (the emitter's bounded
  // queue was full), since start. Optional on the wire ("droppedObservations",
  // written when non-zero; absent = 0).
  int64_t dropped_observations = 0;
  // Consumer tiers (service, replicator): offsets of the partitions the
  // emitter reads that retention deleted before it read them (never counted,
  // never copied), since start. Optional on the wire ("skippedOffsets",
  // written when non-zero; absent = 0).
  int64_t skipped_offsets = 0;

  bool is_legacy() const { return version == 0; }
  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

// "count" or "heartbeat".
const char* RecordKindName(RecordKind kind);

// Encodes `r` as one compact JSON object (no trailing newline). A legacy
// record (version 0) is written in the legacy shape: no "version", "kind" or
// v1-only fields unless they are set. Non-finite latencies (never produced by
// the library) are written as 0. Invalid UTF-8 in strings is replaced by
// U+FFFD, so the output is always valid JSON. Does not validate: see
// ValidateAuditRecord (the reporters call it).
std::string EncodeAuditRecord(const AuditRecord& r);

// Decodes and validates one record (v1 or legacy). Errors name the field at fault.
// Validation: required fields present with the right types, window end > begin,
// counts >= 0, a v1 record has emitterId and seq >= 0; unknown fields, and
// fields of the other kind, are ignored (forward compatibility within version
// 1); null is the same as absent; at most kMaxAuditRecordBytes. The full list of
// rules is in docs/audit-record-format.md. Errors are Status::Corruption.
Result<AuditRecord> DecodeAuditRecord(std::string_view json);

// Checks the value rules of the format on a record about to be sent (the same
// rules the decoder applies after parsing): identity fields, window bounds,
// counts, partitions, and for version 1 the fields a v1 count record must carry
// (total_bytes, no_time_count, malformed_count, latency50_ms, digest, flush_id).
// Errors are Status::InvalidArgument and name the field.
Status ValidateAuditRecord(const AuditRecord& r);

// The digest as written on the wire: 16 lowercase hex digits.
std::string DigestToHex(uint64_t digest);
// Parses exactly 16 lowercase hex digits.
std::optional<uint64_t> DigestFromHex(std::string_view hex);

}  // namespace chaperone
