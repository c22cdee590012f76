#include "store/schema.h"

namespace chaperone::store::internal {

// Version 3 (SCHEMA.md). One logical schema, written once in PostgreSQL's
// spelling, which SQLite reads with the same meaning (BIGINT, SMALLINT ->
// INTEGER affinity; DOUBLE PRECISION -> REAL). The dialect spells `{text}`,
// `{key}` (text in a key or an index), `{bytes}` and `{serial}` (the
// quarantine id) (Dialect::Type). Booleans are 0/1 integers and the 64-bit digest is stored as the
// BIGINT with the same bits. Quarantined raw messages are bytes: they may be
// anything. (SQLite stores made before the dialect layer were created with
// INTEGER/REAL spellings of the same types.)
std::string TopicSummaryFrom(const std::string& where) {
  return std::string("INSERT INTO topic_summary (") + kTopicSummaryColumns + ") SELECT topic, tier, " + kDayOfBegin +
         ", COUNT(*), MIN(window_begin_sec), MAX(window_begin_sec), SUM(count), SUM(records), MAX(updated_ms), "
         "COUNT(*) "
         "FROM windows" + where + " GROUP BY topic, tier, " + kDayOfBegin;
}

const std::vector<Migration>& Migrations() {
  static const std::string kBackFill = TopicSummaryFrom("");
  static const std::vector<Migration> kMigrations = {
      {1,
       "windows, partitions, chunks, applied_uuids, emitters, quarantine, consumer_positions, store_meta",
       {
           R"sql(CREATE TABLE windows (
  topic {key} NOT NULL, tier {key} NOT NULL, datacenter {key} NOT NULL, cluster {key} NOT NULL,
  window_begin_sec BIGINT NOT NULL, window_end_sec BIGINT NOT NULL,
  count BIGINT NOT NULL DEFAULT 0, bytes BIGINT NOT NULL DEFAULT 0, bytes_known SMALLINT NOT NULL DEFAULT 1,
  no_time BIGINT NOT NULL DEFAULT 0, malformed BIGINT NOT NULL DEFAULT 0,
  digest BIGINT NOT NULL DEFAULT 0, digest_known SMALLINT NOT NULL DEFAULT 1,
  latency_sketch {text} NOT NULL DEFAULT '',
  latency_mean DOUBLE PRECISION NOT NULL DEFAULT 0, latency_p50 DOUBLE PRECISION NOT NULL DEFAULT 0,
  latency_p95 DOUBLE PRECISION NOT NULL DEFAULT 0, latency_p99 DOUBLE PRECISION NOT NULL DEFAULT 0,
  latency_max DOUBLE PRECISION NOT NULL DEFAULT 0, latency_upper_bound SMALLINT NOT NULL DEFAULT 0,
  records BIGINT NOT NULL DEFAULT 0, updated_ms BIGINT NOT NULL DEFAULT 0,
  latency_sum_ms DOUBLE PRECISION NOT NULL DEFAULT 0, latency_samples BIGINT NOT NULL DEFAULT 0,
  legacy_records BIGINT NOT NULL DEFAULT 0, legacy_p50 DOUBLE PRECISION NOT NULL DEFAULT 0,
  legacy_p95 DOUBLE PRECISION NOT NULL DEFAULT 0, legacy_p99 DOUBLE PRECISION NOT NULL DEFAULT 0,
  legacy_max DOUBLE PRECISION NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, window_begin_sec, tier, datacenter, cluster)))sql",
           "CREATE INDEX windows_by_begin ON windows (window_begin_sec)",
           R"sql(CREATE TABLE partitions (
  topic {key} NOT NULL, tier {key} NOT NULL, datacenter {key} NOT NULL, cluster {key} NOT NULL,
  window_begin_sec BIGINT NOT NULL, partition_id INTEGER NOT NULL,
  count BIGINT NOT NULL DEFAULT 0, first_offset BIGINT NOT NULL DEFAULT -1, last_offset BIGINT NOT NULL DEFAULT -1,
  updated_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, tier, window_begin_sec, datacenter, cluster, partition_id)))sql",
           "CREATE INDEX partitions_by_begin ON partitions (window_begin_sec)",
           R"sql(CREATE TABLE chunks (
  tier {key} NOT NULL, datacenter {key} NOT NULL, cluster {key} NOT NULL, topic {key} NOT NULL,
  partition_id INTEGER NOT NULL, chunk_start BIGINT NOT NULL, flush_id {text} NOT NULL,
  contributions {text} NOT NULL, updated_ms BIGINT NOT NULL,
  PRIMARY KEY (tier, datacenter, cluster, topic, partition_id)))sql",
           R"sql(CREATE TABLE applied_uuids (
  uuid {key} PRIMARY KEY, window_begin_sec BIGINT NOT NULL, applied_ms BIGINT NOT NULL))sql",
           "CREATE INDEX applied_uuids_by_begin ON applied_uuids (window_begin_sec)",
           R"sql(CREATE TABLE emitters (
  emitter_id {key} PRIMARY KEY, tier {key} NOT NULL, datacenter {key} NOT NULL, cluster {key} NOT NULL,
  hostname {text} NOT NULL, last_seq BIGINT NOT NULL, missing_records BIGINT NOT NULL, gaps {text} NOT NULL,
  watermark_ms BIGINT NOT NULL, window_sec BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL,
  dropped_records BIGINT NOT NULL, failed_deliveries BIGINT NOT NULL))sql",
           R"sql(CREATE TABLE quarantine (
  id {serial}, received_ms BIGINT NOT NULL, reason {text} NOT NULL,
  raw {bytes} NOT NULL, source {key} NOT NULL))sql",
           "CREATE INDEX quarantine_by_source ON quarantine (source)",
           "CREATE INDEX quarantine_by_received ON quarantine (received_ms)",
           R"sql(CREATE TABLE consumer_positions (
  group_id {key} NOT NULL, topic {key} NOT NULL, partition_id INTEGER NOT NULL, next_offset BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL, PRIMARY KEY (group_id, topic, partition_id)))sql",
           "CREATE TABLE store_meta (\"key\" {key} PRIMARY KEY, value {text} NOT NULL)",
       }},
      {2,
       "chunks: the fencing epoch of the chunk's owner (group generation, assignment time); partitions: the "
       "retention overlap",
       {
           "ALTER TABLE chunks ADD COLUMN generation BIGINT NOT NULL DEFAULT -1",
           "ALTER TABLE chunks ADD COLUMN assigned_ms BIGINT NOT NULL DEFAULT -1",
           "ALTER TABLE partitions ADD COLUMN overlap BIGINT NOT NULL DEFAULT 0",
       }},
      {3,
       "emitters: observations a client tier could not count, and offsets a consumer tier found deleted by "
       "retention before it read them",
       {
           "ALTER TABLE emitters ADD COLUMN dropped_observations BIGINT NOT NULL DEFAULT 0",
           "ALTER TABLE emitters ADD COLUMN skipped_offsets BIGINT NOT NULL DEFAULT 0",
       }},
      {4,
       "topic_summary: per topic, tier and day, the number of window rows, the first and last window, the sums of "
       "count and records, the latest update and a change counter, kept in the same transaction as the window rows; back-filled",
       {
           R"sql(CREATE TABLE topic_summary (
  topic {key} NOT NULL, tier {key} NOT NULL, day_sec BIGINT NOT NULL,
  windows BIGINT NOT NULL, first_window_sec BIGINT NOT NULL, last_window_sec BIGINT NOT NULL,
  count BIGINT NOT NULL, records BIGINT NOT NULL, last_updated_ms BIGINT NOT NULL, writes BIGINT NOT NULL,
  PRIMARY KEY (topic, tier, day_sec)))sql",
           "CREATE INDEX topic_summary_by_day ON topic_summary (day_sec)",
           kBackFill.c_str(),
       }},
      {5,
       "window_totals: per topic, tier and six hours, each window's count, digest and rows summed over its "
       "datacenters and clusters (the overview and the loss detector judge windows without reading their rows); "
       "back-filled from the window rows",
       {
           R"sql(CREATE TABLE window_totals (
  topic {key} NOT NULL, tier {key} NOT NULL, bucket_sec BIGINT NOT NULL, totals {bytes} NOT NULL,
  PRIMARY KEY (topic, tier, bucket_sec)))sql",
           "CREATE INDEX window_totals_by_bucket ON window_totals (bucket_sec)",
       },
       MigrationStep::kBackFillWindowTotals},
      {6,
       "alerts and alert_outbox: the loss detector's alerts (firing and resolved) and the notices still to "
       "deliver to each receiver; emitters: the spans in which an emitter's reports are incomplete",
       {
           "ALTER TABLE emitters ADD COLUMN incomplete {text} NOT NULL DEFAULT ''",
           R"sql(CREATE TABLE alerts (
  id BIGINT NOT NULL PRIMARY KEY, fingerprint {key} NOT NULL, topic {key} NOT NULL, source_tier {text} NOT NULL,
  target_tier {text} NOT NULL, kind {text} NOT NULL, datacenter {text} NOT NULL, state {key} NOT NULL,
  severity {text} NOT NULL, sent_severity {text} NOT NULL, starts_ms BIGINT NOT NULL, ends_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL, lost BIGINT NOT NULL, duplicated BIGINT NOT NULL, windows BIGINT NOT NULL,
  source_messages BIGINT NOT NULL, first_window_sec BIGINT NOT NULL, last_window_sec BIGINT NOT NULL))sql",
           "CREATE INDEX alerts_by_state ON alerts (state, id)",
           "CREATE INDEX alerts_by_topic ON alerts (topic, id)",
           R"sql(CREATE TABLE alert_outbox (
  alert_id BIGINT NOT NULL, receiver {key} NOT NULL, due_ms BIGINT NOT NULL, attempts BIGINT NOT NULL,
  last_error {text} NOT NULL, PRIMARY KEY (alert_id, receiver)))sql",
           "CREATE INDEX alert_outbox_by_due ON alert_outbox (due_ms)",
       }},
  };
  return kMigrations;
}

int LatestSchemaVersion() { return Migrations().back().version; }

}  // namespace chaperone::store::internal
