// The loss detector's false-positive suite: scripted audits (the audit
// library's emitters, merged by the real store) judged by the real detector
// cycle, on a fake clock. What the audit scripts lose is known; the detector
// must find exactly that: every real loss of one message, and no alert for
// late data within grace, windows arriving out of order, an emitter killed
// and restarted, a stale emitter, a duplicated audit record, legacy records
// without heartbeats, a quiet topic, sequence gaps or dropped audit records.
#include <gtest/gtest.h>

#include <memory>

#include "detect/detector.h"
#include "support/audit_scenario.h"
#include "support/detect_alerts.h"

namespace chaperone::detect {
namespace {

constexpr int64_t kW = 1'795'303'800;  // a window start (multiple of 600)
constexpr int64_t kWindowMs = 600'000;

using Recorder = test::RecordingNotifier;

class DetectScenario : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.SetMs(kW * 1000);
    auto s = store::Store::Open("sqlite::memory:");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    audit_ = std::make_unique<test::AuditScenario>(*store_, clock_);
    detector_ = MakeDetector("a", log_);
  }

  std::unique_ptr<Detector> MakeDetector(const std::string& owner, std::shared_ptr<Recorder::Log> log,
                                         const std::string& detect_yaml = "") {
    auto o = ParseDetectConfig("store: {url: 'sqlite::memory:'}\n" + detect_yaml, "test.yaml");
    EXPECT_TRUE(o.ok()) << o.status().ToString();
    std::vector<Receiver> receivers;
    receivers.push_back({"webhook:0", std::make_unique<Recorder>(std::move(log))});
    return std::make_unique<Detector>(std::move(*o), *store_, clock_, std::move(receivers), owner);
  }

