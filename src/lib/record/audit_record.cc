// Audit-record codec: encoder, value rules, and a DOM decoder (simdjson).
// The format is specified in docs/audit-record-format.md.
#include "chaperone/audit_record.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "common/topic_name.h"
#include "lib/record/json_writer.h"

namespace chaperone {
namespace {

// Every field the decoder knows. Order = kFieldNames order.
enum class Field : uint8_t {
  kVersion,
  kKind,
  kTopicName,
  kTimeBegin,
  kTimeEnd,
  kCount,
  kTotalBytes,
  kNoTimeCount,
  kMalformedCount,
  kMeanLatency,
  kLatency50,
  kLatency95,
  kLatency99,
  kMaxLatency,
  kLatencySketch,
  kDigest,
  kTier,
  kHostname,
  kDatacenter,
  kCluster,
  kUuid,
  kEmitterId,
  kSeq,
  kFlushId,
  kPartitions,
  kWatermarkMs,
  kWindowSize,
  kDroppedRecords,
  kFailedDeliveries,
  kDroppedObservations,
  kSkippedOffsets,
  kNumFields,
};

constexpr std::array<std::string_view, static_cast<size_t>(Field::kNumFields)> kFieldNames = {
    "version",     "kind",        "topicName",      "timeBeginInSec", "timeEndInSec",   "count",
    "totalBytes",  "noTimeCount", "malformedCount", "meanLatency",    "latency50",      "latency95",
    "latency99",   "maxLatency",  "latencySketch",  "digest",         "tier",           "hostname",
    "datacenter",  "cluster",     "uuid",           "emitterId",      "seq",            "flushId",
    "partitions",  "watermarkMs", "windowSizeInSec", "droppedRecords", "failedDeliveries",
    "droppedObservations", "skippedOffsets",
};
static_assert(kFieldNames.size() <= 32, "field sets are 32-bit masks");

using FieldSet = uint32_t;
constexpr FieldSet Bit(Field f) { return FieldSet{1} << static_cast<unsigned>(f); }
template <typename... F>
constexpr FieldSet Bits(F... f) {
  return (Bit(f) | ...);
}

// Required fields per (version, kind); see docs/audit-record-format.md.
constexpr FieldSet kLegacyCountRequired =
    Bits(Field::kTopicName, Field::kTimeBegin, Field::kTimeEnd, Field::kCount, Field::kMeanLatency,
         Field::kLatency95, Field::kLatency99, Field::kMaxLatency, Field::kTier, Field::kHostname,
         Field::kDatacenter, Field::kUuid);
constexpr FieldSet kV1Required = Bits(Field::kVersion, Field::kTier, Field::kHostname, Field::kDatacenter,
                                      Field::kCluster, Field::kUuid, Field::kEmitterId, Field::kSeq);
constexpr FieldSet kV1CountRequired =
    kV1Required | Bits(Field::kTopicName, Field::kTimeBegin, Field::kTimeEnd, Field::kCount, Field::kTotalBytes,
                       Field::kNoTimeCount, Field::kMalformedCount, Field::kMeanLatency, Field::kLatency50,
                       Field::kLatency95, Field::kLatency99, Field::kMaxLatency, Field::kLatencySketch,
                       Field::kDigest, Field::kFlushId);
constexpr FieldSet kV1HeartbeatRequired =
    kV1Required | Bits(Field::kWatermarkMs, Field::kWindowSize, Field::kDroppedRecords, Field::kFailedDeliveries);

// Fields that belong to one kind only; the other kind ignores them like unknown fields.
constexpr FieldSet kCountOnly =
    Bits(Field::kTopicName, Field::kTimeBegin, Field::kTimeEnd, Field::kCount, Field::kTotalBytes,
         Field::kNoTimeCount, Field::kMalformedCount, Field::kMeanLatency, Field::kLatency50, Field::kLatency95,
         Field::kLatency99, Field::kMaxLatency, Field::kLatencySketch, Field::kDigest, Field::kPartitions);
constexpr FieldSet kHeartbeatOnly = Bits(Field::kWatermarkMs, Field::kWindowSize, Field::kDroppedRecords,
                                         Field::kFailedDeliveries, Field::kSkippedOffsets);

constexpr size_t kMaxIdentityBytes = 256;
constexpr int64_t kMaxEpochSec = 253'402'300'799;  // 9999-12-31T23:59:59Z
constexpr double kMaxExactDouble = 9007199254740992.0;  // 2^53

std::optional<Field> LookupField(std::string_view key) {
  // 31 short names: a linear scan that compares lengths first costs less than hashing.
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (kFieldNames[i].size() == key.size() && kFieldNames[i] == key) return static_cast<Field>(i);
  }
  return std::nullopt;
}

std::string Quote(std::string_view name) { return "field '" + std::string(name) + "': "; }

Status Invalid(std::string_view field, const std::string& what) { return Status::InvalidArgument(Quote(field) + what); }
Status Corrupt(std::string_view field, const std::string& what) { return Status::Corruption(Quote(field) + what); }

const char* TypeName(simdjson::dom::element_type t) {
  using T = simdjson::dom::element_type;
  switch (t) {
    case T::ARRAY: return "an array";
    case T::OBJECT: return "an object";
    case T::INT64:
    case T::UINT64: return "an integer";
    case T::DOUBLE: return "a fractional number";
    case T::STRING: return "a string";
    case T::BOOL: return "a boolean";
    case T::NULL_VALUE: return "null";
  }
  return "an unknown type";
}

// ---- value rules (shared by ValidateAuditRecord and the decoder) ----

Status CheckText(std::string_view field, const std::string& v, bool non_empty, size_t max_bytes = kMaxIdentityBytes) {
  if (non_empty && v.empty()) return Invalid(field, "must not be empty");
  if (v.size() > max_bytes) return Invalid(field, "longer than " + std::to_string(max_bytes) + " bytes");
  for (char c : v) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return Invalid(field, "contains a control character");
  }
  return Status::Ok();
}

