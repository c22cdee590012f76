// PostgreSQL backend (libpq). Every statement is parameterised and prepared
// once per connection; one transaction per Apply. Several collectors may share
// one database: rows about to be changed are locked first (SELECT ... FOR
// UPDATE, or an INSERT ... ON CONFLICT DO UPDATE ... RETURNING that creates and
// locks a missing row), uuids are claimed with INSERT ... ON CONFLICT DO
// NOTHING (a concurrent claim of the same uuid waits for the first transaction
// and then loses), and a deadlock or serialization failure rolls the batch back
// as kUnavailable so that the collector retries it.
#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <map>
#include <mutex>
#include <set>
#include <unordered_set>

#include "common/secrets.h"
#include "store/backends.h"
#include "store/engine.h"
#include "store/schema.h"

namespace chaperone::store::internal {
namespace {

// One parameter: text, NULL, or bytes (binary format, for BYTEA).
struct Param {
  std::string value;
  bool binary = false;
};

Param P(const std::string& v) { return {v, false}; }
Param P(const char* v) { return {v, false}; }
Param P(int64_t v) { return {std::to_string(v), false}; }
Param P(int32_t v) { return {std::to_string(v), false}; }
Param P(bool v) { return {v ? "1" : "0", false}; }
Param P(uint64_t v) { return {std::to_string(static_cast<int64_t>(v)), false}; }
Param P(double v) { return {fmt::format("{}", v), false}; }
Param Bytes(const std::string& v) { return {v, true}; }

class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  ~PgResult() {
    if (r_) PQclear(r_);
  }
  PGresult* raw() const { return r_; }
  int rows() const { return PQntuples(r_); }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), PQgetlength(r_, row, col));
  }
  int64_t Int(int row, int col) const {
    int64_t v = 0;
    const char* p = PQgetvalue(r_, row, col);
    std::from_chars(p, p + PQgetlength(r_, row, col), v);
    return v;
  }
  double Real(int row, int col) const { return std::strtod(PQgetvalue(r_, row, col), nullptr); }
  std::string Bytea(int row, int col) const {
    size_t n = 0;
    unsigned char* b = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &n);
    std::string out(reinterpret_cast<const char*>(b), n);
    PQfreemem(b);
    return out;
  }

 private:
  PGresult* r_;
};

WindowState ReadWindow(const PgResult& q, int i) {
  WindowState w;
  WindowRow& r = w.row;
  r.topic = q.Text(i, 0);
  r.tier = q.Text(i, 1);
  r.datacenter = q.Text(i, 2);
  r.cluster = q.Text(i, 3);
  r.window_begin_sec = q.Int(i, 4);
  r.window_end_sec = q.Int(i, 5);
  r.count = q.Int(i, 6);
  r.bytes = q.Int(i, 7);
  r.bytes_known = q.Int(i, 8) != 0;
  r.no_time = q.Int(i, 9);
  r.malformed = q.Int(i, 10);
  r.digest = static_cast<uint64_t>(q.Int(i, 11));
  r.digest_known = q.Int(i, 12) != 0;
  r.latency_sketch = q.Text(i, 13);
  r.latency_mean = q.Real(i, 14);
  r.latency_p50 = q.Real(i, 15);
  r.latency_p95 = q.Real(i, 16);
  r.latency_p99 = q.Real(i, 17);
  r.latency_max = q.Real(i, 18);
  r.latency_upper_bound = q.Int(i, 19) != 0;
  r.records = q.Int(i, 20);
  r.updated_ms = q.Int(i, 21);
  w.latency_sum_ms = q.Real(i, 22);
  w.latency_samples = q.Int(i, 23);
  w.legacy_records = q.Int(i, 24);
  w.legacy_p50 = q.Real(i, 25);
  w.legacy_p95 = q.Real(i, 26);
  w.legacy_p99 = q.Real(i, 27);
  w.legacy_max = q.Real(i, 28);
  return w;
}