  // Moves the clock to `ms` (forward only).
  void At(int64_t ms) {
    ASSERT_GE(ms, clock_.NowMs());
    clock_.AdvanceMs(ms - clock_.NowMs());
  }
  // The moment window `begin` is final for every live emitter: its end plus
  // the grace, with a heartbeat of each.
  void Finalize(int64_t begin) {
    At((begin * 1000) + kWindowMs + 61'000);
    audit_->HeartbeatAll();
  }
  CycleReport Cycle(Detector& d) {
    auto r = d.RunCycle();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CycleReport{};
  }
  CycleReport Cycle() { return Cycle(*detector_); }
  std::vector<store::AlertRow> Firing() {
    auto r = store_->QueryAlerts({.state = "firing"});
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : std::vector<store::AlertRow>{};
  }

  // A healthy pipeline: producer (two processes) → regional (dc1, dc2) → aggregate.
  void Pipeline() {
    audit_->AddEmitter("p1", "producer", "dc1");
    audit_->AddEmitter("p2", "producer", "dc2");
    audit_->AddEmitter("r1", "regional", "dc1");
    audit_->AddEmitter("r2", "regional", "dc2");
    audit_->AddEmitter("agg", "aggregate", "agg");
  }
  // `n` messages per datacenter of `topic` in window `begin` at every tier.
  void Flow(const std::string& topic, int64_t begin, int64_t n) {
    audit_->Apply({audit_->CountRecord("p1", topic, begin, n), audit_->CountRecord("p2", topic, begin, n),
                   audit_->CountRecord("r1", topic, begin, n), audit_->CountRecord("r2", topic, begin, n),
                   audit_->CountRecord("agg", topic, begin, 2 * n)});
  }

  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<test::AuditScenario> audit_;
  std::shared_ptr<Recorder::Log> log_ = std::make_shared<Recorder::Log>();
  std::unique_ptr<Detector> detector_;
};

TEST_F(DetectScenario, AHealthyPipelineRaisesNothing) {
  Pipeline();
  for (int i = 0; i < 6; ++i) Flow("orders", kW + 600 * i, 1000);
  Finalize(kW + 3000);
  CycleReport r = Cycle();
  EXPECT_TRUE(r.leader);
  EXPECT_EQ(r.topics, 1);
  EXPECT_EQ(r.by_verdict[static_cast<size_t>(analysis::Verdict::kOk)], 12);  // 6 windows x 2 pairs
  EXPECT_EQ(r.firing, 0);
  EXPECT_TRUE(log_->told.empty());
}

TEST_F(DetectScenario, EveryLossOfOneMessageIsFoundAtItsPairAndResolvesWhenLateDataArrives) {
  Pipeline();
  for (int i = 0; i < 3; ++i) Flow("orders", kW + 600 * i, 1000);
  // payments: one message lost between producer and regional in dc2 (the
  // aggregate then matches the regional sum); clicks: one lost between the
  // regional tier and the aggregate.
  audit_->Apply({audit_->CountRecord("p1", "payments", kW, 10), audit_->CountRecord("p2", "payments", kW, 10),
                 audit_->CountRecord("r1", "payments", kW, 10), audit_->CountRecord("r2", "payments", kW, 9),
                 audit_->CountRecord("agg", "payments", kW, 19)});
  audit_->Apply({audit_->CountRecord("p1", "clicks", kW + 600, 500), audit_->CountRecord("p2", "clicks", kW + 600, 500),
                 audit_->CountRecord("r1", "clicks", kW + 600, 500), audit_->CountRecord("r2", "clicks", kW + 600, 500),
                 audit_->CountRecord("agg", "clicks", kW + 600, 999)});
  Finalize(kW + 1200);
  CycleReport r = Cycle();
  EXPECT_EQ(r.opened, 2);
  auto firing = Firing();
  ASSERT_EQ(firing.size(), 2u);
  std::map<std::string, store::AlertRow> by_topic;
  for (const auto& a : firing) by_topic[a.topic] = a;
  EXPECT_EQ(by_topic["payments"].source_tier, "producer");
  EXPECT_EQ(by_topic["payments"].target_tier, "regional");
  EXPECT_EQ(by_topic["payments"].lost, 1);
  EXPECT_EQ(by_topic["payments"].first_window_sec, kW);
  EXPECT_EQ(by_topic["clicks"].source_tier, "regional");
  EXPECT_EQ(by_topic["clicks"].target_tier, "aggregate");
  EXPECT_EQ(by_topic["clicks"].lost, 1);
  EXPECT_EQ(by_topic["clicks"].kind, "loss");
  ASSERT_EQ(log_->told.size(), 2u);
  EXPECT_EQ(log_->told[0].state, AlertState::kFiring);

  // A second cycle changes nothing and tells nobody again.
  At(clock_.NowMs() + 60'000);
  audit_->HeartbeatAll();
  r = Cycle();
  EXPECT_EQ(r.opened + r.updated + r.resolved, 0);
  EXPECT_EQ(log_->told.size(), 2u);

  // The lost message arrives late (and is replicated on): the payments alert resolves by itself.
  audit_->Apply({audit_->CountRecord("r2", "payments", kW, 1), audit_->CountRecord("agg", "payments", kW, 1)});
  r = Cycle();
  EXPECT_EQ(r.resolved, 1);
  ASSERT_EQ(Firing().size(), 1u);
  EXPECT_EQ(Firing()[0].topic, "clicks");
  ASSERT_EQ(log_->told.size(), 3u);
  EXPECT_EQ(log_->told[2].topic, "payments");
  EXPECT_EQ(log_->told[2].state, AlertState::kResolved);
}

TEST_F(DetectScenario, LateDataWithinGraceRaisesNothing) {
  Pipeline();
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 100), audit_->CountRecord("r1", "orders", kW, 90),
                 audit_->CountRecord("agg", "orders", kW, 90)});
  At(kW * 1000 + kWindowMs + 30'000);  // the window ended, within grace
  audit_->HeartbeatAll();
  Cycle();
  audit_->Apply({audit_->CountRecord("r1", "orders", kW, 10), audit_->CountRecord("agg", "orders", kW, 10)});
  Finalize(kW);
  CycleReport r = Cycle();
  EXPECT_EQ(r.by_verdict[static_cast<size_t>(analysis::Verdict::kOk)], 2);
  EXPECT_TRUE(log_->told.empty());
  EXPECT_TRUE(Firing().empty());
}

