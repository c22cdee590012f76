// The audit service against librdkafka's mock cluster: counts per window equal
// what was produced, whatever the payloads; topics appear and disappear; the
// REST API; failures of the report or the commit rewind and the replay replaces
// the earlier report (exactly once); two members split and hand over partitions.
#include <gtest/gtest.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "chaperone/mock_cluster.h"
#include "chaperone/reporter.h"
#include "service/audit_service.h"
#include "support/process.h"
#include "support/service_support.h"

namespace chaperone::service {
namespace {

using chaperone::testing::AuditReader;
using chaperone::testing::ByTopicWindow;
using chaperone::testing::ChunkMerger;
using chaperone::testing::DiffTotals;
using chaperone::testing::TestMessage;
using chaperone::testing::TestProducer;
using chaperone::testing::TotalCount;
using chaperone::testing::WaitFor;
using namespace std::chrono_literals;

constexpr int64_t kWindowSec = 60;
constexpr int64_t kBaseMs = 1'700'000'000'000;  // event times start here
constexpr const char* kAuditTopic = "chaperone-audit";

// Fails Send calls on demand: before anything is sent, or after the records
// were delivered (the service cannot tell those apart: both rewind).
class FaultyReporter final : public Reporter {
 public:
  explicit FaultyReporter(std::unique_ptr<Reporter> inner) : inner_(std::move(inner)) {}
  Status Send(const std::vector<AuditRecord>& records, std::chrono::milliseconds timeout) override {
    bool has_counts = false;
    for (const auto& r : records) has_counts |= r.kind == RecordKind::kCount;
    if (has_counts && fail_before_.load() > 0) {
      --fail_before_;
      ++failures_;
      return Status::Unavailable("injected: not sent");
    }
    Status s = inner_->Send(records, timeout);
    if (has_counts && s.ok() && fail_after_.load() > 0) {
      --fail_after_;
      ++failures_;
      return Status::Unavailable("injected: sent, reported as failed");
    }
    return s;
  }
  ReporterStats stats() const override { return inner_->stats(); }

  std::atomic<int> fail_before_{0};
  std::atomic<int> fail_after_{0};
  std::atomic<int> failures_{0};

 private:
  std::unique_ptr<Reporter> inner_;
};

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = MockCluster::Start(1, {{kAuditTopic, 1}});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_ = std::move(*c);
    auto p = TestProducer::Create(cluster_->bootstrap_servers());
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    producer_ = std::move(*p);
  }

  void TearDown() override {
    for (auto& r : runners_) r->Stop();
    runners_.clear();
  }

  ServiceOptions Options(const std::string& tier = "test") {
    ServiceOptions o;
    o.tier = tier;
    o.cluster_name = "mock";
    o.cluster_properties = {{"bootstrap.servers", cluster_->bootstrap_servers()}, {"log_level", "3"}};
    o.consumer_properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    o.window_sec = kWindowSec;
    o.flush_interval = 200ms;
    o.discovery_interval = 200ms;
    o.send_timeout = 5000ms;
    o.listen = "";
    o.audit_topic = kAuditTopic;
    return o;
  }

  struct Runner {
    std::unique_ptr<AuditService> svc;
    std::atomic<bool> stop{false};
    std::thread thread;
    Status result;
    void Stop() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
    ~Runner() { Stop(); }
  };

  Runner* Start(ServiceOptions o) {
    auto svc = AuditService::Create(std::move(o));
    EXPECT_TRUE(svc.ok()) << svc.status().ToString();
    if (!svc.ok()) return nullptr;
    auto r = std::make_unique<Runner>();
    r->svc = std::move(*svc);
    Runner* raw = r.get();
    raw->thread = std::thread([raw] { raw->result = raw->svc->Run(raw->stop); });
    runners_.push_back(std::move(r));
    return raw;
  }

  // JSON payloads with event times spread over `windows` windows.
  void ProduceJson(const std::string& topic, int partitions, int n, int windows = 3, int start = 0) {
    for (int i = start; i < start + n; ++i) {
      TestMessage m;
      m.topic = topic;
      m.partition = i % partitions;
      m.key = "k" + std::to_string(i);
      int64_t ts = kBaseMs + (static_cast<int64_t>(i) * 7919 % (windows * kWindowSec * 1000));
      m.value = R"({"id":)" + std::to_string(i) + R"(,"ts":)" + std::to_string(ts) + "}";
      m.timestamp_ms = kBaseMs;
      ASSERT_TRUE(producer_->Produce(m, kWindowSec).ok());
    }
    ASSERT_TRUE(producer_->Flush(10s).ok());
  }