PartitionRow ReadPartition(const PgResult& q, int i) {
  PartitionRow p;
  p.topic = q.Text(i, 0);
  p.tier = q.Text(i, 1);
  p.datacenter = q.Text(i, 2);
  p.cluster = q.Text(i, 3);
  p.window_begin_sec = q.Int(i, 4);
  p.partition = static_cast<int32_t>(q.Int(i, 5));
  p.count = q.Int(i, 6);
  p.first_offset = q.Int(i, 7);
  p.last_offset = q.Int(i, 8);
  p.overlap = q.Int(i, 9);
  return p;
}

EmitterState ReadEmitter(const PgResult& q, int i) {
  EmitterState e;
  EmitterRow& r = e.row;
  r.emitter_id = q.Text(i, 0);
  r.tier = q.Text(i, 1);
  r.datacenter = q.Text(i, 2);
  r.cluster = q.Text(i, 3);
  r.hostname = q.Text(i, 4);
  r.last_seq = q.Int(i, 5);
  r.missing_records = q.Int(i, 6);
  e.gaps = DecodeGaps(q.Text(i, 7));
  r.watermark_ms = q.Int(i, 8);
  r.window_sec = q.Int(i, 9);
  r.last_seen_ms = q.Int(i, 10);
  r.dropped_records = q.Int(i, 11);
  r.failed_deliveries = q.Int(i, 12);
  return e;
}