// Kafka's rule, the one src/common applies everywhere.
Status CheckTopicName(const std::string& topic) {
  if (Status s = common::ValidateTopicName(topic); !s.ok()) return Invalid("topicName", s.message());
  return Status::Ok();
}

Status CheckNonNegative(std::string_view field, int64_t v) {
  if (v < 0) return Invalid(field, "must be >= 0 (got " + std::to_string(v) + ")");
  return Status::Ok();
}

Status CheckFinite(std::string_view field, double v) {
  if (!std::isfinite(v)) return Invalid(field, "must be a finite number");
  return Status::Ok();
}

Status CheckPartitions(const AuditRecord& r) {
  int64_t sum = 0;
  for (size_t i = 0; i < r.partitions.size(); ++i) {
    const PartitionCount& p = r.partitions[i];
    // Field paths are built only when there is an error to report.
    auto at = [i](const char* key) { return "partitions[" + std::to_string(i) + "]." + key; };
    if (p.partition < 0) return Invalid(at("partition"), "must be >= 0 (got " + std::to_string(p.partition) + ")");
    if (p.count < 0) return Invalid(at("count"), "must be >= 0 (got " + std::to_string(p.count) + ")");
    if (p.first_offset < -1) return Invalid(at("firstOffset"), "must be >= 0, or -1 when unknown");
    if (p.last_offset < -1) return Invalid(at("lastOffset"), "must be >= 0, or -1 when unknown");
    if (p.chunk_start < -1) return Invalid(at("chunkStart"), "must be >= 0, or -1 when unknown");
    if (p.generation < -1 || p.generation > std::numeric_limits<int32_t>::max())
      return Invalid(at("generation"), "must be from 0 to 2^31-1, or -1 when unknown");
    if (p.assigned_ms < -1) return Invalid(at("assignedMs"), "must be >= 0, or -1 when unknown");
    if ((p.first_offset == -1) != (p.last_offset == -1))
      return Invalid(at("firstOffset"), "firstOffset and lastOffset are both known or both -1");
    if (p.first_offset >= 0) {
      if (p.last_offset < p.first_offset) return Invalid(at("lastOffset"), "must be >= firstOffset");
      // Every counted message has its own offset inside [firstOffset, lastOffset].
      if (p.count > p.last_offset - p.first_offset + 1)
        return Invalid(at("count"), "larger than the offset range [firstOffset, lastOffset]");
    }
    if (p.count > std::numeric_limits<int64_t>::max() - sum) return Invalid(at("count"), "sum overflows");
    sum += p.count;
  }
  if (r.partitions.size() > 1) {
    std::vector<int32_t> ids;
    ids.reserve(r.partitions.size());
    for (const auto& p : r.partitions) ids.push_back(p.partition);
    std::sort(ids.begin(), ids.end());
    if (auto dup = std::adjacent_find(ids.begin(), ids.end()); dup != ids.end()) {
      size_t second = 0;
      for (size_t i = 0, seen = 0; i < r.partitions.size(); ++i) {
        if (r.partitions[i].partition == *dup && seen++ == 1) second = i;
      }
      return Invalid("partitions[" + std::to_string(second) + "].partition",
                     "partition " + std::to_string(*dup) + " appears more than once");
    }
  }
  if (!r.partitions.empty() && sum != r.count)
    return Invalid("partitions", "partition counts add up to " + std::to_string(sum) + ", but count is " +
                                     std::to_string(r.count));
  return Status::Ok();
}

