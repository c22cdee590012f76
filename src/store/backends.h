// The two Store backends (internal; use Store::Open).
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace chaperone::store::internal {

// `path`: a file, or ":memory:". kCreate creates the file and its directory;
// kMustExist answers NotFound when the file does not exist.
Result<std::unique_ptr<Store>> OpenSqlite(const std::string& path, OpenMode mode);
// `url`: a libpq connection URI (postgresql://user@host:port/db?...).
Result<std::unique_ptr<Store>> OpenPostgres(const std::string& url);

// "ON CONFLICT (...) DO UPDATE SET c = excluded.c, ..." for every column of
// `columns` (comma-separated) not in `key_columns`.
std::string UpsertSet(const char* columns, int key_count);

}  // namespace chaperone::store::internal
