// PostgreSQL dialect (libpq): `?N` placeholders become `$N`, every statement is
// a named prepared statement (prepared once per connection) whose results come
// back in binary format, statement
// batches are sent in pipeline mode (one round trip), a lost connection is
// Broken (SqlStore opens it again), rows are locked
// with FOR UPDATE, uuids are claimed in bulk (unnest of two arrays), and
// connection loss, deadlocks, serialisation failures and resource shortages
// are retryable (kUnavailable), so that the collector retries the batch.
#include <fmt/format.h>
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <map>
#include <unordered_set>

#include "common/secrets.h"
#include "store/dialect.h"

namespace chaperone::store::internal {
namespace {

// Results come back in binary format (resultFormat 1): bytes as they are
// stored (text format would send BYTEA as hex, twice its size, to be decoded
// on both ends: most of a detector cycle's reads), numbers in network byte
// order. A column is read by its type, and converted when the caller reads it
// as another kind (a count read as text, a number stored as text).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
              kFloat4Oid = 700, kFloat8Oid = 701, kNumericOid = 1700;

uint64_t BigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// A binary NUMERIC (ndigits, weight, sign, dscale, then base-10000 digits).
double NumericValue(const char* p, int len) {
  if (len < 8) return 0;
  const int ndigits = static_cast<int16_t>(BigEndian(p, 2));
  const int weight = static_cast<int16_t>(BigEndian(p + 2, 2));
  const uint16_t sign = static_cast<uint16_t>(BigEndian(p + 4, 2));
  double v = 0;
  for (int i = 0; i < ndigits && 8 + 2 * i + 2 <= len; ++i) {
    v += static_cast<double>(BigEndian(p + 8 + 2 * i, 2)) * std::pow(10000.0, weight - i);
  }
  return sign == 0x4000 ? -v : v;
}

class PgRow final : public Row {
 public:
  PgRow(PGresult* r, int i) : r_(r), i_(i) {}
  int64_t Int(int c) const override {
    const char* p = PQgetvalue(r_, i_, c);
    const int n = PQgetlength(r_, i_, c);
    switch (PQftype(r_, c)) {
      case kInt8Oid: return static_cast<int64_t>(BigEndian(p, 8));
      case kInt4Oid: return static_cast<int32_t>(BigEndian(p, 4));
      case kInt2Oid: return static_cast<int16_t>(BigEndian(p, 2));
      case kOidOid: return static_cast<int64_t>(BigEndian(p, 4));
      case kBoolOid: return n > 0 && p[0] != 0;
      case kFloat4Oid:
      case kFloat8Oid:
      case kNumericOid: return static_cast<int64_t>(Real(c));
      default: {
        int64_t v = 0;
        std::from_chars(p, p + n, v);
        return v;
      }
    }
  }
  double Real(int c) const override {
    const char* p = PQgetvalue(r_, i_, c);
    const int n = PQgetlength(r_, i_, c);
    switch (PQftype(r_, c)) {
      case kFloat8Oid: return std::bit_cast<double>(BigEndian(p, 8));
      case kFloat4Oid: return std::bit_cast<float>(static_cast<uint32_t>(BigEndian(p, 4)));
      case kNumericOid: return NumericValue(p, n);
      case kInt8Oid:
      case kInt4Oid:
      case kInt2Oid:
      case kOidOid:
      case kBoolOid: return static_cast<double>(Int(c));
      default: return std::strtod(std::string(p, static_cast<size_t>(n)).c_str(), nullptr);
    }
  }
  std::string Text(int c) const override {
    switch (PQftype(r_, c)) {
      case kInt8Oid:
      case kInt4Oid:
      case kInt2Oid:
      case kOidOid:
      case kBoolOid: return std::to_string(Int(c));
      case kFloat4Oid:
      case kFloat8Oid:
      case kNumericOid: return fmt::format("{}", Real(c));
      default: return std::string(PQgetvalue(r_, i_, c), static_cast<size_t>(PQgetlength(r_, i_, c)));
    }
  }
  std::string Blob(int c) const override { return Text(c); }

 private:
  PGresult* r_;
  int i_;
};

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

// `?N` -> `$N`.
std::string DollarPlaceholders(const std::string& sql) {
  std::string out = sql;
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '?' && std::isdigit(static_cast<unsigned char>(out[i + 1]))) out[i] = '$';
  }
  return out;
}

// A literal of one array parameter: {"a","b\"c"} (text) or {1,2} (numbers).
template <typename F>
std::string ArrayLiteral(size_t from, size_t to, F element) {
  std::string out = "{";
  for (size_t i = from; i < to; ++i) out += (i > from ? "," : "") + element(i);
  return out + '}';
}