Status CheckCountRecord(const AuditRecord& r) {
  if (Status s = CheckTopicName(r.topic); !s.ok()) return s;
  if (r.window_begin_sec < 0) return Invalid("timeBeginInSec", "must be >= 0");
  if (r.window_begin_sec > kMaxEpochSec) return Invalid("timeBeginInSec", "after the year 9999 (milliseconds?)");
  if (r.window_end_sec <= r.window_begin_sec) return Invalid("timeEndInSec", "must be greater than timeBeginInSec");
  if (r.window_end_sec - r.window_begin_sec > kMaxWindowSec)
    return Invalid("timeEndInSec", "window of " + std::to_string(r.window_end_sec - r.window_begin_sec) +
                                       " s is longer than 7 days");
  if (Status s = CheckNonNegative("count", r.count); !s.ok()) return s;
  if (r.total_bytes) {
    if (Status s = CheckNonNegative("totalBytes", *r.total_bytes); !s.ok()) return s;
  }
  if (r.no_time_count) {
    if (Status s = CheckNonNegative("noTimeCount", *r.no_time_count); !s.ok()) return s;
    if (*r.no_time_count > r.count) return Invalid("noTimeCount", "larger than count");
  }
  if (r.malformed_count) {
    if (Status s = CheckNonNegative("malformedCount", *r.malformed_count); !s.ok()) return s;
    if (*r.malformed_count > r.count) return Invalid("malformedCount", "larger than count");
  }
  for (auto [name, v] : {std::pair<const char*, double>{"meanLatency", r.mean_latency_ms},
                         {"latency95", r.latency95_ms},
                         {"latency99", r.latency99_ms},
                         {"maxLatency", r.max_latency_ms}}) {
    if (Status s = CheckFinite(name, v); !s.ok()) return s;
  }
  if (r.latency50_ms) {
    if (Status s = CheckFinite("latency50", *r.latency50_ms); !s.ok()) return s;
  }
  if (r.latency_sketch.size() > kMaxAuditRecordBytes) return Invalid("latencySketch", "larger than 1 MiB");
  if (r.version >= 1) {
    if (!r.total_bytes) return Invalid("totalBytes", "required in a version 1 count record");
    if (!r.no_time_count) return Invalid("noTimeCount", "required in a version 1 count record");
    if (!r.malformed_count) return Invalid("malformedCount", "required in a version 1 count record");
    if (!r.latency50_ms) return Invalid("latency50", "required in a version 1 count record");
    if (!r.digest) return Invalid("digest", "required in a version 1 count record");
    if (r.flush_id.empty()) return Invalid("flushId", "must not be empty in a version 1 count record");
  }
  return CheckPartitions(r);
}

