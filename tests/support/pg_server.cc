#include "support/pg_server.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "support/server_util.h"

namespace chaperone::test {
namespace {

namespace fs = std::filesystem;

std::string PgBinDir() {
  if (const char* env = std::getenv("CHAPERONE_PG_BIN")) return env;
  return "/usr/lib/postgresql/15/bin";
}

// initdb is the slow part (~seconds): do it once per machine and copy the result.
Result<std::string> Template(bool as_postgres) {
  auto base = InitOnce("pg-15", as_postgres ? "postgres" : "", [&](const std::string& dir) {
    std::string log = "/tmp/chaperone-pg-initdb-" + std::to_string(getuid()) + ".log";
    if (RunLogged("'" + PgBinDir() + "/initdb' -D '" + dir + "/data' -U postgres --auth=trust "
                  "--encoding=UTF8 --locale=C.UTF-8 --no-sync",
                  log, as_postgres ? "postgres" : "") != 0) {
      return Status::Internal("initdb failed: " + Tail(log));
    }
    return Status::Ok();
  });
  if (!base.ok()) return base.status();
  return *base + "/data";
}

}  // namespace

Result<std::unique_ptr<PgServer>> PgServer::Start(const std::vector<std::string>& settings) {
  if (!fs::exists(PgBinDir() + "/initdb") || !fs::exists(PgBinDir() + "/pg_ctl")) {
    return Status::Unavailable("PostgreSQL 15 server binaries not found in " + PgBinDir() +
                               " (install them: scripts/install-deps.sh --test)");
  }
  std::unique_ptr<PgServer> s(new PgServer());
  s->as_postgres_ = geteuid() == 0;
  auto tmpl = Template(s->as_postgres_);
  if (!tmpl.ok()) return tmpl.status();
  char dir[] = "/tmp/chaperone-pg-XXXXXX";
  if (mkdtemp(dir) == nullptr) return Status::Internal("mkdtemp failed");
  s->dir_ = dir;
  std::string log = s->dir_ + "/server.log";
  if (RunLogged("cp -a '" + *tmpl + "' '" + s->dir_ + "/data'", log) != 0) {
    return Status::Internal("cannot copy the PostgreSQL template: " + Tail(log));
  }
  if (s->as_postgres_) {
    if (Status st = ChownTree(s->dir_, "postgres"); !st.ok()) return st;
  }
  s->options_ = "-k " + s->dir_ + " -c listen_addresses=127.0.0.1";
  for (const auto& kv : settings) s->options_ += " -c " + kv;
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = FreeLoopbackPort();
    if (s->StartOnPort().ok()) return s;
  }
  return Status::Unavailable("PostgreSQL did not start: " + Tail(s->dir_ + "/postgres.log") +
                             Tail(s->dir_ + "/server.log"));
}

Status PgServer::StartOnPort() {
  std::string cmd = "'" + PgBinDir() + "/pg_ctl' -D '" + dir_ + "/data' -l '" + dir_ + "/postgres.log' -w -t 60 -o '-p " +
                    std::to_string(port_) + " " + options_ + "' start";
  if (RunLogged(cmd, dir_ + "/server.log", User()) != 0) {
    return Status::Unavailable("pg_ctl start failed: " + Tail(dir_ + "/server.log"));
  }
  running_ = true;
  return Status::Ok();
}

Status PgServer::Stop() {
  if (RunLogged("'" + PgBinDir() + "/pg_ctl' -D '" + dir_ + "/data' -m fast -w stop", dir_ + "/server.log", User()) !=
      0) {
    return Status::Internal("pg_ctl stop failed: " + Tail(dir_ + "/server.log"));
  }
  running_ = false;
  return Status::Ok();
}

Status PgServer::Restart() { return StartOnPort(); }

PgServer::~PgServer() {
  if (dir_.empty()) return;
  if (running_) {
    RunLogged("'" + PgBinDir() + "/pg_ctl' -D '" + dir_ + "/data' -m immediate -w stop", "/dev/null", User());
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string PgServer::Url(const std::string& database) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

Result<std::string> PgServer::CreateDatabase(const std::string& name) {
  PGconn* c = PQconnectdb(Url("postgres").c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return Status::Unavailable("cannot connect to the test server: " + msg);
  }
  std::string sql = "CREATE DATABASE \"" + name + "\"";  // test-chosen identifiers only
  PGresult* r = PQexec(c, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string msg = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok) return Status::Internal("CREATE DATABASE " + name + ": " + msg);
  return Url(name);
}

Result<PgServer*> SharedPgServer() { return Shared<PgServer>(); }

Result<std::string> FreshPgDatabase() {
  static std::atomic<int> n{0};
  auto s = SharedPgServer();
  if (!s.ok()) return s.status();
  return (*s)->CreateDatabase("t" + std::to_string(getpid()) + "_" + std::to_string(n++));
}

}  // namespace chaperone::test