  // Reads the audit topic to its end and merges by chunk replacement.
  ChunkMerger ReadMerged(int64_t* bad = nullptr) {
    auto reader = AuditReader::Create(cluster_->bootstrap_servers(), kAuditTopic, 1);
    EXPECT_TRUE(reader.ok());
    EXPECT_TRUE((*reader)->ReadToEnd(20s).ok());
    ChunkMerger m;
    m.ApplyAll((*reader)->records());
    if (bad) *bad = (*reader)->bad();
    return m;
  }

  // Waits until the services together committed `n` messages.
  bool WaitCommitted(int64_t n, std::chrono::milliseconds timeout = 30s) {
    return WaitFor(
        [&] {
          int64_t sum = 0;
          for (auto& r : runners_) sum += r->svc->metrics().messages_committed.load();
          return sum >= n;
        },
        timeout);
  }

  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<TestProducer> producer_;
  std::vector<std::unique_ptr<Runner>> runners_;
};

TEST_F(ServiceTest, CountsEveryMessageOnceInItsWindowWhateverThePayload) {
  ASSERT_TRUE(cluster_->CreateTopic({"orders", 4}).ok());
  ProduceJson("orders", 4, 2000);
  // Odd payloads: tombstones, empty values, non-JSON, a huge value, null keys,
  // an ISO-8601 time, JSON without a time field (record time is used).
  std::vector<TestMessage> odd;
  for (int i = 0; i < 40; ++i) {
    TestMessage m;
    m.topic = "orders";
    m.partition = i % 4;
    m.timestamp_ms = kBaseMs + 61'000 * (i % 3);
    switch (i % 8) {
      case 0: m.key = "tomb"; m.value = std::nullopt; break;
      case 1: m.key = "empty"; m.value = ""; break;
      case 2: m.key = std::nullopt; m.value = "not json at all"; break;
      case 3: m.key = "huge"; m.value = "{\"ts\":" + std::to_string(kBaseMs) + ",\"pad\":\"" + std::string(300'000, 'x') + "\"}"; break;
      case 4: m.key = "iso"; m.value = R"({"timestamp":"2023-11-14T22:14:00Z"})"; break;
      case 5: m.key = "notime"; m.value = R"({"other":1})"; break;
      case 6: m.key = "binary"; m.value = std::string("\x00\xff\x7b\x22", 4); break;
      default: m.key = std::nullopt; m.value = std::nullopt; break;
    }
    ASSERT_TRUE(producer_->Produce(m, kWindowSec).ok());
  }
  ASSERT_TRUE(producer_->Flush(10s).ok());
  const int64_t total = producer_->produced();

  Runner* r = Start(Options());
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(WaitCommitted(total)) << "committed " << r->svc->metrics().messages_committed.load() << " of " << total;
  // A heartbeat needs a high-watermark sample taken after the assignment and a
  // later flush that commits up to it: wait for one rather than for time.
  ASSERT_TRUE(WaitFor([&] { return r->svc->metrics().heartbeats_emitted.load() > 0; }, 30s));
  r->Stop();
  ASSERT_TRUE(r->result.ok()) << r->result.ToString();

  int64_t bad = -1;
  ChunkMerger merged = ReadMerged(&bad);
  EXPECT_EQ(bad, 0);
  EXPECT_TRUE(merged.violations().empty()) << merged.violations()[0];
  EXPECT_EQ(DiffTotals(producer_->expected(), merged.Totals("test")), "");
  EXPECT_EQ(TotalCount(merged.Totals("test")), total);
  EXPECT_EQ(r->svc->metrics().messages_audited.load(), total);
  EXPECT_GT(r->svc->metrics().malformed_messages.load(), 0);
  EXPECT_EQ(r->svc->metrics().rewinds.load(), 0);
  EXPECT_GT(merged.heartbeats(), 0);
}

// With a prefetch budget far below the backlog, librdkafka 2.0.2 stops
// fetching each time the queue fills and would look again only a second
// later (about a hundred times here); the service wakes it and counts
// everything exactly once.
TEST_F(ServiceTest, ATinyPrefetchBudgetStillCountsEverythingOnce) {
  ASSERT_TRUE(cluster_->CreateTopic({"backlog", 4}).ok());
  for (int i = 0; i < 30000; ++i) {
    TestMessage m;
    m.topic = "backlog";
    m.partition = i % 4;
    m.key = "k" + std::to_string(i);
    m.value = R"({"ts":)" + std::to_string(kBaseMs + i) + R"(,"pad":")" + std::string(160, 'x') + "\"}";
    m.timestamp_ms = kBaseMs;
    ASSERT_TRUE(producer_->Produce(m, kWindowSec).ok());
  }
  ASSERT_TRUE(producer_->Flush(10s).ok());
  const int64_t total = producer_->produced();

  ServiceOptions o = Options();
  o.consumer_properties.insert(o.consumer_properties.end(), {{"queued.max.messages.kbytes", "64"},
                                                             {"message.max.bytes", "65536"},
                                                             {"fetch.max.bytes", "65536"}});
  Runner* r = Start(std::move(o));
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(WaitCommitted(total, 60s)) << "committed " << r->svc->metrics().messages_committed.load() << " of "
                                         << total << " with " << r->svc->metrics().fetch_wakes.load() << " wakes";
  r->Stop();
  ASSERT_TRUE(r->result.ok()) << r->result.ToString();
  if (rd_kafka_version() < 0x020100ff) {
    EXPECT_GT(r->svc->metrics().fetch_wakes.load(), 0);
  }

  ChunkMerger merged = ReadMerged();
  EXPECT_TRUE(merged.violations().empty()) << merged.violations()[0];
  EXPECT_EQ(DiffTotals(producer_->expected(), merged.Totals("test")), "");
  EXPECT_EQ(TotalCount(merged.Totals("test")), total);
}

