// The one SQL store: every statement, read, the transaction wrapper, retention
// and migrations, over a Dialect (dialect.h) for what differs per database.
// Concurrency (SCHEMA.md): rows about to be changed are locked first — a
// SELECT ... FOR UPDATE (where the dialect has it), or an INSERT ... ON
// CONFLICT DO UPDATE ... RETURNING that creates a missing row and locks it in
// one round trip — so that several collectors sharing a PostgreSQL database
// serialise on a row instead of overwriting each other. SQLite's write
// transaction already excludes every other writer.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <unordered_map>

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
  r.dropped_observations = q.Int(13);
  r.skipped_offsets = q.Int(14);
  DecodeIncomplete(q.Text(15), e);
  r.incomplete_ms = IncompleteSpans(e);
  return e;
}

AlertRow ReadAlert(const Row& q) {
  return AlertRow{.id = q.Int(0), .fingerprint = q.Text(1), .topic = q.Text(2), .source_tier = q.Text(3),
                  .target_tier = q.Text(4), .kind = q.Text(5), .datacenter = q.Text(6), .state = q.Text(7),
                  .severity = q.Text(8), .sent_severity = q.Text(9), .starts_ms = q.Int(10), .ends_ms = q.Int(11),
                  .updated_ms = q.Int(12), .lost = q.Int(13), .duplicated = q.Int(14), .windows = q.Int(15),
                  .source_messages = q.Int(16), .first_window_sec = q.Int(17), .last_window_sec = q.Int(18)};
}

std::vector<Param> AlertParams(const AlertRow& a) {
  return {a.id, a.fingerprint, a.topic, a.source_tier, a.target_tier, a.kind, a.datacenter, a.state, a.severity,
          a.sent_severity, a.starts_ms, a.ends_ms, a.updated_ms, a.lost, a.duplicated, a.windows, a.source_messages,
          a.first_window_sec, a.last_window_sec};
}

// A lease in store_meta: "<expires_ms> <owner>".
constexpr const char* kSelectMeta = "SELECT value FROM store_meta WHERE \"key\" = ?1";

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

constexpr const char* kChunkColumns =
    "tier, datacenter, cluster, topic, partition_id, chunk_start, flush_id, contributions, updated_ms, generation, "
    "assigned_ms";

// A write of many rows in one statement: sql[k] writes 2^k rows (a multi-row
// VALUES list, `columns` parameters a row, numbered on), as an upsert on
// `keys` (setting `set`) when keys are given. The rows of one statement must
// have distinct keys.
struct RowWrite {
  RowWrite(const Dialect& db, const std::string& insert, int columns, const std::string& keys = {},
           const std::string& set = {})
      : columns(columns) {
    constexpr int kMaxRows = 256, kMaxParams = 32766;  // SQLite's limit; PostgreSQL's is 65535
    for (int rows = 1; rows <= kMaxRows && rows * columns <= kMaxParams; rows *= 2) {
      std::string values;
      for (int r = 0; r < rows; ++r) {
        values += r > 0 ? ", (" : "(";
        for (int c = 1; c <= columns; ++c) values += (c > 1 ? ", ?" : "?") + std::to_string(r * columns + c);
        values += ')';
      }
      std::string one = insert + " VALUES " + values;
      sql.push_back(keys.empty() ? one : db.Upsert(one, keys, set));
    }
  }
  std::vector<std::string> sql;
  int columns;
};

