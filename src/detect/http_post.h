// Private to src/detect: the receiver URL rule and one POST with bounded
// retries, shared by the three notifiers (the only cpp-httplib client code).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "chaperone/status.h"
#include "detect/notifier.h"

namespace chaperone::detect::internal {

struct HttpUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // a name, an IPv4 address, or "[IPv6]" with its brackets
  int port = 0;        // explicit, or 80 / 443
  std::string path;    // begins with "/" (and may carry "?query"); "/" when the URL had none
  bool secret_path = false;  // the path is a credential (Slack): never printed

  // "scheme://host:port" (what cpp-httplib's client takes).
  std::string Origin() const;
  // Safe to print: Origin() + path without its query, or "/..." when the path is secret.
  std::string Printable() const;
  // The same URL with `suffix` appended to the path ("/api/v2/alerts").
  HttpUrl WithPathSuffix(std::string_view suffix) const;
};

// http(s)://host[:port][/path][?query]: no user:password@, no #fragment, no
// spaces or control characters, a port in 1..65535. InvalidArgument naming
// `setting` otherwise (the URL itself is not quoted when `secret_path`).
Result<HttpUrl> ParseHttpUrl(std::string_view url, std::string_view setting, bool secret_path = false);

// InvalidArgument "<name>: N ms is out of range [lo, hi] ms" unless lo <= d <= hi.
Status CheckDuration(std::chrono::milliseconds d, std::chrono::milliseconds lo, std::chrono::milliseconds hi,
                     std::string_view name);

// Checks shared by every options struct: the URL, the timeouts, the retries.
Status ValidateReceiver(std::string_view url, std::string_view setting, const HttpTimeouts& timeouts,
                        const RetryOptions& retry, bool secret_path = false);

// The request one Deliver() sends, as many times as the retry rule allows.
struct PostRequest {
  std::string body;
  std::string content_type = "application/json";
  std::multimap<std::string, std::string> headers;
};

// POSTs `request` to `url` until a 2xx answer, a non-retryable answer, or the
// retry bounds (see RetryOptions, and the Notifier contract for the Status).
// `what` starts every error message ("webhook http://host:8080/hook").
class Poster {
 public:
  Poster(HttpUrl url, std::string what, HttpTimeouts timeouts, RetryOptions retry, NotifierEnv env);
  Status Post(const PostRequest& request);
  const HttpUrl& url() const { return url_; }
  const std::string& what() const { return what_; }
  // A fresh 16-hex-digit random id (delivery ids); thread-safe.
  std::string NewId();

 private:
  std::chrono::milliseconds Backoff(int retry, uint64_t* rng_state) const;
  uint64_t NextSeed();

  const HttpUrl url_;
  const std::string what_;
  const HttpTimeouts timeouts_;
  const RetryOptions retry_;
  NotifierEnv env_;
  std::atomic<uint64_t> seed_;  // advanced by every call: calls on different threads draw different jitter
};

}  // namespace chaperone::detect::internal
