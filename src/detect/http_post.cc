#include "detect/http_post.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>
#include <thread>

namespace chaperone::detect::internal {
namespace {

using std::chrono::milliseconds;

bool HostCharOk(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'; }

// splitmix64: a small, well-mixed generator; the jitter needs no more.
uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool Retryable(int status) { return status == 408 || status == 429 || status >= 500; }

// Retry-After in seconds (the HTTP-date form is ignored: the backoff applies).
std::optional<milliseconds> RetryAfter(const httplib::Response& r) {
  std::string v = r.get_header_value("Retry-After");
  int64_t s = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || s < 0) return std::nullopt;
  return milliseconds(std::min<int64_t>(s, 3600) * 1000);
}

// The start of an answer's body, on one line, for an error message.
std::string Excerpt(const std::string& body) {
  std::string out = body.substr(0, 200);
  for (char& c : out) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (body.size() > 200) out += "...";
  return out.empty() ? "" : ": " + out;
}

}  // namespace

Status CheckDuration(milliseconds d, milliseconds lo, milliseconds hi, std::string_view name) {
  if (d < lo || d > hi) {
    return Status::InvalidArgument(fmt::format("{}: {} ms is out of range [{}, {}] ms", name, d.count(), lo.count(),
                                               hi.count()));
  }
  return Status::Ok();
}

std::string HttpUrl::Origin() const { return fmt::format("{}://{}:{}", scheme, host, port); }

std::string HttpUrl::Printable() const {
  if (secret_path) return Origin() + "/...";
  return Origin() + path.substr(0, path.find('?'));
}

HttpUrl HttpUrl::WithPathSuffix(std::string_view suffix) const {
  HttpUrl u = *this;
  std::string query;
  if (auto q = u.path.find('?'); q != std::string::npos) {
    query = u.path.substr(q);
    u.path.resize(q);
  }
  while (!u.path.empty() && u.path.back() == '/') u.path.pop_back();
  u.path += std::string(suffix) + query;
  return u;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url, std::string_view setting, bool secret_path) {
  const std::string shown = secret_path ? std::string("the URL") : fmt::format("\"{}\"", url);
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("{}: {} is not a valid http(s) URL: {}", setting, shown, why));
  };
  if (url.empty()) return Status::InvalidArgument(fmt::format("{}: a URL is required", setting));
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return bad("it contains a space or a control character");
  }
  HttpUrl u;
  u.secret_path = secret_path;
  std::string_view rest;
  if (url.starts_with("http://")) {
    u.scheme = "http";
    u.port = 80;
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    u.scheme = "https";
    u.port = 443;
    rest = url.substr(8);
  } else {
    return bad("the scheme must be http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) return bad("a #fragment is not allowed");
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return bad("user:password@ is not supported (use a header or the signing secret)");
  }
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return bad("an IPv6 address needs [address]");
    for (char c : authority.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return bad("a bad IPv6 address");
    }
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("unexpected characters after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) return bad("an empty port");
    }
  } else if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return bad("an empty port");
  }
  if (host.empty()) return bad("no host");
  if (!host.starts_with('[') && !std::all_of(host.begin(), host.end(), HostCharOk)) {
    return bad("the host may hold only letters, digits, '-', '.' and '_'");
  }
  if (!port.empty()) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p < 1 || p > 65535) {
      return bad("the port must be a number in 1..65535");
    }
    u.port = p;
  }
  u.host = std::string(host);
  u.path = path.empty() ? "/" : (path[0] == '?' ? "/" + std::string(path) : std::string(path));
  return u;
}

Status ValidateReceiver(std::string_view url, std::string_view setting, const HttpTimeouts& timeouts,
                        const RetryOptions& retry, bool secret_path) {
  if (auto u = ParseHttpUrl(url, setting, secret_path); !u.ok()) return u.status();
  if (Status s = timeouts.Validate(); !s.ok()) return s;
  return retry.Validate();
}

