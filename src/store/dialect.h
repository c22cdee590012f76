// The dialect layer under the one SQL store (sql_store.cc): what truly differs
// between databases — the connection and its prepared statements, parameter
// binding and placeholders, transaction primitives, row locking, the bulk
// paths (statements batched into one round trip, the bulk uuid claim), column
// types and which errors are retryable. Everything else (the
// statements, reads, the transaction wrapper, retention, migrations) is written
// once in sql_store.cc. Internal to the store; implementations:
// sqlite_dialect.cc, pg_dialect.cc, mysql_dialect.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "store/store.h"

namespace chaperone::store::internal {

// Bytes (BLOB / BYTEA), as opposed to text.
struct Bytes {
  std::string data;
};

// One statement parameter. bool, int32 and uint64 values are stored as int64
// (a uint64 digest keeps its bits).
struct Param {
  std::variant<int64_t, double, std::string, Bytes> value;
  Param(int64_t v) : value(v) {}                                // NOLINT(google-explicit-constructor)
  Param(int32_t v) : value(int64_t{v}) {}                       // NOLINT(google-explicit-constructor)
  Param(bool v) : value(int64_t{v ? 1 : 0}) {}                  // NOLINT(google-explicit-constructor)
  Param(uint64_t v) : value(static_cast<int64_t>(v)) {}         // NOLINT(google-explicit-constructor)
  Param(double v) : value(v) {}                                 // NOLINT(google-explicit-constructor)
  Param(std::string v) : value(std::move(v)) {}                 // NOLINT(google-explicit-constructor)
  Param(const char* v) : value(std::string(v)) {}               // NOLINT(google-explicit-constructor)
  Param(Bytes v) : value(std::move(v)) {}                       // NOLINT(google-explicit-constructor)
};

// One result row, valid only inside the callback that receives it.
class Row {
 public:
  virtual ~Row() = default;
  virtual int64_t Int(int col) const = 0;
  virtual double Real(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual std::string Blob(int col) const = 0;  // a Bytes column
};
using RowFn = std::function<Status(const Row&)>;

// One statement of a RunBatch: SQL as for Run, and its parameters.
struct Statement {
  std::string sql;
  std::vector<Param> params;
};
// Sees row `r` of the result of statement `i` of a RunBatch.
using BatchRowFn = std::function<Status(size_t i, const Row& r)>;

// One connection to one database. Not thread-safe: the store serialises calls.
class Dialect {
 public:
  virtual ~Dialect() = default;
  virtual std::string name() const = 0;  // Store::backend()

  // The connection. Connect (re)opens it, with its session settings; its
  // prepared statements start afresh. Broken: the last error lost it. Run and
  // Exec never reconnect by themselves: SqlStore does, before an operation and
  // never inside a transaction, so that no statement of a transaction runs on
  // a new connection (where it would commit on its own).
  virtual Status Connect() { return Status::Ok(); }
  virtual bool Broken() const { return false; }

  // Runs one statement, prepared once per connection and cached by its text.
  // SQL is written with numbered placeholders `?1`, `?2`, ... (a number may
  // repeat); the dialect translates them. `row` sees each result row.
  virtual Status Run(const std::string& sql, const std::vector<Param>& params, const RowFn& row = {}) = 0;
  // A statement without parameters or results (transaction control, DDL).
  virtual Status Exec(const std::string& sql) = 0;
  // Runs `statements` in order, with the same effect as Run on each in turn,
  // in as few round trips as the database allows: PostgreSQL sends them in
  // pipeline mode, MySQL as multi-statement queries; the default (SQLite, in
  // process) runs them one by one. Stops at the first failure, which it returns.
  virtual Status RunBatch(const std::vector<Statement>& statements, const BatchRowFn& row = {});

  // Transactions: Begin starts a write transaction (SQLite takes the write
  // lock at once: BEGIN IMMEDIATE).
  virtual Status Begin() = 0;
  Status Commit() { return Exec("COMMIT"); }
  // Ends a failed transaction; a failure is logged (the connection ends it
  // before its next transaction).
  virtual void Rollback() = 0;
  // Inside a migration's transaction: one migrator at a time across processes.
  // Released at the transaction's end, or by UnlockMigrations after it.
  virtual Status LockMigrations() { return Status::Ok(); }
  virtual void UnlockMigrations() {}

  // SQL spellings.
  // "INSERT ... VALUES (...)" that updates `set` (`c = excluded.c`, ...) of the
  // row whose unique key `keys` it collides with.
  virtual std::string Upsert(const std::string& insert, const std::string& keys, const std::string& set) const {
    return insert + " ON CONFLICT (" + keys + ") DO UPDATE SET " + set;
  }
  virtual bool UpsertReturning() const { return true; }  // an upsert may end in RETURNING
  virtual std::string ForUpdate() const { return ""; }   // row lock suffix of a SELECT
  // Suffix of a text column that makes it compare byte by byte, as
  // std::string does (PostgreSQL's TEXT follows the database's locale).
  virtual std::string ByteOrder() const { return ""; }
  virtual std::string Greatest() const = 0;              // the two-argument max function
  virtual std::string Least() const = 0;                 // the two-argument min function
  virtual std::string CastInt() const { return "BIGINT"; }
  virtual std::string CastText() const { return "TEXT"; }
  // Column types of the migrations: `{bytes}`, `{text}`, `{key}` (text in a
  // key or an index) and `{serial}` (an auto-incrementing BIGINT primary key).
  virtual std::string Type(std::string_view token) const = 0;
  // A query with one parameter (?1, a table name) that returns a row when the
  // table exists in the database the connection uses.
  virtual std::string TableExistsSql() const {
    return "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?1";
  }

  // Records each uuid in applied_uuids; result[i] is true when uuids[i] was
  // new. The default is one statement per uuid; a dialect may bulk-load.
  virtual Result<std::vector<bool>> ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                               int64_t now_ms);
};

// `path`: a file, or ":memory:". kCreate creates the file and its directory;
// kMustExist answers NotFound when the file does not exist.
Result<std::unique_ptr<Dialect>> OpenSqlite(const std::string& path, OpenMode mode);
// `url`: a libpq connection URI (postgresql://user@host:port/db?...).
Result<std::unique_ptr<Dialect>> OpenPostgres(const std::string& url);

// `url`: mysql://user:pass@host:port/db (MySQL or MariaDB).
Result<std::unique_ptr<Dialect>> OpenMysql(const std::string& url);

// The store over an open connection: migrates it, then serves Store's API.
Result<std::unique_ptr<Store>> OpenSqlStore(std::unique_ptr<Dialect> dialect);

}  // namespace chaperone::store::internal
