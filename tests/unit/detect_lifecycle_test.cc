// The alert lifecycle: findings become alert figures under the rules
// (thresholds, mutes, pairs, silent runs), and alerts open, update and
// resolve against what is stored, telling the receivers only what matters.
#include <gtest/gtest.h>

#include "detect/lifecycle.h"

namespace chaperone::detect {
namespace {

using analysis::Verdict;

constexpr int64_t kW = 1'795'303'800;  // a window start (multiple of 600)

DetectOptions Options(const std::string& detect_yaml = "") {
  auto o = ParseDetectConfig("store: {url: 'sqlite::memory:'}\n" + detect_yaml, "test.yaml");
  EXPECT_TRUE(o.ok()) << o.status().ToString();
  return o.ok() ? *o : DetectOptions{};
}

Finding Window(const std::string& topic, int64_t begin, int64_t source, int64_t target, Verdict v,
               const std::string& source_tier = "producer", const std::string& target_tier = "regional") {
  Finding f{topic, source_tier, target_tier, {}};
  f.window.window_begin_sec = begin;
  f.window.window_end_sec = begin + 600;
  f.window.source_count = source;
  f.window.target_count = target;
  f.window.lost = std::max<int64_t>(0, source - target);
  f.window.duplicated = std::max<int64_t>(0, target - source);
  f.window.verdict = v;
  return f;
}

AlertKey Key(const std::string& topic, AlertKind kind) { return AlertKey{topic, "producer", "regional", kind}; }

TEST(DetectSummarize, OneLostMessageIsAnAlertByDefault) {
  Found f = Summarize({Window("orders", kW, 100, 99, Verdict::kLoss), Window("orders", kW + 1200, 50, 47, Verdict::kLoss)},
                      Options());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.at(Key("orders", AlertKind::kLoss)),
            (Figures{.lost = 4, .duplicated = 0, .windows = 2, .source_messages = 150, .first_window_sec = kW,
                     .last_window_sec = kW + 1200}));
}

TEST(DetectSummarize, UnknownAndPendingWindowsNeverCount) {
  EXPECT_TRUE(Summarize({Window("orders", kW, 100, 0, Verdict::kUnknown), Window("orders", kW + 600, 100, 0, Verdict::kPending)},
                        Options())
                  .empty());
}

TEST(DetectSummarize, ThresholdsAbsoluteAndRelativeBothHaveToBeReached) {
  DetectOptions o = Options(R"(detect:
  rules:
    - topic: "logs\\..*"
      loss: {min_messages: 10, min_ratio: 0.01}
      duplicate: {min_messages: 5}
)");
  Found f = Summarize({Window("logs.app", kW, 100, 91, Verdict::kLoss),          // 9 < 10
                       Window("logs.app", kW + 600, 10'000, 9'980, Verdict::kLoss),  // 20 but 0.2 % < 1 %
                       Window("logs.app", kW + 1200, 1'000, 980, Verdict::kLoss),    // 20 and 2 %: counts
                       Window("logs.app", kW + 1800, 100, 104, Verdict::kDuplicate),  // 4 < 5
                       Window("orders", kW, 100, 99, Verdict::kLoss)},               // default rule: 1 counts
                      o);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f.at(Key("logs.app", AlertKind::kLoss)).lost, 20);
  EXPECT_EQ(f.at(Key("logs.app", AlertKind::kLoss)).windows, 1);
  EXPECT_EQ(f.at(Key("orders", AlertKind::kLoss)).lost, 1);
}

TEST(DetectSummarize, MutedWindowsDisabledRulesAndUnjudgedPairsRaiseNothing) {
  DetectOptions o = Options(R"(detect:
  rules:
    - topic: "tmp\\..*"
      enabled: false
    - topic: "orders"
      pairs: ["regional>aggregate"]
    - topic: "payments"
      mute: [{from: "2026-11-21T23:00:00Z", to: "2026-11-21T23:40:00Z", reason: "maintenance"}]
)");
  // kW is 2026-11-21T23:30:00Z: muted for payments; kW + 600 is not.
  Found f = Summarize({Window("orders", kW, 100, 90, Verdict::kLoss),
                       Window("orders", kW, 90, 80, Verdict::kLoss, "regional", "aggregate"),
                       Window("payments", kW, 10, 9, Verdict::kLoss), Window("payments", kW + 600, 10, 8, Verdict::kLoss),
                       Window("tmp.x", kW, 10, 0, Verdict::kLoss)},
                      o);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f.at(AlertKey{"orders", "regional", "aggregate", AlertKind::kLoss}).lost, 10);
  EXPECT_EQ(f.at(Key("payments", AlertKind::kLoss)).lost, 2);
  EXPECT_EQ(f.at(Key("payments", AlertKind::kLoss)).first_window_sec, kW + 600);
}

TEST(DetectSummarize, ARunOfWindowsWithNothingOnOneSideIsSilentAShortOneIsLoss) {
  std::vector<Finding> findings;
  for (int i = 0; i < 3; ++i) findings.push_back(Window("orders", kW + 600 * i, 100, 0, Verdict::kLoss));
  findings.push_back(Window("orders", kW + 3000, 100, 0, Verdict::kLoss));  // not adjacent: a run of 1
  for (int i = 0; i < 2; ++i) findings.push_back(Window("payments", kW + 600 * i, 0, 10, Verdict::kDuplicate));
  Found f = Summarize(findings, Options());
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f.at(Key("orders", AlertKind::kSilent)).windows, 3);
  EXPECT_EQ(f.at(Key("orders", AlertKind::kSilent)).lost, 300);
  EXPECT_EQ(f.at(Key("orders", AlertKind::kLoss)).windows, 1);
  EXPECT_EQ(f.at(Key("payments", AlertKind::kDuplicate)).duplicated, 20);
  // silent_windows 0: never silent.
  Found never = Summarize(findings, Options("detect: {default_rule: {silent_windows: 0}}\n"));
  EXPECT_EQ(never.count(Key("orders", AlertKind::kSilent)), 0u);
  EXPECT_EQ(never.at(Key("orders", AlertKind::kLoss)).windows, 4);
}

