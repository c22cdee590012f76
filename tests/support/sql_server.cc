#include "support/sql_server.h"

namespace chaperone::test {

Result<std::unique_ptr<SqlServer>> SqlServer::Start(const std::string& backend) {
  std::unique_ptr<SqlServer> server(new SqlServer());
  if (backend == "postgresql") {
    auto s = PgServer::Start();
    if (!s.ok()) return s.status();
    server->pg_ = std::move(*s);
  } else if (backend == "mysql") {
    auto s = MariaDbServer::Start();
    if (!s.ok()) return s.status();
    server->maria_ = std::move(*s);
  } else {
    return Status::InvalidArgument("no SQL server for backend " + backend);
  }
  return server;
}

Result<std::string> SqlServer::CreateDatabase(const std::string& name) {
  return pg_ ? pg_->CreateDatabase(name) : maria_->CreateDatabase(name);
}

Status SqlServer::Stop() { return pg_ ? pg_->Stop() : maria_->Stop(); }

Status SqlServer::Restart() { return pg_ ? pg_->Restart() : maria_->Restart(); }

}  // namespace chaperone::test
