// up::Pipeline: `chaperone up` as a library (see README.md).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chaperone/status.h"
#include "config/project_file.h"

namespace chaperone::up {

struct DemoOptions {
  std::string data_dir = "./chaperone-data";
  std::string listen = "127.0.0.1:8080";
  std::string interceptor_path;        // empty: found next to the chaperone binary
  int64_t window_sec = 60;             // short windows so the demo shows final windows within minutes
  std::chrono::milliseconds flush_interval{2000};
  int64_t grace_sec = 5;
  int messages_per_sec = 300;          // per topic
  // Demo topics, "NAME:PARTITIONS".
  std::vector<std::string> topics = {"orders:6", "payments:4", "clicks:8"};
  int brokers = 3;
  bool fresh_store = true;             // the demo's cluster lives in memory: start its store afresh
};

// Where the pieces listen, for the start-up banner and tests.
struct Endpoints {
  std::string web_url;
  std::string bootstrap_servers;
  std::string audit_topic;
  std::string store_url;
  int service_rest_port = 0;
  int collector_metrics_port = 0;
};

class Pipeline {
 public:
  virtual ~Pipeline() = default;
  // Stops everything in order, losing nothing. Idempotent.
  virtual Status Stop() = 0;
  virtual const Endpoints& endpoints() const = 0;
};

// Starts the embedded demo. `log` receives one line per started component.
Result<std::unique_ptr<Pipeline>> StartDemo(const DemoOptions& options, const std::function<void(const std::string&)>& log);

// Starts the components of a project file: those in `run`, or (empty) every
// one of collector, web and service that has a section.
Result<std::unique_ptr<Pipeline>> StartFromConfig(const config::ProjectFile& file, const std::vector<std::string>& run,
                                                  const std::function<void(const std::string&)>& log);

// The interceptor plugin next to `argv0` (../lib/libchaperone-interceptor.so) or in the
// usual install locations; empty if none is found.
std::string FindInterceptorPlugin(const std::string& argv0);

}  // namespace chaperone::up
