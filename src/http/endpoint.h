// http::Endpoint: the one way a Chaperone component serves HTTP (the service's
// REST API, the collector's /metrics and /health, the web server).
//
//   Endpoint ep("listen", {.listen = "127.0.0.1:0", .threads = 2, .thread_name = "svc-http"});
//   ep.SetHealth([&] { return Verdict(); });          // GET /health: 200 or 503, JSON
//   ep.SetMetrics([&] { return PrometheusText(); });  // GET /metrics: text/plain; version=0.0.4
//   ep.Get("/topics", handler);                       // the component's own routes (regexes)
//   if (Status s = ep.Start(); !s.ok()) return s;    // binds; a busy port is InvalidArgument
//   ... ep.url(), ep.port() ...
//   ep.Stop();                                        // idempotent; the destructor calls it
//
// Every error answer has one shape, {"error": {"code": "<short_code>",
// "message": "<text>"}} (WriteError): unknown paths 404 "not_found", a known
// path with a wrong method 405 "method_not_allowed" (with Allow), an exception
// escaping a handler 500 "internal", and cpp-httplib's own refusals (malformed
// request 400, body too large 413, URI too long 414: "bad_request"). These are
// the web API's codes (docs/api.md); components add their own (service:
// "already_exists", web: "store_unavailable").
//
// Threads: configure (Set*, Get/Post/..., OnResponse) and Start/Stop from one
// owning thread; routes are fixed once Start() is called. Start() runs the
// accept loop on a thread named options.thread_name; requests are served by
// options.threads workers, which call handlers, the health and metrics
// callbacks and the response observer concurrently: they must be thread-safe
// and must not call Stop(). port(), host() and url() may be read from any
// thread after Start() returned.
// Memory: one cpp-httplib server, its worker pool and at most
// options.max_body_bytes of request body per request in flight.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "chaperone/status.h"
#include "http/health.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace chaperone::http {

inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4";

struct EndpointOptions {
  std::string listen;                 // HOST:PORT, [IPv6]:PORT or :PORT; port 0 picks a free port
  int threads = 2;                    // worker threads serving requests
  std::string thread_name = "http";   // the accept thread's name (workers inherit it); 15 bytes at most
  size_t max_body_bytes = 64 * 1024;  // larger request bodies get 413
  int keep_alive_timeout_sec = 5;     // an idle keep-alive connection is closed after this
  int read_timeout_sec = 5;           // per read of a request
  int write_timeout_sec = 5;          // per write of a response
};

// Writes {"error":{"code":code,"message":message}} with `http_status`
// (JSON-escaped; invalid UTF-8 is replaced, never thrown on).
void WriteError(httplib::Response& res, int http_status, std::string_view code, std::string_view message);
// The same body, for code that builds responses without cpp-httplib.
std::string ErrorJson(std::string_view code, std::string_view message);

class Endpoint {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // route: "/health", "/metrics" or "unmatched" (404, 405, 4xx from cpp-httplib, 500 from an exception).
  using Observer = std::function<void(std::string_view route, int status, double seconds)>;

  // `name` is the setting the address comes from ("listen", "--metrics-listen"):
  // bind errors start with it ("--metrics-listen: cannot listen on ..."), logs name it.
  Endpoint(std::string name, EndpointOptions options);
  ~Endpoint();  // Stop()
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // GET (and HEAD) /health: verdict.ToJson() with verdict.http_status().
  void SetHealth(std::function<HealthVerdict()> health);
  // GET (and HEAD) /metrics: Prometheus text.
  void SetMetrics(std::function<std::string()> metrics);
  // Told of each answer the endpoint gives itself (not of the component's routes).
  void OnResponse(Observer observer);

  // The component's routes: `pattern` is a regex matched against the whole
  // path (cpp-httplib's rule); /health and /metrics are matched first, the
  // routes in the order added. A GET route also answers HEAD.
  void Get(std::string pattern, Handler handler) { Route("GET", std::move(pattern), std::move(handler)); }
  void Post(std::string pattern, Handler handler) { Route("POST", std::move(pattern), std::move(handler)); }
  void Put(std::string pattern, Handler handler) { Route("PUT", std::move(pattern), std::move(handler)); }
  void Patch(std::string pattern, Handler handler) { Route("PATCH", std::move(pattern), std::move(handler)); }
  void Delete(std::string pattern, Handler handler) { Route("DELETE", std::move(pattern), std::move(handler)); }
  void Options(std::string pattern, Handler handler) { Route("OPTIONS", std::move(pattern), std::move(handler)); }
  // Method one of GET, POST, PUT, PATCH, DELETE, OPTIONS.
  void Route(std::string method, std::string pattern, Handler handler);

  // Binds options.listen and serves until Stop(). InvalidArgument naming the
  // address for a bad address or a port in use (`chaperone` exits 2);
  // Internal when already running.
  Status Start();
  // Stops accepting, finishes requests in flight, joins the threads. Idempotent.
  void Stop();

  bool running() const { return server_ != nullptr; }
  int port() const { return port_.load(); }  // the bound port; 0 before Start
  const std::string& host() const { return host_; }
  std::string url() const;  // "http://HOST:PORT" ("http://[::1]:PORT")
  const std::string& name() const { return name_; }

 private:
  struct RouteEntry;
  void Fallback(const httplib::Request& req, httplib::Response& res) const;
  void Observe(std::string_view route, int status, double seconds) const;

  const std::string name_;
  const EndpointOptions options_;
  std::function<HealthVerdict()> health_;
  std::function<std::string()> metrics_;
  Observer observer_;
  std::vector<std::shared_ptr<const RouteEntry>> routes_;  // fixed once started
  std::vector<std::string> pending_patterns_;              // routes_[i]'s pattern text, for cpp-httplib
  std::unique_ptr<httplib::Server> server_;                // owning thread only
  std::thread thread_;                                     // runs server_->listen_after_bind()
  std::string host_;                                       // set by Start()
  std::atomic<int> port_{0};
};

}  // namespace chaperone::http
