// Notifiers: how the loss detector tells people. Three receivers, one
// interface: Prometheus Alertmanager, a generic JSON webhook (optionally
// HMAC-signed) and Slack-compatible incoming webhooks. Payloads and the
// signature scheme: docs/detect.md.
//
// Delivery contract (at least once). Deliver() returns OK only when the
// receiver accepted the whole batch (HTTP 2xx). Any other answer means "not
// delivered": the caller keeps the alerts in its outbox and calls Deliver()
// again later with the same alerts (receivers deduplicate: Alertmanager by
// labels, webhook receivers by fingerprint + status, see docs/detect.md).
//   Unavailable      the receiver could not be reached, timed out, or answered
//                    408, 429 or 5xx on every attempt: retry later.
//   InvalidArgument  the receiver refused the payload (another 4xx, or a 3xx):
//                    retrying the same payload will not help; log and count.
// Within one call, transient failures are retried with bounded exponential
// backoff and jitter (RetryOptions); the call never blocks longer than about
// max_elapsed + one request's timeouts.
//
// Threads and memory: a Notifier is immutable after construction; Deliver()
// may be called from several threads at once (each call opens its own
// connection). It reads `alerts` only during the call and keeps no reference.
// Deliver() blocks (network, backoff): never call it holding a lock that
// other threads need, nor from an HTTP handler thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "chaperone/clock.h"
#include "chaperone/status.h"
#include "detect/alert.h"

namespace chaperone::detect {

class Notifier {
 public:
  virtual ~Notifier() = default;
  // "alertmanager", "webhook" or "slack".
  virtual std::string_view kind() const = 0;
  // The receiver as safe to print: the URL without secrets (a Slack URL's path is one).
  virtual const std::string& target() const = 0;
  // Sends every alert of the batch in one request (an empty batch is OK and sends nothing).
  virtual Status Deliver(std::span<const Alert> alerts) = 0;
};

// Timeouts of one HTTP request.
struct HttpTimeouts {
  std::chrono::milliseconds connect{5'000};
  std::chrono::milliseconds read{10'000};   // waiting for the answer
  std::chrono::milliseconds write{10'000};  // sending the body
  Status Validate() const;                  // each in [1 ms, 10 min]
};

// Retries within one Deliver() call. The wait before retry n (n = 1, 2, ...)
// is a uniformly random duration in [d/2, d] with d = min(initial * 2^(n-1), max)
// ("equal jitter"), or the receiver's Retry-After when it is longer (still at
// most `max`). No attempt starts once `max_elapsed` has passed since the first.
struct RetryOptions {
  int max_attempts = 5;  // 1 = no retry
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{10'000};
  std::chrono::milliseconds max_elapsed{30'000};
  // max_attempts in [1, 20]; 1 ms <= initial <= max <= 10 min; max_elapsed in [0, 1 h].
  Status Validate() const;
};

struct AlertmanagerOptions {
  // Base URL of Alertmanager (http or https), e.g. "http://127.0.0.1:9093";
  // alerts are POSTed to {url}/api/v2/alerts.
  std::string url;
  // A firing alert is sent with endsAt = now + resend_horizon, as Prometheus
  // itself does (4 x its resend interval): the caller re-sends firing alerts
  // more often than that (e.g. every minute), and if the detector dies the
  // alert resolves by itself in Alertmanager after the horizon instead of
  // staying up forever. Resolved alerts carry their own end time.
  std::chrono::milliseconds resend_horizon{std::chrono::minutes(4)};
  // Labels added to every alert (e.g. {"env", "prod"}); names must match
  // [a-zA-Z_][a-zA-Z0-9_]* and must not be one of the alert's own labels.
  std::map<std::string, std::string> extra_labels;
  HttpTimeouts timeouts;
  RetryOptions retry;
  Status Validate() const;
};

struct WebhookOptions {
  std::string url;  // http or https; the body is POSTed there as is
  // When not empty, each request carries X-Chaperone-Signature:
  // sha256=<hex HMAC-SHA256(secret, body)> and X-Chaperone-Timestamp (the
  // body's "timestamp"). At least 16 bytes.
  std::string secret;
  std::map<std::string, std::string> headers;  // extra request headers (e.g. an API key)
  HttpTimeouts timeouts;
  RetryOptions retry;
  Status Validate() const;
};

struct SlackOptions {
  std::string url;          // the incoming-webhook URL (https in production; it is a secret)
  bool blocks = false;      // also send Block Kit "blocks": one section per alert
  std::string username;     // optional display name, when the workspace allows it
  HttpTimeouts timeouts;
  RetryOptions retry;
  Status Validate() const;
};

// What a notifier needs from its surroundings; tests pass a fake clock and a
// `wait` that only records the delays (no test sleeps).
struct NotifierEnv {
  Clock* clock = &SystemClock::Instance();  // NowMs: timestamps; MonotonicNs: the retry budget
  // Waits `delay` between attempts; default: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds delay)> wait;
  uint64_t jitter_seed = 0;  // 0: seeded from std::random_device
};

// Validate the options (a bad URL, secret, timeout or retry bound is
// InvalidArgument naming the setting) and build the notifier.
Result<std::unique_ptr<Notifier>> MakeAlertmanagerNotifier(AlertmanagerOptions options, NotifierEnv env = {});
Result<std::unique_ptr<Notifier>> MakeWebhookNotifier(WebhookOptions options, NotifierEnv env = {});
Result<std::unique_ptr<Notifier>> MakeSlackNotifier(SlackOptions options, NotifierEnv env = {});

// The request bodies, exactly as sent (public so that tests and docs can show
// them; `now_ms` is the wall clock at sending).
std::string AlertmanagerBody(std::span<const Alert> alerts, const AlertmanagerOptions& options, int64_t now_ms);
// `delivery_id` names one Deliver() call (the same across its retries).
std::string WebhookBody(std::span<const Alert> alerts, int64_t now_ms, std::string_view delivery_id);
std::string SlackBody(std::span<const Alert> alerts, const SlackOptions& options);

// "sha256=" + lowercase hex HMAC-SHA256(secret, body): the X-Chaperone-Signature value.
std::string WebhookSignature(std::string_view secret, std::string_view body);

// Header names of the webhook.
inline constexpr std::string_view kSignatureHeader = "X-Chaperone-Signature";
inline constexpr std::string_view kTimestampHeader = "X-Chaperone-Timestamp";
inline constexpr std::string_view kDeliveryHeader = "X-Chaperone-Delivery";

}  // namespace chaperone::detect
