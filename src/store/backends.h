// The two Store backends (internal; use Store::Open).
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace chaperone::store::internal {

// `path`: a file (its directory is created), or ":memory:".
Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path);
// `url`: a libpq connection URI (postgresql://user@host:port/db?...).
Result<std::unique_ptr<Store>> OpenPostgres(const std::string& url);

// "ON CONFLICT (...) DO UPDATE SET c = excluded.c, ..." for every column of
// `columns` (comma-separated) not in `key_columns`.
std::string UpsertSet(const char* columns, int key_count);
// Removes the password from a URL for logs and errors.
std::string RedactUrl(const std::string& url);

}  // namespace chaperone::store::internal
