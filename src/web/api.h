// The web API (docs/api.md) as a function from request to response, without
// sockets: routing, parameter validation, store reads, JSON; /health's verdict. WebServer adapts
// it to HTTP; tests and benchmarks can call it directly.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "chaperone/clock.h"
#include "chaperone/types.h"
#include "http/health.h"
#include "analysis/analysis.h"
#include "web/assets.h"
#include "web/metrics.h"
#include "web/overview_cache.h"
#include "web/store_pool.h"
#include "analysis/tier_order.h"
#include "web/topic_catalog.h"
#include "web/window_diff.h"

namespace chaperone::web {

// The tier comparison the API serves (src/analysis).
using namespace ::chaperone::analysis;  // NOLINT(google-build-using-namespace)

struct ApiOptions {
  TierOrder tier_order;
  int64_t delay_threshold_ms = 60'000;     // a topic whose last final window's p99 exceeds this is "delay"
  int64_t grace_sec = 60;                  // finality: watermark >= window end + grace
  int64_t stale_emitter_sec = 180;         // an emitter silent this long is stale (3 flush intervals)
  int64_t window_sec = kDefaultWindowSec;  // reported when no row says otherwise
  int64_t topic_cache_ms = 15'000;         // topic summaries are reused this long
  int64_t topic_miss_refresh_ms = 5'000;   // an unknown topic re-reads them at most this often
  OverviewCacheOptions overview;           // /api/v1/topics: what is re-read per request
  DiffOptions diff;                        // .../windows/{window}/diff: the clusters and the bounds
};

struct HttpRequest {
  std::string method;  // "GET", "HEAD", ...
  std::string path;    // decoded, without the query string
  std::multimap<std::string, std::string> params;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route;  // the route pattern that answered (metrics label)
};

class Api {
 public:
  Api(ApiOptions opts, StorePool& stores, const Clock& clock, const AssetBundle& assets, WebMetrics& metrics);

  // Answers one request and records it in the metrics. Never throws.
  HttpResponse Handle(const HttpRequest& req);
  // GET /health (served by WebServer's http::Endpoint): "ok", or 503
  // "unavailable" with the error when the store cannot be read. Thread-safe.
  http::HealthVerdict Health();

 private:
  struct Ctx;
  void Route(const HttpRequest& req, HttpResponse& res);
  void Topics(const Ctx& c, HttpResponse& res);
  void Series(const Ctx& c, const std::string& topic, HttpResponse& res);
  void Loss(const Ctx& c, const std::string& topic, HttpResponse& res);
  void Partitions(const Ctx& c, const std::string& topic, const std::string& window, HttpResponse& res);
  void Diff(const Ctx& c, const std::string& topic, const std::string& window, HttpResponse& res);
  void Emitters(const Ctx& c, HttpResponse& res);
  void FinalityReport(const Ctx& c, HttpResponse& res);
  void Quarantine(const Ctx& c, HttpResponse& res);
  void Alerts(const Ctx& c, HttpResponse& res);
  void Dashboard(const HttpRequest& req, HttpResponse& res);

  void Error(HttpResponse& res, const Status& s);
  void StoreError(HttpResponse& res, const Status& s, StorePool::Lease* lease);

  FinalityOptions finality_options() const;

  const ApiOptions opts_;
  StorePool& stores_;
  const Clock& clock_;
  const AssetBundle& assets_;
  WebMetrics& metrics_;
  TopicCatalog catalog_;
  OverviewCache overview_;
  WindowDiffer differ_;
};

}  // namespace chaperone::web
