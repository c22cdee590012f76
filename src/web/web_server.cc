#include "web/web_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "common/listen_address.h"
#include "http/endpoint.h"
#include "web/api.h"
#include "web/store_pool.h"

namespace chaperone::web {

Status ValidateOptions(const WebServerOptions& o) {
  if (auto l = common::ParseListenAddress(o.listen); !l.ok()) return l.status();
  if (!o.store && o.store_url.empty()) return Status::InvalidArgument("store: a store URL is required (--store)");
  if (o.delay_threshold_ms < 0) return Status::InvalidArgument("delay threshold must be >= 0 ms");
  if (o.grace_sec < 0 || o.grace_sec > 86400) return Status::InvalidArgument("grace must be in [0, 86400] s");
  if (o.stale_emitter_sec < 1 || o.stale_emitter_sec > 30 * 86400) {
    return Status::InvalidArgument("stale-emitter threshold must be in [1, 2592000] s");
  }
  if (o.window_sec < 1 || o.window_sec > 86400) return Status::InvalidArgument("window must be in [1, 86400] s");
  if (o.threads < 1 || o.threads > 256) return Status::InvalidArgument("threads must be in [1, 256]");
  if (o.diff_concurrency < 1 || o.diff_concurrency > 64) return Status::InvalidArgument("diff concurrency must be in [1, 64]");
  if (o.diff_timeout_ms < 1000 || o.diff_timeout_ms > 3'600'000) {
    return Status::InvalidArgument("diff timeout must be in [1000, 3600000] ms");
  }
  std::string joined;
  for (const auto& p : o.tier_order) joined += (joined.empty() ? "" : ",") + p;
  if (auto t = TierOrder::Parse(joined); !t.ok()) return t.status();
  return Status::Ok();
}

WebServer::WebServer(WebServerOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}

WebServer::~WebServer() { Stop(); }

int WebServer::port() const { return endpoint_ ? endpoint_->port() : 0; }

std::string WebServer::url() const { return endpoint_ ? endpoint_->url() : std::string(); }

const std::string& WebServer::host() const {
  static const std::string kNone;
  return endpoint_ ? endpoint_->host() : kNone;
}

Status WebServer::Start() {
  if (endpoint_) return Status::Internal("web server already started");
  if (auto s = ValidateOptions(options_); !s.ok()) return s;
  std::string joined;
  for (const auto& p : options_.tier_order) joined += (joined.empty() ? "" : ",") + p;

  ApiOptions api_opts;
  api_opts.tier_order = *TierOrder::Parse(joined);
  api_opts.delay_threshold_ms = options_.delay_threshold_ms;
  api_opts.grace_sec = options_.grace_sec;
  api_opts.stale_emitter_sec = options_.stale_emitter_sec;
  api_opts.window_sec = options_.window_sec;
  api_opts.diff.clusters = options_.read.clusters;
  api_opts.diff.rules = options_.read.rules;
  api_opts.diff.memory_budget = options_.read.memory_budget;
  api_opts.diff.spill_dir = options_.read.spill_dir;
  api_opts.diff.stall_timeout = options_.read.stall_timeout;
  api_opts.diff.max_concurrent = options_.diff_concurrency;
  api_opts.diff.timeout_ms = options_.diff_timeout_ms;

  // An in-memory SQLite database exists once per connection: never pool it.
  bool memory = options_.store_url.find(":memory:") != std::string::npos;
  auto opener = [mode = options_.store_mode](const std::string& url) { return store::Store::Open(url, mode); };
  stores_ = options_.store ? std::make_unique<StorePool>(options_.store)
                           : std::make_unique<StorePool>(options_.store_url, memory ? 1 : options_.store_connections,
                                                         std::move(opener));
  if (auto s = stores_->Start(); !s.ok()) {
    stores_.reset();
    // A store the settings name that does not exist is a configuration error, as a bad URL is.
    if (s.code() == Status::Code::kNotFound) return Status::InvalidArgument(s.message());
    return s.code() == Status::Code::kInvalidArgument ? s : Status::Unavailable("cannot open the store: " + s.message());
  }
  const AssetBundle& assets = options_.assets ? *options_.assets : DashboardAssets();
  api_ = std::make_unique<Api>(std::move(api_opts), *stores_, clock_, assets, metrics_);

  http::EndpointOptions eo;
  eo.listen = options_.listen;
  eo.threads = options_.threads;
  eo.thread_name = "web-http";
  eo.max_body_bytes = 64 * 1024;  // the API takes no request bodies
  eo.keep_alive_timeout_sec = 2;
  eo.read_timeout_sec = 10;
  eo.write_timeout_sec = 10;
  auto endpoint = std::make_unique<http::Endpoint>("listen", std::move(eo));
  endpoint->SetHealth([this] { return api_->Health(); });
  endpoint->SetMetrics([this] { return metrics_.RenderPrometheus(); });
  endpoint->OnResponse(
      [this](std::string_view route, int status, double seconds) { metrics_.RecordRequest(route, status, seconds); });
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    HttpRequest r{req.method, req.path, req.params};
    HttpResponse out = api_->Handle(r);
    res.status = out.status;
    for (auto& [k, v] : out.headers) res.set_header(k.c_str(), v);
    res.body = std::move(out.body);
    res.set_header("Content-Type", out.content_type);
  };
  // One catch-all per method after /health and /metrics: Api does the
  // routing, so unknown paths and wrong methods get its JSON 404/405 answers.
  for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) endpoint->Route(m, ".*", handler);

  if (Status s = endpoint->Start(); !s.ok()) {
    api_.reset();
    stores_.reset();
    return s;
  }
  endpoint_ = std::move(endpoint);
  spdlog::info("web: serving on {} (store: {})", url(), stores_->backend());
  return Status::Ok();
}

void WebServer::Stop() {
  if (!endpoint_) return;
  endpoint_->Stop();
  endpoint_.reset();
  api_.reset();
  stores_.reset();
}

}  // namespace chaperone::web
