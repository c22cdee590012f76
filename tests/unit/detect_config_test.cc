#include "detect/detect_config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "support/process.h"

namespace chaperone::detect {
namespace {

using config::FlagValue;

// The 1-based line of the first line of `yaml` containing `text`.
int LineOf(std::string_view yaml, std::string_view text) {
  size_t at = yaml.find(text);
  EXPECT_NE(at, std::string_view::npos) << text;
  return 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

// "cfg.yaml:<line of `text`>: <key>: "
std::string At(std::string_view yaml, std::string_view text, std::string_view key) {
  return "cfg.yaml:" + std::to_string(LineOf(yaml, text)) + ": " + std::string(key) + ": ";
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) out.push_back(l);
  return out;
}

const std::vector<FlagValue> kStoreFlag = {{"store", "sqlite:/tmp/detect-config-test.db"}};

// The error of `yaml` (a store is given by flag), or "OK".
std::string Error(const std::string& yaml, const std::vector<FlagValue>& flags = kStoreFlag) {
  auto r = ParseDetectConfig(yaml, "cfg.yaml", flags);
  if (r.ok()) return "OK";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

// `error` begins with `prefix`.
#define EXPECT_STARTS_WITH(error, prefix) EXPECT_EQ((error).rfind((prefix), 0), 0u) << (error)

// ---- Defaults ----

TEST(DetectConfig, WithoutAnyConfigurationEveryPairIsJudgedAndOneLostMessageAlerts) {
  auto r = ParseDetectConfig("", "flags", kStoreFlag);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const DetectOptions& o = *r;
  EXPECT_EQ(o.store_url, "sqlite:/tmp/detect-config-test.db");
  EXPECT_EQ(o.listen, "127.0.0.1:9095");
  EXPECT_EQ(o.interval_sec, 60);
  EXPECT_EQ(o.lookback_sec, 86400);
  EXPECT_TRUE(o.tier_order.empty());
  EXPECT_EQ(o.finality.grace_sec, 60);
  EXPECT_EQ(o.finality.stale_after_ms, 180'000);
  EXPECT_EQ(o.dashboard_url, "");
  EXPECT_EQ(o.lease_sec, 180);
  EXPECT_EQ(o.max_topic_series, 500);
  EXPECT_FALSE(o.alertmanager.has_value());
  EXPECT_TRUE(o.webhooks.empty());
  EXPECT_TRUE(o.slack.empty());
  EXPECT_TRUE(o.rules.empty());

  const Rule& d = o.default_rule;
  EXPECT_EQ(d.topic_regex, "");
  EXPECT_TRUE(d.enabled);
  EXPECT_TRUE(d.pairs.empty());
  EXPECT_EQ(d.loss.min_messages, 1);
  EXPECT_EQ(d.loss.min_ratio, 0);
  EXPECT_EQ(d.duplicate.min_messages, 1);
  EXPECT_EQ(d.duplicate.min_ratio, 0);
  EXPECT_TRUE(d.digest_mismatch);
  EXPECT_EQ(d.silent_windows, 3);
  ASSERT_EQ(d.severity.size(), 2u);
  EXPECT_EQ(d.severity[0].severity, Severity::kWarning);
  EXPECT_EQ(d.severity[1].severity, Severity::kCritical);
  EXPECT_EQ(d.severity[1].min_ratio, 0.01);
  EXPECT_FALSE(d.grace_sec.has_value());
  EXPECT_TRUE(d.mute.empty());

  EXPECT_EQ(&o.RuleFor("orders"), &o.default_rule);
  EXPECT_TRUE(d.Judges("producer", "regional"));
  EXPECT_TRUE(d.loss.Reached(1, 1'000'000));
  EXPECT_EQ(d.SeverityOf(1, 1000), Severity::kWarning);
  EXPECT_EQ(d.SeverityOf(10, 1000), Severity::kCritical);
}

TEST(DetectConfig, TheStoreIsRequiredAndComesFromTheSharedSection) {
  EXPECT_EQ(Error("", {}), "detect.store: no store: give --store, detect.store or store.url");
  auto r = ParseDetectConfig("store:\n  url: sqlite:/data/shared.db\n", "cfg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store_url, "sqlite:/data/shared.db");
  r = ParseDetectConfig("store:\n  url: sqlite:/data/shared.db\ndetect:\n  store: sqlite:/data/own.db\n", "cfg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store_url, "sqlite:/data/own.db");
}

// ---- The header's example ----

TEST(DetectConfig, TheHeadersExampleParsesToItsValues) {
  test::TempDir dir;
  const std::string key = dir.Write("hook.key", "  0123456789abcdef-signing  \nignored second line\n");
  const std::string slack_url = dir.Write("slack.url", "https://hooks.slack.com/services/T0/B0/XYZ\n");
  const std::string yaml = R"(store:
  url: postgresql://chaperone:secret@db/chaperone   # shared
detect:
  listen: 127.0.0.1:9095          # /metrics and /health
  interval_sec: 60
  lookback_sec: 86400
  dashboard_url: http://chaperone.example:8080
  alertmanager: {url: http://127.0.0.1:9093, labels: {env: prod}}
  webhooks: [{url: https://hooks.example/chaperone, secret_file: )" +
                           key + R"(}]
  slack: [{url_file: )" + slack_url +
                           R"(}]
  default_rule: {severity: [{min_messages: 1, severity: warning}, {min_ratio: 0.01, severity: critical}]}
  rules:
    - topic: "logs\\..*"                  # whole-name regex; the first matching rule wins
      loss: {min_messages: 100, min_ratio: 0.001}
      pairs: ["regional>aggregate"]
      mute: [{from: "2026-12-24T00:00:00Z", to: "2026-12-27T00:00:00Z", reason: "migration"}]
    - topic: "tmp\\..*"
      enabled: false
)";
  auto r = ParseDetectConfig(yaml, "cfg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const DetectOptions& o = *r;
  EXPECT_EQ(o.store_url, "postgresql://chaperone:secret@db/chaperone");
  EXPECT_EQ(o.listen, "127.0.0.1:9095");
  EXPECT_EQ(o.interval_sec, 60);
  EXPECT_EQ(o.lookback_sec, 86400);
  EXPECT_EQ(o.dashboard_url, "http://chaperone.example:8080");

  ASSERT_TRUE(o.alertmanager.has_value());
  EXPECT_EQ(o.alertmanager->url, "http://127.0.0.1:9093");
  EXPECT_EQ(o.alertmanager->extra_labels, (std::map<std::string, std::string>{{"env", "prod"}}));
  EXPECT_EQ(o.alertmanager->resend_horizon, std::chrono::minutes(4));

  ASSERT_EQ(o.webhooks.size(), 1u);
  EXPECT_EQ(o.webhooks[0].url, "https://hooks.example/chaperone");
  EXPECT_EQ(o.webhooks[0].secret, "0123456789abcdef-signing");
  ASSERT_EQ(o.slack.size(), 1u);
  EXPECT_EQ(o.slack[0].url, "https://hooks.slack.com/services/T0/B0/XYZ");
  EXPECT_FALSE(o.slack[0].blocks);

  ASSERT_EQ(o.default_rule.severity.size(), 2u);
  EXPECT_EQ(o.default_rule.severity[1].min_messages, 1);
  EXPECT_EQ(o.default_rule.severity[1].min_ratio, 0.01);

  ASSERT_EQ(o.rules.size(), 2u);
  const Rule& logs = o.rules[0];
  EXPECT_EQ(logs.topic_regex, "logs\\..*");
  EXPECT_TRUE(logs.enabled);
  EXPECT_EQ(logs.loss.min_messages, 100);
  EXPECT_EQ(logs.loss.min_ratio, 0.001);
  EXPECT_EQ(logs.duplicate.min_messages, 1);  // unset: the default rule's
  ASSERT_EQ(logs.pairs.size(), 1u);
  EXPECT_EQ(logs.pairs[0].source, "regional");
  EXPECT_EQ(logs.pairs[0].target, "aggregate");
  ASSERT_EQ(logs.mute.size(), 1u);
  EXPECT_EQ(logs.mute[0].from_sec, 1798070400);  // 2026-12-24T00:00:00Z
  EXPECT_EQ(logs.mute[0].to_sec, 1798329600);    // 2026-12-27T00:00:00Z
  EXPECT_EQ(logs.mute[0].reason, "migration");
  EXPECT_EQ(logs.severity.size(), 2u);

  const Rule& tmp = o.rules[1];
  EXPECT_EQ(tmp.topic_regex, "tmp\\..*");
  EXPECT_FALSE(tmp.enabled);
  EXPECT_TRUE(tmp.mute.empty());

  EXPECT_EQ(&o.RuleFor("logs.app"), &o.rules[0]);
  EXPECT_EQ(&o.RuleFor("tmp.scratch"), &o.rules[1]);
  EXPECT_EQ(&o.RuleFor("orders"), &o.default_rule);
}

TEST(DetectConfig, EveryScalarKeyAndReceiverOptionIsRead) {
  const std::string yaml = R"(detect:
  store: sqlite:/data/c.db
  listen: "0.0.0.0:0"
  interval_sec: 2m
  lookback_sec: 7d
  tier_order: "producer,regional,aggregate"
  grace_sec: 30
  stale_emitter_sec: 10m
  lease_sec: 5m
  max_topic_series: 0
  alertmanager:
    url: https://am.example
    resend_horizon_sec: 2m
    timeouts: {connect_ms: 1s, read_ms: 2000, write_ms: 3000}
  webhooks:
    - url: http://hooks.example/a
      secret: "0123456789abcdef"
      headers: {X-Api-Key: k1}
    - url: http://hooks.example/b
  slack:
    - url: https://hooks.slack.com/services/T/B/C
      blocks: true
      username: chaperone
)";
  auto r = ParseDetectConfig(yaml, "cfg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().message();
  const DetectOptions& o = *r;
  EXPECT_EQ(o.listen, "0.0.0.0:0");
  EXPECT_EQ(o.interval_sec, 120);
  EXPECT_EQ(o.lookback_sec, 7 * 86400);
  EXPECT_EQ(o.tier_order, (std::vector<std::string>{"producer", "regional", "aggregate"}));
  EXPECT_EQ(o.finality.grace_sec, 30);
  EXPECT_EQ(o.finality.stale_after_ms, 600'000);
  EXPECT_EQ(o.lease_sec, 300);
  EXPECT_EQ(o.max_topic_series, 0);
  ASSERT_TRUE(o.alertmanager.has_value());
  EXPECT_EQ(o.alertmanager->resend_horizon, std::chrono::minutes(2));
  EXPECT_EQ(o.alertmanager->timeouts.connect, std::chrono::seconds(1));
  EXPECT_EQ(o.alertmanager->timeouts.read, std::chrono::seconds(2));
  EXPECT_EQ(o.alertmanager->timeouts.write, std::chrono::seconds(3));
  ASSERT_EQ(o.webhooks.size(), 2u);
  EXPECT_EQ(o.webhooks[0].secret, "0123456789abcdef");
  EXPECT_EQ(o.webhooks[0].headers.at("X-Api-Key"), "k1");
  EXPECT_EQ(o.webhooks[1].secret, "");
  ASSERT_EQ(o.slack.size(), 1u);
  EXPECT_TRUE(o.slack[0].blocks);
  EXPECT_EQ(o.slack[0].username, "chaperone");
}

// ---- Errors: file:line and the key path ----

TEST(DetectConfig, ABadRegexNamesItsRule) {
  const std::string yaml = "detect:\n  rules:\n    - topic: orders\n    - topic: \"orders(\"\n";
  EXPECT_STARTS_WITH(Error(yaml), At(yaml, "orders(", "detect.rules[1].topic") + "bad regex \"orders(\"");
}

TEST(DetectConfig, AnUnknownKeyAnywhereSuggestsTheNearest) {
  const std::string yaml = R"(detect:
  intervall_sec: 60
  alertmanager: {url: http://am:9093, lables: {a: b}}
  webhooks:
    - url: http://h/x
      secrte: "0123456789abcdef"
  rules:
    - topic: a
      los: {min_messages: 3}
      loss: {min_ration: 0.1}
      severity: [{severity: info, min_mesages: 3}]
      mute: [{from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z", raeson: x}]
)";
  auto lines = Lines(Error(yaml));
  ASSERT_EQ(lines.size(), 7u) << Error(yaml);
  EXPECT_EQ(lines[0], At(yaml, "intervall_sec", "detect.intervall_sec") +
                          "unknown setting (did you mean detect.interval_sec?)");
  EXPECT_EQ(lines[1], At(yaml, "lables", "detect.alertmanager.lables") +
                          "unknown setting (did you mean detect.alertmanager.labels?)");
  EXPECT_EQ(lines[2], At(yaml, "secrte", "detect.webhooks[0].secrte") +
                          "unknown setting (did you mean detect.webhooks[0].secret?)");
  EXPECT_EQ(lines[3], At(yaml, "los:", "detect.rules[0].los") + "unknown setting (did you mean detect.rules[0].loss?)");
  EXPECT_EQ(lines[4], At(yaml, "min_ration", "detect.rules[0].loss.min_ration") +
                          "unknown setting (did you mean detect.rules[0].loss.min_ratio?)");
  EXPECT_EQ(lines[5], At(yaml, "min_mesages", "detect.rules[0].severity[0].min_mesages") +
                          "unknown setting (did you mean detect.rules[0].severity[0].min_messages?)");
  EXPECT_EQ(lines[6], At(yaml, "raeson", "detect.rules[0].mute[0].raeson") +
                          "unknown setting (did you mean detect.rules[0].mute[0].reason?)");
}

TEST(DetectConfig, ARatioAboveOneIsRefused) {
  const std::string yaml = "detect:\n  rules:\n    - topic: a\n      loss:\n        min_ratio: 1.5\n";
  EXPECT_EQ(Error(yaml),
            At(yaml, "min_ratio", "detect.rules[0].loss.min_ratio") + "must be a number from 0 to 1, got \"1.5\"");
  const std::string neg = "detect:\n  default_rule: {duplicate: {min_ratio: -0.1}}\n";
  EXPECT_STARTS_WITH(Error(neg), At(neg, "min_ratio", "detect.default_rule.duplicate.min_ratio"));
  const std::string zero = "detect:\n  default_rule: {loss: {min_messages: 0}}\n";
  EXPECT_STARTS_WITH(Error(zero), At(zero, "min_messages", "detect.default_rule.loss.min_messages") +
                                      "must be an integer from 1 to");
}

TEST(DetectConfig, AnUnknownSeverityWordSuggestsTheNearest) {
  const std::string yaml =
      "detect:\n  rules:\n    - topic: a\n      severity:\n        - {min_messages: 5, severity: critcal}\n";
  EXPECT_EQ(Error(yaml), At(yaml, "critcal", "detect.rules[0].severity[0].severity") +
                             "unknown severity \"critcal\" (did you mean critical?)");
  const std::string far = "detect:\n  default_rule: {severity: [{severity: page-someone}]}\n";
  EXPECT_EQ(Error(far), At(far, "page", "detect.default_rule.severity[0].severity") +
                            "unknown severity \"page-someone\" (info, warning or critical)");
  const std::string missing = "detect:\n  default_rule:\n    severity:\n      - {min_messages: 5}\n";
  EXPECT_EQ(Error(missing), At(missing, "{min_messages", "detect.default_rule.severity[0]") + "severity is required");
}

TEST(DetectConfig, AMuteMustEndAfterItBegins) {
  const std::string yaml = R"(detect:
  rules:
    - topic: a
      mute:
        - from: "2026-12-24T00:00:00Z"
          to: "2026-12-24T00:00:00Z"
)";
  EXPECT_EQ(Error(yaml), At(yaml, "to:", "detect.rules[0].mute[0].to") + "must be after from");
  const std::string half = "detect:\n  default_rule: {mute: [{from: \"2026-12-24T00:00:00Z\"}]}\n";
  EXPECT_EQ(Error(half), At(half, "mute", "detect.default_rule.mute[0]") + "from and to are required");
}

TEST(DetectConfig, AMuteTimeIsRfc3339WithItsZone) {
  for (const char* bad : {"2026-12-24", "2026-12-24T00:00:00", "yesterday", "2026-13-01T00:00:00Z"}) {
    const std::string yaml = "detect:\n  default_rule:\n    mute:\n      - {from: \"" + std::string(bad) +
                             "\", to: \"2027-01-01T00:00:00Z\"}\n";
    EXPECT_EQ(Error(yaml), At(yaml, "from", "detect.default_rule.mute[0].from") +
                               "must be an RFC 3339 time with its zone, e.g. 2026-12-24T00:00:00Z, got \"" + bad +
                               "\"")
        << bad;
  }
  const std::string frac =
      "detect:\n  default_rule: {mute: [{from: \"2026-12-24T00:00:00.5Z\", to: \"2027-01-01T00:00:00Z\"}]}\n";
  EXPECT_STARTS_WITH(Error(frac), At(frac, "from", "detect.default_rule.mute[0].from") + "must be whole seconds");
  // An offset is converted to UTC.
  auto r = ParseDetectConfig(
      "detect:\n  default_rule: {mute: [{from: \"2026-12-24T01:00:00+01:00\", to: \"2026-12-24T01:00:00Z\"}]}\n",
      "cfg.yaml", kStoreFlag);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->default_rule.mute[0].from_sec, 1798070400);
  EXPECT_EQ(r->default_rule.mute[0].to_sec, 1798074000);
}

TEST(DetectConfig, BadUrlsNameTheirKey) {
  const std::string am = "detect:\n  alertmanager:\n    url: ftp://am:9093\n";
  EXPECT_EQ(Error(am), At(am, "url:", "detect.alertmanager.url") +
                           "\"ftp://am:9093\" is not a valid http(s) URL: the scheme must be http:// or https://");
  const std::string port = "detect:\n  webhooks:\n    - url: http://h:99999/x\n";
  EXPECT_EQ(Error(port), At(port, "url:", "detect.webhooks[0].url") +
                             "\"http://h:99999/x\" is not a valid http(s) URL: the port must be a number in 1..65535");
  const std::string none = "detect:\n  alertmanager:\n    labels: {env: prod}\n";
  EXPECT_EQ(Error(none), At(none, "alertmanager:", "detect.alertmanager") + "a URL is required");
  const std::string dash = "detect:\n  dashboard_url: chaperone:8080\n";
  EXPECT_STARTS_WITH(Error(dash), At(dash, "dashboard_url", "detect.dashboard_url") +
                                      "\"chaperone:8080\" is not a valid http(s) URL");
}

TEST(DetectConfig, ASlackUrlIsNeverPrintedBack) {
  test::TempDir dir;
  const std::string yaml =
      "detect:\n  slack:\n    - url: \"https://hooks.slack.com/services/T0/B0/SECRETTOKEN?x#frag\"\n";
  std::string e = Error(yaml);
  EXPECT_EQ(e, At(yaml, "url:", "detect.slack[0].url") +
                   "the URL is not a valid http(s) URL: a #fragment is not allowed");
  EXPECT_EQ(e.find("SECRETTOKEN"), std::string::npos) << e;

  const std::string file = dir.Write("slack.url", "hxxps://hooks.slack.com/services/T0/B0/SECRETTOKEN\n");
  const std::string from_file = "detect:\n  slack:\n    - url_file: " + file + "\n";
  e = Error(from_file);
  EXPECT_STARTS_WITH(e, At(from_file, "url_file", "detect.slack[0].url_file") + "the URL is not a valid http(s) URL");
  EXPECT_EQ(e.find("SECRETTOKEN"), std::string::npos) << e;
  EXPECT_EQ(DetectConfigReference().find("SECRETTOKEN"), std::string::npos);

  const std::string neither = "detect:\n  slack:\n    - {blocks: true}\n";
  EXPECT_EQ(Error(neither), At(neither, "blocks", "detect.slack[0]") + "url or url_file is required");
}

TEST(DetectConfig, AShortWebhookSecretIsRefusedWithoutShowingIt) {
  const std::string yaml = "detect:\n  webhooks:\n    - url: http://h/x\n      secret: tooshort-xyz\n";
  std::string e = Error(yaml);
  EXPECT_EQ(e, At(yaml, "secret:", "detect.webhooks[0].secret") +
                   "the signing secret must be at least 16 bytes (or empty: no signature)");
  EXPECT_EQ(e.find("tooshort-xyz"), std::string::npos);

  test::TempDir dir;
  const std::string key = dir.Write("hook.key", "tooshort-xyz\n");
  const std::string from_file = "detect:\n  webhooks:\n    - url: http://h/x\n      secret_file: " + key + "\n";
  e = Error(from_file);
  EXPECT_STARTS_WITH(e, At(from_file, "secret_file", "detect.webhooks[0].secret_file") + "the signing secret");
  EXPECT_EQ(e.find("tooshort-xyz"), std::string::npos);

  const std::string both = "detect:\n  webhooks:\n    - {url: http://h/x, secret: a, secret_file: " + key + "}\n";
  EXPECT_EQ(Error(both), At(both, "url:", "detect.webhooks[0]") + "give secret or secret_file, not both");
}

TEST(DetectConfig, AMissingOrEmptySecretFileIsNamed) {
  test::TempDir dir;
  const std::string missing =
      "detect:\n  webhooks:\n    - url: http://h/x\n      secret_file: " + dir.File("nope") + "\n";
  EXPECT_EQ(Error(missing), At(missing, "secret_file", "detect.webhooks[0].secret_file") + "cannot read \"" +
                                dir.File("nope") + "\": no such file");
  const std::string empty = dir.Write("empty.key", "   \n0123456789abcdef0123\n");
  const std::string blank = "detect:\n  webhooks:\n    - url: http://h/x\n      secret_file: " + empty + "\n";
  EXPECT_EQ(Error(blank), At(blank, "secret_file", "detect.webhooks[0].secret_file") + "\"" + empty +
                              "\": the first line is empty");
  const std::string directory = "detect:\n  slack:\n    - url_file: " + dir.path() + "\n";
  EXPECT_EQ(Error(directory), At(directory, "url_file", "detect.slack[0].url_file") + "cannot read \"" + dir.path() +
                                  "\": not a regular file");
}

TEST(DetectConfig, DuplicateKeysAreRefusedWithBothLines) {
  const std::string yaml = R"(detect:
  rules:
    - topic: a
    - topic: b
      loss: {min_messages: 1,
             min_messages: 2}
)";
  EXPECT_EQ(Error(yaml), "cfg.yaml:6: detect.rules[1].loss.min_messages: duplicate key (first at line 5)");
  const std::string top = "detect:\n  interval_sec: 60\n  interval_sec: 30\n";
  EXPECT_EQ(Error(top), "cfg.yaml:3: detect.interval_sec: duplicate key (first at line 2)");
}

TEST(DetectConfig, WrongTypesAreNamed) {
  const std::string yaml = R"(detect:
  interval_sec: soon
  rules: {topic: a}
  webhooks: http://h/x
  default_rule:
    loss: 5
    enabled: maybe
    pairs: {a: b}
    severity: warning
    grace_sec: [1]
  alertmanager:
    url: http://am:9093
    labels: [env]
)";
  auto lines = Lines(Error(yaml));
  ASSERT_EQ(lines.size(), 9u) << Error(yaml);
  EXPECT_STARTS_WITH(lines[0], At(yaml, "interval_sec", "detect.interval_sec") + "must be a duration from 1s to 1h");
  EXPECT_EQ(lines[1], At(yaml, "rules", "detect.rules") +
                          "must be a list of maps {topic, enabled, pairs, loss, duplicate, digest_mismatch, "
                          "silent_windows, severity, grace_sec, mute}");
  EXPECT_EQ(lines[2], At(yaml, "webhooks", "detect.webhooks") +
                          "must be a list of maps {url, secret, secret_file, headers, timeouts}");
  EXPECT_EQ(lines[3], At(yaml, "loss", "detect.default_rule.loss") + "must be a map");
  EXPECT_EQ(lines[4], At(yaml, "enabled", "detect.default_rule.enabled") + "must be true or false");
  EXPECT_EQ(lines[5], At(yaml, "pairs", "detect.default_rule.pairs") + "must be a string or a list of strings");
  EXPECT_EQ(lines[6], At(yaml, "severity", "detect.default_rule.severity") +
                          "must be a list of maps {min_messages, min_ratio, severity}");
  EXPECT_STARTS_WITH(lines[7], At(yaml, "grace_sec", "detect.default_rule.grace_sec") + "must be a duration");
  EXPECT_EQ(lines[8], At(yaml, "labels", "detect.alertmanager.labels") + "must be a map of names to strings");

  const std::string item = "detect:\n  rules:\n    - orders\n";
  EXPECT_EQ(Error(item), At(item, "- orders", "detect.rules[0]") +
                             "must be a map of {topic, enabled, pairs, loss, duplicate, digest_mismatch, "
                             "silent_windows, severity, grace_sec, mute}");
  const std::string pair = "detect:\n  default_rule: {pairs: [\"regional-aggregate\"]}\n";
  EXPECT_STARTS_WITH(Error(pair), At(pair, "pairs", "detect.default_rule.pairs") +
                                      "\"regional-aggregate\": want \"source>target\"");
}

TEST(DetectConfig, ErrorsOfEverySettingAreReportedAtOnce) {
  const std::string yaml = R"(detect:
  listen: nohost
  lease_sec: 5
  rules:
    - topic: "("
    - {loss: {min_messages: 3}}
  alertmanager: {url: http://am, resend_horizon_sec: 5, labels: {severity: high}}
)";
  auto lines = Lines(Error(yaml));
  ASSERT_EQ(lines.size(), 5u) << Error(yaml);
  EXPECT_STARTS_WITH(lines[0], At(yaml, "listen", "detect.listen"));
  EXPECT_STARTS_WITH(lines[1], At(yaml, "lease_sec", "detect.lease_sec") + "must be a duration from 10s to 1d");
  EXPECT_STARTS_WITH(lines[2], At(yaml, "\"(\"", "detect.rules[0].topic") + "bad regex");
  EXPECT_EQ(lines[3], At(yaml, "{loss", "detect.rules[1]") + "topic is required (a regex over the topic name)");
  EXPECT_EQ(lines[4], At(yaml, "resend_horizon_sec", "detect.alertmanager.resend_horizon_sec") +
                          "resend horizon 5000 ms is out of range [10 s, 24 h]");
}

TEST(DetectConfig, ReceiverChecksAreTheNotifiersOwnNamedByKey) {
  const std::string labels = "detect:\n  alertmanager:\n    url: http://am\n    labels: {severity: high}\n";
  EXPECT_EQ(Error(labels), At(labels, "labels", "detect.alertmanager.labels") +
                               "extra label \"severity\" is one of the alert's own labels");
  const std::string timeout = "detect:\n  webhooks:\n    - url: http://h/x\n      timeouts:\n        read_ms: 0\n";
  EXPECT_EQ(Error(timeout), At(timeout, "read_ms", "detect.webhooks[0].timeouts.read_ms") +
                                "read timeout: 0 ms is out of range [1, 600000] ms");
  const std::string header = "detect:\n  webhooks:\n    - url: http://h/x\n      headers: {\"Bad Header\": v}\n";
  EXPECT_EQ(Error(header), At(header, "headers", "detect.webhooks[0].headers") +
                               "\"Bad Header\" is not a valid header name");
}

TEST(DetectConfig, TheLeaseOutlivesTheInterval) {
  const std::string yaml = "detect:\n  interval_sec: 5m\n";
  EXPECT_EQ(Error(yaml), At(yaml, "interval_sec", "detect.interval_sec") +
                             "the lease (180 s) must be longer than the interval (300 s): it is renewed once a cycle");
  EXPECT_EQ(Error("detect:\n  interval_sec: 5m\n  lease_sec: 10m\n"), "OK");
}

TEST(DetectConfig, TheDefaultRuleHasNoTopicAndTwoRulesNoSameTopic) {
  const std::string yaml = "detect:\n  default_rule:\n    topic: orders\n";
  EXPECT_EQ(Error(yaml), At(yaml, "topic", "detect.default_rule.topic") +
                             "the default rule is every other topic's: no topic");
  const std::string twice = "detect:\n  rules:\n    - topic: orders\n    - topic: orders\n      enabled: false\n";
  EXPECT_EQ(Error(twice), "cfg.yaml:4: detect.rules[1].topic: the same topic as detect.rules[0], which always wins: "
                          "this rule is never used");
}

// ---- Flags ----

TEST(DetectConfig, FlagsOverrideTheFile) {
  const std::string yaml = R"(store:
  url: sqlite:/data/shared.db
detect:
  interval_sec: 60
  listen: 127.0.0.1:9095
  tier_order: [producer, regional]
  dashboard_url: http://a:8080
)";
  auto r = ParseDetectConfig(yaml, "cfg.yaml",
                             {{"store", "sqlite:/data/flag.db"},
                              {"interval-sec", "30"},
                              {"listen", "127.0.0.1:0"},
                              {"tier-order", "regional,aggregate"},
                              {"dashboard-url", "https://b"},
                              {"grace-sec", "2m"},
                              {"max-topic-series", "10"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->store_url, "sqlite:/data/flag.db");
  EXPECT_EQ(r->interval_sec, 30);
  EXPECT_EQ(r->listen, "127.0.0.1:0");
  EXPECT_EQ(r->tier_order, (std::vector<std::string>{"regional", "aggregate"}));
  EXPECT_EQ(r->dashboard_url, "https://b");
  EXPECT_EQ(r->finality.grace_sec, 120);
  EXPECT_EQ(r->max_topic_series, 10);

  EXPECT_EQ(Error("", {{"store", "sqlite:x.db"}, {"interval-sec", "2h"}}),
            "--interval-sec: must be a duration from 1s to 1h (a number of s, or with a unit: 250ms, 10s, 5m, 2h, 7d), "
            "got \"2h\"");
  EXPECT_EQ(Error("", {{"store", "sqlite:x.db"}, {"rules", "x"}}), "--rules: unknown flag");
}

// ---- Choosing a rule ----

TEST(DetectConfig, RuleForPicksTheFirstRuleMatchingTheWholeName) {
  auto r = ParseDetectConfig(R"(detect:
  rules:
    - topic: order
      silent_windows: 1
    - topic: "orders\\..*"
      silent_windows: 2
    - topic: "orders.*"
      silent_windows: 3
)",
                             "cfg.yaml", kStoreFlag);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const DetectOptions& o = *r;
  EXPECT_EQ(o.RuleFor("order").silent_windows, 1);
  EXPECT_EQ(o.RuleFor("orders.eu").silent_windows, 2);  // rules 2 and 3 match: the first wins
  EXPECT_EQ(o.RuleFor("orders").silent_windows, 3);     // "order" does not match all of "orders"
  EXPECT_EQ(&o.RuleFor("preorder"), &o.default_rule);
  EXPECT_EQ(&o.RuleFor(""), &o.default_rule);

  // A copy matches the same, and a rule added by hand after parsing is matched too.
  DetectOptions copy = o;
  EXPECT_EQ(copy.RuleFor("orders.eu").silent_windows, 2);
  Rule extra;
  extra.topic_regex = "pre.*";
  extra.silent_windows = 9;
  copy.rules.push_back(extra);
  copy.rules[0].topic_regex = "nothing";
  EXPECT_EQ(copy.RuleFor("preorder").silent_windows, 9);
  EXPECT_EQ(copy.RuleFor("order").silent_windows, copy.default_rule.silent_windows);
  DetectOptions by_hand;
  by_hand.rules.push_back(extra);
  EXPECT_EQ(by_hand.RuleFor("preorder").silent_windows, 9);
  EXPECT_EQ(&by_hand.RuleFor("orders"), &by_hand.default_rule);
}

TEST(DetectConfig, ARulesUnsetKeysComeFromTheDefaultRule) {
  auto r = ParseDetectConfig(R"(detect:
  grace_sec: 90
  rules:
    - topic: a
      loss: {min_messages: 10}
      severity: [{min_messages: 1000, severity: critical}]
    - topic: b
      grace_sec: 0
      mute: []
  default_rule:
    enabled: false
    pairs: ["*>aggregate"]
    loss: {min_ratio: 0.5}
    duplicate: {min_messages: 7}
    digest_mismatch: false
    silent_windows: 0
    grace_sec: 30
    mute: [{from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z"}]
)",
                             "cfg.yaml", kStoreFlag);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const DetectOptions& o = *r;
  EXPECT_EQ(o.finality.grace_sec, 90);
  const Rule& a = o.rules[0];
  EXPECT_FALSE(a.enabled);
  ASSERT_EQ(a.pairs.size(), 1u);
  EXPECT_EQ(a.pairs[0].source, "*");
  EXPECT_EQ(a.loss.min_messages, 10);
  EXPECT_EQ(a.loss.min_ratio, 0.5);
  EXPECT_EQ(a.duplicate.min_messages, 7);
  EXPECT_FALSE(a.digest_mismatch);
  EXPECT_EQ(a.silent_windows, 0);
  ASSERT_EQ(a.severity.size(), 1u);  // a list is replaced whole
  EXPECT_EQ(a.severity[0].min_messages, 1000);
  EXPECT_EQ(a.grace_sec, 30);
  ASSERT_EQ(a.mute.size(), 1u);
  EXPECT_EQ(a.mute[0].from_sec, 1767225600);
  const Rule& b = o.rules[1];
  EXPECT_EQ(b.grace_sec, 0);
  EXPECT_TRUE(b.mute.empty());
  EXPECT_EQ(b.severity.size(), 2u);  // the built-in default
  EXPECT_EQ(o.default_rule.grace_sec, 30);
}

// ---- The rules' functions ----

TEST(DetectRule, SeverityIsTheHighestLevelReached) {
  Rule r;
  r.severity = {{100, 0, Severity::kCritical}, {1, 0, Severity::kWarning}, {1, 0.5, Severity::kCritical}};
  EXPECT_EQ(r.SeverityOf(0, 10), Severity::kInfo);
  EXPECT_EQ(r.SeverityOf(1, 10), Severity::kWarning);
  EXPECT_EQ(r.SeverityOf(5, 10), Severity::kCritical);  // ratio 0.5
  EXPECT_EQ(r.SeverityOf(4, 10), Severity::kWarning);
  EXPECT_EQ(r.SeverityOf(100, 1'000'000), Severity::kCritical);  // in any order
  EXPECT_EQ(r.SeverityOf(1, 0), Severity::kCritical);  // a source count of 0 passes any ratio
  r.severity.clear();
  EXPECT_EQ(r.SeverityOf(1'000'000, 1), Severity::kInfo);
}

TEST(DetectRule, AThresholdNeedsBothBounds) {
  Threshold t{10, 0.01};
  EXPECT_FALSE(t.Reached(9, 10));
  EXPECT_FALSE(t.Reached(10, 10'000));
  EXPECT_TRUE(t.Reached(10, 1000));
  EXPECT_TRUE(t.Reached(10, 0));
  EXPECT_TRUE((Threshold{1, 0}).Reached(1, 1'000'000'000));
  EXPECT_TRUE((Threshold{1, 1}).Reached(5, 5));
  EXPECT_FALSE((Threshold{1, 1}).Reached(4, 5));
}

TEST(DetectRule, AMuteCoversWindowsBeginningInItsHalfOpenRange) {
  Rule r;
  EXPECT_FALSE(r.Muted(1000));
  r.mute = {{1000, 2000, "a"}, {5000, 6000, "b"}};
  EXPECT_FALSE(r.Muted(999));
  EXPECT_TRUE(r.Muted(1000));
  EXPECT_TRUE(r.Muted(1999));
  EXPECT_FALSE(r.Muted(2000));
  EXPECT_TRUE(r.Muted(5500));
  EXPECT_FALSE(r.Muted(6000));
}

TEST(DetectRule, PairsMatchTiersExactlyByPrefixOrAny) {
  EXPECT_TRUE((PairSelector{"regional", "aggregate"}).Matches("regional", "aggregate"));
  EXPECT_FALSE((PairSelector{"regional", "aggregate"}).Matches("regional", "aggregate2"));
  EXPECT_FALSE((PairSelector{"regional", "aggregate"}).Matches("aggregate", "regional"));
  EXPECT_TRUE((PairSelector{"*", "aggregate"}).Matches("anything", "aggregate"));
  EXPECT_TRUE((PairSelector{"proxy*", "regional"}).Matches("proxy-eu", "regional"));
  EXPECT_TRUE((PairSelector{"proxy*", "regional"}).Matches("proxy", "regional"));
  EXPECT_FALSE((PairSelector{"proxy*", "regional"}).Matches("aproxy", "regional"));
  EXPECT_TRUE((PairSelector{"*", "*"}).Matches("a", "b"));

  Rule r;
  EXPECT_TRUE(r.Judges("producer", "regional"));  // no pairs: every pair
  r.pairs = {{"regional", "aggregate"}, {"consumer*", "*"}};
  EXPECT_TRUE(r.Judges("regional", "aggregate"));
  EXPECT_TRUE(r.Judges("consumer:billing", "x"));
  EXPECT_FALSE(r.Judges("producer", "regional"));

  auto p = ParseDetectConfig("detect:\n  default_rule: {pairs: [\" proxy* > regional \", \"*>*\"]}\n", "cfg.yaml",
                             kStoreFlag);
  ASSERT_TRUE(p.ok()) << p.status().message();
  ASSERT_EQ(p->default_rule.pairs.size(), 2u);
  EXPECT_EQ(p->default_rule.pairs[0].source, "proxy*");
  EXPECT_EQ(p->default_rule.pairs[0].target, "regional");
  EXPECT_TRUE(p->default_rule.Judges("proxy-1", "regional"));
  for (const char* bad : {"a>b>c", ">b", "a>", "a,b>c"}) {
    const std::string yaml = "detect:\n  default_rule: {pairs: [\"" + std::string(bad) + "\"]}\n";
    EXPECT_NE(Error(yaml).find("want \"source>target\""), std::string::npos) << bad;
  }
}

// ---- The reference ----

TEST(DetectConfig, TheReferenceListsEveryNestedKey) {
  const std::string ref = DetectConfigReference();
  EXPECT_EQ(ref.rfind("<!-- BEGIN GENERATED: detect settings -->\n", 0), 0u);
  EXPECT_TRUE(ref.ends_with("<!-- END GENERATED: detect settings -->\n"));
  for (const char* key : {"`detect.interval_sec` | `--interval-sec`", "`detect.rules` | ", "`detect.alertmanager.url`",
                          "`detect.alertmanager.timeouts.connect_ms`", "`detect.webhooks[].secret_file`",
                          "`detect.slack[].url_file`", "`detect.rules[].loss.min_ratio`",
                          "`detect.rules[].severity[].severity`", "`detect.rules[].mute[].from`"}) {
    EXPECT_NE(ref.find(key), std::string::npos) << key;
  }
  EXPECT_NE(ref.find("Secret: never printed back."), std::string::npos);
  EXPECT_EQ(&DetectSettingsTable(), &DetectSettingsTable());
}

}  // namespace
}  // namespace chaperone::detect