TEST(DetectSummarize, DigestMismatchesCountUnlessTheRuleSaysNo) {
  std::vector<Finding> findings = {Window("orders", kW, 100, 100, Verdict::kDigestMismatch)};
  EXPECT_EQ(Summarize(findings, Options()).at(Key("orders", AlertKind::kDigestMismatch)).windows, 1);
  EXPECT_TRUE(Summarize(findings, Options("detect: {default_rule: {digest_mismatch: false}}\n")).empty());
}

class DetectAdvance : public ::testing::Test {
 protected:
  const std::vector<std::string> receivers_ = {"alertmanager", "webhook:0"};
  DetectOptions opts_ = Options();
  Found Loss(int64_t lost, int64_t source = 1000) {
    return {{Key("orders", AlertKind::kLoss), Figures{.lost = lost, .windows = 1, .source_messages = source,
                                                       .first_window_sec = kW, .last_window_sec = kW}}};
  }
};

TEST_F(DetectAdvance, AnAlertOpensUpdatesQuietlyChangesSeverityAndResolves) {
  auto opened = Advance({}, Loss(3), opts_, receivers_, 1000);
  ASSERT_EQ(opened.size(), 1u);
  store::AlertRow a = opened[0].alert;
  EXPECT_EQ(opened[0].notify, receivers_);
  EXPECT_EQ(a.id, 0);
  EXPECT_EQ(a.fingerprint, FingerprintOf(Key("orders", AlertKind::kLoss)));
  EXPECT_EQ(a.state, "firing");
  EXPECT_EQ(a.kind, "loss");
  EXPECT_EQ(a.severity, "warning");  // 3 of 1000: under 1 %
  EXPECT_EQ(a.starts_ms, 1000);
  EXPECT_EQ(a.lost, 3);
  a.id = 7;  // as stored

  // The same figures: nothing to change.
  EXPECT_TRUE(Advance({a}, Loss(3), opts_, receivers_, 2000).empty());
  // More lost, same severity: updated, nobody told.
  auto more = Advance({a}, Loss(5), opts_, receivers_, 3000);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_TRUE(more[0].notify.empty());
  EXPECT_EQ(more[0].alert.id, 7);
  EXPECT_EQ(more[0].alert.lost, 5);
  EXPECT_EQ(more[0].alert.updated_ms, 3000);
  EXPECT_EQ(more[0].alert.starts_ms, 1000);
  // Over 1 %: critical, and everyone is told.
  auto worse = Advance({more[0].alert}, Loss(20), opts_, receivers_, 4000);
  ASSERT_EQ(worse.size(), 1u);
  EXPECT_EQ(worse[0].alert.severity, "critical");
  EXPECT_EQ(worse[0].notify, receivers_);
  // Late data closed the gap: resolved, and everyone is told.
  auto resolved = Advance({worse[0].alert}, {}, opts_, receivers_, 5000);
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].alert.state, "resolved");
  EXPECT_EQ(resolved[0].alert.ends_ms, 5000);
  EXPECT_EQ(resolved[0].alert.lost, 20);  // the figures it had
  EXPECT_EQ(resolved[0].notify, receivers_);
}

TEST_F(DetectAdvance, OtherIdentitiesAreIndependent) {
  store::AlertRow dup = Advance({}, {{Key("orders", AlertKind::kDuplicate), Figures{.duplicated = 1, .windows = 1}}},
                                opts_, receivers_, 1000)[0].alert;
  dup.id = 1;
  auto changes = Advance({dup}, Loss(3), opts_, receivers_, 2000);
  ASSERT_EQ(changes.size(), 2u);  // loss opens, the duplicate resolves
  EXPECT_EQ(changes[0].alert.kind, "loss");
  EXPECT_EQ(changes[0].alert.id, 0);
  EXPECT_EQ(changes[1].alert.kind, "duplicate");
  EXPECT_EQ(changes[1].alert.state, "resolved");
}

TEST(DetectToAlert, TheDashboardLinkOpensTheTopicAtTheFirstWindow) {
  store::AlertRow r{.topic = "orders v2/é", .source_tier = "producer", .target_tier = "regional", .kind = "silent",
                    .state = "resolved", .severity = "critical", .starts_ms = 1, .ends_ms = 2, .lost = 5,
                    .windows = 1, .first_window_sec = kW, .last_window_sec = kW};
  Alert a = ToAlert(r, "http://dash.example:8080/");
  EXPECT_EQ(a.dashboard_url, "http://dash.example:8080/#/topic/orders%20v2%2F%C3%A9?range=24h&w=" + std::to_string(kW) +
                                 "&pt=regional");
  EXPECT_EQ(a.kind, AlertKind::kSilent);
  EXPECT_EQ(a.state, AlertState::kResolved);
  EXPECT_EQ(a.severity, Severity::kCritical);
  EXPECT_EQ(a.messages_lost, 5);
  EXPECT_TRUE(ToAlert(r, "").dashboard_url.empty());
}

}  // namespace
}  // namespace chaperone::detect