std::string Quoted(const std::string& v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

class PgDialect final : public Dialect {
 public:
  explicit PgDialect(std::string url) : url_(std::move(url)) {}
  ~PgDialect() override {
    if (conn_) PQfinish(conn_);
  }

  // A connection attempt gives up after 10 s unless the URL says otherwise
  // (libpq would wait for the operating system's TCP timeout).
  Status Connect() override {
    if (conn_) PQfinish(conn_);
    prepared_.clear();
    const char* keys[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {"10", url_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = Trimmed(PQerrorMessage(conn_));
      PQfinish(conn_);
      conn_ = nullptr;
      return Status::Unavailable("postgresql: cannot connect to " + common::RedactUrl(url_) + ": " + msg);
    }
    PgResult r(PQexec(conn_, "SET client_min_messages = warning"), PQclear);
    return Status::Ok();
  }

  std::string name() const override { return "postgresql"; }
  bool Broken() const override { return !conn_ || PQstatus(conn_) != CONNECTION_OK; }

  Status Run(const std::string& sql, const std::vector<Param>& params, const RowFn& row) override {
    if (!conn_) return NotConnected();
    auto name = Prepared(sql);
    if (!name.ok()) return name.status();
    Bound b(params);
    PgResult r(PQexecPrepared(conn_, (*name)->c_str(), b.n(), b.values.data(), b.lengths.data(), b.formats.data(), 1),
               PQclear);
    if (Status s = Check(r.get(), sql); !s.ok()) return s;
    return Rows(r.get(), row);
  }

  // Pipeline mode: the statements go out together and their results come back
  // together, one round trip per group of kPipelineGroup statements. An error
  // aborts the rest of the group (the transaction is then rolled back anyway).
  Status RunBatch(const std::vector<Statement>& statements, const BatchRowFn& row) override {
    if (statements.empty()) return Status::Ok();
    if (!conn_) return NotConnected();
    std::vector<const std::string*> names(statements.size());
    for (size_t i = 0; i < statements.size(); ++i) {  // prepared before the pipeline, synchronously
      auto name = Prepared(statements[i].sql);
      if (!name.ok()) return name.status();
      names[i] = *name;
    }
    constexpr size_t kPipelineGroup = 1024;
    for (size_t from = 0; from < statements.size(); from += kPipelineGroup) {
      const size_t to = std::min(statements.size(), from + kPipelineGroup);
      if (PQenterPipelineMode(conn_) != 1) return LostPipeline("enter pipeline mode");
      for (size_t i = from; i < to; ++i) {
        Bound b(statements[i].params);
        if (PQsendQueryPrepared(conn_, names[i]->c_str(), b.n(), b.values.data(), b.lengths.data(),
                                b.formats.data(), 1) != 1) {
          return LostPipeline("send " + statements[i].sql.substr(0, 120));
        }
      }
      if (PQpipelineSync(conn_) != 1) return LostPipeline("pipeline sync");
      Status first;
      for (size_t i = from; i < to; ++i) {
        PgResult r(PQgetResult(conn_), PQclear);
        if (!r) return LostPipeline("a missing pipeline result");
        if (first.ok()) {
          if (PQresultStatus(r.get()) == PGRES_PIPELINE_ABORTED) {
            first = Status::Internal("postgresql: pipeline aborted in: " + statements[i].sql.substr(0, 120));
          } else if (Status s = Check(r.get(), statements[i].sql); !s.ok()) {
            first = s;
          } else if (row) {
            first = Rows(r.get(), [&](const Row& rr) { return row(i, rr); });
          }
        }
        while (PGresult* more = PQgetResult(conn_)) PQclear(more);  // the end of statement i's results
      }
      PgResult sync(PQgetResult(conn_), PQclear);
      if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) return LostPipeline("a missing pipeline sync");
      if (PQexitPipelineMode(conn_) != 1) return LostPipeline("exit pipeline mode");
      if (!first.ok()) return first;
    }
    return Status::Ok();
  }

  Status Exec(const std::string& sql) override {
    if (!conn_) return NotConnected();
    PgResult r(PQexec(conn_, sql.c_str()), PQclear);
    return Check(r.get(), sql);
  }

  Status Begin() override { return Exec("BEGIN"); }
  // A rollback that fails is logged: a broken connection is opened again before its next use (SqlStore), which ends the transaction.
  void Rollback() override {
    if (Status s = Exec("ROLLBACK"); !s.ok()) spdlog::warn("store: postgresql rollback failed: {}", s.ToString());
  }
  Status LockMigrations() override { return Run("SELECT pg_advisory_xact_lock(7220531)", {}, {}); }

  std::string ForUpdate() const override { return " FOR UPDATE"; }
  std::string ByteOrder() const override { return " COLLATE \"C\""; }
  std::string Greatest() const override { return "GREATEST"; }
  std::string Least() const override { return "LEAST"; }
  std::string Type(std::string_view t) const override {
    return t == "bytes" ? "BYTEA" : t == "serial" ? "BIGSERIAL PRIMARY KEY" : "TEXT";
  }

  // One statement per 4096 uuids: INSERT ... SELECT FROM unnest(text[], bigint[]).
  Result<std::vector<bool>> ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                       int64_t now_ms) override {
    std::vector<bool> fresh(uuids.size(), false);
    constexpr size_t kChunk = 4096;
    for (size_t from = 0; from < uuids.size(); from += kChunk) {
      size_t to = std::min(uuids.size(), from + kChunk);
      std::unordered_set<std::string> inserted;
      Status s = Run(
          "INSERT INTO applied_uuids (uuid, window_begin_sec, applied_ms) "
          "SELECT u, b, ?3 FROM unnest(?1::text[], ?2::bigint[]) AS t(u, b) "
          "ON CONFLICT (uuid) DO NOTHING RETURNING uuid",
          {ArrayLiteral(from, to, [&](size_t i) { return Quoted(uuids[i].first); }),
           ArrayLiteral(from, to, [&](size_t i) { return std::to_string(uuids[i].second); }), now_ms},
          [&](const Row& r) {
            inserted.insert(r.Text(0));
            return Status::Ok();
          });
      if (!s.ok()) return s;
      for (size_t i = from; i < to; ++i) fresh[i] = inserted.count(uuids[i].first) > 0;
    }
    return fresh;
  }

 private:
  static std::string Trimmed(std::string msg) {
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return msg;
  }

  static Status NotConnected() { return Status::Unavailable("postgresql: not connected"); }
  // Parameters in libpq's form: text, except bytes (binary, BYTEA).
  struct Bound {
    explicit Bound(const std::vector<Param>& params)
        : text(params.size()), values(params.size()), lengths(params.size()), formats(params.size()) {
      for (size_t i = 0; i < params.size(); ++i) {
        const auto& v = params[i].value;
        if (auto* n = std::get_if<int64_t>(&v)) {
          text[i] = std::to_string(*n);
        } else if (auto* d = std::get_if<double>(&v)) {
          text[i] = fmt::format("{}", *d);
        } else if (auto* t = std::get_if<std::string>(&v)) {
          values[i] = t->data();  // no copy
          lengths[i] = static_cast<int>(t->size());
          continue;
        } else {
          const std::string& b = std::get<Bytes>(v).data;
          values[i] = b.data();
          lengths[i] = static_cast<int>(b.size());
          formats[i] = 1;  // binary: BYTEA
          continue;
        }
        values[i] = text[i].data();
        lengths[i] = static_cast<int>(text[i].size());
      }
    }
    int n() const { return static_cast<int>(values.size()); }
    std::vector<std::string> text;
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
  };

  // The name of `sql` prepared on this connection (prepared on first use).
  Result<const std::string*> Prepared(const std::string& sql) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      std::string name = "s" + std::to_string(prepared_.size() + 1);
      PgResult prep(PQprepare(conn_, name.c_str(), DollarPlaceholders(sql).c_str(), 0, nullptr), PQclear);
      if (Status s = Check(prep.get(), sql); !s.ok()) return s;
      it = prepared_.emplace(sql, name).first;
    }
    return &it->second;
  }

  static Status Rows(PGresult* r, const RowFn& row) {
    if (!row) return Status::Ok();
    for (int i = 0, n = PQntuples(r); i < n; ++i) {
      if (Status s = row(PgRow(r, i)); !s.ok()) return s;
    }
    return Status::Ok();
  }

  // A pipeline that cannot be completed: the connection is dropped (Broken:
  // SqlStore opens it again before the next operation), the transaction with it.
  Status LostPipeline(const std::string& what) {
    std::string msg = Trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
    return Status::Unavailable("postgresql: pipeline: " + what + ": " + msg);
  }


  // Retryable: connection errors (08), serialisation failure and deadlock
  // (40001, 40P01), operator intervention (57P), insufficient resources (53),
  // lock not available (55P03).
  Status Check(PGresult* r, const std::string& sql) {
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
    const char* field = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string state = field ? field : "";
    std::string msg = Trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(conn_));
    std::string text = "postgresql: " + msg + (state.empty() ? "" : " [" + state + "]") + " in: " + sql.substr(0, 120);
    if (PQstatus(conn_) != CONNECTION_OK || state.starts_with("08") || state == "40001" || state == "40P01" ||
        state.starts_with("57P") || state.starts_with("53") || state == "55P03") {
      return Status::Unavailable(text);
    }
    return Status::Internal(text);
  }

  const std::string url_;
  PGconn* conn_ = nullptr;
  std::map<std::string, std::string> prepared_;  // SQL -> statement name, for conn_
};

}  // namespace

Result<std::unique_ptr<Dialect>> OpenPostgres(const std::string& url) {
  auto dialect = std::make_unique<PgDialect>(url);
  if (Status s = dialect->Connect(); !s.ok()) return s;
  return std::unique_ptr<Dialect>(std::move(dialect));
}

}  // namespace chaperone::store::internal