Status CheckHeartbeat(const AuditRecord& r) {
  if (r.version < 1) return Invalid("kind", "a heartbeat needs version 1");
  if (Status s = CheckNonNegative("watermarkMs", r.watermark_ms); !s.ok()) return s;
  if (r.window_sec <= 0 || r.window_sec > kMaxWindowSec)
    return Invalid("windowSizeInSec", "must be from 1 s to 7 days (got " + std::to_string(r.window_sec) + ")");
  if (Status s = CheckNonNegative("droppedRecords", r.dropped_records); !s.ok()) return s;
  if (Status s = CheckNonNegative("droppedObservations", r.dropped_observations); !s.ok()) return s;
  if (Status s = CheckNonNegative("skippedOffsets", r.skipped_offsets); !s.ok()) return s;
  return CheckNonNegative("failedDeliveries", r.failed_deliveries);
}

// ---- decoding ----

class Decoder {
 public:
  explicit Decoder(AuditRecord& r) : r_(r) {}

  Status Object(simdjson::dom::object obj) {
    // The kind decides which fields apply; an invalid "kind" is reported below.
    std::string_view kind;
    const bool heartbeat = !obj["kind"].get_string().get(kind) && kind == "heartbeat";
    const FieldSet ignored = heartbeat ? kCountOnly : kHeartbeatOnly;
    for (simdjson::dom::key_value_pair kv : obj) {
      std::optional<Field> f = LookupField(kv.key);
      // Unknown fields, and fields of the other kind, are ignored (forward compatible).
      if (!f || (Bit(*f) & ignored)) continue;
      if (keys_ & Bit(*f)) return Corrupt(Name(*f), "appears more than once");
      keys_ |= Bit(*f);
      if (kv.value.is_null()) continue;  // null = absent
      present_ |= Bit(*f);
      if (Status s = Read(*f, kv.value); !s.ok()) return s;
    }
    return Status::Ok();
  }

  FieldSet present() const { return present_; }

 private:
  static std::string_view Name(Field f) { return kFieldNames[static_cast<size_t>(f)]; }

  // Integers: a JSON integer, or a number with no fractional part (legacy
  // writers emit "timeBeginInSec": 1795303800.0) within +-2^53. Returns why
  // `e` is not one, or nothing.
  static std::optional<std::string> IntValue(simdjson::dom::element e, int64_t* out) {
    using T = simdjson::dom::element_type;
    switch (e.type()) {
      case T::INT64: *out = e.get_int64().value_unsafe(); return std::nullopt;
      case T::UINT64: return "integer out of range";
      case T::DOUBLE: {
        double d = e.get_double().value_unsafe();
        if (d != std::trunc(d)) return "expected an integer, got a fractional number";
        if (std::fabs(d) > kMaxExactDouble) return "integer out of range";
        *out = static_cast<int64_t>(d);
        return std::nullopt;
      }
      default: return std::string("expected an integer, got ") + TypeName(e.type());
    }
  }

  static Status Int(std::string_view name, simdjson::dom::element e, int64_t* out) {
    if (auto why = IntValue(e, out)) return Corrupt(name, *why);
    return Status::Ok();
  }

  static Status Double(std::string_view name, simdjson::dom::element e, double* out) {
    using T = simdjson::dom::element_type;
    switch (e.type()) {
      case T::INT64: *out = static_cast<double>(e.get_int64().value_unsafe()); return Status::Ok();
      case T::UINT64: *out = static_cast<double>(e.get_uint64().value_unsafe()); return Status::Ok();
      case T::DOUBLE: *out = e.get_double().value_unsafe(); return Status::Ok();
      default: return Corrupt(name, std::string("expected a number, got ") + TypeName(e.type()));
    }
  }

  static Status String(std::string_view name, simdjson::dom::element e, std::string* out) {
    std::string_view v;
    if (e.get_string().get(v)) return Corrupt(name, std::string("expected a string, got ") + TypeName(e.type()));
    out->assign(v);
    return Status::Ok();
  }

