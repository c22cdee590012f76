// Several detector processes on one PostgreSQL store: each with its own
// connection and lease owner, cycling at the same time on their own threads.
// Only the lease holder judges and notifies, so every alert is told once;
// when the holder stops, another takes over within the lease and tells
// nobody again; its late data resolves the alert, told once too.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "detect/detector.h"
#include "support/audit_scenario.h"
#include "support/detect_alerts.h"
#include "support/pg_server.h"

namespace chaperone::detect {
namespace {

constexpr int64_t kW = 1'795'303'800;

struct Instance {
  std::unique_ptr<store::Store> store;
  std::shared_ptr<test::RecordingNotifier::Log> log = std::make_shared<test::RecordingNotifier::Log>();
  std::unique_ptr<Detector> detector;
};

TEST(DetectOnPostgres, DetectorsSharingAStoreNotifyEachAlertOnceAndTakeOverWhenTheHolderStops) {
  auto url = test::FreshPgDatabase();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  auto writer = store::Store::Open(*url);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  FakeClock clock(kW * 1000);
  test::AuditScenario audit(**writer, clock);
  audit.AddEmitter("p1", "producer");
  audit.AddEmitter("r1", "regional");
  audit.Apply({audit.CountRecord("p1", "orders", kW, 10), audit.CountRecord("r1", "orders", kW, 9),
               audit.CountRecord("p1", "payments", kW, 5), audit.CountRecord("r1", "payments", kW, 7)});
  clock.AdvanceMs(661'000);  // the window's end plus the grace
  audit.HeartbeatAll();

  std::vector<Instance> detectors(3);
  for (size_t i = 0; i < detectors.size(); ++i) {
    auto s = store::Store::Open(*url);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    detectors[i].store = std::move(*s);
    auto o = ParseDetectConfig("store: {url: 'unused'}\n", "test.yaml");
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    std::vector<Receiver> receivers;
    receivers.push_back({"webhook:0", std::make_unique<test::RecordingNotifier>(detectors[i].log)});
    detectors[i].detector = std::make_unique<Detector>(std::move(*o), *detectors[i].store, clock, std::move(receivers),
                                                       "detector-" + std::to_string(i));
  }
  // Every detector cycles as fast as it can, all at once.
  auto race = [&](size_t from, int cycles) {
    std::atomic<int> leaders{0};
    std::vector<std::thread> threads;
    for (size_t i = from; i < detectors.size(); ++i) {
      threads.emplace_back([&, i] {
        for (int c = 0; c < cycles; ++c) {
          auto r = detectors[i].detector->RunCycle();
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          if (r->leader) ++leaders;
        }
      });
    }
    for (auto& t : threads) t.join();
    return leaders.load();
  };
  auto told = [&](const std::string& topic, AlertState state) {
    int n = 0;
    for (auto& d : detectors) {
      for (const Alert& a : d.log->Told()) n += a.topic == topic && a.state == state;
    }
    return n;
  };
  EXPECT_GT(race(0, 10), 0);
  EXPECT_EQ(told("orders", AlertState::kFiring), 1);    // a loss of 1
  EXPECT_EQ(told("payments", AlertState::kFiring), 1);  // 2 duplicated
  auto firing = detectors[0].store->QueryAlerts({.state = "firing"});
  ASSERT_TRUE(firing.ok());
  EXPECT_EQ(firing->size(), 2u);

  // Which one leads? It stops; the others take over once its lease expired.
  size_t holder = 0;
  for (size_t i = 0; i < detectors.size(); ++i) {
    if (!detectors[i].log->Told().empty()) holder = i;
  }
  std::swap(detectors[0], detectors[holder]);
  detectors[0].detector.reset();
  clock.AdvanceMs(181'000);
  audit.HeartbeatAll();
  // The lost message arrives late.
  audit.Count("r1", "orders", kW, 1);
  EXPECT_GT(race(1, 10), 0);
  EXPECT_EQ(told("orders", AlertState::kResolved), 1);
  EXPECT_EQ(told("orders", AlertState::kFiring), 1) << "not told again by the new holder";
  EXPECT_EQ(told("payments", AlertState::kFiring), 1);
  firing = detectors[1].store->QueryAlerts({.state = "firing"});
  ASSERT_TRUE(firing.ok());
  ASSERT_EQ(firing->size(), 1u);
  EXPECT_EQ(firing->front().topic, "payments");
}

}  // namespace
}  // namespace chaperone::detect
