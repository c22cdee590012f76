// chaperone web: the REST query API (docs/api.md), /health, /metrics and the
// dashboard, over HTTP. Runs in-process: `chaperone web`, `chaperone up` and
// tests start it with Start() and end it with Stop().
//
//   store (read-only) ──▶ StorePool ──▶ Api (routing, validation, analysis, JSON) ──▶ http::Endpoint
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/clock.h"
#include "chaperone/status.h"
#include "chaperone/types.h"
#include "read/read_config.h"
#include "store/store.h"
#include "web/assets.h"
#include "web/metrics.h"

namespace chaperone::http {
class Endpoint;
}

namespace chaperone::web {

class Api;
class StorePool;

struct WebServerOptions {
  std::string listen = "127.0.0.1:8080";   // HOST:PORT ("[::1]:8080" for IPv6); port 0 picks a free port
  std::string store_url;                   // "sqlite:PATH" | PATH | "postgresql://..."; opened at Start()
  std::shared_ptr<store::Store> store;     // or an open store shared with the caller (takes precedence)
  std::vector<std::string> tier_order;     // --tier-order patterns ("proxy*" allowed); empty: the default order
  int64_t delay_threshold_ms = 60'000;     // status "delay" above this p99 (last final window)
  int64_t grace_sec = 60;                  // a window is final once watermarks pass its end + grace
  int64_t stale_emitter_sec = 180;         // an emitter silent this long is stale (3 flush intervals)
  int64_t window_sec = kDefaultWindowSec;  // window size reported when the data does not say
  const AssetBundle* assets = nullptr;     // the dashboard; nullptr: DashboardAssets() (built in)
  int threads = 8;                         // HTTP worker threads
  size_t store_connections = 4;            // store connections opened from store_url at most
  // The web server only reads: a store_url that does not exist fails Start(). `chaperone up`, whose collector
  // creates the store concurrently, says kCreate.
  store::OpenMode store_mode = store::OpenMode::kMustExist;
  // GET .../windows/{window}/diff reads the messages from the Kafka clusters the audit names: `clusters:` and
  // the `read:` settings of the project file (read::ParseReadConfig; its store is not used: the diff reads
  // this server's). No clusters: the endpoint answers that it is not configured.
  read::ReadOptions read;
  int diff_concurrency = 2;        // diffs running at once; more are answered 503 busy
  int64_t diff_timeout_ms = 60'000;  // a diff's reads from Kafka end after this
};

// Checks the options (listen address, ranges, tier order); InvalidArgument naming the option at fault.
Status ValidateOptions(const WebServerOptions& options);

class WebServer {
 public:
  WebServer(WebServerOptions options, const Clock& clock);
  ~WebServer();  // Stop()
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Opens the store, binds the listen address and serves on background threads.
  // Errors: invalid options, the store cannot be opened, the address cannot be bound.
  Status Start();
  // Stops accepting, finishes requests in flight, joins the threads. Idempotent.
  void Stop();

  int port() const;  // the bound port (useful with port 0); 0 before Start
  const std::string& host() const;
  std::string url() const;  // "http://HOST:PORT"
  const WebMetrics& metrics() const { return metrics_; }

 private:
  WebServerOptions options_;
  const Clock& clock_;
  WebMetrics metrics_;
  std::unique_ptr<StorePool> stores_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<http::Endpoint> endpoint_;  // /health, /metrics and Api's routes
};

}  // namespace chaperone::web