// A text[] literal for one array parameter: {"a","b\"c"}.
std::string TextArray(const std::vector<std::pair<std::string, int64_t>>& v, size_t from, size_t to) {
  std::string out = "{";
  for (size_t i = from; i < to; ++i) {
    if (i > from) out += ',';
    out += '"';
    for (char c : v[i].first) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string IntArray(const std::vector<std::pair<std::string, int64_t>>& v, size_t from, size_t to) {
  std::string out = "{";
  for (size_t i = from; i < to; ++i) {
    if (i > from) out += ',';
    out += std::to_string(v[i].second);
  }
  out += '}';
  return out;
}

class PgStore final : public Store {
 public:
  explicit PgStore(std::string url) : url_(std::move(url)) {}
  ~PgStore() override {
    if (conn_) PQfinish(conn_);
  }

  Status Init() {
    std::lock_guard lock(mu_);
    if (Status s = Connect(); !s.ok()) return s;
    return Migrate();
  }

  std::string backend() const override { return "postgresql"; }
  int schema_version() const override { return version_; }

  Status Ping() override {
    std::lock_guard lock(mu_);
    auto r = Run("SELECT MAX(version) FROM schema_migrations", {});
    return r.ok() ? Status::Ok() : r.status();
  }

  Result<ApplyStats> Apply(const std::vector<Incoming>& batch, const std::vector<ConsumerPosition>& positions,
                           int64_t now_ms) override;

  Result<std::vector<ConsumerPosition>> LoadPositions(const std::string& group, const std::string& topic) override {
    std::lock_guard lock(mu_);
    auto r = Run(
        "SELECT partition_id, next_offset FROM consumer_positions WHERE group_id = $1 AND topic = $2 "
        "ORDER BY partition_id",
        {P(group), P(topic)});
    if (!r.ok()) return r.status();
    std::vector<ConsumerPosition> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back({group, topic, static_cast<int32_t>(r->Int(i, 0)), r->Int(i, 1)});
    return out;
  }

  Result<std::vector<TopicSummary>> ListTopics() override {
    std::lock_guard lock(mu_);
    auto r = Run(
        "SELECT topic, tier, MIN(window_begin_sec), MAX(window_begin_sec), MAX(updated_ms) FROM windows "
        "GROUP BY topic, tier ORDER BY topic, tier",
        {});
    if (!r.ok()) return r.status();
    std::vector<TopicSummary> out;
    for (int i = 0; i < r->rows(); ++i) {
      std::string topic = r->Text(i, 0);
      if (out.empty() || out.back().topic != topic) {
        out.push_back({topic, {}, r->Int(i, 2), r->Int(i, 3), r->Int(i, 4)});
      } else {
        TopicSummary& t = out.back();
        t.first_window_sec = std::min(t.first_window_sec, r->Int(i, 2));
        t.last_window_sec = std::max(t.last_window_sec, r->Int(i, 3));
        t.last_updated_ms = std::max(t.last_updated_ms, r->Int(i, 4));
      }
      out.back().tiers.push_back(r->Text(i, 1));
    }
    return out;
  }

  Result<std::vector<WindowRow>> QueryWindows(const std::string& topic, const std::optional<std::string>& tier,
                                              int64_t from_sec, int64_t to_sec) override {
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kWindowColumns +
                      " FROM windows WHERE topic = $1 AND window_begin_sec >= $2 AND window_begin_sec < $3" +
                      (tier ? " AND tier = $4" : "") + " ORDER BY window_begin_sec, tier, datacenter, cluster";
    std::vector<Param> params = {P(topic), P(from_sec), P(to_sec)};
    if (tier) params.push_back(P(*tier));
    return ReadWindows(Run(sql, params));
  }

  Result<std::vector<WindowRow>> QueryAllWindows(int64_t from_sec, int64_t to_sec) override {
    std::lock_guard lock(mu_);
    return ReadWindows(Run(std::string("SELECT ") + kWindowColumns +
                               " FROM windows WHERE window_begin_sec >= $1 AND window_begin_sec < $2"
                               " ORDER BY topic, window_begin_sec, tier, datacenter, cluster",
                           {P(from_sec), P(to_sec)}));
  }

  Result<std::vector<PartitionRow>> QueryPartitions(const std::string& topic, const std::string& tier,
                                                    int64_t window_begin_sec) override {
    std::lock_guard lock(mu_);
    auto r = Run(std::string("SELECT ") + kPartitionColumns +
                     " FROM partitions WHERE topic = $1 AND tier = $2 AND window_begin_sec = $3"
                     " ORDER BY partition_id, datacenter, cluster",
                 {P(topic), P(tier), P(window_begin_sec)});
    if (!r.ok()) return r.status();
    std::vector<PartitionRow> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(ReadPartition(*r, i));
    return out;
  }

  Result<std::vector<EmitterRow>> QueryEmitters(const std::optional<std::string>& tier) override {
    std::lock_guard lock(mu_);
    std::vector<Param> params;
    if (tier) params.push_back(P(*tier));
    auto r = Run(std::string("SELECT ") + kEmitterColumns + " FROM emitters" + (tier ? " WHERE tier = $1" : "") +
                     " ORDER BY tier, emitter_id",
                 params);
    if (!r.ok()) return r.status();
    std::vector<EmitterRow> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(ReadEmitter(*r, i).row);
    return out;
  }

  Result<std::vector<QuarantineRow>> QueryQuarantine(int limit) override {
    std::lock_guard lock(mu_);
    auto r = Run("SELECT id, received_ms, reason, raw, source FROM quarantine ORDER BY id DESC LIMIT $1",
                 {P(static_cast<int64_t>(std::max(0, limit)))});
    if (!r.ok()) return r.status();
    std::vector<QuarantineRow> out;
    for (int i = 0; i < r->rows(); ++i) {
      out.push_back({r->Int(i, 0), r->Int(i, 1), r->Text(i, 2), r->Bytea(i, 3), r->Text(i, 4)});
    }
    return out;
  }

  Result<int64_t> QuarantineCount() override {
    std::lock_guard lock(mu_);
    auto r = Run("SELECT COUNT(*) FROM quarantine", {});
    if (!r.ok()) return r.status();
    return r->Int(0, 0);
  }

  Status ApplyRetention(int64_t before_sec) override {
    std::lock_guard lock(mu_);
    if (Status s = Simple("BEGIN"); !s.ok()) return s;
    Status s = RetentionLocked(before_sec);
    if (s.ok()) s = Simple("COMMIT");
    if (!s.ok()) Rollback();
    return s;
  }

  // --- used by PgTxn (mu_ held) ---
  // Runs `sql` as a named prepared statement (prepared on first use per connection).
  Result<PgResult> Run(const std::string& sql, const std::vector<Param>& params) {
    if (Status s = EnsureConnected(); !s.ok()) return s;
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string name = "s" + std::to_string(prepared_.size() + 1);
      PgResult prep(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
      if (Status s = Check(prep, sql); !s.ok()) return s;
      it = prepared_.emplace(sql, name).first;
    }
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size());
    std::vector<int> formats(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      values[i] = params[i].value.data();
      lengths[i] = static_cast<int>(params[i].value.size());
      formats[i] = params[i].binary ? 1 : 0;
    }
    PgResult r(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()), values.data(),
                              lengths.data(), formats.data(), 0));
    if (Status s = Check(r, sql); !s.ok()) return s;
    return r;
  }

  // A statement without parameters (BEGIN, COMMIT, DDL).
  Status Simple(const char* sql) {
    if (Status s = EnsureConnected(); !s.ok()) return s;
    PgResult r(PQexec(conn_, sql));
    return Check(r, sql);
  }
  // Ends a failed transaction. A rollback that fails too is logged: a broken
  // connection is reset before its next use, which ends the transaction.
  void Rollback() {
    if (Status s = Simple("ROLLBACK"); !s.ok()) spdlog::warn("store: postgresql rollback failed: {}", s.ToString());
  }

 private:
  Status Connect() {
    if (conn_) PQfinish(conn_);
    prepared_.clear();
    conn_ = PQconnectdb(url_.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(conn_);
      while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
      PQfinish(conn_);
      conn_ = nullptr;
      return Status::Unavailable("postgresql: cannot connect to " + common::RedactUrl(url_) + ": " + msg);
    }
    PgResult r(PQexec(conn_, "SET client_min_messages = warning"));
    return Status::Ok();
  }

  Status EnsureConnected() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return Status::Ok();
    return Connect();
  }

  Status Check(const PgResult& r, const std::string& sql) {
    PGresult* raw = r.raw();
    ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
    std::string state = raw && PQresultErrorField(raw, PG_DIAG_SQLSTATE) ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : "";
    std::string msg = raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    std::string text = "postgresql: " + msg + (state.empty() ? "" : " [" + state + "]") + " in: " + sql.substr(0, 120);
    if (PQstatus(conn_) != CONNECTION_OK || state.rfind("08", 0) == 0 || state == "40001" || state == "40P01" ||
        state.rfind("57P", 0) == 0 || state.rfind("53", 0) == 0 || state == "55P03") {
      return Status::Unavailable(text);
    }
    return Status::Internal(text);
  }

  Result<std::vector<WindowRow>> ReadWindows(Result<PgResult> r) {
    if (!r.ok()) return r.status();
    std::vector<WindowRow> out;
    out.reserve(r->rows());
    for (int i = 0; i < r->rows(); ++i) out.push_back(ReadWindow(*r, i).row);
    return out;
  }

  Status Migrate();
  Status RetentionLocked(int64_t before_sec);

  const std::string url_;
  std::mutex mu_;
  PGconn* conn_ = nullptr;                       // guarded by mu_
  std::map<std::string, std::string> prepared_;  // SQL -> statement name, for conn_; guarded by mu_
  int version_ = 0;
};