// The statements whose spelling depends on the dialect, built once per store.
struct Statements {
  explicit Statements(const Dialect& db)
      : save_window(db, "INSERT INTO windows (" + std::string(kWindowColumns) + ")", kWindowColumnCount,
                    "topic, window_begin_sec, tier, datacenter, cluster", ExcludedSet(kWindowColumns, 5)),
        save_partition(db,
                       "INSERT INTO partitions (topic, tier, window_begin_sec, datacenter, cluster, partition_id, "
                       "count, first_offset, last_offset, updated_ms, overlap)",
                       11, "topic, tier, window_begin_sec, datacenter, cluster, partition_id",
                       "count = excluded.count, first_offset = excluded.first_offset, last_offset = "
                       "excluded.last_offset, overlap = excluded.overlap, updated_ms = excluded.updated_ms"),
        save_chunk(db, "INSERT INTO chunks (" + std::string(kChunkColumns) + ")", 11,
                   "tier, datacenter, cluster, topic, partition_id", ExcludedSet(kChunkColumns, 5)),
        save_emitter(db, "INSERT INTO emitters (" + std::string(kEmitterColumns) + ")", kEmitterColumnCount, "emitter_id",
                     ExcludedSet(kEmitterColumns, 1)),
        insert_quarantine(db, "INSERT INTO quarantine (received_ms, reason, raw, source)", 4),
        save_position(db, "INSERT INTO consumer_positions (group_id, topic, partition_id, next_offset, updated_ms)", 5,
                      "group_id, topic, partition_id",
                      "next_offset = " + db.Greatest() + "(consumer_positions.next_offset, excluded.next_offset), "
                      "updated_ms = excluded.updated_ms"),
        add_summary(db, "INSERT INTO topic_summary (" + std::string(kTopicSummaryColumns) + ")", 10,
                    "topic, tier, day_sec",
                    "windows = topic_summary.windows + excluded.windows, first_window_sec = " + db.Least() +
                        "(topic_summary.first_window_sec, excluded.first_window_sec), last_window_sec = " +
                        db.Greatest() + "(topic_summary.last_window_sec, excluded.last_window_sec), count = "
                        "topic_summary.count + excluded.count, records = topic_summary.records + excluded.records, "
                        "last_updated_ms = " + db.Greatest() +
                        "(topic_summary.last_updated_ms, excluded.last_updated_ms), writes = topic_summary.writes + "
                        "excluded.writes"),
        save_totals(db, "INSERT INTO window_totals (topic, tier, bucket_sec, totals)", 4, "topic, tier, bucket_sec",
                    "totals = excluded.totals"),
        save_alert(db, "INSERT INTO alerts (" + std::string(kAlertColumns) + ")", kAlertColumnCount, "id",
                   ExcludedSet(kAlertColumns, 1)),
        queue_notice(db, "INSERT INTO alert_outbox (alert_id, receiver, due_ms, attempts, last_error)", 5,
                     "alert_id, receiver", "due_ms = excluded.due_ms, attempts = 0, last_error = ''") {
    const std::string window_key = "topic, window_begin_sec, tier, datacenter, cluster";
    const std::string partition_key = "topic, tier, window_begin_sec, datacenter, cluster, partition_id";
    const std::string chunk_key = "tier, datacenter, cluster, topic, partition_id";
    select_window = "SELECT " + std::string(kWindowColumns) +
                    " FROM windows WHERE topic = ?1 AND window_begin_sec = ?2 AND tier = ?3 AND datacenter = ?4 AND "
                    "cluster = ?5" + db.ForUpdate();
    create_window = Creating(db, db.Upsert("INSERT INTO windows (" + window_key + ", window_end_sec) VALUES (?1, ?2, ?3, ?4, ?5, ?2)",
                              window_key, "records = windows.records"), select_window);
    select_partition = "SELECT " + std::string(kPartitionColumns) +
                       " FROM partitions WHERE topic = ?1 AND tier = ?2 AND window_begin_sec = ?3 AND "
                       "datacenter = ?4 AND cluster = ?5 AND partition_id = ?6" + db.ForUpdate();
    create_partition = Creating(db, db.Upsert("INSERT INTO partitions (" + partition_key + ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                 partition_key, "count = partitions.count"), select_partition);
    select_chunk = "SELECT chunk_start, flush_id, contributions, updated_ms, generation, assigned_ms FROM chunks "
                   "WHERE tier = ?1 AND datacenter = ?2 AND cluster = ?3 AND topic = ?4 AND partition_id = ?5" +
                   db.ForUpdate();
    create_chunk = Creating(db, db.Upsert("INSERT INTO chunks (" + chunk_key +
                                 ", chunk_start, flush_id, contributions, updated_ms) "
                                 "VALUES (?1, ?2, ?3, ?4, ?5, -1, '', '', 0)",
                             chunk_key, "updated_ms = chunks.updated_ms"), select_chunk);
    select_emitter = "SELECT " + std::string(kEmitterColumns) + " FROM emitters WHERE emitter_id = ?1" + db.ForUpdate();
    create_emitter = Creating(db, db.Upsert("INSERT INTO emitters (" + std::string(kEmitterColumns) +
                                   ") VALUES (?1, '', '', '', '', -1, 0, '', 0, 0, 0, 0, 0, 0, 0, '')",
                               "emitter_id", "last_seq = emitters.last_seq"), select_emitter);
    select_totals = "SELECT totals FROM window_totals WHERE topic = ?1 AND tier = ?2 AND bucket_sec = ?3" +
                    db.ForUpdate();
    create_totals = Creating(db, db.Upsert("INSERT INTO window_totals (topic, tier, bucket_sec, totals) VALUES (?1, ?2, ?3, '')",
                                           "topic, tier, bucket_sec", "totals = window_totals.totals"),
                             select_totals);
    select_meta = kSelectMeta + db.ForUpdate();
    create_meta = db.Upsert("INSERT INTO store_meta (\"key\", value) VALUES (?1, '')", "\"key\"",
                            "value = store_meta.value");
    save_horizon = db.Upsert("INSERT INTO store_meta (\"key\", value) VALUES ('retention_horizon_sec', ?1)", "\"key\"",
                             "value = CAST(" + db.Greatest() + "(CAST(store_meta.value AS " + db.CastInt() +
                                 "), CAST(excluded.value AS " + db.CastInt() + ")) AS " + db.CastText() + ")");
  }
  // An upsert that creates a row to lock, returning `select`'s columns where the dialect can.
  static std::string Creating(const Dialect& db, std::string upsert, const std::string& select) {
    if (!db.UpsertReturning()) return upsert;
    return upsert + " RETURNING " + select.substr(7, select.find(" FROM ") - 7);
  }

  std::string select_window, create_window, select_partition, create_partition, select_chunk, create_chunk,
      select_emitter, create_emitter, select_totals, create_totals, save_horizon, select_meta, create_meta;
  // The writes ApplyBatch defers (SqlTxn): rows of one kind go out together.
  RowWrite save_window, save_partition, save_chunk, save_emitter, insert_quarantine, save_position,
      add_summary, save_totals, save_alert, queue_notice;
};

// Writes are deferred (pending_) and sent with the next statements that read,
// or at FlushWrites, in one RunBatch: one round trip where the dialect pipelines.
class SqlTxn final : public Txn {
 public:
  SqlTxn(Dialect& db, const Statements& sql) : db_(db), sql_(sql) {}

