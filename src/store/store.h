// The store: merged audit state, shared by the collector (writes), the web
// service (reads) and the loss detector (reads the counts, keeps its alerts).
// One SQL engine over SQLite (embedded default), PostgreSQL and MySQL/MariaDB. Schema and migrations: src/store/SCHEMA.md.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/status.h"

namespace chaperone::store {

// Identifies one merged row: what one tier (in one datacenter and cluster) saw
// of one topic in one window.
struct WindowRow {
  std::string topic, tier, datacenter, cluster;
  int64_t window_begin_sec = 0, window_end_sec = 0;
  int64_t count = 0, bytes = 0, no_time = 0, malformed = 0;
  bool bytes_known = true;   // false when a contributing record lacked totalBytes (legacy client): bytes is a lower bound
  uint64_t digest = 0;
  bool digest_known = true;  // false when any contributing record lacked a digest (legacy)
  std::string latency_sketch;  // encoded merged LatencySketch; empty if none
  double latency_mean = 0, latency_p50 = 0, latency_p95 = 0, latency_p99 = 0, latency_max = 0;
  bool latency_upper_bound = false;  // legacy records were merged: percentiles are upper bounds (max)
  int64_t records = 0;               // audit records merged into this row
  int64_t updated_ms = 0;
};

struct PartitionRow {
  std::string topic, tier, datacenter, cluster;
  int64_t window_begin_sec = 0;
  int32_t partition = 0;
  int64_t count = 0, first_offset = -1, last_offset = -1;
  // Retention overlap: at most this many of `count` may have been counted
  // twice, because retention deleted offsets between a report of this
  // partition and its commit and the replay could not start where the report
  // did (docs/architecture.md, "Retention"). 0 almost always.
  int64_t overlap = 0;
};

struct EmitterRow {
  std::string emitter_id, tier, datacenter, cluster, hostname;
  int64_t last_seq = -1;
  int64_t missing_records = 0;  // seq values never received (gaps)
  int64_t watermark_ms = 0;     // latest heartbeat watermark
  int64_t window_sec = 0;
  int64_t last_seen_ms = 0;     // collector wall clock when its last record was applied
  int64_t dropped_records = 0, failed_deliveries = 0;
  // Latest heartbeat's droppedObservations and skippedOffsets (since the
  // emitter started): messages seen but never counted, and offsets deleted by
  // retention before they were read.
  int64_t dropped_observations = 0, skipped_offsets = 0;
  // (v6) Wall-clock spans [from_ms, to_ms] (both included; ascending, merged,
  // at most kMaxIncompleteSpans) in which this emitter's reports are
  // incomplete: audit records it sent that never arrived (sequence gaps not
  // filled yet) or that it could not deliver (droppedRecords grew). A window
  // overlapping one may lack counts of this emitter: analysis::Finality judges
  // it unknown. The rule that sets them: SCHEMA.md, `emitters.incomplete`.
  std::vector<std::pair<int64_t, int64_t>> incomplete_ms;
};

// Incomplete spans kept per emitter (EmitterRow::incomplete_ms).
inline constexpr size_t kMaxIncompleteSpans = 256;

// Sorts wall-clock spans [from, to] and merges those that overlap or touch;
// then, while more than `max_spans` (0: no limit) are left, merges the two
// oldest into one (which also covers the time between them). Every instant of
// the input stays covered; spans with to < from are dropped.
void MergeSpans(std::vector<std::pair<int64_t, int64_t>>& spans, size_t max_spans = kMaxIncompleteSpans);

struct QuarantineRow {
  int64_t id = 0;
  int64_t received_ms = 0;
  std::string reason;
  std::string raw;     // the record as received (truncated to 64 KiB)
  std::string source;  // e.g. "chaperone-audit/3@1234"
};

// Where a collector group is in the audit topic, stored atomically with the data.
struct ConsumerPosition {
  std::string group, topic;
  int32_t partition = 0;
  int64_t next_offset = 0;
};

// One message from the audit topic: decoded (record) or not (quarantine).
struct Incoming {
  std::optional<AuditRecord> record;  // set when valid
  std::string raw;                    // always set
  std::string error;                  // why it is quarantined (when !record)
  std::string source;                 // "topic/partition@offset"
};

struct ApplyStats {
  int64_t applied = 0;      // records merged
  int64_t duplicates = 0;   // uuid seen before: skipped
  int64_t replayed = 0;     // service chunks replaced (see docs/architecture.md)
  int64_t quarantined = 0;
  int64_t expired = 0;      // windows older than the retention horizon: skipped
  // Service/replicator records of a member that was cut off while a newer owner
  // counted the same partition (an older group generation): kept in quarantine
  // with the reason, never merged (docs/architecture.md, "Zombies").
  int64_t fenced = 0;
  // Uncommitted chunks whose replay started later because retention deleted
  // their first offsets; and the messages of them that may be counted twice
  // (reported on the partition rows as `overlap`).
  int64_t retention_overlaps = 0;
  int64_t overlap_messages = 0;
};

struct TopicSummary {
  std::string topic;
  std::vector<std::string> tiers;
  int64_t first_window_sec = 0, last_window_sec = 0;
  int64_t last_updated_ms = 0;
};

// One row of the topic summary (SCHEMA.md, v4): what the window rows of one
// topic and tier whose windows begin in one UTC day add up to. Kept by
// Store::Apply and ApplyRetention in the same transaction as the window rows.
struct TopicDay {
  std::string topic, tier;
  int64_t day_sec = 0;  // window_begin_sec rounded down to a multiple of 86400
  int64_t windows = 0;  // window rows
  int64_t first_window_sec = 0, last_window_sec = 0;
  int64_t count = 0, records = 0;  // sums over the rows
  int64_t last_updated_ms = 0;     // the latest updated_ms of a row
  // A change counter, not a function of the rows: it grows with every Apply
  // that changes the rows (readers compare it to see whether to re-read them).
  int64_t writes = 0;
  auto operator<=>(const TopicDay&) const = default;
};

// Whether a window row observed any latency (a sketch, or percentiles from
// legacy records).
bool HasLatency(const WindowRow& r);

// One window of one topic and tier, merged over its datacenters and clusters
// (SCHEMA.md, v5 `window_totals`): what the overview and the loss detector
// compare tier by tier, kept by Store::Apply in the same transaction as the
// window rows, so that judging a day of windows never reads the rows.
struct WindowTotal {
  int64_t window_begin_sec = 0, window_end_sec = 0;  // the end: the latest of the rows'
  int64_t count = 0;
  uint64_t digest = 0;          // the rows' digests summed modulo 2^64
  int64_t rows = 0;             // window rows merged (datacenters x clusters)
  int64_t unknown_digests = 0;  // of which without a digest (legacy): the sum is then no digest
  int64_t updated_ms = 0;       // the latest updated_ms of a row
  // The latency, when one row holds it all: kNone (the window has one row and
  // it observed no latency), kOne (one row: its p99 is `p99`), kRows (several
  // rows: merging their sketches needs the rows).
  enum class Latency : uint8_t { kNone, kOne, kRows } latency = Latency::kNone;
  double p99 = 0;
  bool digest_known() const { return unknown_digests == 0; }
  auto operator<=>(const WindowTotal&) const = default;
};

// The window totals of one topic and tier, windows ascending.
struct TierTotals {
  std::string topic, tier;
  std::vector<WindowTotal> windows;
  auto operator<=>(const TierTotals&) const = default;
};

// ---- The loss detector's alerts (SCHEMA.md, v6) ----
//
// One alert as the store keeps it: one occurrence of an identity (topic,
// source tier, target tier, kind, datacenter; `fingerprint` names it), from
// when it fired to when it resolved. The detector keeps at most one firing
// alert per fingerprint; resolved ones are its history. Strings are the words
// of docs/detect.md ("loss", "firing", "warning", ...): the store does not
// interpret them.
struct AlertRow {
  int64_t id = 0;  // 0: a new alert (SaveAlerts assigns its id)
  std::string fingerprint;
  std::string topic, source_tier, target_tier, kind, datacenter;
  std::string state;     // "firing" | "resolved"
  std::string severity;  // as judged now
  // The severity receivers were last told (Alertmanager labels carry it: a
  // change ends the alert under its old labels); "" = not told yet.
  std::string sent_severity;
  int64_t starts_ms = 0, ends_ms = 0, updated_ms = 0;  // wall clock; ends_ms 0 while firing
  // Figures over the alert's windows: messages lost and duplicated, windows
  // affected, the source tier's messages in them, first and last window start.
  int64_t lost = 0, duplicated = 0, windows = 0, source_messages = 0;
  int64_t first_window_sec = 0, last_window_sec = 0;
  auto operator<=>(const AlertRow&) const = default;
};

// Which alerts to read: newest first (by id), at most `limit`.
struct AlertQuery {
  std::optional<std::string> state;  // "firing" / "resolved"; nullopt: both
  std::optional<std::string> topic;
  std::vector<int64_t> ids;          // not empty: only these
  int64_t before_id = 0;             // > 0: only ids below it (paging)
  int64_t updated_since_ms = 0;      // only alerts updated at or after
  int limit = 100;
};

// A change to one alert and the receivers to tell about it.
struct AlertChange {
  AlertRow alert;                   // id 0: inserted (SaveAlerts sets the id)
  std::vector<std::string> notify;  // receiver names: each gets a notice due now
};

// A notice in the outbox: receiver `receiver` must be told alert `alert_id`'s
// state as stored when it is delivered. One notice per (alert, receiver): a
// newer change to a queued alert reuses it.
struct AlertNotice {
  int64_t alert_id = 0;
  std::string receiver;
  int64_t due_ms = 0;    // not before
  int64_t attempts = 0;  // deliveries tried and failed
  std::string last_error;
  auto operator<=>(const AlertNotice&) const = default;
};

// Whether Store::Open may create a SQLite database. Writers (the collector,
// `chaperone up`) create it; readers (`chaperone web`) must find it, so that a
// mistyped path fails at start instead of showing an empty store.
enum class OpenMode { kCreate, kMustExist };

// The schema as operators see it (`chaperone store check`, `store migrate`).
struct SchemaMigration {
  int version = 0;
  std::string description;
  int64_t applied_ms = -1;  // wall clock when it was applied; -1: pending
};
struct SchemaState {
  std::string backend;
  int current = 0;  // the highest applied version (0: an empty database)
  int latest = 0;   // this binary's
  std::vector<SchemaMigration> migrations;  // applied ones as recorded, then this binary's pending ones
};

class Store {
 public:
  virtual ~Store() = default;

