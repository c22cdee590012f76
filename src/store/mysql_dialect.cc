// MySQL/MariaDB dialect (libmariadb). Parameters are sent as literals (numbers,
// and every string and byte value as a hex literal X'..', so nothing is ever
// escaped or re-encoded); `?N` placeholders are replaced by them. Text is
// stored as bytes (VARBINARY keys, LONGBLOB otherwise): byte-exact and
// case-sensitive as on SQLite and PostgreSQL. The session runs READ COMMITTED
// with ANSI_QUOTES ("key" is a quoted identifier); upserts are ON DUPLICATE KEY
// UPDATE, which locks the row it collides with; there is no upsert RETURNING,
// so a created row is read back with SELECT ... FOR UPDATE; uuids are claimed
// with multi-row INSERT IGNOREs; statement batches go out as multi-statement
// queries (one round trip). DDL commits
// implicitly: a migration is not atomic here, and GET_LOCK keeps migrators
// apart. Lost connections (closed here, opened again by SqlStore), deadlocks
// and lock wait timeouts are retryable.
#include <fmt/format.h>
#include <mysql.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <regex>
#include <unordered_set>

#include "common/secrets.h"
#include "store/dialect.h"

namespace chaperone::store::internal {
namespace {

class MysqlRow final : public Row {
 public:
  MysqlRow(MYSQL_ROW row, unsigned long* lengths) : row_(row), lengths_(lengths) {}
  int64_t Int(int c) const override {
    int64_t v = 0;
    if (row_[c]) std::from_chars(row_[c], row_[c] + lengths_[c], v);
    return v;
  }
  double Real(int c) const override { return row_[c] ? std::strtod(row_[c], nullptr) : 0; }
  std::string Text(int c) const override { return row_[c] ? std::string(row_[c], lengths_[c]) : std::string(); }
  std::string Blob(int c) const override { return Text(c); }