  Status Read(Field f, simdjson::dom::element e) {
    std::string_view name = Name(f);
    int64_t i = 0;
    switch (f) {
      case Field::kVersion:
        if (Status s = Int(name, e, &i); !s.ok()) return s;
        if (i != kAuditRecordVersion)
          return Corrupt(name, "unsupported version " + std::to_string(i) + " (this reader knows version " +
                                   std::to_string(kAuditRecordVersion) + "; legacy records have no version)");
        r_.version = static_cast<int>(i);
        return Status::Ok();
      case Field::kKind: {
        std::string kind;
        if (Status s = String(name, e, &kind); !s.ok()) return s;
        if (kind == "count") {
          r_.kind = RecordKind::kCount;
        } else if (kind == "heartbeat") {
          r_.kind = RecordKind::kHeartbeat;
        } else {
          return Corrupt(name, "expected \"count\" or \"heartbeat\"");
        }
        return Status::Ok();
      }
      case Field::kTopicName: return String(name, e, &r_.topic);
      case Field::kTimeBegin: return Int(name, e, &r_.window_begin_sec);
      case Field::kTimeEnd: return Int(name, e, &r_.window_end_sec);
      case Field::kCount: return Int(name, e, &r_.count);
      case Field::kTotalBytes: return Optional(name, e, &r_.total_bytes);
      case Field::kNoTimeCount: return Optional(name, e, &r_.no_time_count);
      case Field::kMalformedCount: return Optional(name, e, &r_.malformed_count);
      case Field::kMeanLatency: return Double(name, e, &r_.mean_latency_ms);
      case Field::kLatency50: {
        double d = 0;
        if (Status s = Double(name, e, &d); !s.ok()) return s;
        r_.latency50_ms = d;
        return Status::Ok();
      }
      case Field::kLatency95: return Double(name, e, &r_.latency95_ms);
      case Field::kLatency99: return Double(name, e, &r_.latency99_ms);
      case Field::kMaxLatency: return Double(name, e, &r_.max_latency_ms);
      case Field::kLatencySketch: return String(name, e, &r_.latency_sketch);
      case Field::kDigest: {
        std::string_view hex;
        if (e.get_string().get(hex))
          return Corrupt(name, std::string("expected a string of 16 hex digits, got ") + TypeName(e.type()));
        r_.digest = DigestFromHex(hex);
        if (!r_.digest) return Corrupt(name, "expected exactly 16 lowercase hex digits");
        return Status::Ok();
      }
      case Field::kTier: return String(name, e, &r_.tier);
      case Field::kHostname: return String(name, e, &r_.hostname);
      case Field::kDatacenter: return String(name, e, &r_.datacenter);
      case Field::kCluster: return String(name, e, &r_.cluster);
      case Field::kUuid: return String(name, e, &r_.uuid);
      case Field::kEmitterId: return String(name, e, &r_.emitter_id);
      case Field::kSeq:
        if (Status s = Int(name, e, &r_.seq); !s.ok()) return s;
        if (r_.seq < 0) return Corrupt(name, "must be >= 0 (got " + std::to_string(r_.seq) + ")");
        return Status::Ok();
      case Field::kFlushId: return String(name, e, &r_.flush_id);
      case Field::kPartitions: return Partitions(e);
      case Field::kWatermarkMs: return Int(name, e, &r_.watermark_ms);
      case Field::kWindowSize: return Int(name, e, &r_.window_sec);
      case Field::kDroppedRecords: return Int(name, e, &r_.dropped_records);
      case Field::kFailedDeliveries: return Int(name, e, &r_.failed_deliveries);
      case Field::kDroppedObservations: return Int(name, e, &r_.dropped_observations);
      case Field::kSkippedOffsets: return Int(name, e, &r_.skipped_offsets);
      case Field::kNumFields: break;
    }
    return Status::Internal("unhandled field");
  }

  static Status Optional(std::string_view name, simdjson::dom::element e, std::optional<int64_t>* out) {
    int64_t v = 0;
    if (Status s = Int(name, e, &v); !s.ok()) return s;
    *out = v;
    return Status::Ok();
  }

