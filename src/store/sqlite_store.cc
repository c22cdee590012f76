// SQLite backend: one connection, WAL journal, prepared statements cached per
// SQL text, one IMMEDIATE transaction per Apply. Durability: synchronous=NORMAL
// with WAL survives a process crash (kill -9) without loss; an OS crash or power
// cut may lose the last transactions, which the collector then re-applies from
// the positions stored with them (they roll back together).
#include <sqlite3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "store/backends.h"
#include "store/engine.h"
#include "store/schema.h"

namespace chaperone::store::internal {
namespace {

Status SqliteError(sqlite3* db, int rc, const std::string& what) {
  std::string msg = "sqlite: " + what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Status::Unavailable(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(msg);
    default:
      return Status::Internal(msg);
  }
}

// A prepared statement in use: bind, step, read columns; reset on destruction.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Query& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Query& Bind(int i, int32_t v) { return Bind(i, static_cast<int64_t>(v)); }
  Query& Bind(int i, bool v) { return Bind(i, static_cast<int64_t>(v ? 1 : 0)); }
  Query& Bind(int i, uint64_t v) { return Bind(i, static_cast<int64_t>(v)); }
  Query& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Query& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // True: a row is available; false: done.
  Result<bool> Step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, sqlite3_sql(s_));
  }
  Status Run() {
    auto r = Step();
    return r.ok() ? Status::Ok() : r.status();
  }
  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  double Real(int c) const { return sqlite3_column_double(s_, c); }
  std::string Text(int c) const {
    const void* p = sqlite3_column_blob(s_, c);
    int n = sqlite3_column_bytes(s_, c);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

WindowState ReadWindow(const Query& q) {
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

PartitionRow ReadPartition(const Query& q) {
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

EmitterState ReadEmitter(const Query& q) {
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

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    for (auto& [sql, s] : stmts_) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  // Several processes or components may open one brand-new file at once
  // (`chaperone up` starts the collector and the web server together): the
  // busy timeout is set before any statement, every write transaction is
  // BEGIN IMMEDIATE (a deferred one that has read cannot wait for a writer:
  // SQLite answers SQLITE_BUSY at once), and the switch to WAL is retried.
  Status Init() {
    std::lock_guard lock(mu_);
    sqlite3_busy_timeout(db_, static_cast<int>(kBusyTimeout.count()));
    if (Status s = SwitchToWal(); !s.ok()) return s;
    for (const char* pragma : {"PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=OFF", "PRAGMA temp_store=MEMORY",
                               "PRAGMA cache_size=-65536"}) {
      if (Status s = Exec(pragma); !s.ok()) return s;
    }
    return Migrate();
  }

  std::string backend() const override { return "sqlite"; }
  int schema_version() const override { return version_; }

  Status Ping() override {
    std::lock_guard lock(mu_);
    auto q = Prepare("SELECT MAX(version) FROM schema_migrations");
    if (!q.ok()) return q.status();
    auto r = q->Step();
    return r.ok() ? Status::Ok() : r.status();
  }

  Result<ApplyStats> Apply(const std::vector<Incoming>& batch, const std::vector<ConsumerPosition>& positions,
                           int64_t now_ms) override;

  Result<std::vector<ConsumerPosition>> LoadPositions(const std::string& group, const std::string& topic) override {
    std::lock_guard lock(mu_);
    auto q = Prepare(
        "SELECT partition_id, next_offset FROM consumer_positions WHERE group_id = ?1 AND topic = ?2 "
        "ORDER BY partition_id");
    if (!q.ok()) return q.status();
    q->Bind(1, group).Bind(2, topic);
    std::vector<ConsumerPosition> out;
    for (;;) {
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back({group, topic, static_cast<int32_t>(q->Int(0)), q->Int(1)});
    }
    return out;
  }

  Result<std::vector<TopicSummary>> ListTopics() override {
    std::lock_guard lock(mu_);
    auto q = Prepare(
        "SELECT topic, tier, MIN(window_begin_sec), MAX(window_begin_sec), MAX(updated_ms) FROM windows "
        "GROUP BY topic, tier ORDER BY topic, tier");
    if (!q.ok()) return q.status();
    std::vector<TopicSummary> out;
    for (;;) {
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      std::string topic = q->Text(0);
      if (out.empty() || out.back().topic != topic) {
        out.push_back({topic, {}, q->Int(2), q->Int(3), q->Int(4)});
      } else {
        TopicSummary& t = out.back();
        t.first_window_sec = std::min(t.first_window_sec, q->Int(2));
        t.last_window_sec = std::max(t.last_window_sec, q->Int(3));
        t.last_updated_ms = std::max(t.last_updated_ms, q->Int(4));
      }
      out.back().tiers.push_back(q->Text(1));
    }
    return out;
  }

  Result<std::vector<WindowRow>> QueryWindows(const std::string& topic, const std::optional<std::string>& tier,
                                              int64_t from_sec, int64_t to_sec) override {
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kWindowColumns +
                      " FROM windows WHERE topic = ?1 AND window_begin_sec >= ?2 AND window_begin_sec < ?3" +
                      (tier ? " AND tier = ?4" : "") + " ORDER BY window_begin_sec, tier, datacenter, cluster";
    auto q = Prepare(sql);
    if (!q.ok()) return q.status();
    q->Bind(1, topic).Bind(2, from_sec).Bind(3, to_sec);
    if (tier) q->Bind(4, *tier);
    return ReadWindows(*q);
  }

  Result<std::vector<WindowRow>> QueryAllWindows(int64_t from_sec, int64_t to_sec) override {
    std::lock_guard lock(mu_);
    auto q = Prepare(std::string("SELECT ") + kWindowColumns +
                     " FROM windows WHERE window_begin_sec >= ?1 AND window_begin_sec < ?2"
                     " ORDER BY topic, window_begin_sec, tier, datacenter, cluster");
    if (!q.ok()) return q.status();
    q->Bind(1, from_sec).Bind(2, to_sec);
    return ReadWindows(*q);
  }

  Result<std::vector<PartitionRow>> QueryPartitions(const std::string& topic, const std::string& tier,
                                                    int64_t window_begin_sec) override {
    std::lock_guard lock(mu_);
    auto q = Prepare(std::string("SELECT ") + kPartitionColumns +
                     " FROM partitions WHERE topic = ?1 AND tier = ?2 AND window_begin_sec = ?3"
                     " ORDER BY partition_id, datacenter, cluster");
    if (!q.ok()) return q.status();
    q->Bind(1, topic).Bind(2, tier).Bind(3, window_begin_sec);
    std::vector<PartitionRow> out;
    for (;;) {
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(ReadPartition(*q));
    }
    return out;
  }

  Result<std::vector<EmitterRow>> QueryEmitters(const std::optional<std::string>& tier) override {
    std::lock_guard lock(mu_);
    auto q = Prepare(std::string("SELECT ") + kEmitterColumns + " FROM emitters" + (tier ? " WHERE tier = ?1" : "") +
                     " ORDER BY tier, emitter_id");
    if (!q.ok()) return q.status();
    if (tier) q->Bind(1, *tier);
    std::vector<EmitterRow> out;
    for (;;) {
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(ReadEmitter(*q).row);
    }
    return out;
  }

  Result<std::vector<QuarantineRow>> QueryQuarantine(int limit) override {
    std::lock_guard lock(mu_);
    auto q = Prepare("SELECT id, received_ms, reason, raw, source FROM quarantine ORDER BY id DESC LIMIT ?1");
    if (!q.ok()) return q.status();
    q->Bind(1, static_cast<int64_t>(std::max(0, limit)));
    std::vector<QuarantineRow> out;
    for (;;) {
      auto row = q->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back({q->Int(0), q->Int(1), q->Text(2), q->Text(3), q->Text(4)});
    }
    return out;
  }

  Result<int64_t> QuarantineCount() override {
    std::lock_guard lock(mu_);
    auto q = Prepare("SELECT COUNT(*) FROM quarantine");
    if (!q.ok()) return q.status();
    auto row = q->Step();
    if (!row.ok()) return row.status();
    return q->Int(0);
  }

  Status ApplyRetention(int64_t before_sec) override {
    std::lock_guard lock(mu_);
    if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    Status s = RetentionLocked(before_sec);
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok()) Rollback();
    return s;
  }

  // --- used by SqliteTxn (mu_ held) ---
  Result<Query> Prepare(const std::string& sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s,
                                  nullptr);
      if (rc != SQLITE_OK) return SqliteError(db_, rc, "prepare " + sql);
      it = stmts_.emplace(sql, s).first;
    }
    return Query(db_, it->second);
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      Status s = SqliteError(nullptr, rc, sql);
      return s.code() == Status::Code::kUnavailable ? Status::Unavailable("sqlite: " + msg)
                                                    : Status::Internal("sqlite: " + std::string(sql) + ": " + msg);
    }
    return Status::Ok();
  }

 private:
  Result<std::vector<WindowRow>> ReadWindows(Query& q) {
    std::vector<WindowRow> out;
    for (;;) {
      auto row = q.Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      out.push_back(ReadWindow(q).row);
    }
    return out;
  }

  static constexpr std::chrono::milliseconds kBusyTimeout{10'000};

  Status SwitchToWal();
  // Ends a failed transaction. A rollback that fails too is logged: the
  // transaction is then rolled back when the connection next begins one.
  void Rollback() {
    if (Status s = Exec("ROLLBACK"); !s.ok()) spdlog::warn("store: sqlite rollback failed: {}", s.ToString());
  }
  Status Migrate();
  Status RetentionLocked(int64_t before_sec);

  std::mutex mu_;
  sqlite3* db_;                                  // guarded by mu_
  std::map<std::string, sqlite3_stmt*> stmts_;  // guarded by mu_
  int version_ = 0;
};

