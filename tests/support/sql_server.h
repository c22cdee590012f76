// A throwaway server of either SQL backend, named as in store URLs
// ("postgresql" or "mysql"): a PgServer or a MariaDbServer of its own, for
// tests that stop and restart the server under a store.
#pragma once

#include <memory>
#include <string>

#include "support/mariadb_server.h"
#include "support/pg_server.h"

namespace chaperone::test {

class SqlServer {
 public:
  static Result<std::unique_ptr<SqlServer>> Start(const std::string& backend);

  // Creates database `name` and returns its store URL.
  Result<std::string> CreateDatabase(const std::string& name);
  // Fault injection: stop the server, and start it again with the same data on the same port.
  Status Stop();
  Status Restart();

 private:
  SqlServer() = default;
  std::unique_ptr<PgServer> pg_;
  std::unique_ptr<MariaDbServer> maria_;
};

}  // namespace chaperone::test