  Result<std::vector<bool>> ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                       int64_t now_ms) override {
    if (Status s = FlushWrites(); !s.ok()) return s;
    return db_.ClaimUuids(uuids, now_ms);
  }

  Result<std::optional<WindowState>> LoadWindow(const WindowKey& k, bool create) override {
    if (create) return CreateAndLock<WindowState>(sql_.create_window, sql_.select_window, WindowParams(k), ReadWindow);
    return One<WindowState>(sql_.select_window, WindowParams(k), ReadWindow);
  }

  Result<std::vector<std::optional<WindowState>>> LoadWindows(const std::vector<WindowKey>& keys) override {
    return SelectEach<WindowState>(sql_.select_window, keys, WindowParams, ReadWindow);
  }

  Status SaveWindow(const WindowState& w) override {
    const WindowRow& r = w.row;
    return Defer(sql_.save_window,
                 {r.topic, r.tier, r.datacenter, r.cluster, r.window_begin_sec, r.window_end_sec, r.count, r.bytes,
                  r.bytes_known, r.no_time, r.malformed, r.digest, r.digest_known, r.latency_sketch, r.latency_mean,
                  r.latency_p50, r.latency_p95, r.latency_p99, r.latency_max, r.latency_upper_bound, r.records,
                  r.updated_ms, w.latency_sum_ms, w.latency_samples, w.legacy_records, w.legacy_p50, w.legacy_p95,
                  w.legacy_p99, w.legacy_max});
  }

  Result<std::optional<PartitionState>> LoadPartition(const PartitionKey& k, bool create) override {
    if (create) return CreateAndLock<PartitionState>(sql_.create_partition, sql_.select_partition, PartitionParams(k),
                                                     ReadPartitionState);
    return One<PartitionState>(sql_.select_partition, PartitionParams(k), ReadPartitionState);
  }

  Result<std::vector<std::optional<PartitionState>>> LoadPartitions(const std::vector<PartitionKey>& keys) override {
    return SelectEach<PartitionState>(sql_.select_partition, keys, PartitionParams, ReadPartitionState);
  }

  Status SavePartition(const PartitionState& p, int64_t now_ms) override {
    const PartitionRow& r = p.row;
    return Defer(sql_.save_partition, {r.topic, r.tier, r.window_begin_sec, r.datacenter, r.cluster, r.partition,
                                       r.count, r.first_offset, r.last_offset, now_ms, r.overlap});
  }

  // Deferred like the rows it sums: the engine sends one per (topic, tier,
  // day) per flush, so a multi-row upsert never names a key twice.
  Status AddToSummary(const TopicDay& d) override {
    return Defer(sql_.add_summary, {d.topic, d.tier, d.day_sec, d.windows, d.first_window_sec, d.last_window_sec,
                                      d.count, d.records, d.last_updated_ms, d.writes});
  }

  // An empty row is created so that a missing one can be locked.
  Result<std::vector<std::vector<WindowTotal>>> LoadTotals(const std::vector<TotalsKey>& keys) override {
    auto raw = LockOrCreate<std::string>(
        sql_.select_totals, sql_.create_totals, keys,
        [](const TotalsKey& k) { return std::vector<Param>{k.topic, k.tier, k.bucket_sec}; },
        [](const Row& r) { return r.Blob(0); });
    if (!raw.ok()) return raw.status();
    std::vector<std::vector<WindowTotal>> out(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!(*raw)[i]) continue;
      if (Status s = DecodeTotals(keys[i], *(*raw)[i], out[i]); !s.ok()) return s;
    }
    return out;
  }

  Status SaveTotals(const TotalsKey& k, const std::vector<WindowTotal>& windows) override {
    return Defer(sql_.save_totals, {k.topic, k.tier, k.bucket_sec, Bytes{EncodeTotals(k.bucket_sec, windows)}});
  }

  // A placeholder (chunk_start -1) is created so that the row can be locked.
  Result<std::optional<ChunkState>> LoadChunk(const ChunkKey& k) override {
    auto c = LoadChunks({k});
    if (!c.ok()) return c.status();
    return std::move(c->front());
  }

  Result<std::vector<std::optional<ChunkState>>> LoadChunks(const std::vector<ChunkKey>& keys) override {
    using Raw = std::pair<ChunkState, std::string>;  // the chunk, and its contributions still encoded
    auto raw = LockOrCreate<Raw>(
        sql_.select_chunk, sql_.create_chunk, keys,
        [](const ChunkKey& k) { return std::vector<Param>{k.tier, k.datacenter, k.cluster, k.topic, k.partition}; },
        [](const Row& r) {
          return Raw{ChunkState{.chunk_start = r.Int(0), .flush_id = r.Text(1), .generation = r.Int(4),
                                .assigned_ms = r.Int(5), .windows = {}, .updated_ms = r.Int(3)},
                     r.Text(2)};
        });
    if (!raw.ok()) return raw.status();
    std::vector<std::optional<ChunkState>> out(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!(*raw)[i]) continue;
      auto windows = DecodeContributions((*raw)[i]->second);
      if (!windows.ok()) return windows.status();
      out[i] = std::move((*raw)[i]->first);
      out[i]->windows = std::move(*windows);
    }
    return out;
  }

  Status SaveChunk(const ChunkKey& k, const ChunkState& c) override {
    return Defer(
        sql_.save_chunk,  // the row exists (LoadChunk created it): an update
        {k.tier, k.datacenter, k.cluster, k.topic, k.partition, c.chunk_start, c.flush_id,
         EncodeContributions(c.windows), c.updated_ms, c.generation, c.assigned_ms});
  }

  // A placeholder (last_seq -1) is created so that the row can be locked.
  Result<std::optional<EmitterState>> LoadEmitter(const std::string& id) override {
    auto e = LoadEmitters({id});
    if (!e.ok()) return e.status();
    return std::move(e->front());
  }

  Result<std::vector<std::optional<EmitterState>>> LoadEmitters(const std::vector<std::string>& ids) override {
    return LockOrCreate<EmitterState>(sql_.select_emitter, sql_.create_emitter, ids,
                                      [](const std::string& id) { return std::vector<Param>{id}; }, ReadEmitter);
  }

  Status SaveEmitter(const EmitterState& e) override {
    const EmitterRow& r = e.row;
    return Defer(
        sql_.save_emitter,  // the row exists (LoadEmitter created it): an update
        {r.emitter_id, r.tier, r.datacenter, r.cluster, r.hostname, r.last_seq, r.missing_records,
         EncodeGaps(e.gaps), r.watermark_ms, r.window_sec, r.last_seen_ms, r.dropped_records, r.failed_deliveries,
         r.dropped_observations, r.skipped_offsets, EncodeIncomplete(e)});
  }

  Result<bool> QuarantineHas(const std::string& source) override {
    auto r = One<int64_t>("SELECT 1 FROM quarantine WHERE source = ?1 LIMIT 1", {source},
                          [](const Row& r) { return r.Int(0); });
    if (!r.ok()) return r.status();
    return r->has_value();
  }

  Status InsertQuarantine(const QuarantineRow& q) override {
    return Defer(sql_.insert_quarantine, {q.received_ms, q.reason, Bytes{q.raw}, q.source});
  }

  Status SavePosition(const ConsumerPosition& p, int64_t now_ms) override {
    return Defer(sql_.save_position, {p.group, p.topic, p.partition, p.next_offset, now_ms});
  }

  Result<int64_t> RetentionHorizon() override {
    auto r = One<std::string>("SELECT value FROM store_meta WHERE \"key\" = 'retention_horizon_sec'", {},
                              [](const Row& r) { return r.Text(0); });
    if (!r.ok()) return r.status();
    return *r ? std::stoll(**r) : int64_t{0};
  }

  Status FlushWrites() override { return Send({}, {}); }

  // The alerts' writes (SqlStore::SaveAlerts), deferred like the rest.
  Status SaveAlert(const AlertRow& a) { return Defer(sql_.save_alert, AlertParams(a)); }
  Status QueueNotice(int64_t alert_id, const std::string& receiver, int64_t due_ms) {
    return Defer(sql_.queue_notice, {alert_id, receiver, due_ms, int64_t{0}, ""});
  }

 private:
  static std::vector<Param> WindowParams(const WindowKey& k) {
    return {k.topic, k.window_begin_sec, k.tier, k.datacenter, k.cluster};
  }
  static std::vector<Param> PartitionParams(const PartitionKey& k) {
    const WindowKey& w = k.window;
    return {w.topic, w.tier, w.window_begin_sec, w.datacenter, w.cluster, k.partition};
  }
  static PartitionState ReadPartitionState(const Row& r) { return PartitionState{ReadPartition(r)}; }

  static constexpr size_t kStatementBytes = 1 << 20;
  static size_t ParamBytes(const std::vector<Param>& params) {
    size_t n = 0;
    for (const Param& p : params) {
      if (auto* t = std::get_if<std::string>(&p.value)) n += t->size();
      else if (auto* b = std::get_if<Bytes>(&p.value)) n += b->data.size();
      n += 24;
    }
    return n;
  }

  Status Defer(const RowWrite& write, std::vector<Param> params) {
    if (static_cast<int>(params.size()) != write.columns)
      return Status::Internal("store: " + std::to_string(params.size()) + " values for " + std::to_string(write.columns) + " columns");
    pending_.push_back({&write, std::move(params)});
    return Status::Ok();
  }

  // Runs the deferred writes, then `stmts`; `row` sees the rows of stmts[i] as i.
  // Consecutive writes of one kind become multi-row statements.
  Status Send(std::vector<Statement> stmts, const BatchRowFn& row) {
    if (pending_.empty()) return stmts.empty() ? Status::Ok() : db_.RunBatch(stmts, row);
    std::vector<Statement> all;
    for (size_t i = 0; i < pending_.size();) {
      const RowWrite& w = *pending_[i].write;
      size_t end = i;
      while (end < pending_.size() && pending_[end].write == &w) ++end;
      while (i < end) {
        // Rows up to ~1 MiB of values a statement (MySQL's packets are bounded), in 2^k rows.
        size_t fit = 0;
        for (size_t bytes = 0; i + fit < end && (fit == 0 || bytes < kStatementBytes); ++fit) {
          bytes += ParamBytes(pending_[i + fit].params);
        }
        size_t k = w.sql.size() - 1;
        while ((size_t{1} << k) > fit) --k;
        Statement st{w.sql[k], {}};
        st.params.reserve((size_t{1} << k) * w.columns);
        for (size_t n = 0; n < (size_t{1} << k); ++n, ++i) {
          for (Param& p : pending_[i].params) st.params.push_back(std::move(p));
        }
        all.push_back(std::move(st));
      }
    }
    pending_.clear();
    const size_t skip = all.size();
    all.insert(all.end(), std::make_move_iterator(stmts.begin()), std::make_move_iterator(stmts.end()));
    return db_.RunBatch(all, [&](size_t i, const Row& r) { return i < skip || !row ? Status::Ok() : row(i - skip, r); });
  }

  // The rows of `stmts`, at most one each: statement i answers key i / per_key.
  template <typename T, typename F>
  Result<std::vector<std::optional<T>>> Many(std::vector<Statement> stmts, size_t per_key, F read) {
    std::vector<std::optional<T>> out(stmts.size() / per_key);
    Status s = Send(std::move(stmts), [&](size_t i, const Row& r) {
      out[i / per_key] = read(r);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

  // `select` of each key, in one RunBatch.
  template <typename T, typename K, typename P, typename F>
  Result<std::vector<std::optional<T>>> SelectEach(const std::string& select, const std::vector<K>& keys, P params,
                                                   F read) {
    std::vector<Statement> stmts;
    stmts.reserve(keys.size());
    for (const K& k : keys) stmts.push_back({select, params(k)});
    return Many<T>(std::move(stmts), 1, read);
  }

  template <typename T, typename F>
  Result<std::optional<T>> One(const std::string& sql, std::vector<Param> params, F read) {
    auto rows = Many<T>({{sql, std::move(params)}}, 1, read);
    if (!rows.ok()) return rows.status();
    return std::move(rows->front());
  }

  // Creates the row if it is missing (`create`: an upsert that changes nothing
  // of an existing row) and returns it locked: in one statement where the
  // dialect has upsert ... RETURNING (`create` returns the row), else followed
  // by `select` (FOR UPDATE).
  template <typename T, typename F>
  Result<std::optional<T>> CreateAndLock(const std::string& create, const std::string& select,
                                         std::vector<Param> key, F read) {
    if (db_.UpsertReturning()) return One<T>(create, std::move(key), read);
    std::vector<Statement> stmts = {{create, key}, {select, std::move(key)}};
    auto rows = Many<T>(std::move(stmts), 2, read);
    if (!rows.ok()) return rows.status();
    return std::move(rows->front());
  }

  // Every key's row, locked: those stored are locked by `select` (FOR UPDATE)
  // in one RunBatch, then the missing ones are created and locked as by
  // CreateAndLock, in another. No row is written only to lock it.
  template <typename T, typename K, typename P, typename F>
  Result<std::vector<std::optional<T>>> LockOrCreate(const std::string& select, const std::string& create,
                                                     const std::vector<K>& keys, P params, F read) {
    auto out = SelectEach<T>(select, keys, params, read);
    if (!out.ok()) return out;
    const size_t per_key = db_.UpsertReturning() ? 1 : 2;
    std::vector<Statement> stmts;
    std::vector<size_t> missing;
    for (size_t i = 0; i < keys.size(); ++i) {
      if ((*out)[i]) continue;
      missing.push_back(i);
      std::vector<Param> p = params(keys[i]);
      if (per_key == 2) stmts.push_back({create, p});
      stmts.push_back({per_key == 2 ? select : create, std::move(p)});
    }
    if (missing.empty()) return out;
    Status s = Send(std::move(stmts), [&](size_t i, const Row& r) {
      (*out)[missing[i / per_key]] = read(r);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return out;
  }

  Dialect& db_;
  const Statements& sql_;
  struct PendingWrite {
    const RowWrite* write;
    std::vector<Param> params;
  };
  std::vector<PendingWrite> pending_;  // deferred writes, in order
};

class SqlStore final : public Store {
 public:
  explicit SqlStore(std::unique_ptr<Dialect> db) : db_(std::move(db)), sql_(*db_) {}

  std::string backend() const override { return db_->name(); }
  int schema_version() const override { return version_; }

  Status Ping() override {
    return Read([&]() -> Status {
      return db_->Run("SELECT MAX(version) FROM schema_migrations", {});
    });
  }

  Result<ApplyStats> Apply(const std::vector<Incoming>& batch, const std::vector<ConsumerPosition>& positions,
                           int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (Status s = Ready(); !s.ok()) return s;
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
    return Read([&]() -> Result<std::vector<ConsumerPosition>> {
      return Collect<ConsumerPosition>(
          *db_,
          "SELECT partition_id, next_offset FROM consumer_positions WHERE group_id = ?1 AND topic = ?2 "
          "ORDER BY partition_id",
          {group, topic},
          [&](const Row& r) { return ConsumerPosition{group, topic, static_cast<int32_t>(r.Int(0)), r.Int(1)}; });
    });
  }

  // One row per topic and tier, aggregated from the summary's days.
  Result<std::vector<TopicSummary>> ListTopics() override {
    return Read([&]() -> Result<std::vector<TopicSummary>> {
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
    });
  }

  Result<std::vector<TopicDay>> QueryTopicSummary(
      int64_t from_sec, int64_t to_sec, const std::optional<std::pair<std::string, std::string>>& topics) override {
    std::vector<Param> params = {from_sec - 86400, to_sec};
    if (topics) {
      params.emplace_back(topics->first);
      params.emplace_back(topics->second);
    }
    return Read([&]() -> Result<std::vector<TopicDay>> {
      return Collect<TopicDay>(
          *db_,
          "SELECT " + std::string(kTopicSummaryColumns) + " FROM topic_summary WHERE " +
              (topics ? "topic" + db_->ByteOrder() + " >= ?3 AND topic" + db_->ByteOrder() + " <= ?4 AND " : "") +
              "day_sec > ?1 AND day_sec < ?2 ORDER BY topic" + db_->ByteOrder() + ", tier" + db_->ByteOrder() +
              ", day_sec",
          params, [](const Row& r) {
            return TopicDay{r.Text(0), r.Text(1), r.Int(2), r.Int(3), r.Int(4),
                            r.Int(5),  r.Int(6),  r.Int(7), r.Int(8), r.Int(9)};
          });
    });
  }

  Result<std::vector<WindowRow>> QueryWindows(const std::string& topic, const std::optional<std::string>& tier,
                                              int64_t from_sec, int64_t to_sec) override {
    return Read([&]() -> Result<std::vector<WindowRow>> {
      std::string sql = "SELECT " + std::string(kWindowColumns) +
                        " FROM windows WHERE topic = ?1 AND window_begin_sec >= ?2 AND window_begin_sec < ?3" +
                        (tier ? " AND tier = ?4" : "") + " ORDER BY window_begin_sec, tier, datacenter, cluster";
      std::vector<Param> params = {topic, from_sec, to_sec};
      if (tier) params.emplace_back(*tier);
      return Collect<WindowRow>(*db_, sql, params, [](const Row& r) { return ReadWindow(r).row; });
    });
  }

  // With topics, one statement per topic (an equality on the key's first
  // column, which every database's key index answers, whatever its collation
  // or its planner's view of a long IN list), all in one RunBatch: one round
  // trip where the dialect pipelines.
  Result<std::vector<TierTotals>> QueryWindowTotals(int64_t from_sec, int64_t to_sec,
                                                    std::span<const std::string> topics) override {
    const std::string order = " ORDER BY tier" + db_->ByteOrder() + ", bucket_sec";
    std::vector<Statement> stmts;
    if (topics.empty()) {
      stmts.push_back({"SELECT topic, tier, bucket_sec, totals FROM window_totals WHERE bucket_sec > ?1 AND "
                       "bucket_sec < ?2 ORDER BY topic" + db_->ByteOrder() + ", tier" + db_->ByteOrder() + ", bucket_sec",
                       {from_sec - kTotalsBucketSec, to_sec}});
    } else {
      std::vector<std::string> names(topics.begin(), topics.end());
      std::sort(names.begin(), names.end());
      names.erase(std::unique(names.begin(), names.end()), names.end());
      for (std::string& name : names) {
        stmts.push_back({"SELECT topic, tier, bucket_sec, totals FROM window_totals WHERE topic = ?3 AND "
                         "bucket_sec > ?1 AND bucket_sec < ?2" + order,
                         {from_sec - kTotalsBucketSec, to_sec, std::move(name)}});
      }
    }
    return Read([&]() -> Result<std::vector<TierTotals>> {
      std::vector<TierTotals> out;
      Status s = db_->RunBatch(stmts, [&](size_t, const Row& r) -> Status {
        std::string topic = r.Text(0), tier = r.Text(1);
        if (out.empty() || out.back().topic != topic || out.back().tier != tier) {
          if (!out.empty() && out.back().windows.empty()) out.pop_back();
          out.push_back(TierTotals{std::move(topic), std::move(tier), {}});
          out.back().windows.reserve(4 * kTotalsBucketSec / 600);
        }
        TierTotals& t = out.back();
        const size_t first = t.windows.size();
        if (Status s = DecodeTotals(TotalsKey{t.topic, t.tier, r.Int(2)}, r.Blob(3), t.windows); !s.ok()) return s;
        auto in_range = [&](const WindowTotal& w) { return w.window_begin_sec >= from_sec && w.window_begin_sec < to_sec; };
        if (!std::all_of(t.windows.begin() + static_cast<std::ptrdiff_t>(first), t.windows.end(), in_range)) {
          t.windows.erase(std::remove_if(t.windows.begin() + static_cast<std::ptrdiff_t>(first), t.windows.end(),
                                         [&](const WindowTotal& w) { return !in_range(w); }),
                          t.windows.end());
        }
        return Status::Ok();
      });
      if (!s.ok()) return s;
      if (!out.empty() && out.back().windows.empty()) out.pop_back();
      return out;
    });
  }

  Result<std::vector<WindowRow>> QueryAllWindows(int64_t from_sec, int64_t to_sec) override {
    return Read([&]() -> Result<std::vector<WindowRow>> {
      return Collect<WindowRow>(*db_,
                                "SELECT " + std::string(kWindowColumns) +
                                    " FROM windows WHERE window_begin_sec >= ?1 AND window_begin_sec < ?2"
                                    " ORDER BY topic, window_begin_sec, tier, datacenter, cluster",
                                {from_sec, to_sec}, [](const Row& r) { return ReadWindow(r).row; });
    });
  }

  Result<std::vector<PartitionRow>> QueryPartitions(const std::string& topic, const std::string& tier,
                                                    int64_t window_begin_sec) override {
    return Read([&]() -> Result<std::vector<PartitionRow>> {
      return Collect<PartitionRow>(*db_,
                                   "SELECT " + std::string(kPartitionColumns) +
                                       " FROM partitions WHERE topic = ?1 AND tier = ?2 AND window_begin_sec = ?3"
                                       " ORDER BY partition_id, datacenter, cluster",
                                   {topic, tier, window_begin_sec}, ReadPartition);
    });
  }

  Result<std::vector<EmitterRow>> QueryEmitters(const std::optional<std::string>& tier) override {
    return Read([&]() -> Result<std::vector<EmitterRow>> {
      std::vector<Param> params;
      if (tier) params.emplace_back(*tier);
      return Collect<EmitterRow>(*db_,
                                 "SELECT " + std::string(kEmitterColumns) + " FROM emitters" +
                                     (tier ? " WHERE tier = ?1" : "") + " ORDER BY tier, emitter_id",
                                 params, [](const Row& r) { return ReadEmitter(r).row; });
    });
  }

  Result<std::vector<QuarantineRow>> QueryQuarantine(int limit) override {
    return Read([&]() -> Result<std::vector<QuarantineRow>> {
      return Collect<QuarantineRow>(
          *db_, "SELECT id, received_ms, reason, raw, source FROM quarantine ORDER BY id DESC LIMIT ?1",
          {static_cast<int64_t>(std::max(0, limit))},
          [](const Row& r) { return QuarantineRow{r.Int(0), r.Int(1), r.Text(2), r.Blob(3), r.Text(4)}; });
    });
  }

  Result<int64_t> QuarantineCount() override {
    return Read([&]() -> Result<int64_t> {
      int64_t n = 0;
      Status s = db_->Run("SELECT COUNT(*) FROM quarantine", {}, [&](const Row& r) {
        n = r.Int(0);
        return Status::Ok();
      });
      if (!s.ok()) return s;
      return n;
    });
  }

  Status ApplyRetention(int64_t before_sec) override {
    std::lock_guard lock(mu_);
    if (Status s = Ready(); !s.ok()) return s;
    return InTransaction([&]() -> Status {
      const int64_t before_ms = before_sec * 1000;
      for (const auto& [sql, v] : {std::pair{"DELETE FROM windows WHERE window_begin_sec < ?1", before_sec},
                                   std::pair{"DELETE FROM partitions WHERE window_begin_sec < ?1", before_sec},
                                   std::pair{"DELETE FROM applied_uuids WHERE window_begin_sec < ?1", before_sec},
                                   std::pair{"DELETE FROM chunks WHERE updated_ms < ?1", before_ms},
                                   std::pair{"DELETE FROM quarantine WHERE received_ms < ?1", before_ms},
                                   std::pair{"DELETE FROM emitters WHERE last_seen_ms < ?1", before_ms},
                                   std::pair{"DELETE FROM alert_outbox WHERE alert_id IN (SELECT id FROM alerts WHERE "
                                             "state = 'resolved' AND ends_ms < ?1)",
                                             before_ms},
                                   std::pair{"DELETE FROM alerts WHERE state = 'resolved' AND ends_ms < ?1", before_ms}}) {
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
      // The window totals: buckets wholly before the horizon go; the windows
      // before it leave the bucket it cuts.
      const int64_t bucket = BucketOf(before_sec);
      if (Status s = db_->Run("DELETE FROM window_totals WHERE bucket_sec < ?1", {bucket}); !s.ok()) return s;
      if (bucket < before_sec) {
        std::vector<std::pair<TotalsKey, std::vector<WindowTotal>>> cut;
        Status s = db_->Run("SELECT topic, tier, totals FROM window_totals WHERE bucket_sec = ?1", {bucket},
                            [&](const Row& r) -> Status {
                              TotalsKey key{r.Text(0), r.Text(1), bucket};
                              std::vector<WindowTotal> windows;
                              if (Status s = DecodeTotals(key, r.Blob(2), windows); !s.ok()) return s;
                              std::erase_if(windows, [&](const WindowTotal& w) { return w.window_begin_sec < before_sec; });
                              cut.emplace_back(std::move(key), std::move(windows));
                              return Status::Ok();
                            });
        if (!s.ok()) return s;
        SqlTxn txn(*db_, sql_);
        for (const auto& [key, windows] : cut) {
          if (Status s = txn.SaveTotals(key, windows); !s.ok()) return s;
        }
        if (Status s = txn.FlushWrites(); !s.ok()) return s;
      }
      return db_->Run(sql_.save_horizon, {std::to_string(before_sec)});
    });
  }

  Result<bool> TakeLease(const std::string& name, const std::string& owner, int64_t now_ms, int64_t ttl_ms) override {
    std::lock_guard lock(mu_);
    if (Status s = Ready(); !s.ok()) return s;
    bool held = false;
    Status s = InTransaction([&]() -> Status {
      if (Status s = db_->Run(sql_.create_meta, {LeaseKey(name)}); !s.ok()) return s;
      auto holder = LockedLease(name);
      if (!holder.ok()) return holder.status();
      held = holder->first <= now_ms || holder->second == owner;
      if (!held) return Status::Ok();
      return db_->Run("UPDATE store_meta SET value = ?2 WHERE \"key\" = ?1",
                      {LeaseKey(name), std::to_string(now_ms + ttl_ms) + " " + owner});
    });
    if (!s.ok()) return s;
    return held;
  }

  Status SaveAlerts(std::vector<AlertChange>& changes, const std::string& lease, const std::string& owner,
                    int64_t now_ms) override {
    std::lock_guard lock(mu_);
    if (Status s = Ready(); !s.ok()) return s;
    std::vector<int64_t> ids(changes.size());
    Status s = InTransaction([&]() -> Status {
      auto holder = LockedLease(lease);  // held until the commit: the holder's writes are serialised
      if (!holder.ok()) return holder.status();
      if (holder->second != owner || holder->first <= now_ms) {
        return Status::AlreadyExists("store: lease '" + lease + "' is not held by " + owner +
                                     (holder->second.empty() ? "" : " (holder: " + holder->second + ")"));
      }
      int64_t next = 0;
      if (Status s = db_->Run("SELECT COALESCE(MAX(id), 0) FROM alerts", {}, [&](const Row& r) {
            next = r.Int(0);
            return Status::Ok();
          });
          !s.ok()) {
        return s;
      }
      SqlTxn txn(*db_, sql_);
      std::vector<std::pair<int64_t, std::string>> queued;
      for (size_t i = 0; i < changes.size(); ++i) {
        AlertRow a = changes[i].alert;
        if (a.id == 0) a.id = ++next;
        ids[i] = a.id;
        if (Status s = txn.SaveAlert(a); !s.ok()) return s;
        for (const std::string& receiver : changes[i].notify) queued.emplace_back(a.id, receiver);
      }
      // One notice per (alert, receiver): a multi-row upsert must not name a key twice.
      std::sort(queued.begin(), queued.end());
      queued.erase(std::unique(queued.begin(), queued.end()), queued.end());
      for (const auto& [id, receiver] : queued) {
        if (Status s = txn.QueueNotice(id, receiver, now_ms); !s.ok()) return s;
      }
      return txn.FlushWrites();
    });
    if (!s.ok()) return s;
    for (size_t i = 0; i < changes.size(); ++i) changes[i].alert.id = ids[i];
    return Status::Ok();
  }

  Result<std::vector<AlertRow>> QueryAlerts(const AlertQuery& q) override {
    std::string where;
    std::vector<Param> params;
    auto add = [&](const std::string& condition, Param p) {
      params.push_back(std::move(p));
      where += (where.empty() ? " WHERE " : " AND ") + condition + std::to_string(params.size());
    };
    if (q.state) add("state = ?", *q.state);
    if (q.topic) add("topic = ?", *q.topic);
    if (q.before_id > 0) add("id < ?", q.before_id);
    if (q.updated_since_ms > 0) add("updated_ms >= ?", q.updated_since_ms);
    if (!q.ids.empty()) {
      std::string in;
      for (int64_t id : q.ids) {
        params.emplace_back(id);
        in += (in.empty() ? "?" : ", ?") + std::to_string(params.size());
      }
      where += (where.empty() ? " WHERE " : " AND ") + std::string("id IN (") + in + ")";
    }
    params.emplace_back(static_cast<int64_t>(std::max(0, q.limit)));
    const std::string sql = "SELECT " + std::string(kAlertColumns) + " FROM alerts" + where + " ORDER BY id DESC LIMIT ?" +
                            std::to_string(params.size());
    return Read([&]() -> Result<std::vector<AlertRow>> { return Collect<AlertRow>(*db_, sql, params, ReadAlert); });
  }

  Result<std::vector<AlertNotice>> DueNotices(int64_t now_ms, int limit) override {
    return Read([&]() -> Result<std::vector<AlertNotice>> {
      return Collect<AlertNotice>(
          *db_,
          "SELECT alert_id, receiver, due_ms, attempts, last_error FROM alert_outbox WHERE due_ms <= ?1 "
          "ORDER BY due_ms, alert_id LIMIT ?2",
          {now_ms, static_cast<int64_t>(std::max(0, limit))},
          [](const Row& r) { return AlertNotice{r.Int(0), r.Text(1), r.Int(2), r.Int(3), r.Text(4)}; });
    });
  }

  Status SettleNotices(const std::vector<AlertNotice>& delivered, const std::vector<AlertNotice>& retry) override {
    std::vector<Statement> stmts;
    for (const AlertNotice& n : delivered) {
      stmts.push_back({"DELETE FROM alert_outbox WHERE alert_id = ?1 AND receiver = ?2 AND due_ms = ?3",
                       {n.alert_id, n.receiver, n.due_ms}});
    }
    for (const AlertNotice& n : retry) {
      stmts.push_back({"UPDATE alert_outbox SET due_ms = ?3, attempts = ?4, last_error = ?5 WHERE alert_id = ?1 AND "
                       "receiver = ?2",
                       {n.alert_id, n.receiver, n.due_ms, n.attempts, n.last_error}});
    }
    if (stmts.empty()) return Status::Ok();
    std::lock_guard lock(mu_);
    if (Status s = Ready(); !s.ok()) return s;
    return InTransaction([&]() { return db_->RunBatch(stmts); });
  }

  // Each migration runs in its own transaction with its schema_migrations
  // row, under the dialect's migration lock (concurrent starters migrate once).
  Status Migrate() {
    std::lock_guard lock(mu_);
    if (Status s = Ready(); !s.ok()) return s;
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
        if (m.then == MigrationStep::kBackFillWindowTotals) {
          if (Status s = BackFillWindowTotals(); !s.ok()) return s;
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
  static std::string LeaseKey(const std::string& name) { return "lease:" + name; }

  // The lease row, locked until the transaction ends: {expires_ms, owner};
  // {0, ""} when there is none.
  Result<std::pair<int64_t, std::string>> LockedLease(const std::string& name) {
    std::pair<int64_t, std::string> holder{0, ""};
    Status s = db_->Run(sql_.select_meta, {LeaseKey(name)}, [&](const Row& r) {
      const std::string v = r.Text(0);
      const size_t space = v.find(' ');
      if (space == std::string::npos) return Status::Ok();
      holder = {std::strtoll(v.c_str(), nullptr, 10), v.substr(space + 1)};
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return holder;
  }

  // Every operation starts here, holding mu_: a connection that an earlier
  // operation lost (the server restarted, the network failed) is opened again,
  // between transactions. While the server is down this answers kUnavailable
  // (the collector retries with backoff); once it is back the store goes on.
  Status Ready() {
    if (!db_->Broken()) return Status::Ok();
    if (Status s = db_->Connect(); !s.ok()) return s;
    spdlog::info("store: {}: reconnected", db_->name());
    return Status::Ok();
  }

  // A read under mu_. A connection found lost by its first statement (the
  // server restarted while it was idle) is opened again and the read runs once
  // more: a read changes nothing.
  template <typename F>
  auto Read(F read) -> decltype(read()) {
    std::lock_guard lock(mu_);
    if (Status s = Ready(); !s.ok()) return s;
    auto r = read();
    if (r.ok() || !db_->Broken() || !Ready().ok()) return r;
    return read();
  }

  // Runs `body` in one write transaction: committed when it returns OK, rolled
  // back otherwise (a lost connection took its transaction with it). A
  // connection found lost by BEGIN (nothing of the transaction ran) is opened
  // again, once.
  Status InTransaction(const std::function<Status()>& body) {
    Status begun = db_->Begin();
    if (!begun.ok() && db_->Broken() && Ready().ok()) begun = db_->Begin();
    if (!begun.ok()) return begun;
    Status s = body();
    if (s.ok()) s = db_->Commit();
    if (!s.ok() && !db_->Broken()) db_->Rollback();
    return s;
  }

  // Migration 5: the window totals of every stored window row, one bucket of
  // rows at a time (memory bounded by a bucket's rows, not the store's).
  Status BackFillWindowTotals() {
    int64_t first = 0, last = -1;
    Status s = db_->Run("SELECT COUNT(*), MIN(window_begin_sec), MAX(window_begin_sec) FROM windows", {},
                        [&](const Row& r) {
                          if (r.Int(0) > 0) first = BucketOf(r.Int(1)), last = r.Int(2);
                          return Status::Ok();
                        });
    if (!s.ok()) return s;
    int64_t rows = 0;
    for (int64_t bucket = first; bucket <= last; bucket += kTotalsBucketSec) {
      std::vector<WindowRow> read;
      s = db_->Run("SELECT " + std::string(kWindowColumns) +
                       " FROM windows WHERE window_begin_sec >= ?1 AND window_begin_sec < ?2",
                   {bucket, bucket + kTotalsBucketSec}, [&](const Row& r) {
                     read.push_back(ReadWindow(r).row);
                     return Status::Ok();
                   });
      if (!s.ok()) return s;
      rows += static_cast<int64_t>(read.size());
      SqlTxn txn(*db_, sql_);
      for (const TierTotals& t : TotalWindows(read)) {
        if (s = txn.SaveTotals(TotalsKey{t.topic, t.tier, bucket}, t.windows); !s.ok()) return s;
      }
      if (s = txn.FlushWrites(); !s.ok()) return s;
    }
    if (rows > 0) spdlog::info("store: {}: window totals back-filled from {} window rows", db_->name(), rows);
    return Status::Ok();
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

Status Dialect::RunBatch(const std::vector<Statement>& statements, const BatchRowFn& row) {
  for (size_t i = 0; i < statements.size(); ++i) {
    Status s = Run(statements[i].sql, statements[i].params,
                   row ? RowFn([&](const Row& r) { return row(i, r); }) : RowFn());
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// Multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING uuid: the uuids
// returned were new. Groups of 256, 128, ..., 1 rows (the binary digits of
// the count), so that at most nine statement texts are prepared.
Result<std::vector<bool>> Dialect::ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                              int64_t now_ms) {
  constexpr size_t kMaxRows = 256;
  std::vector<bool> fresh(uuids.size(), false);
  std::unordered_map<std::string_view, size_t> index;
  std::vector<Param> params;
  for (size_t from = 0; from < uuids.size();) {
    size_t rows = kMaxRows;
    while (rows > uuids.size() - from) rows /= 2;
    std::string sql = "INSERT INTO applied_uuids (uuid, window_begin_sec, applied_ms) VALUES ";
    params.assign({now_ms});
    index.clear();
    for (size_t k = 0; k < rows; ++k) {
      const auto& [uuid, begin] = uuids[from + k];
      sql += (k > 0 ? ", (?" : "(?") + std::to_string(2 * k + 2) + ", ?" + std::to_string(2 * k + 3) + ", ?1)";
      params.emplace_back(uuid);
      params.emplace_back(begin);
      index.emplace(uuid, from + k);
    }
    sql += " ON CONFLICT (uuid) DO NOTHING RETURNING uuid";
    Status s = Run(sql, params, [&](const Row& r) {
      auto it = index.find(r.Text(0));
      if (it != index.end()) fresh[it->second] = true;
      return Status::Ok();
    });
    if (!s.ok()) return s;
    from += rows;
  }
  return fresh;
}

Result<std::unique_ptr<Store>> OpenSqlStore(std::unique_ptr<Dialect> dialect) {
  auto store = std::make_unique<SqlStore>(std::move(dialect));
  if (Status s = store->Migrate(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace chaperone::store::internal
