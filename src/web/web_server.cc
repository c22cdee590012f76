#include "web/web_server.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "common/http_listen.h"
#include "lib/util/http_server.h"
#include "common/thread_name.h"
#include "web/api.h"
#include "web/json_writer.h"
#include "web/params.h"
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
  std::string joined;
  for (const auto& p : o.tier_order) joined += (joined.empty() ? "" : ",") + p;
  if (auto t = TierOrder::Parse(joined); !t.ok()) return t.status();
  return Status::Ok();
}

WebServer::WebServer(WebServerOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}

WebServer::~WebServer() { Stop(); }

std::string WebServer::url() const {
  return "http://" + common::ListenAddress{host_, port_}.ToString();
}

Status WebServer::Start() {
  if (server_) return Status::Internal("web server already started");
  if (auto s = ValidateOptions(options_); !s.ok()) return s;
  std::string joined;
  for (const auto& p : options_.tier_order) joined += (joined.empty() ? "" : ",") + p;

  ApiOptions api_opts;
  api_opts.tier_order = *TierOrder::Parse(joined);
  api_opts.delay_threshold_ms = options_.delay_threshold_ms;
  api_opts.grace_sec = options_.grace_sec;
  api_opts.stale_emitter_sec = options_.stale_emitter_sec;
  api_opts.window_sec = options_.window_sec;

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

  server_ = std::make_unique<httplib::Server>();
  int threads = options_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server_->set_keep_alive_timeout(2);
  ConfigureHttpSockets(*server_);
  server_->set_read_timeout(10, 0);
  server_->set_write_timeout(10, 0);
  server_->set_payload_max_length(64 * 1024);  // the API takes no request bodies
  server_->set_default_headers({{"X-Content-Type-Options", "nosniff"}});

  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    HttpRequest r{req.method, req.path, req.params};
    HttpResponse out = api_->Handle(r);
    res.status = out.status;
    for (auto& [k, v] : out.headers) res.set_header(k.c_str(), v);
    res.body = std::move(out.body);
    res.set_header("Content-Type", out.content_type);
  };
  // One catch-all per method: Api does the routing, so unknown paths and
  // wrong methods get JSON 404/405 answers.
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  server_->Options(".*", handler);
  // Errors raised by httplib itself (malformed request line, URI too long, ...).
  server_->set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours, already JSON
        metrics_.RecordRequest("unmatched", res.status, 0);
        JsonWriter w;
        w.BeginObject().Key("error").BeginObject().Field("code", res.status == 404 ? "not_found" : "bad_request");
        const char* why = res.status == 413   ? "request too large"
                          : res.status == 414 ? "request URI too long (8 KiB at most)"
                          : res.status == 404 ? "not found"
                                              : "malformed HTTP request";
        w.Field("message", fmt::format("HTTP {}: {}", res.status, why));
        w.EndObject().EndObject();
        res.set_content(w.str(), "application/json");
        return httplib::Server::HandlerResponse::Handled;
      }));
  server_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(R"({"error":{"code":"internal","message":"internal error"}})", "application/json");
  });

  auto bound = common::BindHttpServer(*server_, options_.listen, "listen");
  if (!bound.ok()) {
    server_.reset();
    api_.reset();
    stores_.reset();
    return bound.status();
  }
  host_ = bound->host;
  port_ = bound->port;
  thread_ = NamedThread("web-http", [this] { server_->listen_after_bind(); });
  // httplib's stop() only acts on a running server: wait until the accept
  // loop is up so that Stop() can never be lost.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  spdlog::info("web: serving on {} (store: {})", url(), stores_->backend());
  return Status::Ok();
}

void WebServer::Stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
  api_.reset();
  stores_.reset();
}

}  // namespace chaperone::web
