// Versioned schema migrations (src/store/SCHEMA.md). Migration N is a list of
// SQL statements, written once (the column types `{bytes}` and `{serial}` are
// spelled by the dialect), applied in one transaction with its row in
// `schema_migrations`. Never edit a released migration: add the next one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chaperone::store::internal {

// What a migration does after its statements, in the same transaction
// (written in C++ where SQL cannot say it on every database).
enum class MigrationStep { kNone, kBackFillWindowTotals };

struct Migration {
  int version;
  const char* description;
  std::vector<const char*> statements;
  MigrationStep then = MigrationStep::kNone;
};

const std::vector<Migration>& Migrations();
int LatestSchemaVersion();

// The columns of `windows` in the order every backend reads them.
inline constexpr const char* kWindowColumns =
    "topic, tier, datacenter, cluster, window_begin_sec, window_end_sec, count, bytes, bytes_known, no_time, "
    "malformed, digest, digest_known, latency_sketch, latency_mean, latency_p50, latency_p95, latency_p99, "
    "latency_max, latency_upper_bound, records, updated_ms, latency_sum_ms, latency_samples, legacy_records, "
    "legacy_p50, legacy_p95, legacy_p99, legacy_max";
inline constexpr int kWindowColumnCount = 29;

inline constexpr const char* kPartitionColumns =
    "topic, tier, datacenter, cluster, window_begin_sec, partition_id, count, first_offset, last_offset, overlap";

// topic_summary (v4): per topic, tier and day (SCHEMA.md). The day of a window
// is its begin second rounded down to a multiple of 86400 (DayOf; the same
// expression in SQL: kDayOfBegin).
inline constexpr const char* kTopicSummaryColumns =
    "topic, tier, day_sec, windows, first_window_sec, last_window_sec, count, records, last_updated_ms, writes";
inline constexpr const char* kDayOfBegin = "(window_begin_sec - ((window_begin_sec % 86400) + 86400) % 86400)";
inline constexpr int64_t DayOf(int64_t begin_sec) { return begin_sec - ((begin_sec % 86400) + 86400) % 86400; }
// window_totals (v5): per topic, tier and bucket of six hours (a window's
// bucket: its begin second rounded down to a multiple of kTotalsBucketSec),
// the totals of its windows encoded in one value (EncodeTotals, engine.h).
inline constexpr int64_t kTotalsBucketSec = 21600;
inline constexpr int64_t BucketOf(int64_t begin_sec) {
  return begin_sec - ((begin_sec % kTotalsBucketSec) + kTotalsBucketSec) % kTotalsBucketSec;
}
// Recomputes topic_summary rows from the window rows that match a WHERE
// clause appended to it (the migration's back-fill, retention's partial day).
std::string TopicSummaryFrom(const std::string& where);

// alerts (v6), in the order of AlertRow's fields.
inline constexpr const char* kAlertColumns =
    "id, fingerprint, topic, source_tier, target_tier, kind, datacenter, state, severity, sent_severity, starts_ms, "
    "ends_ms, updated_ms, lost, duplicated, windows, source_messages, first_window_sec, last_window_sec";
inline constexpr int kAlertColumnCount = 19;

inline constexpr const char* kEmitterColumns =
    "emitter_id, tier, datacenter, cluster, hostname, last_seq, missing_records, gaps, watermark_ms, window_sec, "
    "last_seen_ms, dropped_records, failed_deliveries, dropped_observations, skipped_offsets, incomplete";
inline constexpr int kEmitterColumnCount = 16;

constexpr int CountColumns(std::string_view columns) {
  int n = 1;
  for (char c : columns) n += c == ',';
  return n;
}
static_assert(CountColumns(kWindowColumns) == kWindowColumnCount);
static_assert(CountColumns(kEmitterColumns) == kEmitterColumnCount);
static_assert(CountColumns(kAlertColumns) == kAlertColumnCount);

}  // namespace chaperone::store::internal