 private:
  MYSQL_ROW row_;
  unsigned long* lengths_;
};

std::string Hex(const std::string& v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "X'";
  out.reserve(v.size() * 2 + 3);
  for (unsigned char c : v) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out + '\'';
}

std::string Literal(const Param& p) {
  const auto& v = p.value;
  if (auto* n = std::get_if<int64_t>(&v)) return std::to_string(*n);
  if (auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
  if (auto* t = std::get_if<std::string>(&v)) return Hex(*t);
  return Hex(std::get<Bytes>(v).data);
}

// mysql://user:pass@host:port/db
struct Target {
  std::string user, password, host = "127.0.0.1", db;
  unsigned port = 3306;
};

Result<Target> ParseTarget(const std::string& url) {
  static const std::regex re(R"(^(?:mysql|mariadb)://(?:([^:@/]*)(?::([^@/]*))?@)?([^:/?]+)(?::(\d+))?/([^?]+)$)");
  std::smatch m;
  if (!std::regex_match(url, m, re)) {
    return Status::InvalidArgument("mysql: want mysql://user:pass@host:port/db, got " + common::RedactUrl(url));
  }
  Target t{m[1], m[2], m[3], m[5]};
  if (m[4].matched) t.port = static_cast<unsigned>(std::stoul(m[4]));
  return t;
}

class MysqlDialect final : public Dialect {
 public:
  MysqlDialect(std::string url, Target target) : url_(std::move(url)), target_(std::move(target)) {}
  ~MysqlDialect() override { Close(); }

  Status Connect() override {
    Close();
    conn_ = mysql_init(nullptr);
    unsigned timeout = 10;
    mysql_options(conn_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    if (!mysql_real_connect(conn_, target_.host.c_str(), target_.user.c_str(), target_.password.c_str(),
                            target_.db.c_str(), target_.port, nullptr, CLIENT_MULTI_STATEMENTS)) {
      std::string msg = mysql_error(conn_);
      Close();
      return Status::Unavailable("mysql: cannot connect to " + common::RedactUrl(url_) + ": " + msg);
    }
    for (const char* sql : {"SET SESSION sql_mode = 'ANSI_QUOTES,STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'",
                            "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", "SET NAMES utf8mb4"}) {
      if (Status s = Exec(sql); !s.ok()) {
        Close();  // not half set up: the next operation connects again
        return s;
      }
    }
    return Status::Ok();
  }

  std::string name() const override { return "mysql"; }
  bool Broken() const override { return !conn_; }

  Status Run(const std::string& sql, const std::vector<Param>& params, const RowFn& row) override {
    std::string text;
    if (Status s = Render(sql, params, text); !s.ok()) return s;
    if (Status s = Query(text, sql); !s.ok()) return s;
    return Results(sql, row);
  }

  // Multi-statement queries: the statements' texts joined by ';', up to
  // kQueryBytes per query, one round trip each. The server stops at the first
  // failing statement; its error is returned.
  Status RunBatch(const std::vector<Statement>& statements, const BatchRowFn& row) override {
    constexpr size_t kQueryBytes = 1 << 20;  // well below max_allowed_packet (16 MiB by default)
    std::string text;
    for (size_t from = 0; from < statements.size();) {
      text.clear();
      size_t to = from;
      while (to < statements.size() && (to == from || text.size() < kQueryBytes)) {
        if (to > from) text += ';';
        if (Status s = Render(statements[to].sql, statements[to].params, text); !s.ok()) return s;
        ++to;
      }
      if (Status s = Query(text, statements[from].sql); !s.ok()) return s;
      Status first;
      for (size_t i = from; i < to; ++i) {
        if (i > from) {
          int more = mysql_next_result(conn_);
          if (more > 0) return Error(statements[i].sql);  // statement i failed: nothing follows
          if (more < 0) return Status::Internal("mysql: fewer results than statements");
        }
        Status s = Results(statements[i].sql, row ? RowFn([&](const Row& r) { return row(i, r); }) : RowFn());
        if (first.ok()) first = s;
        if (!s.ok() && !conn_) return s;  // the connection is gone
      }
      if (!first.ok()) {
        while (conn_ && mysql_next_result(conn_) == 0) {
          if (MYSQL_RES* res = mysql_store_result(conn_)) mysql_free_result(res);
        }
        return first;
      }
      from = to;
    }
    return Status::Ok();
  }

  Status Exec(const std::string& sql) override {
    if (Status s = Query(sql, sql); !s.ok()) return s;
    if (MYSQL_RES* res = mysql_store_result(conn_)) mysql_free_result(res);
    return Status::Ok();
  }

  Status Begin() override { return Exec("START TRANSACTION"); }
  void Rollback() override {
    if (Status s = Exec("ROLLBACK"); !s.ok()) spdlog::warn("store: mysql rollback failed: {}", s.ToString());
  }
  Status LockMigrations() override {
    int64_t got = 0;
    Status s = Run("SELECT GET_LOCK('chaperone_migrate', 60)", {}, [&](const Row& r) {
      got = r.Int(0);
      return Status::Ok();
    });
    if (!s.ok()) return s;
    return got == 1 ? Status::Ok() : Status::Unavailable("mysql: the migration lock was not granted in 60 s");
  }
  void UnlockMigrations() override {
    if (Status s = Exec("DO RELEASE_LOCK('chaperone_migrate')"); !s.ok()) {
      spdlog::warn("store: mysql: releasing the migration lock failed: {}", s.ToString());  // ends with the session
    }
  }

  std::string Upsert(const std::string& insert, const std::string&, const std::string& set) const override {
    static const std::regex excluded(R"(excluded\.(\w+))");
    return insert + " ON DUPLICATE KEY UPDATE " + std::regex_replace(set, excluded, "VALUES($1)");
  }
  bool UpsertReturning() const override { return false; }
  std::string ForUpdate() const override { return " FOR UPDATE"; }
  std::string Greatest() const override { return "GREATEST"; }
  std::string Least() const override { return "LEAST"; }
  std::string CastInt() const override { return "SIGNED"; }
  std::string CastText() const override { return "CHAR"; }
  std::string TableExistsSql() const override {
    return "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?1";
  }
  std::string Type(std::string_view t) const override {
    if (t == "key") return "VARBINARY(512)";
    if (t == "serial") return "BIGINT AUTO_INCREMENT PRIMARY KEY";
    return "LONGBLOB";
  }

  // The uuids are distinct (the engine removes a batch's repeats). First, all
  // of them in multi-row INSERT IGNOREs: when every row was inserted, all were
  // new (the common case: one statement per 1000). Otherwise, rolled back: the
  // uuids already stored are duplicates, and the rest are inserted again; when
  // every row of those was inserted, they were new. Otherwise a concurrent
  // transaction claimed some since (its claim wins): rolled back again, each
  // uuid is claimed alone, INSERT IGNORE telling which were new.
  Result<std::vector<bool>> ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                       int64_t now_ms) override {
    constexpr size_t kChunk = 1000;
    // Inserts uuids[i] for i in `which`; true when every one was new.
    auto insert_all = [&](const std::vector<size_t>& which) -> Result<bool> {
      uint64_t inserted = 0;
      for (size_t from = 0; from < which.size(); from += kChunk) {
        std::string sql = "INSERT IGNORE INTO applied_uuids (uuid, window_begin_sec, applied_ms) VALUES ";
        for (size_t k = from; k < std::min(which.size(), from + kChunk); ++k) {
          const auto& [uuid, begin] = uuids[which[k]];
          sql += fmt::format("{}({},{},{})", k > from ? "," : "", Hex(uuid), begin, now_ms);
        }
        if (Status s = Run(sql, {}, {}); !s.ok()) return s;
        inserted += affected_;
      }
      return inserted == which.size();
    };
    std::vector<bool> fresh(uuids.size(), true);
    std::vector<size_t> candidates(uuids.size());
    for (size_t i = 0; i < uuids.size(); ++i) candidates[i] = i;
    if (Status s = Exec("SAVEPOINT claim"); !s.ok()) return s;
    auto all_new = insert_all(candidates);
    if (!all_new.ok()) return all_new.status();
    if (*all_new) return fresh;
    if (Status s = Exec("ROLLBACK TO SAVEPOINT claim"); !s.ok()) return s;
    std::unordered_set<std::string> stored;
    for (size_t from = 0; from < uuids.size(); from += kChunk) {
      std::string sql = "SELECT uuid FROM applied_uuids WHERE uuid IN (";
      for (size_t i = from; i < std::min(uuids.size(), from + kChunk); ++i) sql += (i > from ? "," : "") + Hex(uuids[i].first);
      Status s = Run(sql + ")", {}, [&](const Row& r) {
        stored.insert(r.Text(0));
        return Status::Ok();
      });
      if (!s.ok()) return s;
    }
    candidates.clear();
    for (size_t i = 0; i < uuids.size(); ++i) {
      if (stored.count(uuids[i].first)) fresh[i] = false;
      else candidates.push_back(i);
    }
    all_new = insert_all(candidates);
    if (!all_new.ok()) return all_new.status();
    if (*all_new) return fresh;
    if (Status s = Exec("ROLLBACK TO SAVEPOINT claim"); !s.ok()) return s;
    for (size_t i : candidates) {
      Status s = Run("INSERT IGNORE INTO applied_uuids (uuid, window_begin_sec, applied_ms) VALUES (?1, ?2, ?3)",
                     {uuids[i].first, uuids[i].second, now_ms}, {});
      if (!s.ok()) return s;
      fresh[i] = affected_ == 1;
    }
    return fresh;
  }

 private:
  void Close() {
    if (conn_) mysql_close(conn_);
    conn_ = nullptr;
  }

  // `sql` with its `?N` placeholders replaced by the parameters' literals, appended to `text`.
  static Status Render(const std::string& sql, const std::vector<Param>& params, std::string& text) {
    text.reserve(text.size() + sql.size() + 16 * params.size());
    for (size_t i = 0; i < sql.size(); ++i) {
      if (sql[i] == '?' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
        size_t n = 0, j = i + 1;
        for (; j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j])); ++j) n = n * 10 + (sql[j] - '0');
        if (n == 0 || n > params.size()) return Status::Internal("mysql: no parameter ?" + std::to_string(n));
        text += Literal(params[n - 1]);
        i = j - 1;
      } else {
        text += sql[i];
      }
    }
    return Status::Ok();
  }

