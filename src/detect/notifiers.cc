// The three notifiers over one HTTP poster (http_post.h): each only builds its
// request; sending, retries and the Status rule are shared.
#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <regex>

#include "detect/http_post.h"
#include "detect/notifier.h"

namespace chaperone::detect {
namespace {

using internal::HttpUrl;
using internal::Poster;
using internal::PostRequest;
using nlohmann::json;

// The labels each Alertmanager alert carries itself (extra_labels may not reuse them).
constexpr std::array<std::string_view, 7> kOwnLabels = {"alertname", "topic",    "source_tier", "target_tier",
                                                       "kind",      "severity", "datacenter"};

// "digest_mismatch" -> "ChaperoneDigestMismatch".
std::string AlertName(AlertKind kind) {
  std::string out = "Chaperone";
  bool upper = true;
  for (char c : AlertKindName(kind)) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

std::string Description(const Alert& a) {
  std::string out = fmt::format("Topic {}, tiers {} → {}", a.topic, a.source_tier, a.target_tier);
  if (!a.datacenter.empty()) out += fmt::format(", datacenter {}", a.datacenter);
  out += fmt::format(": {} messages lost, {} duplicated, {} final windows affected (first window {}, last window {}).",
                     a.messages_lost, a.messages_duplicated, a.windows_affected, FormatRfc3339(a.first_window_s * 1000),
                     FormatRfc3339(a.last_window_s * 1000));
  if (!a.dashboard_url.empty()) out += " Dashboard: " + a.dashboard_url;
  return out;
}

// Slack's mrkdwn: &, < and > are control characters and must be escaped.
std::string SlackEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string SlackLine(const Alert& a) {
  std::string line = fmt::format("{} {}", a.state == AlertState::kFiring ? ":red_circle:" : ":large_green_circle:",
                                 SlackEscape(a.Summary()));
  if (!a.dashboard_url.empty()) line += fmt::format(" <{}|dashboard>", SlackEscape(a.dashboard_url));
  return line;
}

// The part every notifier shares: its options, the poster, target(), empty batches.
template <typename Options>
class HttpNotifier : public Notifier {
 public:
  HttpNotifier(std::string_view kind, Options options, HttpUrl url, NotifierEnv env)
      : options_(std::move(options)),
        kind_(kind),
        target_(url.Printable()),
        clock_(env.clock != nullptr ? env.clock : &SystemClock::Instance()),
        poster_(std::move(url), fmt::format("{} {}", kind, target_), options_.timeouts, options_.retry,
                std::move(env)) {}
  std::string_view kind() const override { return kind_; }
  const std::string& target() const override { return target_; }
  Status Deliver(std::span<const Alert> alerts) override {
    if (alerts.empty()) return Status::Ok();
    return poster_.Post(MakeRequest(alerts));
  }

 protected:
  virtual PostRequest MakeRequest(std::span<const Alert> alerts) = 0;
  int64_t NowMs() const { return clock_->NowMs(); }
  std::string NewId() { return poster_.NewId(); }
  const Options options_;

 private:
  const std::string kind_;
  const std::string target_;
  Clock* const clock_;
  Poster poster_;
};

class AlertmanagerNotifier final : public HttpNotifier<AlertmanagerOptions> {
 public:
  AlertmanagerNotifier(AlertmanagerOptions options, const HttpUrl& url, NotifierEnv env)
      : HttpNotifier("alertmanager", std::move(options), url.WithPathSuffix("/api/v2/alerts"), std::move(env)) {}

 private:
  PostRequest MakeRequest(std::span<const Alert> alerts) override {
    return PostRequest{.body = AlertmanagerBody(alerts, options_, NowMs())};
  }
};

class WebhookNotifier final : public HttpNotifier<WebhookOptions> {
 public:
  WebhookNotifier(WebhookOptions options, HttpUrl url, NotifierEnv env)
      : HttpNotifier("webhook", std::move(options), std::move(url), std::move(env)) {}

 private:
  PostRequest MakeRequest(std::span<const Alert> alerts) override {
    const int64_t now_ms = NowMs();
    const std::string id = NewId();
    PostRequest r{.body = WebhookBody(alerts, now_ms, id)};
    r.headers.insert(options_.headers.begin(), options_.headers.end());
    r.headers.emplace(std::string(kDeliveryHeader), id);
    if (!options_.secret.empty()) {
      // The timestamp is inside the signed body too: the header is a copy for
      // receivers that check freshness before parsing.
      r.headers.emplace(std::string(kTimestampHeader), std::to_string(now_ms / 1000));
      r.headers.emplace(std::string(kSignatureHeader), WebhookSignature(options_.secret, r.body));
    }
    return r;
  }
};

class SlackNotifier final : public HttpNotifier<SlackOptions> {
 public:
  SlackNotifier(SlackOptions options, HttpUrl url, NotifierEnv env)
      : HttpNotifier("slack", std::move(options), std::move(url), std::move(env)) {}

 private:
  PostRequest MakeRequest(std::span<const Alert> alerts) override {
    return PostRequest{.body = SlackBody(alerts, options_)};
  }
};

// Options carry the setting's name in their errors.
Status Prefixed(std::string_view setting, const Status& s) {
  if (s.ok()) return s;
  return Status::InvalidArgument(fmt::format("{}: {}", setting, s.message()));
}

}  // namespace

std::string AlertmanagerBody(std::span<const Alert> alerts, const AlertmanagerOptions& options, int64_t now_ms) {
  json out = json::array();
  for (const Alert& a : alerts) {
    json labels = {{"alertname", AlertName(a.kind)},
                   {"topic", a.topic},
                   {"source_tier", a.source_tier},
                   {"target_tier", a.target_tier},
                   {"kind", AlertKindName(a.kind)},
                   {"severity", SeverityName(a.severity)}};
    if (!a.datacenter.empty()) labels["datacenter"] = a.datacenter;
    for (const auto& [k, v] : options.extra_labels) labels[k] = v;
    json annotations = {{"summary", a.Summary()},
                        {"description", Description(a)},
                        {"fingerprint", a.Fingerprint()},
                        {"messages_lost", std::to_string(a.messages_lost)},
                        {"messages_duplicated", std::to_string(a.messages_duplicated)},
                        {"windows_affected", std::to_string(a.windows_affected)},
                        {"first_window", FormatRfc3339(a.first_window_s * 1000)},
                        {"last_window", FormatRfc3339(a.last_window_s * 1000)}};
    if (!a.dashboard_url.empty()) annotations["dashboard"] = a.dashboard_url;
    // Firing: valid until now + horizon, renewed by every re-send. Resolved:
    // its own end. Alertmanager refuses an end before the start.
    int64_t ends = a.state == AlertState::kFiring ? now_ms + options.resend_horizon.count()
                                                  : (a.ends_at_ms > 0 ? a.ends_at_ms : now_ms);
    int64_t starts = a.starts_at_ms > 0 ? std::min(a.starts_at_ms, ends) : std::min(now_ms, ends);
    json alert = {{"labels", std::move(labels)},
                  {"annotations", std::move(annotations)},
                  {"startsAt", FormatRfc3339(starts)},
                  {"endsAt", FormatRfc3339(ends)}};
    if (!a.dashboard_url.empty()) alert["generatorURL"] = a.dashboard_url;
    out.push_back(std::move(alert));
  }
  return out.dump();
}

std::string WebhookBody(std::span<const Alert> alerts, int64_t now_ms, std::string_view delivery_id) {
  json list = json::array();
  for (const Alert& a : alerts) {
    json j = {{"fingerprint", a.Fingerprint()},
              {"status", AlertStateName(a.state)},
              {"kind", AlertKindName(a.kind)},
              {"severity", SeverityName(a.severity)},
              {"topic", a.topic},
              {"sourceTier", a.source_tier},
              {"targetTier", a.target_tier},
              {"datacenter", a.datacenter.empty() ? json(nullptr) : json(a.datacenter)},
              {"startsAt", FormatRfc3339(a.starts_at_ms)},
              {"endsAt", a.state == AlertState::kResolved ? json(FormatRfc3339(a.ends_at_ms)) : json(nullptr)},
              {"messagesLost", a.messages_lost},
              {"messagesDuplicated", a.messages_duplicated},
              {"windowsAffected", a.windows_affected},
              {"firstWindowStart", FormatRfc3339(a.first_window_s * 1000)},
              {"lastWindowStart", FormatRfc3339(a.last_window_s * 1000)},
              {"summary", a.Summary()},
              {"dashboardUrl", a.dashboard_url.empty() ? json(nullptr) : json(a.dashboard_url)}};
    list.push_back(std::move(j));
  }
  json body = {{"version", 1},
               {"sender", "chaperone"},
               {"deliveryId", delivery_id},
               {"timestamp", now_ms / 1000},
               {"alerts", std::move(list)}};
  return body.dump();
}

std::string SlackBody(std::span<const Alert> alerts, const SlackOptions& options) {
  std::string text;
  json blocks = json::array();
  for (const Alert& a : alerts) {
    std::string line = SlackLine(a);
    if (!text.empty()) text += '\n';
    text += line;
    blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", line}}}});
  }
  json body = {{"text", text}};
  // Slack takes at most 50 blocks a message: a longer batch is sent as text only.
  if (options.blocks && blocks.size() <= 50) body["blocks"] = std::move(blocks);
  if (!options.username.empty()) body["username"] = options.username;
  return body.dump();
}

std::string WebhookSignature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  std::string out = "sha256=";
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", mac[i]);
  return out;
}

Status AlertmanagerOptions::Validate() const {
  constexpr std::string_view kSetting = "alertmanager";
  if (Status s = internal::ValidateReceiver(url, "alertmanager url", timeouts, retry); !s.ok()) {
    return Prefixed(kSetting, s);
  }
  if (resend_horizon < std::chrono::seconds(10) || resend_horizon > std::chrono::hours(24)) {
    return Status::InvalidArgument(
        fmt::format("alertmanager: resend horizon {} ms is out of range [10 s, 24 h]", resend_horizon.count()));
  }
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  for (const auto& [name, value] : extra_labels) {
    if (!std::regex_match(name, kLabelName) || name.starts_with("__")) {
      return Status::InvalidArgument(fmt::format(
          "alertmanager: extra label \"{}\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not __*)", name));
    }
    if (std::find(kOwnLabels.begin(), kOwnLabels.end(), name) != kOwnLabels.end()) {
      return Status::InvalidArgument(
          fmt::format("alertmanager: extra label \"{}\" is one of the alert's own labels", name));
    }
    if (value.empty()) return Status::InvalidArgument(fmt::format("alertmanager: extra label \"{}\" is empty", name));
  }
  return Status::Ok();
}

Status WebhookOptions::Validate() const {
  if (Status s = internal::ValidateReceiver(url, "webhook url", timeouts, retry); !s.ok()) {
    return Prefixed("webhook", s);
  }
  if (!secret.empty() && secret.size() < 16) {
    return Status::InvalidArgument("webhook: the signing secret must be at least 16 bytes (or empty: no signature)");
  }
  for (const auto& [name, value] : headers) {
    bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
    });
    if (!ok) return Status::InvalidArgument(fmt::format("webhook: \"{}\" is not a valid header name", name));
    if (value.find_first_of("\r\n") != std::string::npos) {
      return Status::InvalidArgument(fmt::format("webhook: header {} holds a line break", name));
    }
  }
  return Status::Ok();
}

