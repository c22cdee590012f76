// The notifiers of the loss detector (src/detect): payloads, headers, the HMAC
// signature (checked by Python's hmac, not by our code), retries and their
// bounds, option validation. A local cpp-httplib server on 127.0.0.1 plays
// the receiver; a fake clock and a recording `wait` replace every sleep.
#include <gtest/gtest.h>
#include <httplib.h>

#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "detect/alert.h"
#include "detect/http_post.h"
#include "detect/notifier.h"
#include "support/detect_alerts.h"
#include "support/process.h"

namespace chaperone::detect {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr int64_t kNowMs = 1'700'000'123'000;  // 2023-11-14T22:15:23Z

// A receiver on a free loopback port: records every request and answers
// with the scripted statuses in order (then 200).
class Receiver {
 public:
  struct Request {
    std::string path;
    std::string body;
    httplib::Headers headers;
    std::string Header(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };
  struct Answer {
    int status = 200;
    std::string body;
    std::string retry_after;
  };

  explicit Receiver(std::vector<Answer> script = {}) : script_(script.begin(), script.end()) {
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      requests_.push_back({req.path, req.body, req.headers});
      Answer a;
      if (!script_.empty()) {
        a = script_.front();
        script_.pop_front();
      }
      res.status = a.status;
      if (!a.retry_after.empty()) res.set_header("Retry-After", a.retry_after);
      res.set_content(a.body, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the listen loop runs would not stop it: wait for it.
    EXPECT_TRUE(test::WaitFor([this] { return server_.is_running(); }, milliseconds(10'000)));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::deque<Answer> script_;
  std::vector<Request> requests_;
};

// Waits recorded instead of slept; each advances the fake clock.
struct Waits {
  FakeClock clock{kNowMs};
  std::vector<int64_t> delays_ms;
  NotifierEnv Env() {
    return NotifierEnv{.clock = &clock,
                       .wait =
                           [this](milliseconds d) {
                             delays_ms.push_back(d.count());
                             clock.AdvanceMs(d.count());
                           },
                       .jitter_seed = 42};
  }
};

Alert SampleAlert() { return test::SampleLossAlert(); }

// HMAC-SHA256 computed by Python's standard library: an oracle independent of the code under test.
std::string PythonHmacHex(const std::string& secret, const std::string& body) {
  auto r = test::RunCommand(
      {"python3", "-c",
       "import hashlib, hmac, sys; "
       "print(hmac.new(sys.argv[1].encode(), sys.stdin.buffer.read(), hashlib.sha256).hexdigest())",
       secret},
      body, milliseconds(30'000));
  if (!r.ok() || r->exit_code != 0) return "python3 failed";
  return r->out.substr(0, r->out.find('\n'));
}

// ---- the alert value ----

TEST(Alert, FingerprintIsSha256OfTheIdentityAndIgnoresStateAndFigures) {
  Alert a = SampleAlert();
  // Python's hashlib over the documented encoding (length:field; for each field).
  auto r = test::RunCommand({"python3", "-c",
                             "import hashlib; f=['orders','producer','regional','loss','dc1']; "
                             "print(hashlib.sha256(''.join(f'{len(x)}:{x};' for x in f).encode()).hexdigest()[:16])"});
  ASSERT_TRUE(r.ok() && r->exit_code == 0);
  EXPECT_EQ(a.Fingerprint() + "\n", r->out);

  Alert b = a;
  b.state = AlertState::kResolved;
  b.severity = Severity::kInfo;
  b.messages_lost = 7;
  b.ends_at_ms = kNowMs;
  EXPECT_EQ(b.Fingerprint(), a.Fingerprint());
  b.datacenter = "";
  EXPECT_NE(b.Fingerprint(), a.Fingerprint());
  Alert c = a;
  c.kind = AlertKind::kDuplicate;
  EXPECT_NE(c.Fingerprint(), a.Fingerprint());
  // No collision by moving characters between fields.
  Alert d = a, e = a;
  d.source_tier = "ab";
  d.target_tier = "c";
  e.source_tier = "a";
  e.target_tier = "bc";
  EXPECT_NE(d.Fingerprint(), e.Fingerprint());
}

TEST(Alert, SummaryIsOneReadableLine) {
  Alert a = SampleAlert();
  EXPECT_EQ(a.Summary(),
            "FIRING [critical] loss on orders: producer → regional (dc1): 42 messages lost in 3 windows "
            "(windows 2023-11-14T21:50:00Z .. 2023-11-14T22:10:00Z)");
  a.state = AlertState::kResolved;
  a.kind = AlertKind::kDuplicate;
  a.messages_duplicated = 1;
  a.windows_affected = 1;
  a.last_window_s = a.first_window_s;
  a.datacenter.clear();
  EXPECT_EQ(a.Summary(),
            "RESOLVED [critical] duplicate on orders: producer → regional: 1 message duplicated in 1 window "
            "(window 2023-11-14T21:50:00Z)");
}

TEST(Alert, NamesRoundTrip) {
  for (AlertKind k : {AlertKind::kLoss, AlertKind::kDuplicate, AlertKind::kDigestMismatch, AlertKind::kSilent}) {
    EXPECT_EQ(ParseAlertKind(AlertKindName(k)), k);
  }
  EXPECT_EQ(AlertKindName(AlertKind::kDigestMismatch), "digest_mismatch");
  EXPECT_EQ(ParseSeverity("critical"), Severity::kCritical);
  EXPECT_FALSE(ParseAlertKind("lost").has_value());
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1'700'000'123'456), "2023-11-14T22:15:23.456Z");
}

// ---- options and URLs ----

TEST(NotifierOptions, BadUrlsAreRefusedAtConstructionNamingTheSetting) {
  for (std::string url : {"", "ftp://host/x", "http://", "http://:80/x", "http://host:0/", "http://host:70000/",
                          "http://host:8a/", "http://user:pw@host/", "http://host/a b", "http://host/#frag",
                          "http://ho$t/", "host:9093", "http://[::1/"}) {
    auto n = MakeWebhookNotifier({.url = url});
    ASSERT_FALSE(n.ok()) << url;
    EXPECT_EQ(n.status().code(), Status::Code::kInvalidArgument) << url;
    EXPECT_NE(n.status().message().find("webhook url"), std::string::npos) << n.status().message();
  }
  for (std::string url : {"http://127.0.0.1:9093", "https://alerts.example.com/prefix/", "http://[::1]:9093",
                          "http://am_1.internal:80/x?y=z"}) {
    auto n = MakeAlertmanagerNotifier({.url = url});
    EXPECT_TRUE(n.ok()) << url << ": " << n.status().ToString();
  }
}

TEST(NotifierOptions, SlackUrlIsASecretAndNeverPrinted) {
  const std::string secret_path = "/services/T0001/B0002/abcdefSECRETxyz";
  auto bad = MakeSlackNotifier({.url = "https://hooks.slack.test:0" + secret_path});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("SECRET"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("slack url"), std::string::npos) << bad.status().message();

  auto good = MakeSlackNotifier({.url = "https://hooks.slack.test" + secret_path});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ((*good)->target(), "https://hooks.slack.test:443/...");
  EXPECT_EQ((*good)->kind(), "slack");
}

TEST(NotifierOptions, SecretTimeoutsRetryBoundsAndLabelsAreValidated) {
  const std::string url = "http://127.0.0.1:1/hook";
  auto expect_invalid = [](const Result<std::unique_ptr<Notifier>>& n, const std::string& words) {
    ASSERT_FALSE(n.ok()) << words;
    EXPECT_EQ(n.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(n.status().message().find(words), std::string::npos) << n.status().message();
  };
  expect_invalid(MakeWebhookNotifier({.url = url, .secret = "short"}), "at least 16 bytes");
  expect_invalid(MakeWebhookNotifier({.url = url, .headers = {{"Bad Header", "x"}}}), "not a valid header name");
  expect_invalid(MakeWebhookNotifier({.url = url, .headers = {{"X-Key", "a\r\nX-Evil: 1"}}}), "line break");
  expect_invalid(MakeWebhookNotifier({.url = url, .timeouts = {.connect = milliseconds(0)}}), "connect timeout");
  expect_invalid(MakeWebhookNotifier({.url = url, .retry = {.max_attempts = 0}}), "max attempts");
  expect_invalid(MakeWebhookNotifier({.url = url, .retry = {.max_attempts = 21}}), "max attempts");
  expect_invalid(MakeWebhookNotifier({.url = url, .retry = {.initial_backoff = milliseconds(2000),
                                                             .max_backoff = milliseconds(1000)}}),
                 "max backoff");
  expect_invalid(MakeAlertmanagerNotifier({.url = url, .resend_horizon = milliseconds(1000)}), "resend horizon");
  expect_invalid(MakeAlertmanagerNotifier({.url = url, .extra_labels = {{"9env", "x"}}}), "not a valid label name");
  expect_invalid(MakeAlertmanagerNotifier({.url = url, .extra_labels = {{"topic", "x"}}}), "alert's own labels");
  expect_invalid(MakeAlertmanagerNotifier({.url = url, .extra_labels = {{"env", ""}}}), "is empty");
  EXPECT_TRUE(MakeWebhookNotifier({.url = url, .secret = "0123456789abcdef"}).ok());
}

// ---- the webhook ----

TEST(WebhookNotifier, PostsTheDocumentedBodyWithAVerifiableSignature) {
  Receiver receiver;
  Waits waits;
  const std::string secret = "s3cret-s3cret-s3cret";
  auto n = MakeWebhookNotifier({.url = receiver.Url(), .secret = secret, .headers = {{"X-Api-Key", "k1"}}},
                               waits.Env());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  Alert firing = SampleAlert();
  Alert resolved = SampleAlert();
  resolved.topic = "payments";
  resolved.datacenter.clear();
  resolved.dashboard_url.clear();
  resolved.state = AlertState::kResolved;
  resolved.ends_at_ms = kNowMs - 1000;
  std::vector<Alert> batch = {firing, resolved};
  Status s = (*n)->Deliver(batch);
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto reqs = receiver.requests();
  ASSERT_EQ(reqs.size(), 1u);
  const auto& req = reqs[0];
  EXPECT_EQ(req.path, "/hook");
  EXPECT_EQ(req.Header("Content-Type"), "application/json");
  EXPECT_EQ(req.Header("X-Api-Key"), "k1");
  // The signature is HMAC-SHA256 over the exact bytes received.
  EXPECT_EQ(req.Header("X-Chaperone-Signature"), "sha256=" + PythonHmacHex(secret, req.body));
  EXPECT_NE(req.Header("X-Chaperone-Signature"), "sha256=" + PythonHmacHex("another secret value", req.body));

  json body = json::parse(req.body);
  EXPECT_EQ(body["version"], 1);
  EXPECT_EQ(body["sender"], "chaperone");
  EXPECT_EQ(body["timestamp"], kNowMs / 1000);
  EXPECT_EQ(req.Header("X-Chaperone-Timestamp"), std::to_string(kNowMs / 1000));  // the signed timestamp's copy
  EXPECT_EQ(body["deliveryId"], req.Header("X-Chaperone-Delivery"));
  EXPECT_EQ(body["deliveryId"].get<std::string>().size(), 16u);
  ASSERT_EQ(body["alerts"].size(), 2u);
  const json& a = body["alerts"][0];
  EXPECT_EQ(a["fingerprint"], firing.Fingerprint());
  EXPECT_EQ(a["status"], "firing");
  EXPECT_EQ(a["kind"], "loss");
  EXPECT_EQ(a["severity"], "critical");
  EXPECT_EQ(a["topic"], "orders");
  EXPECT_EQ(a["sourceTier"], "producer");
  EXPECT_EQ(a["targetTier"], "regional");
  EXPECT_EQ(a["datacenter"], "dc1");
  EXPECT_EQ(a["startsAt"], "2023-11-14T22:13:20Z");
  EXPECT_TRUE(a["endsAt"].is_null());
  EXPECT_EQ(a["messagesLost"], 42);
  EXPECT_EQ(a["messagesDuplicated"], 0);
  EXPECT_EQ(a["windowsAffected"], 3);
  EXPECT_EQ(a["firstWindowStart"], "2023-11-14T21:50:00Z");
  EXPECT_EQ(a["lastWindowStart"], "2023-11-14T22:10:00Z");
  EXPECT_EQ(a["summary"], firing.Summary());
  EXPECT_EQ(a["dashboardUrl"], firing.dashboard_url);
  const json& b = body["alerts"][1];
  EXPECT_EQ(b["status"], "resolved");
  EXPECT_EQ(b["endsAt"], FormatRfc3339(kNowMs - 1000));
  EXPECT_TRUE(b["datacenter"].is_null());
  EXPECT_TRUE(b["dashboardUrl"].is_null());
  EXPECT_TRUE(waits.delays_ms.empty());
}

TEST(WebhookNotifier, WithoutASecretNothingIsSigned) {
  Receiver receiver;
  auto n = MakeWebhookNotifier({.url = receiver.Url()});
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(test::DeliverSample(**n).ok());
  auto reqs = receiver.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].Header("X-Chaperone-Signature"), "");
  EXPECT_EQ(reqs[0].Header("X-Chaperone-Timestamp"), "");
  EXPECT_NE(reqs[0].Header("X-Chaperone-Delivery"), "");
}

TEST(WebhookNotifier, EmptyBatchSendsNothing) {
  Receiver receiver;
  auto n = MakeWebhookNotifier({.url = receiver.Url()});
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE((*n)->Deliver({}).ok());
  EXPECT_TRUE(receiver.requests().empty());
}

TEST(WebhookNotifier, RetriesAfter500And503WithGrowingJitteredBackoffThenSucceeds) {
  Receiver receiver({{.status = 500, .body = "boom"}, {.status = 503}, {.status = 204}});
  Waits waits;
  auto n = MakeWebhookNotifier({.url = receiver.Url(),
                                .secret = "0123456789abcdef",
                                .retry = {.max_attempts = 5,
                                          .initial_backoff = milliseconds(400),
                                          .max_backoff = milliseconds(10'000)}},
                               waits.Env());
  ASSERT_TRUE(n.ok());
  Status s = test::DeliverSample(**n);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto reqs = receiver.requests();
  ASSERT_EQ(reqs.size(), 3u);
  // The same delivery, byte for byte, each time (one id, one signature).
  for (const auto& r : reqs) {
    EXPECT_EQ(r.body, reqs[0].body);
    EXPECT_EQ(r.Header("X-Chaperone-Delivery"), reqs[0].Header("X-Chaperone-Delivery"));
    EXPECT_EQ(r.Header("X-Chaperone-Signature"), reqs[0].Header("X-Chaperone-Signature"));
  }
  // Equal jitter: retry n waits within [d/2, d], d = 400 ms * 2^(n-1).
  ASSERT_EQ(waits.delays_ms.size(), 2u);
  EXPECT_GE(waits.delays_ms[0], 200);
  EXPECT_LE(waits.delays_ms[0], 400);
  EXPECT_GE(waits.delays_ms[1], 400);
  EXPECT_LE(waits.delays_ms[1], 800);
}

TEST(WebhookNotifier, A400IsRefusedAtOnceWithoutRetry) {
  Receiver receiver({{.status = 400, .body = "{\"error\": \"unknown field\"}"}});
  Waits waits;
  auto n = MakeWebhookNotifier({.url = receiver.Url()}, waits.Env());
  ASSERT_TRUE(n.ok());
  Status s = test::DeliverSample(**n);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("HTTP 400 (not retried): {\"error\": \"unknown field\"}"), std::string::npos)
      << s.ToString();
  EXPECT_NE(s.message().find("webhook http://127.0.0.1:"), std::string::npos) << s.ToString();
  EXPECT_EQ(receiver.requests().size(), 1u);
  EXPECT_TRUE(waits.delays_ms.empty());
}

TEST(WebhookNotifier, A408And429AreRetriedAndRetryAfterIsHonouredUpToTheCap) {
  Receiver receiver({{.status = 429, .retry_after = "3"}, {.status = 408}, {.status = 429, .retry_after = "3600"}});
  Waits waits;
  auto n = MakeWebhookNotifier(
      {.url = receiver.Url(),
       .retry = {.max_attempts = 4, .initial_backoff = milliseconds(100), .max_backoff = milliseconds(5'000)}},
      waits.Env());
  ASSERT_TRUE(n.ok());
  ASSERT_TRUE(test::DeliverSample(**n).ok());
  EXPECT_EQ(receiver.requests().size(), 4u);
  ASSERT_EQ(waits.delays_ms.size(), 3u);
  EXPECT_EQ(waits.delays_ms[0], 3'000);  // Retry-After: 3, longer than the backoff
  EXPECT_GE(waits.delays_ms[1], 100);    // the backoff of retry 2: [100, 200]
  EXPECT_LE(waits.delays_ms[1], 200);
  EXPECT_EQ(waits.delays_ms[2], 5'000);  // Retry-After: 3600, capped at max_backoff
}

TEST(WebhookNotifier, GivesUpAfterMaxAttemptsWithAClearStatus) {
  Receiver receiver({{.status = 503, .body = "down"}, {.status = 503, .body = "down"}, {.status = 503, .body = "down"},
                     {.status = 200}});
  Waits waits;
  auto n = MakeWebhookNotifier({.url = receiver.Url(), .retry = {.max_attempts = 3}}, waits.Env());
  ASSERT_TRUE(n.ok());
  Status s = test::DeliverSample(**n);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("gave up after 3 attempts"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("HTTP 503: down"), std::string::npos) << s.ToString();
  EXPECT_EQ(receiver.requests().size(), 3u);
  EXPECT_EQ(waits.delays_ms.size(), 2u);
}

TEST(WebhookNotifier, GivesUpWhenTheTimeBudgetWouldBeExceeded) {
  Receiver receiver({{.status = 500}, {.status = 500}, {.status = 500}, {.status = 500}, {.status = 500}});
  Waits waits;
  auto n = MakeWebhookNotifier({.url = receiver.Url(),
                                .retry = {.max_attempts = 10,
                                          .initial_backoff = milliseconds(1'000),
                                          .max_backoff = milliseconds(8'000),
                                          .max_elapsed = milliseconds(5'000)}},
                               waits.Env());
  ASSERT_TRUE(n.ok());
  Status s = test::DeliverSample(**n);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_NE(s.message().find("retries end after 5000 ms"), std::string::npos) << s.ToString();
  int64_t total = 0;
  for (int64_t d : waits.delays_ms) total += d;
  EXPECT_LE(total, 5'000);
  EXPECT_GE(waits.delays_ms.size(), 1u);
  EXPECT_EQ(receiver.requests().size(), waits.delays_ms.size() + 1);
  EXPECT_LT(receiver.requests().size(), 10u);
}

TEST(WebhookNotifier, AnUnreachableReceiverIsUnavailable) {
  int port = 0;
  {
    Receiver closed;  // a port that was free a moment ago and is closed now
    port = closed.port();
  }
  Waits waits;
  auto n = MakeWebhookNotifier({.url = "http://127.0.0.1:" + std::to_string(port) + "/hook",
                                .timeouts = {.connect = milliseconds(2'000)},
                                .retry = {.max_attempts = 2}},
                               waits.Env());
  ASSERT_TRUE(n.ok());
  Status s = test::DeliverSample(**n);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_NE(s.message().find("cannot reach it"), std::string::npos) << s.ToString();
  EXPECT_EQ(waits.delays_ms.size(), 1u);
}

// ---- Slack ----

TEST(SlackNotifier, PostsOneReadableLinePerAlertAndOptionalBlocks) {
  Receiver receiver;
  auto n = MakeSlackNotifier({.url = receiver.Url("/services/T1/B2/xyz"), .blocks = true, .username = "Chaperone"});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  Alert firing = SampleAlert();
  Alert resolved = SampleAlert();
  resolved.topic = "a<b>&c";  // not a Kafka topic, but Slack's control characters must never pass through
  resolved.dashboard_url.clear();
  resolved.state = AlertState::kResolved;
  resolved.ends_at_ms = kNowMs;
  std::vector<Alert> batch = {firing, resolved};
  ASSERT_TRUE((*n)->Deliver(batch).ok());
  auto reqs = receiver.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/services/T1/B2/xyz");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/json");
  json body = json::parse(reqs[0].body);
  const std::string line1 = ":red_circle: " + firing.Summary() + " <http://chaperone:8080/#/topic/orders|dashboard>";
  const std::string line2 =
      ":large_green_circle: RESOLVED [critical] loss on a&lt;b&gt;&amp;c: producer → regional (dc1): 42 messages "
      "lost in 3 windows (windows 2023-11-14T21:50:00Z .. 2023-11-14T22:10:00Z)";
  EXPECT_EQ(body["text"], line1 + "\n" + line2);
  EXPECT_EQ(body["username"], "Chaperone");
  ASSERT_EQ(body["blocks"].size(), 2u);
  EXPECT_EQ(body["blocks"][0]["type"], "section");
  EXPECT_EQ(body["blocks"][0]["text"]["type"], "mrkdwn");
  EXPECT_EQ(body["blocks"][0]["text"]["text"], line1);
  EXPECT_EQ(body["blocks"][1]["text"]["text"], line2);

  // Text only by default.
  json plain = json::parse(SlackBody(batch, SlackOptions{}));
  EXPECT_EQ(plain.size(), 1u) << plain.dump();
  EXPECT_EQ(plain["text"], line1 + "\n" + line2);
}

// ---- Alertmanager (the real server: tests/component/alertmanager_notify_test.cc) ----

TEST(AlertmanagerBody, FiringAlertsEndAtTheResendHorizonAndResolvedOnesAtTheirEnd) {
  AlertmanagerOptions options{.url = "http://am:9093", .resend_horizon = std::chrono::minutes(4),
                              .extra_labels = {{"env", "prod"}}};
  Alert firing = SampleAlert();
  Alert resolved = SampleAlert();
  resolved.kind = AlertKind::kDigestMismatch;
  resolved.datacenter.clear();
  resolved.state = AlertState::kResolved;
  resolved.ends_at_ms = kNowMs - 10'000;
  std::vector<Alert> batch = {firing, resolved};
  json body = json::parse(AlertmanagerBody(batch, options, kNowMs));
  ASSERT_TRUE(body.is_array());
  ASSERT_EQ(body.size(), 2u);
  EXPECT_EQ(body[0]["labels"], json({{"alertname", "ChaperoneLoss"},
                                     {"topic", "orders"},
                                     {"source_tier", "producer"},
                                     {"target_tier", "regional"},
                                     {"kind", "loss"},
                                     {"severity", "critical"},
                                     {"datacenter", "dc1"},
                                     {"env", "prod"}}));
  EXPECT_EQ(body[0]["annotations"]["summary"], firing.Summary());
  EXPECT_EQ(body[0]["annotations"]["fingerprint"], firing.Fingerprint());
  EXPECT_EQ(body[0]["annotations"]["dashboard"], firing.dashboard_url);
  EXPECT_EQ(body[0]["startsAt"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(body[0]["endsAt"], FormatRfc3339(kNowMs + 4 * 60'000));
  EXPECT_EQ(body[0]["generatorURL"], firing.dashboard_url);
  EXPECT_EQ(body[1]["labels"]["alertname"], "ChaperoneDigestMismatch");
  EXPECT_FALSE(body[1]["labels"].contains("datacenter"));
  EXPECT_EQ(body[1]["endsAt"], FormatRfc3339(kNowMs - 10'000));
}

TEST(AlertmanagerNotifier, PostsToTheApiPathUnderTheBaseUrl) {
  Receiver receiver;
  Waits waits;
  auto n = MakeAlertmanagerNotifier({.url = receiver.Url("/prefix/")}, waits.Env());
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)->kind(), "alertmanager");
  ASSERT_TRUE(test::DeliverSample(**n).ok());
  auto reqs = receiver.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/prefix/api/v2/alerts");
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/json");
  std::vector<Alert> one = {SampleAlert()};
  EXPECT_EQ(reqs[0].body, AlertmanagerBody(one, AlertmanagerOptions{}, kNowMs));
}

}  // namespace
}  // namespace chaperone::detect