  // "sqlite:PATH", a plain path (SQLite), "postgresql://..." / "postgres://...", or
  // "mysql://user:pass@host:port/db" (MySQL/MariaDB).
  // Creates or migrates the schema to the current version. With kMustExist a
  // SQLite file (or its directory) that does not exist, or a file or database
  // without the schema (empty), is NotFound, naming it, and nothing is created
  // (":memory:" is always opened); an older schema is migrated.
  static Result<std::unique_ptr<Store>> Open(const std::string& url, OpenMode mode = OpenMode::kCreate);
  // Reads the schema's state and changes nothing: not even a SQLite file is
  // created (NotFound, naming the path), and no migration runs.
  static Result<SchemaState> InspectSchema(const std::string& url);

  virtual std::string backend() const = 0;  // "sqlite" | "postgresql" | "mysql"
  virtual int schema_version() const = 0;
  // A cheap read: OK when the store can be read now (for /health).
  virtual Status Ping() = 0;

  // Writes a batch in ONE transaction: each valid record exactly once (dedup by
  // uuid), invalid ones into quarantine, and the consumer positions. Either all
  // of it is committed or none (a failure returns non-OK and changes nothing).
  virtual Result<ApplyStats> Apply(const std::vector<Incoming>& batch,
                                   const std::vector<ConsumerPosition>& positions, int64_t now_ms) = 0;
  virtual Result<std::vector<ConsumerPosition>> LoadPositions(const std::string& group, const std::string& topic) = 0;