Status SlackOptions::Validate() const {
  return Prefixed("slack", internal::ValidateReceiver(url, "slack url", timeouts, retry, /*secret_path=*/true));
}

namespace {
template <typename Impl, typename Options>
Result<std::unique_ptr<Notifier>> Make(Options options, NotifierEnv env, bool secret_path) {
  if (Status s = options.Validate(); !s.ok()) return s;
  auto url = internal::ParseHttpUrl(options.url, "url", secret_path);
  if (!url.ok()) return url.status();
  return std::unique_ptr<Notifier>(std::make_unique<Impl>(std::move(options), std::move(*url), std::move(env)));
}
}  // namespace

Result<std::unique_ptr<Notifier>> MakeAlertmanagerNotifier(AlertmanagerOptions options, NotifierEnv env) {
  return Make<AlertmanagerNotifier>(std::move(options), std::move(env), false);
}
Result<std::unique_ptr<Notifier>> MakeWebhookNotifier(WebhookOptions options, NotifierEnv env) {
  return Make<WebhookNotifier>(std::move(options), std::move(env), false);
}
Result<std::unique_ptr<Notifier>> MakeSlackNotifier(SlackOptions options, NotifierEnv env) {
  return Make<SlackNotifier>(std::move(options), std::move(env), true);
}

}  // namespace chaperone::detect