TEST_F(DetectScenario, WindowsArrivingOutOfOrderRaiseNothing) {
  Pipeline();
  audit_->Apply({audit_->CountRecord("p1", "orders", kW + 600, 7), audit_->CountRecord("p1", "orders", kW, 5)});
  audit_->Apply({audit_->CountRecord("r1", "orders", kW + 600, 7), audit_->CountRecord("agg", "orders", kW + 600, 7)});
  audit_->Apply({audit_->CountRecord("agg", "orders", kW, 5), audit_->CountRecord("r1", "orders", kW, 5)});
  Finalize(kW + 600);
  Cycle();
  EXPECT_TRUE(log_->told.empty());
}

TEST_F(DetectScenario, AnEmitterKilledAndRestartedRaisesNothing) {
  Pipeline();
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 100), audit_->CountRecord("agg", "orders", kW, 100)});
  audit_->Count("r1", "orders", kW, 40);
  At(kW * 1000 + 200'000);
  audit_->HeartbeatAll();
  audit_->Kill("r1");     // its last flush never came: the rest of its window with it
  audit_->Restart("r1");  // the restarted process counts the window again from its last position
  audit_->Count("r1", "orders", kW, 60);
  Finalize(kW);
  Cycle();
  At(clock_.NowMs() + 600'000);
  audit_->HeartbeatAll();
  Cycle();
  EXPECT_TRUE(log_->told.empty());
  EXPECT_TRUE(Firing().empty());
}

TEST_F(DetectScenario, AStaleEmitterMakesItsWindowsUnknownNotLoss) {
  Pipeline();
  // p2 reported 30 of its 50 and went silent: what it did not report is unknown.
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 50), audit_->CountRecord("p2", "orders", kW, 30)});
  At(kW * 1000 + 100'000);
  audit_->HeartbeatAll();
  audit_->Kill("p2");
  audit_->Apply({audit_->CountRecord("r1", "orders", kW, 100), audit_->CountRecord("agg", "orders", kW, 100)});
  Finalize(kW);
  At(clock_.NowMs() + 600'000);  // p2 is stale by now
  audit_->HeartbeatAll();
  CycleReport r = Cycle();
  EXPECT_EQ(r.by_verdict[static_cast<size_t>(analysis::Verdict::kUnknown)], 1);
  EXPECT_TRUE(log_->told.empty());
}

TEST_F(DetectScenario, ADuplicatedAuditRecordRaisesNothing) {
  Pipeline();
  AuditRecord twice = audit_->CountRecord("r1", "orders", kW, 100);
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 100), twice, audit_->CountRecord("agg", "orders", kW, 100)});
  audit_->Apply({twice});  // redelivered by the audit topic
  Finalize(kW);
  Cycle();
  EXPECT_TRUE(log_->told.empty());
}