  // Reads (all parameterised). Times are window start seconds; ranges [from, to).
  // Every topic and its tiers, from the topic summary (never the window rows).
  virtual Result<std::vector<TopicSummary>> ListTopics() = 0;
  // The topic summary's rows of the days that hold windows beginning in
  // [from, to), ordered by topic, tier, day (names compared byte by byte, as
  // std::string does, on every database); with `topics`, only of the topics
  // from .first to .second (inclusive, in that order).
  virtual Result<std::vector<TopicDay>> QueryTopicSummary(
      int64_t from_sec, int64_t to_sec,
      const std::optional<std::pair<std::string, std::string>>& topics = std::nullopt) = 0;
  virtual Result<std::vector<WindowRow>> QueryWindows(const std::string& topic, const std::optional<std::string>& tier,
                                                      int64_t from_sec, int64_t to_sec) = 0;
  // The window totals of windows beginning in [from, to), per topic and tier
  // ordered by topic, tier (byte by byte); with `topics` not empty, only of
  // those topics (read by equality: every database's key index answers it,
  // whatever its collation). Reads a few stored values per topic and tier a
  // day, never the window rows.
  virtual Result<std::vector<TierTotals>> QueryWindowTotals(int64_t from_sec, int64_t to_sec,
                                                            std::span<const std::string> topics = {}) = 0;
  // Every topic's windows in [from, to) (the overview page), ordered by topic, window, tier.
  virtual Result<std::vector<WindowRow>> QueryAllWindows(int64_t from_sec, int64_t to_sec) = 0;
  virtual Result<std::vector<PartitionRow>> QueryPartitions(const std::string& topic, const std::string& tier,
                                                            int64_t window_begin_sec) = 0;
  virtual Result<std::vector<EmitterRow>> QueryEmitters(const std::optional<std::string>& tier) = 0;
  virtual Result<std::vector<QuarantineRow>> QueryQuarantine(int limit) = 0;
  virtual Result<int64_t> QuarantineCount() = 0;

