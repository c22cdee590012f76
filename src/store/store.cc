#include "store/store.h"

#include <sstream>

#include "common/store_url.h"
#include "store/backends.h"

namespace chaperone::store {

namespace internal {

std::string UpsertSet(const char* columns, int key_count) {
  std::string out = "DO UPDATE SET ";
  std::stringstream ss(columns);
  std::string col;
  int i = 0;
  bool first = true;
  while (std::getline(ss, col, ',')) {
    size_t b = col.find_first_not_of(' ');
    col = col.substr(b);
    if (i++ < key_count) continue;
    if (!first) out += ", ";
    first = false;
    out += col + " = excluded." + col;
  }
  return out;
}

}  // namespace internal

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, OpenMode mode) {
  auto parsed = common::ParseStoreUrl(url);
  if (!parsed.ok()) return Status::InvalidArgument("store: " + parsed.status().message());
  if (parsed->kind == common::StoreUrl::Kind::kPostgres) return internal::OpenPostgres(url);
  return internal::OpenSqlite(parsed->sqlite_path, mode);
}

}  // namespace chaperone::store
