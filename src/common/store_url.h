// The store URL rule, one for every component that names a store (collector,
// web, up, and the store itself when it opens one).
#pragma once

#include <string>
#include <string_view>

#include "chaperone/status.h"

namespace chaperone::common {

struct StoreUrl {
  enum class Kind { kSqlite, kPostgres, kMysql };
  Kind kind = Kind::kSqlite;
  std::string sqlite_path;  // kSqlite: the database file
};

// "sqlite:PATH", "sqlite://PATH", a bare PATH (SQLite),
// "postgresql://..." / "postgres://...", or "mysql://user:pass@host:port/db"
// (MySQL/MariaDB: a host and a database are required). Errors are InvalidArgument, never
// quote a password (the URL is redacted), and say what is accepted.
Result<StoreUrl> ParseStoreUrl(std::string_view url);

}  // namespace chaperone::common
