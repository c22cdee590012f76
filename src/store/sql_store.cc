// The one SQL store: every statement, read, the transaction wrapper, retention
// and migrations, over a Dialect (dialect.h) for what differs per database.
// Concurrency (SCHEMA.md): rows about to be changed are locked first — a
// SELECT ... FOR UPDATE (where the dialect has it), or an INSERT ... ON
// CONFLICT DO UPDATE ... RETURNING that creates a missing row and locks it in
// one round trip — so that several collectors sharing a PostgreSQL database
// serialise on a row instead of overwriting each other. SQLite's write
// transaction already excludes every other writer.
#include <algorithm>
#include <ctime>
#include <mutex>

#include "store/dialect.h"
#include "store/engine.h"
#include "store/schema.h"

namespace chaperone::store::internal {
namespace {

WindowState ReadWindow(const Row& q) {
  WindowState w;
  WindowRow& r = w.row;
  r.topic = q.Text(0);
  r.tier = q.Text(1);
  r.datacenter = q.Text(2);
  r.cluster = q.Text(3);
  r.window_begin_sec = q.Int(4);
  r.window_end_sec = q.Int(5);
  r.count = q.Int(6);
  r.bytes = q.Int(7);
  r.bytes_known = q.Int(8) != 0;
  r.no_time = q.Int(9);
  r.malformed = q.Int(10);
  r.digest = static_cast<uint64_t>(q.Int(11));
  r.digest_known = q.Int(12) != 0;
  r.latency_sketch = q.Text(13);
  r.latency_mean = q.Real(14);
  r.latency_p50 = q.Real(15);
  r.latency_p95 = q.Real(16);
  r.latency_p99 = q.Real(17);
  r.latency_max = q.Real(18);
  r.latency_upper_bound = q.Int(19) != 0;
  r.records = q.Int(20);
  r.updated_ms = q.Int(21);
  w.latency_sum_ms = q.Real(22);
  w.latency_samples = q.Int(23);
  w.legacy_records = q.Int(24);
  w.legacy_p50 = q.Real(25);
  w.legacy_p95 = q.Real(26);
  w.legacy_p99 = q.Real(27);
  w.legacy_max = q.Real(28);
  return w;
}

PartitionRow ReadPartition(const Row& q) {
  PartitionRow p;
  p.topic = q.Text(0);
  p.tier = q.Text(1);
  p.datacenter = q.Text(2);
  p.cluster = q.Text(3);
  p.window_begin_sec = q.Int(4);
  p.partition = static_cast<int32_t>(q.Int(5));
  p.count = q.Int(6);
  p.first_offset = q.Int(7);
  p.last_offset = q.Int(8);
  p.overlap = q.Int(9);
  return p;
}

EmitterState ReadEmitter(const Row& q) {
  EmitterState e;
  EmitterRow& r = e.row;
  r.emitter_id = q.Text(0);
  r.tier = q.Text(1);
  r.datacenter = q.Text(2);
  r.cluster = q.Text(3);
  r.hostname = q.Text(4);
  r.last_seq = q.Int(5);
  r.missing_records = q.Int(6);
  e.gaps = DecodeGaps(q.Text(7));
  r.watermark_ms = q.Int(8);
  r.window_sec = q.Int(9);
  r.last_seen_ms = q.Int(10);
  r.dropped_records = q.Int(11);
  r.failed_deliveries = q.Int(12);
  return e;
}

// "?1, ?2, ..., ?n".
std::string Placeholders(int n) {
  std::string out;
  for (int i = 1; i <= n; ++i) out += (i > 1 ? ", ?" : "?") + std::to_string(i);
  return out;
}

// "c = excluded.c, ..." for every column of `columns` after the first `key_count`.
std::string ExcludedSet(std::string_view columns, int key_count) {
  std::string out;
  int i = 0;
  for (size_t b = 0; b < columns.size();) {
    size_t e = std::min(columns.find(',', b), columns.size());
    std::string col(columns.substr(b, e - b));
    col.erase(0, col.find_first_not_of(' '));
    b = e + 1;
    if (i++ < key_count) continue;
    out += (out.empty() ? "" : ", ") + col + " = excluded." + col;
  }
  return out;
}

// Collects rows: `read` turns each into a T.
template <typename T, typename F>
Result<std::vector<T>> Collect(Dialect& db, const std::string& sql, const std::vector<Param>& params, F read) {
  std::vector<T> out;
  Status s = db.Run(sql, params, [&](const Row& r) {
    out.push_back(read(r));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

// At most one row: `read` turns it into a T.
template <typename T, typename F>
Result<std::optional<T>> One(Dialect& db, const std::string& sql, const std::vector<Param>& params, F read) {
  auto rows = Collect<T>(db, sql, params, read);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<T>();
  return std::optional<T>(std::move(rows->front()));
}

// The statements whose spelling depends on the dialect, built once per store.
struct Statements {
  explicit Statements(const Dialect& db) {
    const std::string window_key = "topic, window_begin_sec, tier, datacenter, cluster";
    const std::string partition_key = "topic, tier, window_begin_sec, datacenter, cluster, partition_id";
    const std::string chunk_key = "tier, datacenter, cluster, topic, partition_id";
    select_window = "SELECT " + std::string(kWindowColumns) +
                    " FROM windows WHERE topic = ?1 AND window_begin_sec = ?2 AND tier = ?3 AND datacenter = ?4 AND "
                    "cluster = ?5" + db.ForUpdate();
    create_window = Creating(db, db.Upsert("INSERT INTO windows (" + window_key + ", window_end_sec) VALUES (?1, ?2, ?3, ?4, ?5, ?2)",
                              window_key, "records = windows.records"), select_window);
    save_window = db.Upsert("INSERT INTO windows (" + std::string(kWindowColumns) + ") VALUES (" +
                                Placeholders(kWindowColumnCount) + ")",
                            window_key, ExcludedSet(kWindowColumns, 5));
    select_partition = "SELECT " + std::string(kPartitionColumns) +
                       " FROM partitions WHERE topic = ?1 AND tier = ?2 AND window_begin_sec = ?3 AND "
                       "datacenter = ?4 AND cluster = ?5 AND partition_id = ?6" + db.ForUpdate();
    create_partition = Creating(db, db.Upsert("INSERT INTO partitions (" + partition_key + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                 partition_key, "count = partitions.count"), select_partition);
    save_partition = db.Upsert(
        "INSERT INTO partitions (" + partition_key + ", count, first_offset, last_offset, updated_ms, overlap) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        partition_key,
        "count = excluded.count, first_offset = excluded.first_offset, last_offset = excluded.last_offset, "
        "overlap = excluded.overlap, updated_ms = excluded.updated_ms");
    select_chunk = "SELECT chunk_start, flush_id, contributions, updated_ms, generation, assigned_ms FROM chunks "
                   "WHERE tier = ?1 AND datacenter = ?2 AND cluster = ?3 AND topic = ?4 AND partition_id = ?5" +
                   db.ForUpdate();
    create_chunk = Creating(db, db.Upsert("INSERT INTO chunks (" + chunk_key +
                                 ", chunk_start, flush_id, contributions, updated_ms) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, -1, '', '', 0)",
                             chunk_key, "updated_ms = chunks.updated_ms"), select_chunk);
    select_emitter = "SELECT " + std::string(kEmitterColumns) + " FROM emitters WHERE emitter_id = ?1" + db.ForUpdate();
    create_emitter = Creating(db, db.Upsert("INSERT INTO emitters (" + std::string(kEmitterColumns) +
                                   ") VALUES (?1, '', '', '', '', -1, 0, '', 0, 0, 0, 0, 0)",
                               "emitter_id", "last_seq = emitters.last_seq"), select_emitter);
    save_position = db.Upsert(
        "INSERT INTO consumer_positions (group_id, topic, partition_id, next_offset, updated_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
        "group_id, topic, partition_id",
        "next_offset = " + db.Greatest() + "(consumer_positions.next_offset, excluded.next_offset), "
        "updated_ms = excluded.updated_ms");
    add_summary = db.Upsert(
        "INSERT INTO topic_summary (" + std::string(kTopicSummaryColumns) + ") VALUES (" + Placeholders(10) + ")",
        "topic, tier, day_sec",
        "windows = topic_summary.windows + excluded.windows, first_window_sec = " + db.Least() +
            "(topic_summary.first_window_sec, excluded.first_window_sec), last_window_sec = " + db.Greatest() +
            "(topic_summary.last_window_sec, excluded.last_window_sec), count = topic_summary.count + excluded.count, "
            "records = topic_summary.records + excluded.records, last_updated_ms = " + db.Greatest() +
            "(topic_summary.last_updated_ms, excluded.last_updated_ms), writes = topic_summary.writes + excluded.writes");
    save_horizon = db.Upsert("INSERT INTO store_meta (\"key\", value) VALUES ('retention_horizon_sec', ?1)", "\"key\"",
                             "value = CAST(" + db.Greatest() + "(CAST(store_meta.value AS " + db.CastInt() +
                                 "), CAST(excluded.value AS " + db.CastInt() + ")) AS " + db.CastText() + ")");
  }
  // An upsert that creates a row to lock, returning `select`'s columns where the dialect can.
  static std::string Creating(const Dialect& db, std::string upsert, const std::string& select) {
    if (!db.UpsertReturning()) return upsert;
    return upsert + " RETURNING " + select.substr(7, select.find(" FROM ") - 7);
  }

  std::string select_window, create_window, save_window, select_partition, create_partition, save_partition,
      select_chunk, create_chunk, select_emitter, create_emitter, save_position, add_summary, save_horizon;
};

class SqlTxn final : public Txn {
 public:
  SqlTxn(Dialect& db, const Statements& sql) : db_(db), sql_(sql) {}

  Result<std::vector<bool>> ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                       int64_t now_ms) override {
    return db_.ClaimUuids(uuids, now_ms);
  }

  Result<std::optional<WindowState>> LoadWindow(const WindowKey& k, bool create) override {
    std::vector<Param> key = {k.topic, k.window_begin_sec, k.tier, k.datacenter, k.cluster};
    if (create) return CreateAndLock<WindowState>(sql_.create_window, sql_.select_window, key, ReadWindow);
    return One<WindowState>(db_, sql_.select_window, key, ReadWindow);
  }

  Status SaveWindow(const WindowState& w) override {
    const WindowRow& r = w.row;
    return db_.Run(sql_.save_window,
                   {r.topic, r.tier, r.datacenter, r.cluster, r.window_begin_sec, r.window_end_sec, r.count, r.bytes,
                    r.bytes_known, r.no_time, r.malformed, r.digest, r.digest_known, r.latency_sketch, r.latency_mean,
                    r.latency_p50, r.latency_p95, r.latency_p99, r.latency_max, r.latency_upper_bound, r.records,
                    r.updated_ms, w.latency_sum_ms, w.latency_samples, w.legacy_records, w.legacy_p50, w.legacy_p95,
                    w.legacy_p99, w.legacy_max});
  }

  Result<std::optional<PartitionState>> LoadPartition(const PartitionKey& k, bool create) override {
    const WindowKey& w = k.window;
    std::vector<Param> key = {w.topic, w.tier, w.window_begin_sec, w.datacenter, w.cluster, k.partition};
    auto read = [](const Row& r) { return PartitionState{ReadPartition(r)}; };
    if (create) return CreateAndLock<PartitionState>(sql_.create_partition, sql_.select_partition, key, read);
    return One<PartitionState>(db_, sql_.select_partition, key, read);
  }

  Status SavePartition(const PartitionState& p, int64_t now_ms) override {
    const PartitionRow& r = p.row;
    return db_.Run(sql_.save_partition, {r.topic, r.tier, r.window_begin_sec, r.datacenter, r.cluster, r.partition,
                                         r.count, r.first_offset, r.last_offset, now_ms, r.overlap});
  }

  Status AddToSummary(const TopicDay& d) override {
    return db_.Run(sql_.add_summary, {d.topic, d.tier, d.day_sec, d.windows, d.first_window_sec, d.last_window_sec,
                                      d.count, d.records, d.last_updated_ms, d.writes});
  }

  // A placeholder (chunk_start -1) is created so that the row can be locked.
  Result<std::optional<ChunkState>> LoadChunk(const ChunkKey& k) override {
    std::string contributions;
    auto c = CreateAndLock<ChunkState>(
        sql_.create_chunk, sql_.select_chunk, {k.tier, k.datacenter, k.cluster, k.topic, k.partition},
        [&](const Row& r) {
          contributions = r.Text(2);
          return ChunkState{.chunk_start = r.Int(0), .flush_id = r.Text(1), .generation = r.Int(4),
                            .assigned_ms = r.Int(5), .windows = {}, .updated_ms = r.Int(3)};
        });
    if (!c.ok() || !*c) return c;
    auto windows = DecodeContributions(contributions);
    if (!windows.ok()) return windows.status();
    (*c)->windows = std::move(*windows);
    return c;
  }

  Status SaveChunk(const ChunkKey& k, const ChunkState& c) override {
    return db_.Run(
        "UPDATE chunks SET chunk_start = ?6, flush_id = ?7, contributions = ?8, updated_ms = ?9, generation = ?10, "
        "assigned_ms = ?11 WHERE tier = ?1 AND datacenter = ?2 AND cluster = ?3 AND topic = ?4 AND partition_id = ?5",
        {k.tier, k.datacenter, k.cluster, k.topic, k.partition, c.chunk_start, c.flush_id,
         EncodeContributions(c.windows), c.updated_ms, c.generation, c.assigned_ms});
  }

  // A placeholder (last_seq -1) is created so that the row can be locked.
  Result<std::optional<EmitterState>> LoadEmitter(const std::string& id) override {
    return CreateAndLock<EmitterState>(sql_.create_emitter, sql_.select_emitter, {id}, ReadEmitter);
  }

  Status SaveEmitter(const EmitterState& e) override {
    const EmitterRow& r = e.row;
    return db_.Run(
        "UPDATE emitters SET tier = ?2, datacenter = ?3, cluster = ?4, hostname = ?5, last_seq = ?6, "
        "missing_records = ?7, gaps = ?8, watermark_ms = ?9, window_sec = ?10, last_seen_ms = ?11, "
        "dropped_records = ?12, failed_deliveries = ?13 WHERE emitter_id = ?1",
        {r.emitter_id, r.tier, r.datacenter, r.cluster, r.hostname, r.last_seq, r.missing_records,
         EncodeGaps(e.gaps), r.watermark_ms, r.window_sec, r.last_seen_ms, r.dropped_records, r.failed_deliveries});
  }

  Result<bool> QuarantineHas(const std::string& source) override {
    auto r = One<int64_t>(db_, "SELECT 1 FROM quarantine WHERE source = ?1 LIMIT 1", {source},
                          [](const Row& r) { return r.Int(0); });
    if (!r.ok()) return r.status();
    return r->has_value();
  }

  Status InsertQuarantine(const QuarantineRow& q) override {
    return db_.Run("INSERT INTO quarantine (received_ms, reason, raw, source) VALUES (?1, ?2, ?3, ?4)",
                   {q.received_ms, q.reason, Bytes{q.raw}, q.source});
  }

  Status SavePosition(const ConsumerPosition& p, int64_t now_ms) override {
    return db_.Run(sql_.save_position, {p.group, p.topic, p.partition, p.next_offset, now_ms});
  }

  Result<int64_t> RetentionHorizon() override {
    auto r = One<std::string>(db_, "SELECT value FROM store_meta WHERE \"key\" = 'retention_horizon_sec'", {},
                              [](const Row& r) { return r.Text(0); });
    if (!r.ok()) return r.status();
    return *r ? std::stoll(**r) : int64_t{0};
  }

 private:
  // Creates the row if it is missing (`create`: an upsert that changes nothing
  // of an existing row) and returns it locked: in one round trip where the
  // dialect has upsert ... RETURNING (`create` returns the row), else followed
  // by `select` (FOR UPDATE).
  template <typename T, typename F>
  Result<std::optional<T>> CreateAndLock(const std::string& create, const std::string& select,
                                         const std::vector<Param>& key, F read) {
    if (db_.UpsertReturning()) return One<T>(db_, create, key, read);
    if (Status s = db_.Run(create, key); !s.ok()) return s;
    return One<T>(db_, select, key, read);
  }

  Dialect& db_;
  const Statements& sql_;
};

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<Dialect> db) : db_(std::move(db)), sql_(*db_) {}

  std::string backend() const override { return db_->name(); }
  int schema_version() const override { return version_; }

  Status Ping() override {
    std::lock_guard lock(mu_);
    return db_->Run("SELECT MAX(version) FROM schema_migrations", {});
  }

  Result<ApplyStats> Apply(const std::vector<Incoming>& batch, const std::vector<ConsumerPosition>& positions,
                           int64_t now_ms) override {
    std::lock_guard lock(mu_);
    ApplyStats stats;
    Status s = InTransaction([&]() -> Status {
      SqlTxn txn(*db_, sql_);
      auto r = ApplyBatch(txn, batch, positions, now_ms);
      if (!r.ok()) return r.status();
      stats = *r;
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return stats;
  }

  Result<std::vector<ConsumerPosition>> LoadPositions(const std::string& group, const std::string& topic) override {
    std::lock_guard lock(mu_);
    return Collect<ConsumerPosition>(
        *db_,
        "SELECT partition_id, next_offset FROM consumer_positions WHERE group_id = ?1 AND topic = ?2 "
        "ORDER BY partition_id",
        {group, topic},
        [&](const Row& r) { return ConsumerPosition{group, topic, static_cast<int32_t>(r.Int(0)), r.Int(1)}; });
  }

  // One row per topic and tier, aggregated from the summary's days.
  Result<std::vector<TopicSummary>> ListTopics() override {
    std::lock_guard lock(mu_);
    auto tiers = Collect<TopicDay>(
        *db_,
        "SELECT topic, tier, MIN(first_window_sec), MAX(last_window_sec), MAX(last_updated_ms) FROM topic_summary "
        "GROUP BY topic, tier ORDER BY topic, tier",
        {}, [](const Row& r) {
          return TopicDay{.topic = r.Text(0), .tier = r.Text(1), .first_window_sec = r.Int(2),
                          .last_window_sec = r.Int(3), .last_updated_ms = r.Int(4)};
        });
    if (!tiers.ok()) return tiers.status();
    return ListFromSummary(*tiers);
  }

  Result<std::vector<TopicDay>> QueryTopicSummary(int64_t from_sec, int64_t to_sec) override {
    std::lock_guard lock(mu_);
    return Collect<TopicDay>(*db_,
                             "SELECT " + std::string(kTopicSummaryColumns) +
                                 " FROM topic_summary WHERE day_sec > ?1 AND day_sec < ?2 ORDER BY topic, tier, day_sec",
                             {from_sec - 86400, to_sec}, [](const Row& r) {
                               return TopicDay{r.Text(0), r.Text(1), r.Int(2), r.Int(3), r.Int(4),
                                               r.Int(5),  r.Int(6),  r.Int(7), r.Int(8), r.Int(9)};
                             });
  }

  Result<std::vector<WindowRow>> QueryWindows(const std::string& topic, const std::optional<std::string>& tier,
                                              int64_t from_sec, int64_t to_sec) override {
    std::lock_guard lock(mu_);
    std::string sql = "SELECT " + std::string(kWindowColumns) +
                      " FROM windows WHERE topic = ?1 AND window_begin_sec >= ?2 AND window_begin_sec < ?3" +
                      (tier ? " AND tier = ?4" : "") + " ORDER BY window_begin_sec, tier, datacenter, cluster";
    std::vector<Param> params = {topic, from_sec, to_sec};
    if (tier) params.emplace_back(*tier);
    return Collect<WindowRow>(*db_, sql, params, [](const Row& r) { return ReadWindow(r).row; });
  }

  Result<std::vector<WindowRow>> QueryAllWindows(int64_t from_sec, int64_t to_sec) override {
    std::lock_guard lock(mu_);
    return Collect<WindowRow>(*db_,
                              "SELECT " + std::string(kWindowColumns) +
                                  " FROM windows WHERE window_begin_sec >= ?1 AND window_begin_sec < ?2"
                                  " ORDER BY topic, window_begin_sec, tier, datacenter, cluster",
                              {from_sec, to_sec}, [](const Row& r) { return ReadWindow(r).row; });
  }

  Result<std::vector<PartitionRow>> QueryPartitions(const std::string& topic, const std::string& tier,
                                                    int64_t window_begin_sec) override {
    std::lock_guard lock(mu_);
    return Collect<PartitionRow>(*db_,
                                 "SELECT " + std::string(kPartitionColumns) +
                                     " FROM partitions WHERE topic = ?1 AND tier = ?2 AND window_begin_sec = ?3"
                                     " ORDER BY partition_id, datacenter, cluster",
                                 {topic, tier, window_begin_sec}, ReadPartition);
  }

  Result<std::vector<EmitterRow>> QueryEmitters(const std::optional<std::string>& tier) override {
    std::lock_guard lock(mu_);
    std::vector<Param> params;
    if (tier) params.emplace_back(*tier);
    return Collect<EmitterRow>(*db_,
                               "SELECT " + std::string(kEmitterColumns) + " FROM emitters" +
                                   (tier ? " WHERE tier = ?1" : "") + " ORDER BY tier, emitter_id",
                               params, [](const Row& r) { return ReadEmitter(r).row; });
  }

  Result<std::vector<QuarantineRow>> QueryQuarantine(int limit) override {
    std::lock_guard lock(mu_);
    return Collect<QuarantineRow>(
        *db_, "SELECT id, received_ms, reason, raw, source FROM quarantine ORDER BY id DESC LIMIT ?1",
        {static_cast<int64_t>(std::max(0, limit))},
        [](const Row& r) { return QuarantineRow{r.Int(0), r.Int(1), r.Text(2), r.Blob(3), r.Text(4)}; });
  }

  Result<int64_t> QuarantineCount() override {
    std::lock_guard lock(mu_);
    int64_t n = 0;
    Status s = db_->Run("SELECT COUNT(*) FROM quarantine", {}, [&](const Row& r) {
      n = r.Int(0);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return n;
  }

  Status ApplyRetention(int64_t before_sec) override {
    std::lock_guard lock(mu_);
    return InTransaction([&]() -> Status {
      const int64_t before_ms = before_sec * 1000;
      for (const auto& [sql, v] : {std::pair{"DELETE FROM windows WHERE window_begin_sec < ?1", before_sec},
                                   std::pair{"DELETE FROM partitions WHERE window_begin_sec < ?1", before_sec},
                                   std::pair{"DELETE FROM applied_uuids WHERE window_begin_sec < ?1", before_sec},
                                   std::pair{"DELETE FROM chunks WHERE updated_ms < ?1", before_ms},
                                   std::pair{"DELETE FROM quarantine WHERE received_ms < ?1", before_ms},
                                   std::pair{"DELETE FROM emitters WHERE last_seen_ms < ?1", before_ms}}) {
        if (Status s = db_->Run(sql, {v}); !s.ok()) return s;
      }
      // The topic summary: days wholly before the horizon go; the day it cuts
      // is recomputed from the rows that remain (one day of rows).
      const int64_t day = DayOf(before_sec);
      if (Status s = db_->Run("DELETE FROM topic_summary WHERE day_sec < ?1", {day}); !s.ok()) return s;
      if (day < before_sec) {
        if (Status s = db_->Run("DELETE FROM topic_summary WHERE day_sec = ?1", {day}); !s.ok()) return s;
        if (Status s = db_->Run(TopicSummaryFrom(" WHERE window_begin_sec >= ?1 AND window_begin_sec < ?2"),
                                {day, day + 86400});
            !s.ok()) {
          return s;
        }
      }
      return db_->Run(sql_.save_horizon, {std::to_string(before_sec)});
    });
  }

  // Each migration runs in its own transaction with its schema_migrations
  // row, under the dialect's migration lock (concurrent starters migrate once).
  Status Migrate() {
    std::lock_guard lock(mu_);
    for (const Migration& m : Migrations()) {
      Status s = InTransaction([&]() -> Status {
        if (Status s = db_->LockMigrations(); !s.ok()) return s;
        if (Status s = db_->Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                                 "applied_ms BIGINT NOT NULL, description TEXT NOT NULL)");
            !s.ok()) {
          return s;
        }
        int64_t current = 0;
        if (Status s = db_->Run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {},
                                [&](const Row& r) {
                                  current = r.Int(0);
                                  return Status::Ok();
                                });
            !s.ok()) {
          return s;
        }
        if (current > LatestSchemaVersion()) {
          return Status::InvalidArgument(db_->name() + ": store schema version " + std::to_string(current) +
                                         " is newer than this binary's (" + std::to_string(LatestSchemaVersion()) +
                                         "): upgrade chaperone");
        }
        if (current >= m.version) return Status::Ok();
        for (const char* sql : m.statements) {
          if (Status s = db_->Exec(SpellTypes(sql)); !s.ok()) {
            if (s.code() == Status::Code::kUnavailable) return s;
            return Status::Internal(db_->name() + ": migration " + std::to_string(m.version) + ": " + s.message());
          }
        }
        return db_->Run("INSERT INTO schema_migrations (version, applied_ms, description) VALUES (?1, ?2, ?3)",
                        {static_cast<int64_t>(m.version), static_cast<int64_t>(std::time(nullptr)) * 1000,
                         m.description});
      });
      db_->UnlockMigrations();
      if (!s.ok()) return s;
    }
    version_ = LatestSchemaVersion();
    return Status::Ok();
  }

 private:
  // Runs `body` in one write transaction: committed when it returns OK, rolled back otherwise.
  Status InTransaction(const std::function<Status()>& body) {
    if (Status s = db_->Begin(); !s.ok()) return s;
    Status s = body();
    if (s.ok()) s = db_->Commit();
    if (!s.ok()) db_->Rollback();
    return s;
  }

  // A migration statement in this dialect's column types: {bytes}, {text}, {key}, {serial}.
  std::string SpellTypes(std::string sql) const {
    for (size_t at; (at = sql.find('{')) != std::string::npos;) {
      size_t end = sql.find('}', at);
      sql.replace(at, end + 1 - at, db_->Type(std::string_view(sql).substr(at + 1, end - at - 1)));
    }
    return sql;
  }

  std::mutex mu_;
  std::unique_ptr<Dialect> db_;  // guarded by mu_
  const Statements sql_;
  int version_ = 0;
};

}  // namespace

Result<std::vector<bool>> Dialect::ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                              int64_t now_ms) {
  std::vector<bool> fresh;
  fresh.reserve(uuids.size());
  for (const auto& [uuid, begin] : uuids) {
    bool inserted = false;
    Status s = Run(
        "INSERT INTO applied_uuids (uuid, window_begin_sec, applied_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (uuid) DO NOTHING RETURNING 1",
        {uuid, begin, now_ms}, [&](const Row&) {
          inserted = true;
          return Status::Ok();
        });
    if (!s.ok()) return s;
    fresh.push_back(inserted);
  }
  return fresh;
}

Result<std::unique_ptr<Store>> OpenSqlStore(std::unique_ptr<Dialect> dialect) {
  auto store = std::make_unique<SqlStore>(std::move(dialect));
  if (Status s = store->Migrate(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace chaperone::store::internal
