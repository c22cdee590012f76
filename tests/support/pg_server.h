// A throwaway PostgreSQL 15 server for tests and benchmarks: a fresh data
// directory under /tmp, a free loopback port, trust authentication; stopped
// and deleted by the destructor. As root it runs the server as `postgres`.
// Missing server binaries are an error (tests FAIL, they do not skip):
// `scripts/install-deps.sh --test` installs them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chaperone/status.h"

namespace chaperone::test {

class PgServer {
 public:
  // `settings`: extra "-c name=value" server settings (tests default to fsync=off).
  static Result<std::unique_ptr<PgServer>> Start(const std::vector<std::string>& settings = {"fsync=off",
                                                                                               "synchronous_commit=off",
                                                                                               "full_page_writes=off"});
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  // postgresql://postgres@127.0.0.1:PORT/NAME
  std::string Url(const std::string& database) const;
  // Creates database `name` and returns its URL.
  Result<std::string> CreateDatabase(const std::string& name);

  // Fault injection: stop the server (clients see their connections fail), and
  // start it again on the same port with the same data.
  Status Stop();
  Status Restart();

 private:
  PgServer() = default;
  Status StartOnPort();
  std::string User() const { return as_postgres_ ? "postgres" : ""; }
  std::string dir_;  // temp dir: data/, sockets, log
  std::string options_;  // postgres -o options, without the port
  bool running_ = false;
  int port_ = 0;
  bool as_postgres_ = false;
};

// One server per test process, started on first use, stopped at exit.
Result<PgServer*> SharedPgServer();

// A fresh database on the shared server; its URL.
Result<std::string> FreshPgDatabase();

}  // namespace chaperone::test