TEST_F(DetectScenario, LegacyRecordsWithoutHeartbeatsAreJudgedByTheWallClock) {
  audit_->Apply({audit_->LegacyRecord("producer", "orders", kW, 100), audit_->LegacyRecord("regional", "orders", kW, 60)});
  At(kW * 1000 + kWindowMs + 30'000);
  Cycle();  // not final by the wall clock yet: the rest of the regional count is still on its way
  audit_->Apply({audit_->LegacyRecord("regional", "orders", kW, 40)});
  At(kW * 1000 + kWindowMs + 3'600'000);
  CycleReport r = Cycle();
  EXPECT_EQ(r.by_verdict[static_cast<size_t>(analysis::Verdict::kOk)], 1);
  EXPECT_TRUE(log_->told.empty());
  // A real legacy loss is still found.
  audit_->Apply({audit_->LegacyRecord("producer", "orders", kW + 600, 10), audit_->LegacyRecord("regional", "orders", kW + 600, 9)});
  At(clock_.NowMs() + 3'600'000);
  r = Cycle();
  EXPECT_EQ(r.opened, 1);
}

TEST_F(DetectScenario, AQuietTopicRaisesNothing) {
  Pipeline();
  for (int i = 0; i < 3; ++i) Flow("orders", kW + 600 * i, 1000);
  // Then nothing at all, in every tier, for hours: a quiet topic, not loss.
  for (int h = 1; h <= 4; ++h) {
    At(kW * 1000 + h * 3'600'000);
    audit_->HeartbeatAll();
    Cycle();
  }
  EXPECT_TRUE(log_->told.empty());
}

TEST_F(DetectScenario, SequenceGapsMakeTheWindowUnknownUntilTheyAreFilled) {
  Pipeline();
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 100)});
  AuditRecord lost = audit_->CountRecord("r1", "orders", kW, 30);  // never reaches the collector (yet)
  audit_->Apply({audit_->CountRecord("r1", "orders", kW, 70), audit_->CountRecord("agg", "orders", kW, 100)});
  Finalize(kW);
  CycleReport r = Cycle();
  // Both pairs the regional tier is in: its audit of the window is incomplete.
  EXPECT_EQ(r.by_verdict[static_cast<size_t>(analysis::Verdict::kUnknown)], 2);
  EXPECT_TRUE(log_->told.empty());
  audit_->Apply({lost});  // the gap is filled: the window is judged again, and it is whole
  r = Cycle();
  EXPECT_EQ(r.by_verdict[static_cast<size_t>(analysis::Verdict::kOk)], 2);
  EXPECT_TRUE(log_->told.empty());
}

TEST_F(DetectScenario, AuditRecordsAnEmitterDroppedMakeTheWindowUnknownNotLoss) {
  Pipeline();
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 100), audit_->CountRecord("r1", "orders", kW, 80),
                 audit_->CountRecord("agg", "orders", kW, 100)});
  At(kW * 1000 + 300'000);
  audit_->Drop("r1", 1);  // the record with the other 20 could not be delivered
  audit_->HeartbeatAll();
  Finalize(kW);
  CycleReport r = Cycle();
  EXPECT_EQ(r.by_verdict[static_cast<size_t>(analysis::Verdict::kUnknown)], 2);
  EXPECT_TRUE(log_->told.empty());
  // A window the drop cannot have touched is judged: a real loss there is found.
  audit_->Apply({audit_->CountRecord("p1", "orders", kW + 3000, 10), audit_->CountRecord("r1", "orders", kW + 3000, 9),
                 audit_->CountRecord("agg", "orders", kW + 3000, 9)});
  Finalize(kW + 3000);
  r = Cycle();
  EXPECT_EQ(r.opened, 1);
  ASSERT_EQ(Firing().size(), 1u);
  EXPECT_EQ(Firing()[0].first_window_sec, kW + 3000);
}

TEST_F(DetectScenario, ATierThatStoppedSeeingAFlowingTopicIsSilent) {
  Pipeline();
  for (int i = 0; i < 3; ++i) Flow("orders", kW + 600 * i, 50);
  for (int i = 3; i < 7; ++i) {  // then the aggregate sees nothing of it
    audit_->Apply({audit_->CountRecord("p1", "orders", kW + 600 * i, 100),
                   audit_->CountRecord("r1", "orders", kW + 600 * i, 100)});
  }
  Finalize(kW + 3600);
  Cycle();
  auto firing = Firing();
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].kind, "silent");
  EXPECT_EQ(firing[0].source_tier, "regional");
  EXPECT_EQ(firing[0].target_tier, "aggregate");
  EXPECT_EQ(firing[0].lost, 400);
  EXPECT_EQ(firing[0].windows, 4);
  EXPECT_EQ(firing[0].first_window_sec, kW + 1800);
  EXPECT_EQ(firing[0].severity, "critical");
}

