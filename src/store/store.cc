#include "store/store.h"

#include "common/store_url.h"
#include "store/dialect.h"

namespace chaperone::store {

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, OpenMode mode) {
  auto parsed = common::ParseStoreUrl(url);
  if (!parsed.ok()) return Status::InvalidArgument("store: " + parsed.status().message());
  using Kind = common::StoreUrl::Kind;
  auto dialect = parsed->kind == Kind::kPostgres ? internal::OpenPostgres(url)
                 : parsed->kind == Kind::kMysql  ? internal::OpenMysql(url)
                                                 : internal::OpenSqlite(parsed->sqlite_path, mode);
  if (!dialect.ok()) return dialect.status();
  return internal::OpenSqlStore(std::move(*dialect));
}

}  // namespace chaperone::store