  Status Partitions(simdjson::dom::element e) {
    simdjson::dom::array arr;
    if (e.get_array().get(arr))
      return Corrupt("partitions", std::string("expected an array, got ") + TypeName(e.type()));
    r_.partitions.reserve(arr.size());
    size_t index = 0;
    for (simdjson::dom::element item : arr) {
      const size_t i = index++;
      auto at = [i](std::string_view key = {}) {
        std::string path = "partitions[" + std::to_string(i) + "]";
        if (!key.empty()) path += "." + std::string(key);
        return path;
      };
      simdjson::dom::object obj;
      if (item.get_object().get(obj))
        return Corrupt(at(), std::string("expected an object, got ") + TypeName(item.type()));
      PartitionCount p;
      bool has_partition = false, has_count = false;
      unsigned seen = 0;
      for (simdjson::dom::key_value_pair kv : obj) {
        static constexpr std::array<std::string_view, 7> kKeys = {
            "partition", "count", "firstOffset", "lastOffset", "chunkStart", "generation", "assignedMs"};
        auto it = std::find(kKeys.begin(), kKeys.end(), kv.key);
        if (it == kKeys.end()) continue;
        auto k = static_cast<unsigned>(it - kKeys.begin());
        if (seen & (1u << k)) return Corrupt(at(*it), "appears more than once");
        seen |= 1u << k;
        if (kv.value.is_null()) continue;
        int64_t v = 0;
        if (auto why = IntValue(kv.value, &v)) return Corrupt(at(*it), *why);
        switch (k) {
          case 0:
            if (v < 0 || v > std::numeric_limits<int32_t>::max())
              return Corrupt(at(*it), "must be from 0 to 2^31-1 (got " + std::to_string(v) + ")");
            p.partition = static_cast<int32_t>(v);
            has_partition = true;
            break;
          case 1:
            p.count = v;
            has_count = true;
            break;
          case 2: p.first_offset = v; break;
          case 3: p.last_offset = v; break;
          case 4: p.chunk_start = v; break;
          case 5: p.generation = v; break;
          case 6: p.assigned_ms = v; break;
        }
      }
      if (!has_partition) return Corrupt(at("partition"), "missing");
      if (!has_count) return Corrupt(at("count"), "missing");
      r_.partitions.push_back(p);
    }
    return Status::Ok();
  }

  AuditRecord& r_;
  FieldSet keys_ = 0;     // every known key seen, to reject duplicates
  FieldSet present_ = 0;  // known keys with a non-null value
};

}  // namespace

const char* RecordKindName(RecordKind kind) { return kind == RecordKind::kHeartbeat ? "heartbeat" : "count"; }

std::string DigestToHex(uint64_t digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, digest >>= 4) s[static_cast<size_t>(i)] = kHex[digest & 0xF];
  return s;
}

std::optional<uint64_t> DigestFromHex(std::string_view hex) {
  if (hex.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : hex) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    v = (v << 4) | d;
  }
  return v;
}

std::string EncodeAuditRecord(const AuditRecord& r) {
  const bool v1 = r.version != 0;
  const bool count = r.kind == RecordKind::kCount;
  std::string out;
  out.reserve(448 + r.latency_sketch.size() + r.partitions.size() * 96);
  json::ObjectWriter w(out);
  if (v1) w.Int("version", r.version);
  if (v1 || !count) w.String("kind", RecordKindName(r.kind));
  if (count) {
    w.String("topicName", r.topic);
    w.Int("timeBeginInSec", r.window_begin_sec);
    w.Int("timeEndInSec", r.window_end_sec);
    w.Int("count", r.count);
    if (r.total_bytes) w.Int("totalBytes", *r.total_bytes);
    if (r.no_time_count) w.Int("noTimeCount", *r.no_time_count);
    if (r.malformed_count) w.Int("malformedCount", *r.malformed_count);
    w.Double("meanLatency", r.mean_latency_ms);
    if (r.latency50_ms) w.Double("latency50", *r.latency50_ms);
    w.Double("latency95", r.latency95_ms);
    w.Double("latency99", r.latency99_ms);
    w.Double("maxLatency", r.max_latency_ms);
    if (v1 || !r.latency_sketch.empty()) w.String("latencySketch", r.latency_sketch);
    if (r.digest) w.String("digest", DigestToHex(*r.digest));
  }
  w.String("tier", r.tier);
  w.String("hostname", r.hostname);
  w.String("datacenter", r.datacenter);
  if (v1 || !r.cluster.empty()) w.String("cluster", r.cluster);
  w.String("uuid", r.uuid);
  if (v1 || !r.emitter_id.empty()) w.String("emitterId", r.emitter_id);
  if (v1 || r.seq >= 0) w.Int("seq", r.seq);
  if (v1 || !r.flush_id.empty()) w.String("flushId", r.flush_id);
  if (count && !r.partitions.empty()) {
    w.Key("partitions");
    out.push_back('[');
    for (size_t i = 0; i < r.partitions.size(); ++i) {
      const PartitionCount& p = r.partitions[i];
      if (i > 0) out.push_back(',');
      json::ObjectWriter pw(out);
      pw.Int("partition", p.partition);
      pw.Int("count", p.count);
      pw.Int("firstOffset", p.first_offset);
      pw.Int("lastOffset", p.last_offset);
      pw.Int("chunkStart", p.chunk_start);
      if (p.generation >= 0) pw.Int("generation", p.generation);
      if (p.assigned_ms >= 0) pw.Int("assignedMs", p.assigned_ms);
      pw.Close();
    }
    out.push_back(']');
  }
  if (!count) {
    w.Int("watermarkMs", r.watermark_ms);
    w.Int("windowSizeInSec", r.window_sec);
    w.Int("droppedRecords", r.dropped_records);
    w.Int("failedDeliveries", r.failed_deliveries);
    if (r.dropped_observations != 0) w.Int("droppedObservations", r.dropped_observations);
    if (r.skipped_offsets != 0) w.Int("skippedOffsets", r.skipped_offsets);
  }
  w.Close();
  return out;
}