Poster::Poster(HttpUrl url, std::string what, HttpTimeouts timeouts, RetryOptions retry, NotifierEnv env)
    : url_(std::move(url)),
      what_(std::move(what)),
      timeouts_(timeouts),
      retry_(retry),
      env_(std::move(env)),
      seed_(env_.jitter_seed != 0 ? env_.jitter_seed : (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) {
  if (!env_.wait) env_.wait = [](milliseconds d) { std::this_thread::sleep_for(d); };
  if (env_.clock == nullptr) env_.clock = &SystemClock::Instance();
}

uint64_t Poster::NextSeed() { return seed_.fetch_add(0x9e3779b97f4a7c15ULL); }

std::string Poster::NewId() {
  uint64_t state = NextSeed();
  return fmt::format("{:016x}", NextRandom(&state));
}

milliseconds Poster::Backoff(int retry, uint64_t* rng_state) const {
  int64_t d = retry_.initial_backoff.count();
  for (int i = 1; i < retry && d < retry_.max_backoff.count(); ++i) d *= 2;
  d = std::min(d, static_cast<int64_t>(retry_.max_backoff.count()));
  int64_t half = d / 2;
  return milliseconds(half + static_cast<int64_t>(NextRandom(rng_state) % static_cast<uint64_t>(d - half + 1)));
}

Status Poster::Post(const PostRequest& request) {
  httplib::Client client(url_.Origin());
  client.set_connection_timeout(timeouts_.connect);
  client.set_read_timeout(timeouts_.read);
  client.set_write_timeout(timeouts_.write);
  client.set_follow_location(false);  // a redirect would re-send (and re-sign) elsewhere: an error instead
  httplib::Headers headers(request.headers.begin(), request.headers.end());
  headers.emplace("User-Agent", "chaperone-detect");

  uint64_t rng = NextSeed();
  const int64_t start_ns = env_.clock->MonotonicNs();
  std::string last;
  int attempt = 0;
  for (;;) {
    ++attempt;
    std::optional<milliseconds> retry_after;
    auto res = client.Post(url_.path, headers, request.body, request.content_type);
    if (!res) {
      last = "cannot reach it: " + httplib::to_string(res.error());
    } else if (res->status >= 200 && res->status < 300) {
      return Status::Ok();
    } else if (!Retryable(res->status)) {
      return Status::InvalidArgument(
          fmt::format("{}: refused with HTTP {} (not retried){}", what_, res->status, Excerpt(res->body)));
    } else {
      last = fmt::format("HTTP {}{}", res->status, Excerpt(res->body));
      retry_after = RetryAfter(*res);
    }
    auto elapsed = milliseconds((env_.clock->MonotonicNs() - start_ns) / 1'000'000);
    if (attempt >= retry_.max_attempts) {
      return Status::Unavailable(fmt::format("{}: gave up after {} attempt{} in {} ms (at most {} attempts): {}",
                                             what_, attempt, attempt == 1 ? "" : "s", elapsed.count(),
                                             retry_.max_attempts, last));
    }
    milliseconds delay = Backoff(attempt, &rng);
    if (retry_after && *retry_after > delay) delay = std::min(*retry_after, retry_.max_backoff);
    if (elapsed + delay > retry_.max_elapsed) {
      return Status::Unavailable(fmt::format("{}: gave up after {} attempt{} in {} ms (retries end after {} ms): {}",
                                             what_, attempt, attempt == 1 ? "" : "s", elapsed.count(),
                                             retry_.max_elapsed.count(), last));
    }
    env_.wait(delay);
  }
}

}  // namespace chaperone::detect::internal

namespace chaperone::detect {

using internal::CheckDuration;
using std::chrono::milliseconds;

Status HttpTimeouts::Validate() const {
  const milliseconds lo(1), hi(std::chrono::minutes(10));
  if (Status s = CheckDuration(connect, lo, hi, "connect timeout"); !s.ok()) return s;
  if (Status s = CheckDuration(read, lo, hi, "read timeout"); !s.ok()) return s;
  return CheckDuration(write, lo, hi, "write timeout");
}

Status RetryOptions::Validate() const {
  if (max_attempts < 1 || max_attempts > 20) {
    return Status::InvalidArgument(fmt::format("retry max attempts: {} is out of range [1, 20]", max_attempts));
  }
  if (Status s = CheckDuration(initial_backoff, milliseconds(1), std::chrono::minutes(10), "retry initial backoff");
      !s.ok()) {
    return s;
  }
  if (Status s = CheckDuration(max_backoff, initial_backoff, std::chrono::minutes(10), "retry max backoff"); !s.ok()) {
    return s;
  }
  return CheckDuration(max_elapsed, milliseconds(0), std::chrono::hours(1), "retry max elapsed");
}

}  // namespace chaperone::detect