TEST_F(ServiceTest, AuditsATopicCreatedWhileRunningButNeverTheAuditTopic) {
  ASSERT_TRUE(cluster_->CreateTopic({"first", 2}).ok());
  ProduceJson("first", 2, 100);
  Runner* r = Start(Options());
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(WaitCommitted(100));
  ASSERT_TRUE(cluster_->CreateTopic({"second", 3}).ok());
  ProduceJson("second", 3, 300);
  ASSERT_TRUE(WaitCommitted(400)) << r->svc->metrics().messages_committed.load();
  r->Stop();
  ChunkMerger merged = ReadMerged();
  EXPECT_EQ(DiffTotals(producer_->expected(), merged.Totals("test")), "");
  for (const auto& [k, v] : merged.Totals("test")) EXPECT_NE(std::get<0>(k), kAuditTopic);
}

TEST_F(ServiceTest, RestAddsAndRemovesTopicsByHand) {
  ASSERT_TRUE(cluster_->CreateTopic({"manual", 2}).ok());
  ASSERT_TRUE(cluster_->CreateTopic({"other", 1}).ok());
  ServiceOptions o = Options();
  o.include = {"nothing-matches"};
  o.listen = "127.0.0.1:0";
  Runner* r = Start(o);
  ASSERT_NE(r, nullptr);
  ASSERT_GT(r->svc->rest_port(), 0);
  httplib::Client http("127.0.0.1", r->svc->rest_port());

  auto list = http.Get("/topics");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(nlohmann::json::parse(list->body)["topics"].size(), 0u);

  // The service's threads are named for top -H, ps and gdb: the REST server's
  // (its workers inherit the name), discovery, and the fetch waker where the
  // client library needs one.
  EXPECT_TRUE(chaperone::test::WaitForThreadNamed("svc-http", 10s));
  EXPECT_TRUE(chaperone::test::WaitForThreadNamed("svc-discovery", 10s));
  if (rd_kafka_version() < 0x020100ff) {
    EXPECT_TRUE(chaperone::test::WaitForThreadNamed("svc-fetch-waker", 10s));
  }

  // Chaperone's clients send numPartitions as a string.
  auto add = http.Post("/topics", R"({"topic":"manual","numPartitions":"2"})", "application/json");
  ASSERT_TRUE(add);
  EXPECT_EQ(add->status, 201) << add->body;
  auto again = http.Post("/topics", R"({"topic":"manual"})", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  auto bad = http.Post("/topics", R"({"topic":"bad topic!"})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto bad_body = nlohmann::json::parse(bad->body);
  EXPECT_EQ(bad_body["error"]["code"], "bad_request") << bad->body;
  EXPECT_TRUE(bad_body["error"]["message"].is_string()) << bad->body;
  auto missing = http.Get("/no-such-path");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(nlohmann::json::parse(missing->body)["error"]["code"], "not_found");

  ProduceJson("manual", 2, 200);
  ProduceJson("other", 1, 50);
  ASSERT_TRUE(WaitCommitted(200));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto l = http.Get("/topics");
        if (!l || l->status != 200) return false;
        auto j = nlohmann::json::parse(l->body)["topics"];
        return j.size() == 1 && j[0]["topic"] == "manual" && j[0]["source"] == "manual" &&
               j[0]["assignedPartitions"].size() == 2 && j[0]["partitions"] == 2;
      },
      10s));

  auto del = http.Delete("/topics/manual");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200) << del->body;
  auto del2 = http.Delete("/topics/manual");
  ASSERT_TRUE(del2);
  EXPECT_EQ(del2->status, 404);
  // The partitions are revoked (after a final flush + commit).
  ASSERT_TRUE(WaitFor([&] { return r->svc->metrics().Snapshot().partitions.empty(); }, 10s));
  ProduceJson("manual", 2, 100, 3, 200);  // no longer audited

  auto health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("chaperone_service_messages_audited_total 200"), std::string::npos) << metrics->body;
  EXPECT_NE(metrics->body.find("chaperone_service_rebalances_total{kind=\"revoke\"} 1"), std::string::npos);
  r->Stop();

  ChunkMerger merged = ReadMerged();
  auto totals = merged.Totals("test");
  EXPECT_EQ(TotalCount(totals), 200);  // only the 200 produced while "manual" was audited
}

