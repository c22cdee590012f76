// A throwaway Prometheus Alertmanager (Debian prometheus-alertmanager) for
// tests: a fresh directory under /tmp with a minimal config (one receiver that
// sends nowhere), a free loopback port, clustering off; stopped and deleted by
// the destructor. `scripts/install-deps.sh --test` installs the binary.
#pragma once

#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
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
  // GET /api/v2/alerts of the active alerts (an array; null when it did not answer).
  nlohmann::json ActiveAlerts() const;
  // The active alert whose label `topic` is `topic`, or null.
  nlohmann::json FindActive(const std::string& topic) const;

 private:
  AlertmanagerServer() = default;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace chaperone::test

// Starts an Alertmanager into `var`. A missing binary is a failure in CI
// (install-deps.sh --test installs it), a skip with the reason on a
// developer's machine that has not installed the test tools.
#define START_ALERTMANAGER_OR_SKIP(var)                                                                          \
  auto var = ::chaperone::test::AlertmanagerServer::Start();                                                     \
  if (!var.ok() && var.status().code() == ::chaperone::Status::Code::kNotFound && std::getenv("CI") == nullptr) { \
    GTEST_SKIP() << var.status().message();                                                                      \
  }                                                                                                              \
  ASSERT_TRUE(var.ok()) << var.status().ToString()
