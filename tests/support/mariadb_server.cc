#include "support/mariadb_server.h"

#include <mysql.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "support/server_util.h"

namespace chaperone::test {
namespace {

namespace fs = std::filesystem;

// A query on a fresh connection; false when the server does not answer.
bool Query(int port, const std::string& sql, std::string* error = nullptr) {
  MYSQL* c = mysql_init(nullptr);
  unsigned timeout = 2;
  mysql_options(c, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  bool ok = mysql_real_connect(c, "127.0.0.1", "root", "", nullptr, port, nullptr, 0) != nullptr &&
            mysql_query(c, sql.c_str()) == 0;
  if (!ok && error) *error = mysql_error(c);
  mysql_close(c);
  return ok;
}

// mariadb-install-db is slow and its bootstrap servers collide when several run
// at once: do it once per machine and copy the result.
Result<std::string> Template(bool as_mysql) {
  auto base = InitOnce("mariadb", as_mysql ? "mysql" : "", [&](const std::string& dir) {
    std::string log = "/tmp/chaperone-mariadb-install-" + std::to_string(getuid()) + ".log";
    fs::create_directories(dir + "/tmp");
    if (as_mysql) {
      if (Status s = ChownTree(dir, "mysql"); !s.ok()) return s;
    }
    if (RunLogged("mariadb-install-db --no-defaults --datadir='" + dir + "/data'" + (as_mysql ? " --user=mysql" : "") +
                      " --tmpdir='" + dir + "/tmp' --auth-root-authentication-method=normal --skip-test-db",
                  log) != 0) {
      return Status::Internal("mariadb-install-db failed: " + Tail(log));
    }
    return Status::Ok();
  });
  if (!base.ok()) return base.status();
  return *base + "/data";
}

}  // namespace

Result<std::unique_ptr<MariaDbServer>> MariaDbServer::Start(const std::vector<std::string>& options) {
  if (!fs::exists("/usr/sbin/mariadbd") || !fs::exists("/usr/bin/mariadb-install-db")) {
    return Status::Unavailable("MariaDB server binaries not found (install them: scripts/install-deps.sh --test)");
  }
  std::unique_ptr<MariaDbServer> s(new MariaDbServer());
  s->as_mysql_ = geteuid() == 0;
  for (const auto& o : options) s->options_ += " " + o;
  char dir[] = "/tmp/chaperone-mariadb-XXXXXX";
  if (mkdtemp(dir) == nullptr) return Status::Internal("mkdtemp failed");
  s->dir_ = dir;
  auto tmpl = Template(s->as_mysql_);
  if (!tmpl.ok()) return tmpl.status();
  std::string log = s->dir_ + "/server.log";
  if (RunLogged("cp -a '" + *tmpl + "' '" + s->dir_ + "/data' && mkdir '" + s->dir_ + "/tmp'", log) != 0) {
    return Status::Internal("cannot copy the MariaDB template: " + Tail(log));
  }
  if (s->as_mysql_) {
    if (Status st = ChownTree(s->dir_, "mysql"); !st.ok()) return st;
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = FreeLoopbackPort();
    if (s->StartOnPort().ok()) return s;
  }
  return Status::Unavailable("MariaDB did not start: " + Tail(s->dir_ + "/error.log"));
}

Status MariaDbServer::StartOnPort() {
  std::string cmd = "mariadbd --no-defaults --datadir='" + dir_ + "/data'" + (as_mysql_ ? " --user=mysql" : "") +
                    " --port=" + std::to_string(port_) + " --bind-address=127.0.0.1 --tmpdir='" + dir_ + "/tmp' --socket='" + dir_ +
                    "/sock' --pid-file='" + dir_ + "/pid' --log-error='" + dir_ +
                    "/error.log' --skip-grant-tables --skip-name-resolve --innodb-buffer-pool-size=256M "
                    "--innodb-lock-wait-timeout=10" + options_;
  // In the background, its output in server.log.
  if (std::system((cmd + " >>'" + dir_ + "/server.log' 2>&1 &").c_str()) != 0) {
    return Status::Unavailable("cannot start mariadbd");
  }
  running_ = true;
  for (int i = 0; i < 300; ++i) {
    if (Query(port_, "SELECT 1")) return Status::Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  (void)Stop();
  return Status::Unavailable("mariadbd did not answer on port " + std::to_string(port_));
}

Status MariaDbServer::Stop() {
  std::ifstream f(dir_ + "/pid");
  pid_t pid = 0;
  if (!(f >> pid) || pid <= 0) return Status::Internal("no mariadbd pid");
  kill(pid, SIGTERM);
  for (int i = 0; i < 600 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  running_ = false;
  return kill(pid, 0) == 0 ? Status::Internal("mariadbd did not stop") : Status::Ok();
}

Status MariaDbServer::Restart() { return StartOnPort(); }

MariaDbServer::~MariaDbServer() {
  if (dir_.empty()) return;
  if (running_) (void)Stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string MariaDbServer::Url(const std::string& database) const {
  return "mysql://root@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

Result<std::string> MariaDbServer::CreateDatabase(const std::string& name) {
  std::string error;
  if (!Query(port_, "CREATE DATABASE `" + name + "`", &error)) {  // test-chosen identifiers only
    return Status::Internal("CREATE DATABASE " + name + ": " + error);
  }
  return Url(name);
}

Result<MariaDbServer*> SharedMariaDbServer() { return Shared<MariaDbServer>(); }

Result<std::string> FreshMariaDbDatabase() {
  static std::atomic<int> n{0};
  auto s = SharedMariaDbServer();
  if (!s.ok()) return s.status();
  return (*s)->CreateDatabase("t" + std::to_string(getpid()) + "_" + std::to_string(n++));
}

}  // namespace chaperone::test