TEST_F(ServiceTest, FailedReportsRewindAndTheReplayReplacesTheEarlierChunk) {
  ASSERT_TRUE(cluster_->CreateTopic({"flaky", 3}).ok());
  auto inner = MakeKafkaReporter(KafkaReporterOptions{cluster_->bootstrap_servers(), kAuditTopic, {{"log_level", "3"}}});
  ASSERT_TRUE(inner.ok());
  auto faulty = std::make_shared<FaultyReporter>(std::move(*inner));
  ServiceOptions o = Options();
  o.reporter = faulty;
  // The first two flushes with counts are delivered but reported as failed,
  // the next two are not sent at all.
  faulty->fail_after_ = 2;
  faulty->fail_before_ = 0;
  Runner* r = Start(o);
  ASSERT_NE(r, nullptr);
  ProduceJson("flaky", 3, 600);
  ASSERT_TRUE(WaitFor([&] { return faulty->fail_after_.load() == 0; }, 30s));
  faulty->fail_before_ = 2;
  ProduceJson("flaky", 3, 600, 3, 600);
  ASSERT_TRUE(WaitCommitted(1200)) << r->svc->metrics().messages_committed.load();
  r->Stop();

  EXPECT_EQ(faulty->failures_.load(), 4);
  EXPECT_GE(r->svc->metrics().rewinds.load(), 4);
  EXPECT_GT(r->svc->metrics().messages_discarded.load(), 0);
  EXPECT_GT(r->svc->metrics().messages_audited.load(), 1200);  // replays were counted again...
  ChunkMerger merged = ReadMerged();
  EXPECT_GT(merged.replacements(), 0);  // ...and replaced what the failed flushes had delivered
  EXPECT_EQ(DiffTotals(producer_->expected(), merged.Totals("test")), "");
}

TEST_F(ServiceTest, FailedCommitsRewindAndCountExactlyOnce) {
  ASSERT_TRUE(cluster_->CreateTopic({"commits", 2}).ok());
  Runner* r = Start(Options());
  ASSERT_NE(r, nullptr);
  ProduceJson("commits", 2, 200);
  ASSERT_TRUE(WaitCommitted(200));
  // OffsetCommit (API key 8) fails: twice with an error that leaves the
  // member in the group, then once with one that makes it rejoin (its
  // assignment is lost, and comes back).
  cluster_->PushRequestErrors(8, 2, RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE);
  ProduceJson("commits", 2, 400, 3, 200);
  ASSERT_TRUE(WaitFor([&] { return r->svc->metrics().errors_commit.load() >= 2; }, 20s));
  ASSERT_TRUE(WaitCommitted(600, 60s)) << r->svc->metrics().messages_committed.load();
  cluster_->PushRequestErrors(8, 1, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID);
  ProduceJson("commits", 2, 200, 3, 600);
  ASSERT_TRUE(WaitCommitted(800, 60s)) << r->svc->metrics().messages_committed.load();
  r->Stop();
  EXPECT_GE(r->svc->metrics().rewinds.load(), 3);
  EXPECT_GE(r->svc->metrics().errors_commit.load(), 3);
  ChunkMerger merged = ReadMerged();
  EXPECT_EQ(DiffTotals(producer_->expected(), merged.Totals("test")), "");
}

