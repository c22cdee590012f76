// SQLite dialect: one connection, WAL journal, prepared statements cached per
// SQL text (SQLite reads `?N` placeholders as they are), write transactions
// BEGIN IMMEDIATE. Durability: synchronous=NORMAL with WAL survives a process
// crash (kill -9) without loss; an OS crash or power cut may lose the last
// transactions, which the collector then re-applies from the positions stored
// with them (they roll back together).
#include <sqlite3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

#include "store/dialect.h"

namespace chaperone::store::internal {
namespace {

// Busy, locked, full and I/O errors are retryable (kUnavailable).
Status SqliteError(int rc, const std::string& what, const std::string& msg) {
  std::string text = "sqlite: " + what + ": " + msg;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Status::Unavailable(text);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption(text);
    default:
      return Status::Internal(text);
  }
}

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  int64_t Int(int c) const override { return sqlite3_column_int64(s_, c); }
  double Real(int c) const override { return sqlite3_column_double(s_, c); }
  std::string Text(int c) const override {
    const void* p = sqlite3_column_blob(s_, c);
    int n = sqlite3_column_bytes(s_, c);
    return p ? std::string(static_cast<const char*>(p), n) : std::string();
  }
  std::string Blob(int c) const override { return Text(c); }

 private:
  sqlite3_stmt* s_;
};

class SqliteDialect final : public Dialect {
 public:
  explicit SqliteDialect(sqlite3* db) : db_(db) {}
  ~SqliteDialect() override {
    for (auto& [sql, s] : stmts_) sqlite3_finalize(s);
    sqlite3_close(db_);
  }

  // Several processes or components may open one brand-new file at once
  // (`chaperone up` starts the collector and the web server together): the
  // busy timeout is set before any statement, every write transaction is
  // BEGIN IMMEDIATE (a deferred one that has read cannot wait for a writer:
  // SQLite answers SQLITE_BUSY at once), and the switch to WAL is retried.
  Status Init() {
    sqlite3_busy_timeout(db_, static_cast<int>(kBusyTimeout.count()));
    if (Status s = SwitchToWal(); !s.ok()) return s;
    for (const char* pragma : {"PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=OFF", "PRAGMA temp_store=MEMORY",
                               "PRAGMA cache_size=-65536"}) {
      if (Status s = Exec(pragma); !s.ok()) return s;
    }
    return Status::Ok();
  }

  std::string name() const override { return "sqlite"; }

  Status Run(const std::string& sql, const std::vector<Param>& params, const RowFn& row) override {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s,
                                  nullptr);
      if (rc != SQLITE_OK) return SqliteError(rc, "prepare " + sql, sqlite3_errmsg(db_));
      it = stmts_.emplace(sql, s).first;
    }
    sqlite3_stmt* s = it->second;
    for (size_t i = 0; i < params.size(); ++i) {
      const int at = static_cast<int>(i + 1);
      const auto& v = params[i].value;
      if (auto* n = std::get_if<int64_t>(&v)) {
        sqlite3_bind_int64(s, at, *n);
      } else if (auto* d = std::get_if<double>(&v)) {
        sqlite3_bind_double(s, at, *d);
      } else if (auto* t = std::get_if<std::string>(&v)) {
        sqlite3_bind_text(s, at, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else {
        const std::string& b = std::get<Bytes>(v).data;
        sqlite3_bind_blob(s, at, b.data(), static_cast<int>(b.size()), SQLITE_TRANSIENT);
      }
    }
    Status out;
    for (SqliteRow r(s);;) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        out = SqliteError(rc, sqlite3_sql(s), sqlite3_errmsg(db_));
        break;
      }
      if (row && !(out = row(r)).ok()) break;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return out;
  }

  Status Exec(const std::string& sql) override {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Status s = SqliteError(rc, sql, msg);
    return s.code() == Status::Code::kCorruption ? Status::Internal(s.message()) : s;
  }

  Status Begin() override { return Exec("BEGIN IMMEDIATE"); }
  void Rollback() override {
    if (Status s = Exec("ROLLBACK"); !s.ok()) spdlog::warn("store: sqlite rollback failed: {}", s.ToString());
  }

  std::string Greatest() const override { return "max"; }
  std::string TableExistsSql() const override { return "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"; }
  std::string Least() const override { return "min"; }
  std::string Type(std::string_view t) const override {
    return t == "bytes" ? "BLOB" : t == "serial" ? "INTEGER PRIMARY KEY AUTOINCREMENT" : "TEXT";
  }

 private:
  static constexpr std::chrono::milliseconds kBusyTimeout{10'000};

  // `PRAGMA journal_mode=WAL` on a file not yet in WAL mode reads its header in
  // a read transaction, then upgrades it to a write one to mark the file WAL.
  // That upgrade does not wait for the busy timeout: while another connection
  // holds the lock (another opener doing the same), it fails at once with
  // SQLITE_BUSY. So retry it until the busy timeout, as SQLite would have
  // waited; once one opener has switched the file, the pragma only reads.
  Status SwitchToWal() {
    const auto deadline = std::chrono::steady_clock::now() + kBusyTimeout;
    for (int pause_ms = 1;; pause_ms = std::min(2 * pause_ms, 50)) {
      Status s = Exec("PRAGMA journal_mode=WAL");
      if (s.ok() || (sqlite3_extended_errcode(db_) & 0xff) != SQLITE_BUSY ||
          std::chrono::steady_clock::now() >= deadline)
        return s;
      sqlite3_sleep(pause_ms);
    }
  }

  sqlite3* db_;
  std::map<std::string, sqlite3_stmt*> stmts_;
};

}  // namespace

Result<std::unique_ptr<Dialect>> OpenSqlite(const std::string& path, OpenMode mode) {
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
  auto dialect = std::make_unique<SqliteDialect>(db);
  if (Status s = dialect->Init(); !s.ok()) return s;
  return std::unique_ptr<Dialect>(std::move(dialect));
}

}  // namespace chaperone::store::internal
