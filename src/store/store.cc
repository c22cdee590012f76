#include "store/store.h"

#include <algorithm>

#include "common/store_url.h"
#include "store/dialect.h"
#include "store/schema.h"

namespace chaperone::store {
namespace {

Result<std::unique_ptr<internal::Dialect>> OpenDialect(const std::string& url, OpenMode mode) {
  auto parsed = common::ParseStoreUrl(url);
  if (!parsed.ok()) return Status::InvalidArgument("store: " + parsed.status().message());
  using Kind = common::StoreUrl::Kind;
  return parsed->kind == Kind::kPostgres ? internal::OpenPostgres(url)
         : parsed->kind == Kind::kMysql  ? internal::OpenMysql(url)
                                         : internal::OpenSqlite(parsed->sqlite_path, mode);
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, OpenMode mode) {
  auto dialect = OpenDialect(url, mode);
  if (!dialect.ok()) return dialect.status();
  return internal::OpenSqlStore(std::move(*dialect));
}

Result<SchemaState> Store::InspectSchema(const std::string& url) {
  auto dialect = OpenDialect(url, OpenMode::kMustExist);
  if (!dialect.ok()) return dialect.status();
  internal::Dialect& db = **dialect;
  SchemaState st;
  st.backend = db.name();
  st.latest = internal::LatestSchemaVersion();
  bool has_table = false;
  if (Status s = db.Run(db.TableExistsSql(), {std::string("schema_migrations")},
                        [&](const internal::Row&) {
                          has_table = true;
                          return Status::Ok();
                        });
      !s.ok()) {
    return s;
  }
  if (has_table) {
    Status s = db.Run("SELECT version, applied_ms, description FROM schema_migrations ORDER BY version", {},
                      [&](const internal::Row& r) {
                        SchemaMigration m;
                        m.version = static_cast<int>(r.Int(0));
                        m.applied_ms = r.Int(1);
                        m.description = r.Text(2);
                        st.current = std::max(st.current, m.version);
                        st.migrations.push_back(std::move(m));
                        return Status::Ok();
                      });
    if (!s.ok()) return s;
  }
  for (const internal::Migration& m : internal::Migrations())
    if (m.version > st.current) st.migrations.push_back({m.version, m.description, -1});
  return st;
}

}  // namespace chaperone::store
