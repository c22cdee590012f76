// A throwaway Prometheus Alertmanager (Debian prometheus-alertmanager) for
// tests: a fresh directory under /tmp with a minimal config (one receiver that
// sends nowhere), a free loopback port, clustering off; stopped and deleted by
// the destructor. `scripts/install-deps.sh --test` installs the binary.
#pragma once

#include <memory>
#include <string>

#include "chaperone/status.h"

namespace chaperone::test {

class Process;

class AlertmanagerServer {
 public:
  // The binary: $CHAPERONE_ALERTMANAGER_BIN, else prometheus-alertmanager or
  // alertmanager in PATH; "" when there is none.
  static std::string FindBinary();
  // NotFound when the binary is missing (the caller decides: skip or fail);
  // Unavailable when it did not become ready (its log is in the message).
  static Result<std::unique_ptr<AlertmanagerServer>> Start();
  ~AlertmanagerServer();
  AlertmanagerServer(const AlertmanagerServer&) = delete;
  AlertmanagerServer& operator=(const AlertmanagerServer&) = delete;

  int port() const { return port_; }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The server's log so far (for a failed test's message).
  std::string Log() const;

 private:
  AlertmanagerServer() = default;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace chaperone::test