  // Reads the current statement's result: `row` sees its rows.
  Status Results(const std::string& sql, const RowFn& row) {
    affected_ = mysql_affected_rows(conn_);
    MYSQL_RES* res = mysql_store_result(conn_);
    if (!res) {
      if (mysql_field_count(conn_) != 0) return Error(sql);
      return Status::Ok();
    }
    Status out;
    while (MYSQL_ROW r = mysql_fetch_row(res)) {
      if (row && !(out = row(MysqlRow(r, mysql_fetch_lengths(res)))).ok()) break;
    }
    mysql_free_result(res);
    return out;
  }

  Status Query(const std::string& text, const std::string& sql) {
    if (!conn_) return Status::Unavailable("mysql: not connected");
    if (mysql_real_query(conn_, text.data(), text.size()) != 0) return Error(sql);
    return Status::Ok();
  }

  // Retryable: every client-side error (2000-2999: refused, gone away, lost,
  // out of sync...), server shutdown (1053), a killed connection (1927),
  // disconnected for inactivity (4031) — these lose the connection: it is
  // closed, and SqlStore opens it again before the next operation; too many
  // connections (1040), lock wait timeout (1205), deadlock (1213).
  Status Error(const std::string& sql) {
    unsigned code = mysql_errno(conn_);
    std::string text = fmt::format("mysql: {} [{}] in: {}", mysql_error(conn_), code, sql.substr(0, 120));
    if ((code >= 2000 && code < 3000) || code == 1053 || code == 1927 || code == 4031) {
      Close();
      return Status::Unavailable(text);
    }
    switch (code) {
      case 1040:
      case 1205:
      case 1213:
        return Status::Unavailable(text);
      default:
        return Status::Internal(text);
    }
  }

  const std::string url_;
  const Target target_;
  MYSQL* conn_ = nullptr;
  uint64_t affected_ = 0;  // rows changed by the last Run
};

}  // namespace

Result<std::unique_ptr<Dialect>> OpenMysql(const std::string& url) {
  auto target = ParseTarget(url);
  if (!target.ok()) return target.status();
  auto dialect = std::make_unique<MysqlDialect>(url, std::move(*target));
  if (Status s = dialect->Connect(); !s.ok()) return s;
  return std::unique_ptr<Dialect>(std::move(dialect));
}

}  // namespace chaperone::store::internal
