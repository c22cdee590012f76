#include "support/pg_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

namespace chaperone::test {
namespace {

namespace fs = std::filesystem;

std::string PgBinDir() {
  if (const char* env = std::getenv("CHAPERONE_PG_BIN")) return env;
  return "/usr/lib/postgresql/15/bin";
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t n = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

// Runs a shell command (as postgres when asked); its output goes to `log`.
int Run(const std::string& cmd, bool as_postgres, const std::string& log) {
  std::string full = as_postgres ? "runuser -u postgres -- " + cmd : cmd;
  full += " >>'" + log + "' 2>&1";
  int rc = std::system(full.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string Tail(const std::string& path) {
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return all.size() > 1500 ? all.substr(all.size() - 1500) : all;
}

Status ChownToPostgres(const std::string& path) {
  struct passwd* pw = getpwnam("postgres");
  if (pw == nullptr) return Status::Unavailable("no 'postgres' user: install the postgresql package");
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (lchown(it->path().c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::Internal("chown " + it->path().string());
  }
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) return Status::Internal("chown " + path);
  return Status::Ok();
}

// initdb is the slow part (~seconds): do it once per machine and copy the result.
Result<std::string> Template(bool as_postgres) {
  std::string base = "/tmp/chaperone-pg-template-15-" + std::to_string(getuid());
  std::string done = base + "/.complete";
  int lock = open((base + ".lock").c_str(), O_CREAT | O_RDWR, 0600);
  if (lock < 0) return Status::Internal("cannot open " + base + ".lock");
  flock(lock, LOCK_EX);
  Status result;
  if (!fs::exists(done)) {
    std::error_code ec;
    fs::remove_all(base, ec);
    fs::create_directories(base, ec);
    if (as_postgres) result = ChownToPostgres(base);
    std::string log = "/tmp/chaperone-pg-initdb-" + std::to_string(getuid()) + ".log";
    if (result.ok() && Run("'" + PgBinDir() + "/initdb' -D '" + base + "/data' -U postgres --auth=trust "
                           "--encoding=UTF8 --locale=C.UTF-8 --no-sync",
                           as_postgres, log) != 0) {
      result = Status::Internal("initdb failed: " + Tail(log));
    }
    if (result.ok()) std::ofstream(done) << "ok\n";
  }
  flock(lock, LOCK_UN);
  close(lock);
  if (!result.ok()) return result;
  return base + "/data";
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
  if (Run("cp -a '" + *tmpl + "' '" + s->dir_ + "/data'", false, log) != 0) {
    return Status::Internal("cannot copy the PostgreSQL template: " + Tail(log));
  }
  if (s->as_postgres_) {
    if (Status st = ChownToPostgres(s->dir_); !st.ok()) return st;
  }
  s->options_ = "-k " + s->dir_ + " -c listen_addresses=127.0.0.1";
  for (const auto& kv : settings) s->options_ += " -c " + kv;
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = FreePort();
    if (s->StartOnPort().ok()) return s;
  }
  return Status::Unavailable("PostgreSQL did not start: " + Tail(s->dir_ + "/postgres.log") +
                             Tail(s->dir_ + "/server.log"));
}

Status PgServer::StartOnPort() {
  std::string cmd = "'" + PgBinDir() + "/pg_ctl' -D '" + dir_ + "/data' -l '" + dir_ + "/postgres.log' -w -t 60 -o '-p " +
                    std::to_string(port_) + " " + options_ + "' start";
  if (Run(cmd, as_postgres_, dir_ + "/server.log") != 0) {
    return Status::Unavailable("pg_ctl start failed: " + Tail(dir_ + "/server.log"));
  }
  running_ = true;
  return Status::Ok();
}

Status PgServer::Stop() {
  if (Run("'" + PgBinDir() + "/pg_ctl' -D '" + dir_ + "/data' -m fast -w stop", as_postgres_, dir_ + "/server.log") !=
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
    Run("'" + PgBinDir() + "/pg_ctl' -D '" + dir_ + "/data' -m immediate -w stop", as_postgres_, "/dev/null");
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

Result<PgServer*> SharedPgServer() {
  static std::mutex mu;
  static std::unique_ptr<PgServer> server;
  static Status failed;
  std::lock_guard lock(mu);
  if (server) return server.get();
  if (!failed.ok()) return failed;
  auto s = PgServer::Start();
  if (!s.ok()) {
    failed = s.status();
    return failed;
  }
  server = std::move(*s);
  return server.get();
}

Result<std::string> FreshPgDatabase() {
  static std::atomic<int> n{0};
  auto s = SharedPgServer();
  if (!s.ok()) return s.status();
  return (*s)->CreateDatabase("t" + std::to_string(getpid()) + "_" + std::to_string(n++));
}

}  // namespace chaperone::test