  // Deletes windows (and their partitions, chunks, dedup entries) that began before `before_sec`,
  // quarantine rows and emitters last seen before it, and alerts resolved before it (with their
  // notices); records for windows before the horizon
  // are skipped from then on (ApplyStats::expired), so a late redelivery cannot resurrect them.
  virtual Status ApplyRetention(int64_t before_sec) = 0;

  // ---- Alerts (SCHEMA.md, v6) ----
  // Leases: one holder at a time of lease `name` across processes sharing the
  // store. True when `owner` holds it now until now_ms + ttl_ms (taken when
  // free, expired or already its own; renewed then); false when another owner
  // holds an unexpired lease.
  virtual Result<bool> TakeLease(const std::string& name, const std::string& owner, int64_t now_ms,
                                 int64_t ttl_ms) = 0;
  // In one transaction, only while `owner` holds lease `lease` at now_ms (else
  // AlreadyExists, and nothing changes): inserts the alerts with id 0 (their
  // ids are set in `changes`), updates the others, and queues a notice due
  // now_ms for each receiver named (attempts reset).
  virtual Status SaveAlerts(std::vector<AlertChange>& changes, const std::string& lease, const std::string& owner,
                            int64_t now_ms) = 0;
  virtual Result<std::vector<AlertRow>> QueryAlerts(const AlertQuery& q) = 0;
  // The notices due at now_ms, oldest due first, at most `limit`.
  virtual Result<std::vector<AlertNotice>> DueNotices(int64_t now_ms, int limit) = 0;
  // In one transaction: removes `delivered` (unless re-queued since, i.e.
  // its due_ms changed), and stores `retry`'s attempts, due_ms and last_error.
  virtual Status SettleNotices(const std::vector<AlertNotice>& delivered, const std::vector<AlertNotice>& retry) = 0;
};

// The topic summary recomputed from window rows (any order): what the store
// keeps, ordered by topic, tier, day (tests, the in-memory fake); `writes` 0.
std::vector<TopicDay> SummarizeWindows(const std::vector<WindowRow>& rows);
// The window totals recomputed from window rows (any order), ordered as
// QueryWindowTotals orders them (tests, the in-memory fake, the migration).
std::vector<TierTotals> TotalWindows(const std::vector<WindowRow>& rows);
// ListTopics from summary rows ordered by topic, tier, day.
std::vector<TopicSummary> ListFromSummary(const std::vector<TopicDay>& days);

}  // namespace chaperone::store