class PgTxn final : public Txn {
 public:
  explicit PgTxn(PgStore& s) : s_(s) {}

  Result<std::vector<bool>> ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                       int64_t now_ms) override {
    std::vector<bool> fresh(uuids.size(), false);
    constexpr size_t kChunk = 4096;
    for (size_t from = 0; from < uuids.size(); from += kChunk) {
      size_t to = std::min(uuids.size(), from + kChunk);
      auto r = s_.Run(
          "INSERT INTO applied_uuids (uuid, window_begin_sec, applied_ms) "
          "SELECT u, b, $3 FROM unnest($1::text[], $2::bigint[]) AS t(u, b) "
          "ON CONFLICT (uuid) DO NOTHING RETURNING uuid",
          {P(TextArray(uuids, from, to)), P(IntArray(uuids, from, to)), P(now_ms)});
      if (!r.ok()) return r.status();
      std::unordered_set<std::string> inserted;
      for (int i = 0; i < r->rows(); ++i) inserted.insert(r->Text(i, 0));
      for (size_t i = from; i < to; ++i) fresh[i] = inserted.count(uuids[i].first) > 0;
    }
    return fresh;
  }

  Result<std::optional<WindowState>> LoadWindow(const WindowKey& k, bool create) override {
    static const std::string select = std::string("SELECT ") + kWindowColumns +
                                      " FROM windows WHERE topic = $1 AND window_begin_sec = $2 AND tier = $3 AND "
                                      "datacenter = $4 AND cluster = $5 FOR UPDATE";
    static const std::string upsert = std::string(
                                          "INSERT INTO windows (topic, window_begin_sec, tier, datacenter, cluster, "
                                          "window_end_sec) VALUES ($1, $2, $3, $4, $5, $2) "
                                          "ON CONFLICT (topic, window_begin_sec, tier, datacenter, cluster) DO UPDATE "
                                          "SET records = windows.records RETURNING ") +
                                      kWindowColumns;
    auto r = s_.Run(create ? upsert : select, {P(k.topic), P(k.window_begin_sec), P(k.tier), P(k.datacenter), P(k.cluster)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<WindowState>();
    return std::optional<WindowState>(ReadWindow(*r, 0));
  }

  Status SaveWindow(const WindowState& w) override {
    static const std::string sql = std::string("INSERT INTO windows (") + kWindowColumns +
                                   ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
                                   "$16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29) "
                                   "ON CONFLICT (topic, window_begin_sec, tier, datacenter, cluster) " +
                                   UpsertSet(kWindowColumns, 5);
    const WindowRow& r = w.row;
    return s_
        .Run(sql, {P(r.topic), P(r.tier), P(r.datacenter), P(r.cluster), P(r.window_begin_sec), P(r.window_end_sec),
                   P(r.count), P(r.bytes), P(r.bytes_known), P(r.no_time), P(r.malformed), P(r.digest),
                   P(r.digest_known), P(r.latency_sketch), P(r.latency_mean), P(r.latency_p50), P(r.latency_p95),
                   P(r.latency_p99), P(r.latency_max), P(r.latency_upper_bound), P(r.records), P(r.updated_ms),
                   P(w.latency_sum_ms), P(w.latency_samples), P(w.legacy_records), P(w.legacy_p50), P(w.legacy_p95),
                   P(w.legacy_p99), P(w.legacy_max)})
        .status();
  }

  Result<std::optional<PartitionState>> LoadPartition(const PartitionKey& k, bool create) override {
    static const std::string select = std::string("SELECT ") + kPartitionColumns +
                                      " FROM partitions WHERE topic = $1 AND tier = $2 AND window_begin_sec = $3 AND "
                                      "datacenter = $4 AND cluster = $5 AND partition_id = $6 FOR UPDATE";
    static const std::string upsert = std::string(
                                          "INSERT INTO partitions (topic, tier, window_begin_sec, datacenter, "
                                          "cluster, partition_id) VALUES ($1, $2, $3, $4, $5, $6) "
                                          "ON CONFLICT (topic, tier, window_begin_sec, datacenter, cluster, "
                                          "partition_id) DO UPDATE SET count = partitions.count RETURNING ") +
                                      kPartitionColumns;
    const WindowKey& w = k.window;
    auto r = s_.Run(create ? upsert : select,
                    {P(w.topic), P(w.tier), P(w.window_begin_sec), P(w.datacenter), P(w.cluster), P(k.partition)});
    if (!r.ok()) return r.status();
    if (r->rows() == 0) return std::optional<PartitionState>();
    return std::optional<PartitionState>(PartitionState{ReadPartition(*r, 0)});
  }

  Status SavePartition(const PartitionState& p, int64_t now_ms) override {
    const PartitionRow& r = p.row;
    return s_
        .Run("INSERT INTO partitions (topic, tier, datacenter, cluster, window_begin_sec, partition_id, count, "
             "first_offset, last_offset, updated_ms, overlap) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
             "ON CONFLICT (topic, tier, window_begin_sec, datacenter, cluster, partition_id) DO UPDATE SET "
             "count = excluded.count, first_offset = excluded.first_offset, last_offset = excluded.last_offset, "
             "overlap = excluded.overlap, "
             "updated_ms = excluded.updated_ms",
             {P(r.topic), P(r.tier), P(r.datacenter), P(r.cluster), P(r.window_begin_sec), P(r.partition), P(r.count),
              P(r.first_offset), P(r.last_offset), P(now_ms), P(r.overlap)})
        .status();
  }

  Result<std::optional<ChunkState>> LoadChunk(const ChunkKey& k) override {
    auto r = s_.Run(
        "INSERT INTO chunks (tier, datacenter, cluster, topic, partition_id, chunk_start, flush_id, contributions, "
        "updated_ms) VALUES ($1, $2, $3, $4, $5, -1, '', '', 0) "
        "ON CONFLICT (tier, datacenter, cluster, topic, partition_id) DO UPDATE SET updated_ms = chunks.updated_ms "
        "RETURNING chunk_start, flush_id, contributions, updated_ms, generation, assigned_ms",
        {P(k.tier), P(k.datacenter), P(k.cluster), P(k.topic), P(k.partition)});
    if (!r.ok()) return r.status();
    ChunkState c;
    c.chunk_start = r->Int(0, 0);
    c.flush_id = r->Text(0, 1);
    auto contributions = DecodeContributions(r->Text(0, 2));
    if (!contributions.ok()) return contributions.status();
    c.windows = std::move(*contributions);
    c.updated_ms = r->Int(0, 3);
    c.generation = r->Int(0, 4);
    c.assigned_ms = r->Int(0, 5);
    return std::optional<ChunkState>(std::move(c));
  }

  Status SaveChunk(const ChunkKey& k, const ChunkState& c) override {
    return s_
        .Run("UPDATE chunks SET chunk_start = $6, flush_id = $7, contributions = $8, updated_ms = $9, "
             "generation = $10, assigned_ms = $11 "
             "WHERE tier = $1 AND datacenter = $2 AND cluster = $3 AND topic = $4 AND partition_id = $5",
             {P(k.tier), P(k.datacenter), P(k.cluster), P(k.topic), P(k.partition), P(c.chunk_start), P(c.flush_id),
              P(EncodeContributions(c.windows)), P(c.updated_ms), P(c.generation), P(c.assigned_ms)})
        .status();
  }

  Result<std::optional<EmitterState>> LoadEmitter(const std::string& id) override {
    static const std::string sql = std::string(
                                       "INSERT INTO emitters (emitter_id, tier, datacenter, cluster, hostname, "
                                       "last_seq, missing_records, gaps, watermark_ms, window_sec, last_seen_ms, "
                                       "dropped_records, failed_deliveries) VALUES ($1, '', '', '', '', -1, 0, '', "
                                       "0, 0, 0, 0, 0) ON CONFLICT (emitter_id) DO UPDATE SET last_seq = "
                                       "emitters.last_seq RETURNING ") +
                                   kEmitterColumns;
    auto r = s_.Run(sql, {P(id)});
    if (!r.ok()) return r.status();
    return std::optional<EmitterState>(ReadEmitter(*r, 0));
  }

  Status SaveEmitter(const EmitterState& e) override {
    const EmitterRow& r = e.row;
    return s_
        .Run("UPDATE emitters SET tier = $2, datacenter = $3, cluster = $4, hostname = $5, last_seq = $6, "
             "missing_records = $7, gaps = $8, watermark_ms = $9, window_sec = $10, last_seen_ms = $11, "
             "dropped_records = $12, failed_deliveries = $13 WHERE emitter_id = $1",
             {P(r.emitter_id), P(r.tier), P(r.datacenter), P(r.cluster), P(r.hostname), P(r.last_seq),
              P(r.missing_records), P(EncodeGaps(e.gaps)), P(r.watermark_ms), P(r.window_sec), P(r.last_seen_ms),
              P(r.dropped_records), P(r.failed_deliveries)})
        .status();
  }

  Result<bool> QuarantineHas(const std::string& source) override {
    auto r = s_.Run("SELECT 1 FROM quarantine WHERE source = $1 LIMIT 1", {P(source)});
    if (!r.ok()) return r.status();
    return r->rows() > 0;
  }

  Status InsertQuarantine(const QuarantineRow& q) override {
    return s_
        .Run("INSERT INTO quarantine (received_ms, reason, raw, source) VALUES ($1, $2, $3, $4)",
             {P(q.received_ms), P(q.reason), Bytes(q.raw), P(q.source)})
        .status();
  }

  Status SavePosition(const ConsumerPosition& p, int64_t now_ms) override {
    return s_
        .Run("INSERT INTO consumer_positions (group_id, topic, partition_id, next_offset, updated_ms) "
             "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (group_id, topic, partition_id) DO UPDATE SET "
             "next_offset = GREATEST(consumer_positions.next_offset, excluded.next_offset), "
             "updated_ms = excluded.updated_ms",
             {P(p.group), P(p.topic), P(p.partition), P(p.next_offset), P(now_ms)})
        .status();
  }

  Result<int64_t> RetentionHorizon() override {
    auto r = s_.Run("SELECT value FROM store_meta WHERE key = 'retention_horizon_sec'", {});
    if (!r.ok()) return r.status();
    return r->rows() > 0 ? std::stoll(r->Text(0, 0)) : int64_t{0};
  }

 private:
  PgStore& s_;
};

Result<ApplyStats> PgStore::Apply(const std::vector<Incoming>& batch, const std::vector<ConsumerPosition>& positions,
                                  int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (Status s = Simple("BEGIN"); !s.ok()) return s;
  PgTxn txn(*this);
  auto stats = ApplyBatch(txn, batch, positions, now_ms);
  if (stats.ok()) {
    if (Status s = Simple("COMMIT"); !s.ok()) {
      Rollback();
      return s;
    }
    return stats;
  }
  Rollback();
  return stats.status();
}

Status PgStore::RetentionLocked(int64_t before_sec) {
  const int64_t before_ms = before_sec * 1000;
  struct Del {
    const char* sql;
    int64_t v;
  };
  for (const Del& d : {Del{"DELETE FROM windows WHERE window_begin_sec < $1", before_sec},
                       Del{"DELETE FROM partitions WHERE window_begin_sec < $1", before_sec},
                       Del{"DELETE FROM applied_uuids WHERE window_begin_sec < $1", before_sec},
                       Del{"DELETE FROM chunks WHERE updated_ms < $1", before_ms},
                       Del{"DELETE FROM quarantine WHERE received_ms < $1", before_ms},
                       Del{"DELETE FROM emitters WHERE last_seen_ms < $1", before_ms}}) {
    if (auto r = Run(d.sql, {P(d.v)}); !r.ok()) return r.status();
  }
  return Run("INSERT INTO store_meta (key, value) VALUES ('retention_horizon_sec', $1) ON CONFLICT (key) DO UPDATE "
             "SET value = GREATEST(store_meta.value::bigint, excluded.value::bigint)::text",
             {P(std::to_string(before_sec))})
      .status();
}

Status PgStore::Migrate() {
  // One migrator at a time across every process sharing the database.
  if (Status s = Simple("BEGIN"); !s.ok()) return s;
  auto fail = [&](Status s) {
    Rollback();
    return s;
  };
  if (auto r = Run("SELECT pg_advisory_xact_lock(7220531)", {}); !r.ok()) return fail(r.status());
  if (Status s = Simple("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                        "applied_ms BIGINT NOT NULL, description TEXT NOT NULL)");
      !s.ok()) {
    return fail(s);
  }
  auto cur = Run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {});
  if (!cur.ok()) return fail(cur.status());
  int current = static_cast<int>(cur->Int(0, 0));
  if (current > LatestSchemaVersion()) {
    return fail(Status::InvalidArgument("postgresql: store schema version " + std::to_string(current) +
                                        " is newer than this binary's (" + std::to_string(LatestSchemaVersion()) +
                                        "): upgrade chaperone"));
  }
  for (const Migration& m : Migrations()) {
    if (m.version <= current) continue;
    for (const char* sql : m.postgresql) {
      if (Status s = Simple(sql); !s.ok()) {
        return fail(Status::Internal("postgresql: migration " + std::to_string(m.version) + ": " + s.message()));
      }
    }
    auto r = Run("INSERT INTO schema_migrations (version, applied_ms, description) VALUES ($1, "
                 "(extract(epoch from now()) * 1000)::bigint, $2)",
                 {P(static_cast<int64_t>(m.version)), P(m.description)});
    if (!r.ok()) return fail(r.status());
  }
  if (Status s = Simple("COMMIT"); !s.ok()) return fail(s);
  version_ = LatestSchemaVersion();
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgres(const std::string& url) {
  auto store = std::make_unique<PgStore>(url);
  if (Status s = store->Init(); !s.ok()) return s;
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace chaperone::store::internal
