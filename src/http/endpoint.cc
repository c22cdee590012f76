#include "http/endpoint.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <nlohmann/json.hpp>
#include <regex>

#include "common/listen_address.h"
#include "http/listen.h"
#include "common/thread_name.h"

namespace chaperone::http {

struct Endpoint::RouteEntry {
  std::string method;
  std::regex pattern;
  Handler handler;
};

namespace {

constexpr const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
constexpr const char* kUnmatched = "unmatched";

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Register(httplib::Server& s, std::string_view method, const std::string& pattern, httplib::Server::Handler h) {
  if (method == "GET") s.Get(pattern, std::move(h));
  if (method == "POST") s.Post(pattern, std::move(h));
  if (method == "PUT") s.Put(pattern, std::move(h));
  if (method == "PATCH") s.Patch(pattern, std::move(h));
  if (method == "DELETE") s.Delete(pattern, std::move(h));
  if (method == "OPTIONS") s.Options(pattern, std::move(h));
}

// Keeps messages readable and bounded when they quote a request path.
std::string Shown(std::string_view path) {
  std::string out(path.substr(0, 200));
  for (char& ch : out) {
    if (static_cast<unsigned char>(ch) < 0x20) ch = '?';
  }
  return path.size() > 200 ? out + "..." : out;
}

}  // namespace

std::string ErrorJson(std::string_view code, std::string_view message) {
  nlohmann::ordered_json j;
  j["error"]["code"] = code;
  j["error"]["message"] = message;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void WriteError(httplib::Response& res, int http_status, std::string_view code, std::string_view message) {
  res.status = http_status;
  res.set_content(ErrorJson(code, message), "application/json");
}

Endpoint::Endpoint(std::string name, EndpointOptions options) : name_(std::move(name)), options_(std::move(options)) {}

Endpoint::~Endpoint() { Stop(); }

void Endpoint::SetHealth(std::function<HealthVerdict()> health) { health_ = std::move(health); }
void Endpoint::SetMetrics(std::function<std::string()> metrics) { metrics_ = std::move(metrics); }
void Endpoint::OnResponse(Observer observer) { observer_ = std::move(observer); }

void Endpoint::Route(std::string method, std::string pattern, Handler handler) {
  routes_.push_back(std::make_shared<const RouteEntry>(RouteEntry{std::move(method), std::regex(pattern),
                                                                  std::move(handler)}));
  // cpp-httplib compiles the pattern itself too; keep the text for it.
  pending_patterns_.push_back(std::move(pattern));
}

std::string Endpoint::url() const { return "http://" + common::ListenAddress{host_, port_.load()}.ToString(); }

void Endpoint::Observe(std::string_view route, int status, double seconds) const {
  if (observer_) observer_(route, status, seconds);
}

// Every method, any path the routes above did not take: 405 when another
// method has the path, else 404.
void Endpoint::Fallback(const httplib::Request& req, httplib::Response& res) const {
  auto start = std::chrono::steady_clock::now();
  std::vector<std::string> allowed;
  auto allow = [&](const std::string& m) {
    if (std::find(allowed.begin(), allowed.end(), m) == allowed.end()) allowed.push_back(m);
  };
  const bool standard = (health_ && req.path == "/health") || (metrics_ && req.path == "/metrics");
  if (standard) allow("GET");
  for (const auto& r : routes_) {
    if (standard) break;
    if (std::regex_match(req.path, r->pattern)) allow(r->method);
  }
  if (allowed.empty()) {
    WriteError(res, 404, "not_found", fmt::format("no such resource: {}", Shown(req.path)));
  } else {
    std::string list;
    for (const auto& m : allowed) list += (list.empty() ? "" : ", ") + m + (m == "GET" ? ", HEAD" : "");
    res.set_header("Allow", list);
    WriteError(res, 405, "method_not_allowed",
               fmt::format("{} is not allowed on {} (allowed: {})", req.method, Shown(req.path), list));
  }
  Observe(kUnmatched, res.status, SecondsSince(start));
}

Status Endpoint::Start() {
  if (server_) return Status::Internal(name_ + ": HTTP endpoint already started");
  auto server = std::make_unique<httplib::Server>();
  const size_t threads = static_cast<size_t>(std::max(1, options_.threads));
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  ConfigureHttpSockets(*server);
  server->set_keep_alive_timeout(options_.keep_alive_timeout_sec);
  server->set_read_timeout(options_.read_timeout_sec, 0);
  server->set_write_timeout(options_.write_timeout_sec, 0);
  server->set_payload_max_length(options_.max_body_bytes);
  server->set_default_headers({{"X-Content-Type-Options", "nosniff"}});

  // The standard routes first, so that a component's catch-all cannot hide them.
  if (health_) {
    server->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      auto start = std::chrono::steady_clock::now();
      HealthVerdict v = health_();
      res.status = v.http_status();
      res.set_content(v.ToJson(), "application/json");
      Observe("/health", res.status, SecondsSince(start));
    });
  }
  if (metrics_) {
    server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      auto start = std::chrono::steady_clock::now();
      res.status = 200;
      res.set_content(metrics_(), kPrometheusContentType);
      Observe("/metrics", res.status, SecondsSince(start));
    });
  }
  // Any other method on them is a 405 naming GET, whatever the component's routes take.
  auto fallback = [this](const httplib::Request& req, httplib::Response& res) { Fallback(req, res); };
  for (const char* m : kMethods) {
    if (std::string_view(m) == "GET") continue;
    if (health_) Register(*server, m, "/health", fallback);
    if (metrics_) Register(*server, m, "/metrics", fallback);
  }
  for (size_t i = 0; i < routes_.size(); ++i) {
    std::shared_ptr<const RouteEntry> r = routes_[i];
    Register(*server, r->method, pending_patterns_[i],
             [r](const httplib::Request& req, httplib::Response& res) { r->handler(req, res); });
  }
  for (const char* m : kMethods) {
    Register(*server, m, ".*", fallback);
  }
  // cpp-httplib's own refusals (malformed request, body or URI too long): the
  // same JSON shape. It calls this for every status >= 400; ours have a body.
  server->set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        // The web API's codes (docs/api.md): the status and message say which refusal.
        const char* code = res.status >= 500 ? "internal" : res.status == 404 ? "not_found" : "bad_request";
        const char* why = res.status >= 500   ? "internal error"
                          : res.status == 413 ? "request too large"
                          : res.status == 414 ? "request URI too long (8 KiB at most)"
                          : res.status == 404 ? "not found"
                                              : "malformed HTTP request";
        WriteError(res, res.status, code, fmt::format("HTTP {}: {}", res.status, why));
        Observe(kUnmatched, res.status, 0);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server->set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("{}: {} {} failed: {}", name_, req.method, Shown(req.path), what);
    res.headers.clear();
    WriteError(res, 500, "internal", "internal error");
    Observe(kUnmatched, 500, 0);
  });

  auto bound = BindHttpServer(*server, options_.listen, name_);
  if (!bound.ok()) return bound.status();
  host_ = bound->host;
  port_ = bound->port;
  server_ = std::move(server);
  thread_ = NamedThread(options_.thread_name, [s = server_.get()] { s->listen_after_bind(); });
  // cpp-httplib's stop() only acts on a running server: wait until the accept
  // loop is up so that Stop() can never be lost.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

void Endpoint::Stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace chaperone::http
