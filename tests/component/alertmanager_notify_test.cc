// The Alertmanager notifier (src/detect) against a real Prometheus
// Alertmanager (Debian prometheus-alertmanager, tests/support/alertmanager_server.h):
// a firing alert is visible in GET /api/v2/alerts with its labels and
// annotations, and a resolved one (endsAt) is no longer active.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "detect/notifier.h"
#include "support/alertmanager_server.h"
#include "support/detect_alerts.h"
#include "support/process.h"

namespace chaperone::detect {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// The sample loss alert, fired a minute ago (Alertmanager judges activity by its own clock).
Alert LossAlert(int64_t now_ms) {
  Alert a = test::SampleLossAlert();
  a.starts_at_ms = now_ms - 60'000;
  return a;
}

TEST(AlertmanagerNotifier, FiringAlertIsListedWithItsLabelsAndResolvedAlertIsNoLongerActive) {
  START_ALERTMANAGER_OR_SKIP(am);
  auto notifier = MakeAlertmanagerNotifier({.url = (*am)->Url(), .extra_labels = {{"env", "test"}}});
  ASSERT_TRUE(notifier.ok()) << notifier.status().ToString();

  Alert alert = LossAlert(SystemClock::Instance().NowMs());
  Status sent = (*notifier)->Deliver({&alert, 1});
  ASSERT_TRUE(sent.ok()) << sent.ToString() << "\n" << (*am)->Log();

  json listed;
  ASSERT_TRUE(test::WaitFor([&] { return !(listed = (*am)->FindActive("orders")).is_null(); },
                            milliseconds(30'000)))
      << "the firing alert never appeared in GET /api/v2/alerts\n"
      << (*am)->Log();
  const json& labels = listed["labels"];
  EXPECT_EQ(labels["alertname"], "ChaperoneLoss") << listed.dump();
  EXPECT_EQ(labels["topic"], "orders");
  EXPECT_EQ(labels["source_tier"], "producer");
  EXPECT_EQ(labels["target_tier"], "regional");
  EXPECT_EQ(labels["kind"], "loss");
  EXPECT_EQ(labels["severity"], "critical");
  EXPECT_EQ(labels["datacenter"], "dc1");
  EXPECT_EQ(labels["env"], "test");
  const json& annotations = listed["annotations"];
  EXPECT_EQ(annotations["summary"], alert.Summary()) << listed.dump();
  EXPECT_NE(annotations.value("description", "").find("42 messages lost"), std::string::npos) << listed.dump();
  EXPECT_EQ(annotations["fingerprint"], alert.Fingerprint());
  EXPECT_EQ(annotations["messages_lost"], "42");
  EXPECT_EQ(annotations["windows_affected"], "3");
  EXPECT_EQ(listed["generatorURL"], alert.dashboard_url);
  EXPECT_EQ(listed["startsAt"], FormatRfc3339(alert.starts_at_ms));
  EXPECT_EQ(listed["status"]["state"], "active") << listed.dump();

  // Resolve it: Alertmanager keeps it (for notifications of the resolve) but no longer lists it.
  alert.state = AlertState::kResolved;
  alert.ends_at_ms = SystemClock::Instance().NowMs();
  sent = (*notifier)->Deliver({&alert, 1});
  ASSERT_TRUE(sent.ok()) << sent.ToString();
  EXPECT_TRUE(test::WaitFor(
      [&] {
        json all = (*am)->ActiveAlerts();
        return all.is_array() && (*am)->FindActive("orders").is_null();
      },
      milliseconds(30'000)))
      << "the resolved alert is still listed: " << (*am)->ActiveAlerts().dump() << "\n"
      << (*am)->Log();
}

// Alertmanager refuses an alert whose end is before its start ("start time
// must be before end time"); a resolved alert whose clocks disagree that way
// (the end taken on another host) is still delivered: its start is clamped.
TEST(AlertmanagerNotifier, ResolvedAlertEndingBeforeItsStartIsStillAccepted) {
  START_ALERTMANAGER_OR_SKIP(am);
  auto notifier = MakeAlertmanagerNotifier({.url = (*am)->Url()});
  ASSERT_TRUE(notifier.ok()) << notifier.status().ToString();
  Alert alert = LossAlert(SystemClock::Instance().NowMs());
  alert.state = AlertState::kResolved;
  alert.ends_at_ms = alert.starts_at_ms - 5'000;
  Status sent = (*notifier)->Deliver({&alert, 1});
  EXPECT_TRUE(sent.ok()) << sent.ToString() << "\n" << (*am)->Log();
}

// A URL that reaches Alertmanager but not its API (a wrong path prefix) is a
// 404: refused at once (InvalidArgument), not retried into the outbox forever.
TEST(AlertmanagerNotifier, WrongPathPrefixIsRefusedWithoutRetry) {
  START_ALERTMANAGER_OR_SKIP(am);
  int waits = 0;
  auto notifier = MakeAlertmanagerNotifier({.url = (*am)->Url() + "/no-such-prefix"},
                                           {.wait = [&](milliseconds) { ++waits; }});
  ASSERT_TRUE(notifier.ok()) << notifier.status().ToString();
  Status sent = test::DeliverSample(**notifier);
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.code(), Status::Code::kInvalidArgument) << sent.ToString();
  EXPECT_NE(sent.message().find("HTTP 404"), std::string::npos) << sent.ToString();
  EXPECT_NE(sent.message().find("/no-such-prefix/api/v2/alerts"), std::string::npos) << sent.ToString();
  EXPECT_EQ(waits, 0);
}

}  // namespace
}  // namespace chaperone::detect