TEST_F(ServiceTest, TwoMembersSplitThePartitionsAndHandThemOverExactly) {
  ASSERT_TRUE(cluster_->CreateTopic({"shared", 6}).ok());
  Runner* a = Start(Options());
  ASSERT_NE(a, nullptr);
  ProduceJson("shared", 6, 600);
  ASSERT_TRUE(WaitCommitted(600));
  Runner* b = Start(Options());
  ASSERT_NE(b, nullptr);
  // Both members own partitions after the cooperative rebalance.
  ASSERT_TRUE(WaitFor(
      [&] {
        return !a->svc->metrics().Snapshot().partitions.empty() && !b->svc->metrics().Snapshot().partitions.empty();
      },
      30s));
  ProduceJson("shared", 6, 600, 3, 600);
  ASSERT_TRUE(WaitCommitted(1200));
  a->Stop();  // leaves the group: its partitions move to b after a final commit
  ProduceJson("shared", 6, 600, 3, 1200);
  ASSERT_TRUE(WaitFor([&] { return b->svc->metrics().Snapshot().partitions.size() == 6; }, 30s));
  ASSERT_TRUE(WaitFor(
      [&] { return a->svc->metrics().messages_committed.load() + b->svc->metrics().messages_committed.load() >= 1800; },
      30s));
  b->Stop();
  ChunkMerger merged = ReadMerged();
  EXPECT_EQ(DiffTotals(producer_->expected(), merged.Totals("test")), "");
  // Commits racing a rebalance may fail (ILLEGAL_GENERATION) and rewind; the
  // counts above are exact either way.
  EXPECT_GE(a->svc->metrics().rebalances_revoke.load(), 1);
}

TEST_F(ServiceTest, AHeartbeatPromisesOnlyWhatWasReportedBeforeIt) {
  ASSERT_TRUE(cluster_->CreateTopic({"beats", 3}).ok());
  Runner* r = Start(Options());
  ASSERT_NE(r, nullptr);
  ProduceJson("beats", 3, 300);
  const int64_t produced_by_ms = SystemClock::Instance().NowMs();
  ASSERT_TRUE(WaitCommitted(300));
  // Wait for a heartbeat whose watermark covers the production.
  auto reader = AuditReader::Create(cluster_->bootstrap_servers(), kAuditTopic, 1);
  ASSERT_TRUE(reader.ok());
  const AuditRecord* beat = nullptr;
  ASSERT_TRUE(WaitFor(
      [&] {
        (*reader)->Poll(100ms);
        for (const auto& rec : (*reader)->records())
          if (rec.kind == RecordKind::kHeartbeat && rec.watermark_ms >= produced_by_ms) beat = &rec;
        return beat != nullptr;
      },
      20s));
  // Everything the heartbeat promises was reported in records of the same
  // emitter with a smaller seq.
  ChunkMerger before;
  for (const auto& rec : (*reader)->records())
    if (rec.emitter_id == beat->emitter_id && rec.seq < beat->seq) before.Apply(rec);
  EXPECT_EQ(TotalCount(before.Totals("test")), 300);
  EXPECT_LE(beat->watermark_ms, SystemClock::Instance().NowMs());
  EXPECT_EQ(beat->window_sec, kWindowSec);
  r->Stop();
  EXPECT_GT(r->svc->metrics().heartbeats_emitted.load(), 0);
}

TEST_F(ServiceTest, CreateRejectsBadOptionsAndABusyPort) {
  ServiceOptions o = Options();
  o.cluster_properties = {{"bootstrap.servers", cluster_->bootstrap_servers()}, {"no.such.property", "1"}};
  auto s1 = AuditService::Create(o);
  ASSERT_FALSE(s1.ok());
  EXPECT_EQ(s1.status().code(), Status::Code::kInvalidArgument);

  o = Options();
  o.listen = "127.0.0.1:0";
  auto first = AuditService::Create(o);
  ASSERT_TRUE(first.ok());
  o.listen = "127.0.0.1:" + std::to_string((*first)->rest_port());
  auto second = AuditService::Create(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kInvalidArgument);  // a port in use at start: exit code 2
  EXPECT_NE(second.status().message().find("cannot listen on " + o.listen), std::string::npos)
      << second.status().message();
}

}  // namespace
}  // namespace chaperone::service
