// Helpers shared by the throwaway database servers of the tests
// (pg_server.h, mariadb_server.h).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "chaperone/status.h"

namespace chaperone::test {

// A free TCP port on 127.0.0.1 (0 when none could be bound).
int FreeLoopbackPort();
// Runs a shell command (as `user` when not empty); its output is appended to `log`. The exit code.
int RunLogged(const std::string& cmd, const std::string& log, const std::string& user = "");
// The last 1500 bytes of a file.
std::string Tail(const std::string& path);
// Gives `path` and everything below it to `user`.
Status ChownTree(const std::string& path, const std::string& user);
// A data directory initialised once per machine: `init(dir)` fills `dir`
// (created, owned by `owner` when not empty) under a file lock; later calls
// find it done. `name` tells the servers apart.
Result<std::string> InitOnce(const std::string& name, const std::string& owner,
                             const std::function<Status(const std::string& dir)>& init);

// One server per test process, started on first use, stopped at exit; a
// failed start is remembered and answered again.
template <typename Server>
Result<Server*> Shared() {
  static std::mutex mu;
  static std::unique_ptr<Server> server;
  static Status failed;
  std::lock_guard lock(mu);
  if (server) return server.get();
  if (!failed.ok()) return failed;
  auto s = Server::Start();
  if (!s.ok()) {
    failed = s.status();
    return failed;
  }
  server = std::move(*s);
  return server.get();
}

}  // namespace chaperone::test