Status ValidateAuditRecord(const AuditRecord& r) {
  if (r.version != 0 && r.version != kAuditRecordVersion)
    return Invalid("version", "must be " + std::to_string(kAuditRecordVersion) + ", or 0 for a legacy record");
  if (Status s = CheckText("tier", r.tier, /*non_empty=*/true); !s.ok()) return s;
  if (Status s = CheckText("hostname", r.hostname, /*non_empty=*/false); !s.ok()) return s;
  if (Status s = CheckText("datacenter", r.datacenter, /*non_empty=*/false); !s.ok()) return s;
  if (Status s = CheckText("cluster", r.cluster, /*non_empty=*/false); !s.ok()) return s;
  if (Status s = CheckText("uuid", r.uuid, /*non_empty=*/true); !s.ok()) return s;
  if (Status s = CheckText("emitterId", r.emitter_id, /*non_empty=*/r.version >= 1); !s.ok()) return s;
  if (Status s = CheckText("flushId", r.flush_id, /*non_empty=*/false); !s.ok()) return s;
  if (r.version >= 1 && r.seq < 0) return Invalid("seq", "must be >= 0 in a version 1 record");
  if (r.seq < -1) return Invalid("seq", "must be >= 0");
  return r.kind == RecordKind::kHeartbeat ? CheckHeartbeat(r) : CheckCountRecord(r);
}

Result<AuditRecord> DecodeAuditRecord(std::string_view json) {
  if (json.size() > kMaxAuditRecordBytes)
    return Status::Corruption("record of " + std::to_string(json.size()) + " bytes is larger than the 1 MiB limit");
  // One parser per thread: it keeps its buffers between records.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(json.data(), json.size()).get(doc); err)
    return Status::Corruption(std::string("not valid JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (doc.get_object().get(obj))
    return Status::Corruption(std::string("expected a JSON object, got ") + TypeName(doc.type()));

  AuditRecord r;
  r.version = 0;  // until a "version" field says otherwise
  Decoder decoder(r);
  if (Status s = decoder.Object(obj); !s.ok()) return s;

  FieldSet required;
  if (r.version == 0) {
    if (r.kind == RecordKind::kHeartbeat) return Corrupt("kind", "a heartbeat needs version 1");
    required = kLegacyCountRequired;
  } else {
    required = r.kind == RecordKind::kHeartbeat ? kV1HeartbeatRequired : kV1CountRequired;
  }
  if (FieldSet missing = required & ~decoder.present(); missing != 0) {
    auto first = static_cast<size_t>(std::countr_zero(missing));
    return Corrupt(kFieldNames[first], r.version == 0 ? "missing (required in a legacy record)"
                                                      : std::string("missing (required in a version 1 ") +
                                                            RecordKindName(r.kind) + " record)");
  }
  if (Status s = ValidateAuditRecord(r); !s.ok()) return Status::Corruption(s.message());
  return r;
}

}  // namespace chaperone