TEST_F(DetectScenario, ARestartedDetectorRemembersItsAlertsAndDeliversWhatWasNotDelivered) {
  Pipeline();
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 10), audit_->CountRecord("r1", "orders", kW, 8),
                 audit_->CountRecord("agg", "orders", kW, 8)});
  Finalize(kW);
  log_->down = true;  // the receiver is down: the notice stays in the outbox
  CycleReport r = Cycle();
  EXPECT_EQ(r.opened, 1);
  EXPECT_EQ(r.retried, 1);
  detector_.reset();  // the detector stops before it could deliver

  auto log2 = std::make_shared<Recorder::Log>();
  auto restarted = MakeDetector("b", log2);
  At(clock_.NowMs() + 3'600'000);  // its lease expired long ago; the retry is due
  audit_->HeartbeatAll();
  r = Cycle(*restarted);
  EXPECT_EQ(r.opened, 0) << "the firing alert is remembered, not opened again";
  ASSERT_EQ(log2->told.size(), 1u);
  EXPECT_EQ(log2->told[0].messages_lost, 2);
  r = Cycle(*restarted);
  EXPECT_EQ(log2->told.size(), 1u) << "delivered once";
}

TEST_F(DetectScenario, TwoDetectorsOnOneStoreNotifyOnce) {
  Pipeline();
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 10), audit_->CountRecord("r1", "orders", kW, 9),
                 audit_->CountRecord("agg", "orders", kW, 9)});
  Finalize(kW);
  auto log2 = std::make_shared<Recorder::Log>();
  auto second = MakeDetector("b", log2);
  CycleReport a = Cycle();
  CycleReport b = Cycle(*second);
  EXPECT_TRUE(a.leader);
  EXPECT_FALSE(b.leader);
  EXPECT_EQ(log_->told.size() + log2->told.size(), 1u);
  // The first stops; once its lease expired the second takes over, and tells nobody again.
  detector_.reset();
  At(clock_.NowMs() + 181'000);
  audit_->HeartbeatAll();
  b = Cycle(*second);
  EXPECT_TRUE(b.leader);
  EXPECT_EQ(b.opened, 0);
  EXPECT_EQ(log2->told.size(), 0u);
}

TEST_F(DetectScenario, ADetectorThatStopsCleanlyHandsTheLeaseOverAtOnce) {
  Pipeline();
  Flow("orders", kW, 10);
  Finalize(kW);
  auto log2 = std::make_shared<Recorder::Log>();
  auto second = MakeDetector("b", log2);
  EXPECT_TRUE(Cycle().leader);
  EXPECT_FALSE(Cycle(*second).leader);
  detector_->Stop();  // releases the lease: no waiting for it to expire
  EXPECT_TRUE(Cycle(*second).leader);
  EXPECT_NE(second->MetricsText().find("chaperone_detect_leader 1\n"), std::string::npos);
  EXPECT_NE(detector_->MetricsText().find("chaperone_detect_leader 0\n"), std::string::npos);
}

TEST_F(DetectScenario, MetricsShowLossPerPairAndAlertsBySeverity) {
  Pipeline();
  audit_->Apply({audit_->CountRecord("p1", "orders", kW, 10), audit_->CountRecord("r1", "orders", kW, 9),
                 audit_->CountRecord("agg", "orders", kW, 9)});
  Finalize(kW);
  Cycle();
  const std::string m = detector_->MetricsText();
  EXPECT_NE(m.find("chaperone_detect_lost_messages{topic=\"orders\",source_tier=\"producer\",target_tier=\"regional\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("chaperone_detect_alerts_firing{kind=\"loss\",severity=\"critical\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("chaperone_detect_alerts_firing{kind=\"silent\",severity=\"info\"} 0\n"), std::string::npos) << m;
  EXPECT_NE(m.find("chaperone_detect_windows{verdict=\"ok\"} 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("chaperone_detect_cycles_total 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("chaperone_detect_leader 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("chaperone_detect_notifications_total{receiver=\"webhook\",result=\"delivered\"} 1\n"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("chaperone_detect_outbox_pending 0\n"), std::string::npos) << m;
}

}  // namespace
}  // namespace chaperone::detect
