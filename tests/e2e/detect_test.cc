// `chaperone detect`, the real binary, against a real Prometheus Alertmanager:
// a loss of one message in a window that becomes final fires an alert that
// Alertmanager lists with its labels and annotations; the late message
// resolves it. The audit is written to a SQLite store by the store's own merge
// (what the collector runs) from records of the audit library's emitters, on
// the wall clock. Also measures the detection latency: from the moment the
// window becomes final (the heartbeat that makes it so is committed) to the
// alert being listed by Alertmanager.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "store/store.h"
#include "support/alertmanager_server.h"
#include "support/audit_scenario.h"
#include "support/process.h"

namespace chaperone {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using test::Process;
using test::ProcessOptions;

int64_t WallMs() { return SystemClock::Instance().NowMs(); }

TEST(DetectE2e, ALossFiresInAlertmanagerWithinOneIntervalAndResolvesWhenTheLateMessageArrives) {
  START_ALERTMANAGER_OR_SKIP(am);
  test::TempDir tmp("chaperone-detect-e2e");
  const std::string url = "sqlite:" + tmp.File("store.db");
  auto opened = store::Store::Open(url);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  store::Store& store = **opened;

  // The window two windows back: it ended at least ten minutes ago, and is
  // final once every emitter's heartbeat says so.
  FakeClock clock(WallMs());
  const int64_t window = (WallMs() / 1000 / 600) * 600 - 1200;
  test::AuditScenario audit(store, clock);
  audit.AddEmitter("p1", "producer");
  audit.AddEmitter("r1", "regional");
  audit.Apply({audit.CountRecord("p1", "orders", window, 100), audit.CountRecord("r1", "orders", window, 99),
               audit.HeartbeatRecord("p1", window * 1000 + 10'000), audit.HeartbeatRecord("r1", window * 1000 + 10'000)});

  const int64_t interval_ms = 1000;
  const std::string config = tmp.Write("chaperone.yaml", "store: {url: '" + url + "'}\n" +
                                                             "detect:\n"
                                                             "  listen: 127.0.0.1:0\n"
                                                             "  interval_sec: 1\n"
                                                             "  dashboard_url: http://dashboard.example:8080\n"
                                                             "  alertmanager: {url: '" + (*am)->Url() + "'}\n");
  ProcessOptions o;
  o.stderr_mode = ProcessOptions::Stream::kPipe;
  auto detect = Process::Start({CHAPERONE_BIN, "detect", "--config", config}, o);
  ASSERT_TRUE(detect.ok()) << detect.status().ToString();
  auto banner = (*detect)->ReadLine(milliseconds(30'000));
  ASSERT_TRUE(banner.ok()) << banner.status().ToString();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(*banner, m, std::regex(R"(serving (http://127\.0\.0\.1:(\d+))/metrics)"))) << *banner;
  const int port = std::stoi(m[2]);
  httplib::Client metrics("127.0.0.1", port);
  auto cycles = [&] {
    auto r = metrics.Get("/metrics");
    std::smatch c;
    std::string body = r ? r->body : "";
    return std::regex_search(body, c, std::regex(R"(\nchaperone_detect_cycles_total (\d+))")) ? std::stoll(c[1]) : -1LL;
  };
  // Cycles run; the window is not final yet, so nothing fires.
  ASSERT_TRUE(test::WaitFor([&] { return cycles() >= 2; }, milliseconds(30'000))) << "no cycle ran";
  EXPECT_TRUE((*am)->FindActive("orders").is_null());

  // The heartbeats that make the window final.
  clock.SetMs(WallMs());
  const int64_t final_ms = WallMs();
  audit.HeartbeatAll();
  json listed;
  ASSERT_TRUE(test::WaitFor([&] { return !(listed = (*am)->FindActive("orders")).is_null(); }, milliseconds(30'000)))
      << "the loss never reached Alertmanager\n" << (*am)->Log();
  const int64_t latency_ms = WallMs() - final_ms;
  std::printf("detection latency: %lld ms from the window becoming final to the alert listed by Alertmanager "
              "(interval %lld ms)\n",
              static_cast<long long>(latency_ms), static_cast<long long>(interval_ms));
  RecordProperty("detection_latency_ms", std::to_string(latency_ms));
  const json& labels = listed["labels"];
  EXPECT_EQ(labels["alertname"], "ChaperoneLoss") << listed.dump();
  EXPECT_EQ(labels["source_tier"], "producer");
  EXPECT_EQ(labels["target_tier"], "regional");
  EXPECT_EQ(labels["kind"], "loss");
  EXPECT_EQ(labels["severity"], "critical");  // 1 % of the window
  EXPECT_EQ(listed["annotations"]["messages_lost"], "1") << listed.dump();
  EXPECT_EQ(listed["annotations"]["windows_affected"], "1");
  EXPECT_NE(listed.value("generatorURL", "").find("http://dashboard.example:8080/#/topic/orders?"), std::string::npos)
      << listed.dump();

  // The stored alert is firing; then the late message arrives and it resolves.
  auto firing = store.QueryAlerts({.state = "firing"});
  ASSERT_TRUE(firing.ok());
  ASSERT_EQ(firing->size(), 1u);
  clock.SetMs(WallMs());
  audit.Count("r1", "orders", window, 1);
  EXPECT_TRUE(test::WaitFor([&] { return (*am)->ActiveAlerts().is_array() && (*am)->FindActive("orders").is_null(); },
                            milliseconds(30'000)))
      << "the resolved alert is still active: " << (*am)->ActiveAlerts().dump();
  auto resolved = store.QueryAlerts({.state = "resolved"});
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(resolved->size(), 1u);
  EXPECT_EQ((*resolved)[0].lost, 1);

  // /health and a clean stop.
  auto health = metrics.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  ASSERT_TRUE((*detect)->Signal(SIGTERM).ok());
  auto exit = (*detect)->Wait(milliseconds(30'000));
  ASSERT_TRUE(exit.ok());
  EXPECT_EQ(*exit, 0);
}

}  // namespace
}  // namespace chaperone