class SqliteTxn final : public Txn {
 public:
  explicit SqliteTxn(SqliteStore& s) : s_(s) {}

  Result<std::vector<bool>> ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                       int64_t now_ms) override {
    std::vector<bool> fresh;
    fresh.reserve(uuids.size());
    for (const auto& [uuid, begin] : uuids) {
      auto q = s_.Prepare(
          "INSERT INTO applied_uuids (uuid, window_begin_sec, applied_ms) VALUES (?1, ?2, ?3) "
          "ON CONFLICT (uuid) DO NOTHING RETURNING 1");
      if (!q.ok()) return q.status();
      q->Bind(1, uuid).Bind(2, begin).Bind(3, now_ms);
      auto row = q->Step();
      if (!row.ok()) return row.status();
      fresh.push_back(*row);
    }
    return fresh;
  }

  Result<std::optional<WindowState>> LoadWindow(const WindowKey& k, bool) override {
    auto q = s_.Prepare(std::string("SELECT ") + kWindowColumns +
                        " FROM windows WHERE topic = ?1 AND window_begin_sec = ?2 AND tier = ?3 AND "
                        "datacenter = ?4 AND cluster = ?5");
    if (!q.ok()) return q.status();
    q->Bind(1, k.topic).Bind(2, k.window_begin_sec).Bind(3, k.tier).Bind(4, k.datacenter).Bind(5, k.cluster);
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<WindowState>();
    return std::optional<WindowState>(ReadWindow(*q));
  }

  Status SaveWindow(const WindowState& w) override {
    static const std::string sql = std::string("INSERT INTO windows (") + kWindowColumns +
                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                                   "?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29) "
                                   "ON CONFLICT (topic, window_begin_sec, tier, datacenter, cluster) " +
                                   UpsertSet(kWindowColumns, 5);
    auto q = s_.Prepare(sql);
    if (!q.ok()) return q.status();
    const WindowRow& r = w.row;
    q->Bind(1, r.topic).Bind(2, r.tier).Bind(3, r.datacenter).Bind(4, r.cluster).Bind(5, r.window_begin_sec);
    q->Bind(6, r.window_end_sec).Bind(7, r.count).Bind(8, r.bytes).Bind(9, r.bytes_known).Bind(10, r.no_time);
    q->Bind(11, r.malformed).Bind(12, r.digest).Bind(13, r.digest_known).Bind(14, r.latency_sketch);
    q->Bind(15, r.latency_mean).Bind(16, r.latency_p50).Bind(17, r.latency_p95).Bind(18, r.latency_p99);
    q->Bind(19, r.latency_max).Bind(20, r.latency_upper_bound).Bind(21, r.records).Bind(22, r.updated_ms);
    q->Bind(23, w.latency_sum_ms).Bind(24, w.latency_samples).Bind(25, w.legacy_records).Bind(26, w.legacy_p50);
    q->Bind(27, w.legacy_p95).Bind(28, w.legacy_p99).Bind(29, w.legacy_max);
    return q->Run();
  }

  Result<std::optional<PartitionState>> LoadPartition(const PartitionKey& k, bool) override {
    auto q = s_.Prepare(std::string("SELECT ") + kPartitionColumns +
                        " FROM partitions WHERE topic = ?1 AND tier = ?2 AND window_begin_sec = ?3 AND "
                        "datacenter = ?4 AND cluster = ?5 AND partition_id = ?6");
    if (!q.ok()) return q.status();
    const WindowKey& w = k.window;
    q->Bind(1, w.topic).Bind(2, w.tier).Bind(3, w.window_begin_sec).Bind(4, w.datacenter).Bind(5, w.cluster);
    q->Bind(6, k.partition);
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<PartitionState>();
    return std::optional<PartitionState>(PartitionState{ReadPartition(*q)});
  }

  Status SavePartition(const PartitionState& p, int64_t now_ms) override {
    auto q = s_.Prepare(
        "INSERT INTO partitions (topic, tier, datacenter, cluster, window_begin_sec, partition_id, count, "
        "first_offset, last_offset, updated_ms, overlap) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT (topic, tier, window_begin_sec, datacenter, cluster, partition_id) DO UPDATE SET "
        "count = excluded.count, first_offset = excluded.first_offset, last_offset = excluded.last_offset, "
        "overlap = excluded.overlap, "
        "updated_ms = excluded.updated_ms");
    if (!q.ok()) return q.status();
    const PartitionRow& r = p.row;
    q->Bind(1, r.topic).Bind(2, r.tier).Bind(3, r.datacenter).Bind(4, r.cluster).Bind(5, r.window_begin_sec);
    q->Bind(6, r.partition).Bind(7, r.count).Bind(8, r.first_offset).Bind(9, r.last_offset).Bind(10, now_ms);
    q->Bind(11, r.overlap);
    return q->Run();
  }

  Result<std::optional<ChunkState>> LoadChunk(const ChunkKey& k) override {
    auto q = s_.Prepare(
        "SELECT chunk_start, flush_id, contributions, updated_ms, generation, assigned_ms FROM chunks WHERE tier = ?1 "
        "AND datacenter = ?2 AND cluster = ?3 AND topic = ?4 AND partition_id = ?5");
    if (!q.ok()) return q.status();
    q->Bind(1, k.tier).Bind(2, k.datacenter).Bind(3, k.cluster).Bind(4, k.topic).Bind(5, k.partition);
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<ChunkState>();
    ChunkState c;
    c.chunk_start = q->Int(0);
    c.flush_id = q->Text(1);
    auto contributions = DecodeContributions(q->Text(2));
    if (!contributions.ok()) return contributions.status();
    c.windows = std::move(*contributions);
    c.updated_ms = q->Int(3);
    c.generation = q->Int(4);
    c.assigned_ms = q->Int(5);
    return std::optional<ChunkState>(std::move(c));
  }

  Status SaveChunk(const ChunkKey& k, const ChunkState& c) override {
    auto q = s_.Prepare(
        "INSERT INTO chunks (tier, datacenter, cluster, topic, partition_id, chunk_start, flush_id, contributions, "
        "updated_ms, generation, assigned_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT (tier, datacenter, cluster, topic, partition_id) DO UPDATE SET "
        "chunk_start = excluded.chunk_start, flush_id = excluded.flush_id, contributions = excluded.contributions, "
        "updated_ms = excluded.updated_ms, generation = excluded.generation, assigned_ms = excluded.assigned_ms");
    if (!q.ok()) return q.status();
    q->Bind(1, k.tier).Bind(2, k.datacenter).Bind(3, k.cluster).Bind(4, k.topic).Bind(5, k.partition);
    q->Bind(6, c.chunk_start).Bind(7, c.flush_id).Bind(8, EncodeContributions(c.windows)).Bind(9, c.updated_ms);
    q->Bind(10, c.generation).Bind(11, c.assigned_ms);
    return q->Run();
  }

  Result<std::optional<EmitterState>> LoadEmitter(const std::string& id) override {
    auto q = s_.Prepare(std::string("SELECT ") + kEmitterColumns + " FROM emitters WHERE emitter_id = ?1");
    if (!q.ok()) return q.status();
    q->Bind(1, id);
    auto row = q->Step();
    if (!row.ok()) return row.status();
    if (!*row) return std::optional<EmitterState>();
    return std::optional<EmitterState>(ReadEmitter(*q));
  }

  Status SaveEmitter(const EmitterState& e) override {
    static const std::string sql = std::string("INSERT INTO emitters (") + kEmitterColumns +
                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                                   "ON CONFLICT (emitter_id) " +
                                   UpsertSet(kEmitterColumns, 1);
    auto q = s_.Prepare(sql);
    if (!q.ok()) return q.status();
    const EmitterRow& r = e.row;
    q->Bind(1, r.emitter_id).Bind(2, r.tier).Bind(3, r.datacenter).Bind(4, r.cluster).Bind(5, r.hostname);
    q->Bind(6, r.last_seq).Bind(7, r.missing_records).Bind(8, EncodeGaps(e.gaps)).Bind(9, r.watermark_ms);
    q->Bind(10, r.window_sec).Bind(11, r.last_seen_ms).Bind(12, r.dropped_records).Bind(13, r.failed_deliveries);
    return q->Run();
  }

  Result<bool> QuarantineHas(const std::string& source) override {
    auto q = s_.Prepare("SELECT 1 FROM quarantine WHERE source = ?1 LIMIT 1");
    if (!q.ok()) return q.status();
    q->Bind(1, source);
    return q->Step();
  }

  Status InsertQuarantine(const QuarantineRow& r) override {
    auto q = s_.Prepare("INSERT INTO quarantine (received_ms, reason, raw, source) VALUES (?1, ?2, ?3, ?4)");
    if (!q.ok()) return q.status();
    q->Bind(1, r.received_ms).Bind(2, r.reason).BindBlob(3, r.raw).Bind(4, r.source);
    return q->Run();
  }

  Status SavePosition(const ConsumerPosition& p, int64_t now_ms) override {
    auto q = s_.Prepare(
        "INSERT INTO consumer_positions (group_id, topic, partition_id, next_offset, updated_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (group_id, topic, partition_id) DO UPDATE SET "
        "next_offset = max(consumer_positions.next_offset, excluded.next_offset), updated_ms = excluded.updated_ms");
    if (!q.ok()) return q.status();
    q->Bind(1, p.group).Bind(2, p.topic).Bind(3, p.partition).Bind(4, p.next_offset).Bind(5, now_ms);
    return q->Run();
  }

  Result<int64_t> RetentionHorizon() override {
    auto q = s_.Prepare("SELECT value FROM store_meta WHERE key = 'retention_horizon_sec'");
    if (!q.ok()) return q.status();
    auto row = q->Step();
    if (!row.ok()) return row.status();
    return *row ? std::stoll(q->Text(0)) : int64_t{0};
  }

 private:
  SqliteStore& s_;
};

