// `chaperone detect`, the real binary, against a real Prometheus Alertmanager:
// a loss of one message in a window that becomes final fires an alert that
// Alertmanager lists with its labels and annotations (and a webhook
// receives); the late message resolves it. The audit is written to a SQLite store by the store's own merge
// (what the collector runs) from records of the audit library's emitters, on
// the wall clock. Also measures the detection latency: from the moment the
// window becomes final (the heartbeat that makes it so is committed) to the
// webhook receiving the alert, over three windows.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>
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

  // A webhook receiver that notes when each alert arrives.
  httplib::Server hook;
  std::mutex mu;
  std::map<std::string, int64_t> arrived_ms;  // topic -> when its firing alert arrived
  hook.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    const int64_t at = WallMs();
    json body = json::parse(req.body, nullptr, false);
    std::lock_guard lock(mu);
    if (body.is_object() && body["alerts"].is_array()) {
      for (const json& a : body["alerts"]) {
        if (a.value("status", "") == "firing") arrived_ms.emplace(a.value("topic", ""), at);
      }
    }
    res.status = 204;
  });
  const int hook_port = hook.bind_to_any_port("127.0.0.1");
  ASSERT_GT(hook_port, 0);
  std::thread hook_thread([&] { hook.listen_after_bind(); });
  struct StopHook {
    httplib::Server& s;
    std::thread& t;
    ~StopHook() {
      s.stop();
      t.join();
    }
  } stop_hook{hook, hook_thread};

  // Three windows that ended long ago, one lost message each (topics t0, t1,
  // t2); none is final yet: the emitters' heartbeats are behind them. Each
  // round then makes one window final, and the time until its alert arrives
  // is the detection latency.
  FakeClock clock(WallMs());
  const int64_t first = (WallMs() / 1000 / 600) * 600 - 3000;
  test::AuditScenario audit(store, clock);
  audit.AddEmitter("p1", "producer");
  audit.AddEmitter("r1", "regional");
  for (int k = 0; k < 3; ++k) {
    const std::string topic = "t" + std::to_string(k);
    audit.Apply({audit.CountRecord("p1", topic, first + 600 * k, 100), audit.CountRecord("r1", topic, first + 600 * k, 99)});
  }
  audit.Apply({audit.HeartbeatRecord("p1", first * 1000), audit.HeartbeatRecord("r1", first * 1000)});

  const int64_t interval_ms = 1000;
  const std::string config = tmp.Write("chaperone.yaml", "store: {url: '" + url + "'}\n" +
                                                             "detect:\n"
                                                             "  listen: 127.0.0.1:0\n"
                                                             "  interval_sec: 1\n"
                                                             "  dashboard_url: http://dashboard.example:8080\n"
                                                             "  alertmanager: {url: '" + (*am)->Url() + "'}\n" +
                                                             "  webhooks: [{url: 'http://127.0.0.1:" +
                                                             std::to_string(hook_port) + "/hook'}]\n");
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
  // Cycles run; no window is final yet, so nothing fires.
  ASSERT_TRUE(test::WaitFor([&] { return cycles() >= 2; }, milliseconds(30'000))) << "no cycle ran";
  EXPECT_TRUE((*am)->FindActive("t0").is_null());

  int64_t worst_ms = 0;
  for (int k = 0; k < 3; ++k) {
    const std::string topic = "t" + std::to_string(k);
    // The heartbeats that make window k final (its end plus the grace, 60 s).
    const int64_t watermark = (first + 600 * k + 600 + 61) * 1000;
    clock.SetMs(WallMs());
    const int64_t final_ms = WallMs();
    audit.Apply({audit.HeartbeatRecord("p1", watermark), audit.HeartbeatRecord("r1", watermark)});
    ASSERT_TRUE(test::WaitFor(
        [&] {
          std::lock_guard lock(mu);
          return arrived_ms.count(topic) > 0;
        },
        milliseconds(30'000)))
        << "the loss of " << topic << " was never delivered";
    std::lock_guard lock(mu);
    const int64_t latency_ms = arrived_ms[topic] - final_ms;
    worst_ms = std::max(worst_ms, latency_ms);
    std::printf("detection latency %s: %lld ms from the window becoming final to the webhook receiving the alert "
                "(interval %lld ms)\n",
                topic.c_str(), static_cast<long long>(latency_ms), static_cast<long long>(interval_ms));
    EXPECT_EQ(arrived_ms.size(), static_cast<size_t>(k + 1)) << "only the final window's alert";
  }
  RecordProperty("detection_latency_worst_ms", std::to_string(worst_ms));

  json listed;
  ASSERT_TRUE(test::WaitFor([&] { return !(listed = (*am)->FindActive("t0")).is_null(); }, milliseconds(30'000)))
      << "the loss never reached Alertmanager\n" << (*am)->Log();
  const json& labels = listed["labels"];
  EXPECT_EQ(labels["alertname"], "ChaperoneLoss") << listed.dump();
  EXPECT_EQ(labels["source_tier"], "producer");
  EXPECT_EQ(labels["target_tier"], "regional");
  EXPECT_EQ(labels["kind"], "loss");
  EXPECT_EQ(labels["severity"], "critical");  // 1 % of the window
  EXPECT_EQ(listed["annotations"]["messages_lost"], "1") << listed.dump();
  EXPECT_EQ(listed["annotations"]["windows_affected"], "1");
  EXPECT_NE(listed.value("generatorURL", "").find("http://dashboard.example:8080/#/topic/t0?"), std::string::npos)
      << listed.dump();

  // The stored alert is firing; then the late message arrives and it resolves.
  auto firing = store.QueryAlerts({.state = "firing"});
  ASSERT_TRUE(firing.ok());
  ASSERT_EQ(firing->size(), 3u);
  clock.SetMs(WallMs());
  audit.Count("r1", "t0", first, 1);
  EXPECT_TRUE(test::WaitFor([&] { return (*am)->ActiveAlerts().is_array() && (*am)->FindActive("t0").is_null(); },
                            milliseconds(30'000)))
      << "the resolved alert is still active: " << (*am)->ActiveAlerts().dump();
  auto resolved = store.QueryAlerts({.state = "resolved"});
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(resolved->size(), 1u);
  EXPECT_EQ((*resolved)[0].topic, "t0");
  EXPECT_EQ((*resolved)[0].lost, 1);
  EXPECT_FALSE((*am)->FindActive("t1").is_null()) << "the others still fire";

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
