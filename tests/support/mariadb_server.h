// A throwaway MariaDB server for tests and benchmarks: a fresh data directory
// under /tmp, a free loopback port, no grant tables (any user, no password);
// stopped and deleted by the destructor. As root it runs the server as `mysql`.
// Missing server binaries are an error (tests FAIL, they do not skip):
// `scripts/install-deps.sh --test` installs them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chaperone/status.h"

namespace chaperone::test {

class MariaDbServer {
 public:
  // `options`: extra mariadbd options (tests default to not flushing the log at each commit).
  static Result<std::unique_ptr<MariaDbServer>> Start(
      const std::vector<std::string>& options = {"--innodb-flush-log-at-trx-commit=0"});
  ~MariaDbServer();
  MariaDbServer(const MariaDbServer&) = delete;
  MariaDbServer& operator=(const MariaDbServer&) = delete;

  int port() const { return port_; }
  // mysql://root@127.0.0.1:PORT/NAME
  std::string Url(const std::string& database) const;
  // Creates database `name` and returns its URL.
  Result<std::string> CreateDatabase(const std::string& name);

  // Fault injection: stop the server, and start it again on the same port with the same data.
  Status Stop();
  Status Restart();

 private:
  MariaDbServer() = default;
  Status StartOnPort();
  std::string dir_;      // temp dir: data/, socket, pid, logs
  std::string options_;  // extra mariadbd options
  bool running_ = false;
  int port_ = 0;
  bool as_mysql_ = false;
};

// One server per test process, started on first use, stopped at exit.
Result<MariaDbServer*> SharedMariaDbServer();

// A fresh database on the shared server; its URL.
Result<std::string> FreshMariaDbDatabase();

}  // namespace chaperone::test