Result<ApplyStats> SqliteStore::Apply(const std::vector<Incoming>& batch,
                                      const std::vector<ConsumerPosition>& positions, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  SqliteTxn txn(*this);
  auto stats = ApplyBatch(txn, batch, positions, now_ms);
  if (stats.ok()) {
    if (Status s = Exec("COMMIT"); !s.ok()) {
      Rollback();
      return s;
    }
    return stats;
  }
  Rollback();
  return stats.status();
}

Status SqliteStore::RetentionLocked(int64_t before_sec) {
  const int64_t before_ms = before_sec * 1000;
  struct Del {
    const char* sql;
    int64_t v;
  };
  for (const Del& d : {Del{"DELETE FROM windows WHERE window_begin_sec < ?1", before_sec},
                       Del{"DELETE FROM partitions WHERE window_begin_sec < ?1", before_sec},
                       Del{"DELETE FROM applied_uuids WHERE window_begin_sec < ?1", before_sec},
                       Del{"DELETE FROM chunks WHERE updated_ms < ?1", before_ms},
                       Del{"DELETE FROM quarantine WHERE received_ms < ?1", before_ms},
                       Del{"DELETE FROM emitters WHERE last_seen_ms < ?1", before_ms}}) {
    auto q = Prepare(d.sql);
    if (!q.ok()) return q.status();
    q->Bind(1, d.v);
    if (Status s = q->Run(); !s.ok()) return s;
  }
  auto q = Prepare(
      "INSERT INTO store_meta (key, value) VALUES ('retention_horizon_sec', ?1) ON CONFLICT (key) DO UPDATE SET "
      "value = CAST(max(CAST(store_meta.value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)");
  if (!q.ok()) return q.status();
  q->Bind(1, std::to_string(before_sec));
  return q->Run();
}

// `PRAGMA journal_mode=WAL` on a file not yet in WAL mode reads its header in
// a read transaction, then upgrades it to a write one to mark the file WAL.
// That upgrade does not wait for the busy timeout: while another connection
// holds the lock (another opener doing the same), it fails at once with
// SQLITE_BUSY. So retry it until the busy timeout, as SQLite would have
// waited; once one opener has switched the file, the pragma only reads.
Status SqliteStore::SwitchToWal() {
  const auto deadline = std::chrono::steady_clock::now() + kBusyTimeout;
  for (int pause_ms = 1;; pause_ms = std::min(2 * pause_ms, 50)) {
    Status s = Exec("PRAGMA journal_mode=WAL");
    if (s.ok() || (sqlite3_extended_errcode(db_) & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
      return s;
    sqlite3_sleep(pause_ms);
  }
}

Status SqliteStore::Migrate() {
  if (Status s = Exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                      "applied_ms INTEGER NOT NULL, description TEXT NOT NULL)");
      !s.ok()) {
    return s;
  }
  for (const Migration& m : Migrations()) {
    if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    auto current = [&]() -> Result<int> {
      auto q = Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      if (!q.ok()) return q.status();
      auto row = q->Step();
      if (!row.ok()) return row.status();
      return static_cast<int>(q->Int(0));
    }();
    if (!current.ok()) {
      Rollback();
      return current.status();
    }
    if (*current > LatestSchemaVersion()) {
      Rollback();
      return Status::InvalidArgument("sqlite: store schema version " + std::to_string(*current) +
                                     " is newer than this binary's (" + std::to_string(LatestSchemaVersion()) +
                                     "): upgrade chaperone");
    }
    if (*current >= m.version) {
      if (Status c = Exec("COMMIT"); !c.ok()) return c;
      continue;
    }
    Status s;
    for (const char* sql : m.sqlite) {
      s = Exec(sql);
      if (!s.ok()) break;
    }
    if (s.ok()) {
      auto q = Prepare("INSERT INTO schema_migrations (version, applied_ms, description) VALUES (?1, ?2, ?3)");
      if (!q.ok()) {
        s = q.status();
      } else {
        q->Bind(1, static_cast<int64_t>(m.version))
            .Bind(2, static_cast<int64_t>(std::time(nullptr)) * 1000)
            .Bind(3, std::string(m.description));
        s = q->Run();
      }
    }
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok()) {
      Rollback();
      if (s.code() == Status::Code::kUnavailable) return s;
      return Status::Internal("sqlite: migration " + std::to_string(m.version) + ": " + s.message());
    }
  }
  version_ = LatestSchemaVersion();
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path, OpenMode mode) {
  const bool create = mode == OpenMode::kCreate;
  if (path != ":memory:") {
    std::error_code ec;
    if (!create && !std::filesystem::exists(path, ec)) {
      return Status::NotFound("store: " + path + " does not exist (only the collector and `chaperone up` create one)");
    }
    auto dir = std::filesystem::path(path).parent_path();
    if (create && !dir.empty()) std::filesystem::create_directories(dir, ec);
    if (ec) return Status::Unavailable("sqlite: cannot create directory " + dir.string() + ": " + ec.message());
  }
  sqlite3* db = nullptr;
  // Without SQLITE_OPEN_CREATE a file removed since the check above is an error, not a new database.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Status::Unavailable("sqlite: cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return s;
  }
  auto store = std::make_unique<SqliteStore>(db);
  if (Status s = store->Init(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace chaperone::store::internal
