// The auditing engine behind AuditClient and the interceptor plugin, with a
// fake reporter and a fake clock.
#include "chaperone/audit_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "chaperone/clock.h"
#include "chaperone/digest.h"
#include "chaperone/event_time.h"
#include "chaperone/reporter.h"
#include "interceptor/audit_engine.h"
#include "support/process.h"

namespace chaperone {
namespace {

using std::chrono::milliseconds;
using interceptor::AuditEngine;

constexpr int64_t kT0 = 1'700'000'000'000;  // FakeClock's default now (ms)

// Records every Send; fails while told to.
struct FakeTransport {
  std::mutex mu;
  std::vector<std::vector<AuditRecord>> attempts;
  std::vector<AuditRecord> delivered;
  int fail_next = 0;
  bool fail_all = false;

  std::vector<AuditRecord> Delivered() {
    std::lock_guard lock(mu);
    return delivered;
  }
  std::vector<AuditRecord> Heartbeats() {
    std::vector<AuditRecord> out;
    for (auto& r : Delivered()) {
      if (r.kind == RecordKind::kHeartbeat) out.push_back(r);
    }
    return out;
  }
  void FailAll(bool f) {
    std::lock_guard lock(mu);
    fail_all = f;
  }
};

class FakeReporter final : public Reporter {
 public:
  explicit FakeReporter(std::shared_ptr<FakeTransport> t) : t_(std::move(t)) {}
  Status Send(const std::vector<AuditRecord>& records, milliseconds) override {
    std::lock_guard lock(t_->mu);
    t_->attempts.push_back(records);
    if (t_->fail_all || t_->fail_next > 0) {
      if (t_->fail_next > 0) t_->fail_next--;
      return Status::Unavailable("audit cluster down (fake)");
    }
    for (const auto& r : records) {
      Status st = ValidateAuditRecord(r);
      if (!st.ok()) return st;
      t_->delivered.push_back(r);
    }
    return Status::Ok();
  }
  ReporterStats stats() const override { return {}; }

 private:
  std::shared_ptr<FakeTransport> t_;
};

struct Harness {
  FakeClock clock;
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();

  AuditClientOptions Options() {
    AuditClientOptions o;
    o.tier = "producer";
    o.datacenter = "dc1";
    o.cluster = "regional";
    o.clock = &clock;
    auto t = transport;
    o.reporter_factory = [t]() -> Result<std::unique_ptr<Reporter>> {
      return std::unique_ptr<Reporter>(std::make_unique<FakeReporter>(t));
    };
    return o;
  }
};

MessageView Json(const std::string& payload, int64_t record_ts = -1) {
  MessageView v;
  v.value = payload;
  v.value_null = false;
  v.record_timestamp_ms = record_ts;
  return v;
}

std::string Event(int64_t ts_ms, int i) {
  return "{\"ts\":" + std::to_string(ts_ms) + ",\"i\":" + std::to_string(i) + "}";
}

std::map<std::pair<std::string, int64_t>, AuditRecord> ByTopicWindow(const std::vector<AuditRecord>& records) {
  std::map<std::pair<std::string, int64_t>, AuditRecord> out;
  for (const auto& r : records) {
    if (r.kind != RecordKind::kCount) continue;
    auto& m = out[{r.topic, r.window_begin_sec}];
    if (m.tier.empty()) {
      m = r;
    } else {
      m.count += r.count;
      *m.digest += *r.digest;
    }
  }
  return out;
}

TEST(AuditClient, CountsPerWindowWithDigestsThenAHeartbeat) {
  Harness h;
  auto client = AuditClient::Create(h.Options());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const int64_t w1 = 1'699'999'800;  // window of kT0 (600 s windows)
  const int64_t w0 = w1 - 600;
  uint64_t d1 = 0, d0 = 0;
  for (int i = 0; i < 3; ++i) {
    std::string p = Event(kT0 - 1000 * i, i);
    d1 += MessageDigest({}, true, p, false);
    ASSERT_TRUE((*client)->Track("orders", Json(p)));
  }
  for (int i = 0; i < 2; ++i) {
    std::string p = Event(w0 * 1000 + 5, 10 + i);
    d0 += MessageDigest({}, true, p, false);
    ASSERT_TRUE((*client)->Track("orders", Json(p)));
  }
  ASSERT_TRUE((*client)->Track("orders", "k", false, "plain text", false));  // no time: observed window, malformed
  ASSERT_TRUE((*client)->Flush(milliseconds(10'000)).ok());

  auto delivered = h.transport->Delivered();
  auto by = ByTopicWindow(delivered);
  ASSERT_EQ(by.size(), 2u);
  const AuditRecord& r1 = by[{"orders", w1}];
  EXPECT_EQ(r1.count, 4);
  EXPECT_EQ(*r1.no_time_count, 1);
  EXPECT_EQ(*r1.malformed_count, 1);
  EXPECT_EQ(*r1.digest, d1 + MessageDigest("k", false, "plain text", false));
  EXPECT_EQ(r1.window_end_sec, w1 + 600);
  EXPECT_EQ(r1.tier, "producer");
  EXPECT_EQ(r1.datacenter, "dc1");
  EXPECT_EQ(r1.cluster, "regional");
  EXPECT_EQ(r1.max_latency_ms, 2000);  // the fake clock stands still at kT0
  const AuditRecord& r0 = by[{"orders", w0}];
  EXPECT_EQ(r0.count, 2);
  EXPECT_EQ(*r0.digest, d0);
  EXPECT_EQ(*r0.no_time_count, 0);

  // Seq is gap-free and the heartbeat comes last.
  ASSERT_EQ(delivered.size(), 3u);
  for (size_t i = 0; i < delivered.size(); ++i) EXPECT_EQ(delivered[i].seq, static_cast<int64_t>(i));
  const AuditRecord& hb = delivered.back();
  EXPECT_EQ(hb.kind, RecordKind::kHeartbeat);
  EXPECT_EQ(hb.emitter_id, (*client)->emitter_id());
  EXPECT_EQ(hb.window_sec, 600);
  EXPECT_LE(hb.watermark_ms, kT0);
  EXPECT_GE(hb.watermark_ms, kT0 - 1000);
  EXPECT_EQ(hb.dropped_records, 0);
  EXPECT_EQ(hb.failed_deliveries, 0);
  EXPECT_EQ(delivered[0].flush_id, hb.flush_id);

  auto s = (*client)->stats();
  EXPECT_EQ(s.tracked, 6);
  EXPECT_EQ(s.records_sent, 2);
  EXPECT_EQ(s.heartbeats_sent, 1);
}

TEST(AuditClient, FlushesWhenTheIntervalPassesOnItsClock) {
  Harness h;
  auto o = h.Options();
  o.flush_interval = milliseconds(60'000);
  auto client = AuditClient::Create(o);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Track("orders", Json(Event(kT0, 1))));
  h.clock.AdvanceMs(60'000);
  ASSERT_TRUE(test::WaitFor([&] { return !h.transport->Heartbeats().empty(); }, milliseconds(10'000)));
  auto by = ByTopicWindow(h.transport->Delivered());
  ASSERT_EQ(by.size(), 1u);
  EXPECT_EQ(by.begin()->second.count, 1);
  // An idle interval still sends a heartbeat, with a later watermark.
  h.clock.AdvanceMs(60'000);
  ASSERT_TRUE(test::WaitFor([&] { return h.transport->Heartbeats().size() >= 2; }, milliseconds(10'000)));
  auto hbs = h.transport->Heartbeats();
  EXPECT_GT(hbs[1].watermark_ms, hbs[0].watermark_ms);
  EXPECT_EQ(ByTopicWindow(h.transport->Delivered()).begin()->second.count, 1);
}

TEST(AuditClient, TopicRulesChooseTheChainAndExclusionsAreNotCounted) {
  Harness h;
  auto o = h.Options();
  o.timestamp_rules = {{"events-.*", "header:event-time"}};
  o.timestamp_chain = "json:createdAt";
  o.topic_exclude = "internal-.*";
  auto client = AuditClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  // events-a: the header gives the time; the JSON's ts is ignored.
  static const std::string kHeaderTs = std::to_string(kT0 - 3'600'000);
  const std::string payload = Event(kT0, 1);
  MessageView v = Json(payload);
  v.find_header = [](const void*, std::string_view name, std::string_view* value) {
    if (name != "event-time") return false;
    *value = kHeaderTs;
    return true;
  };
  ASSERT_TRUE((*client)->Track("events-a", v));
  // other: the default chain is json:createdAt, so ts does not count.
  ASSERT_TRUE((*client)->Track("other", Json("{\"createdAt\":" + std::to_string(kT0 - 7'200'000) + "}")));
  ASSERT_TRUE((*client)->Track("other", Json(Event(kT0, 2))));
  // Not audited: excluded topics and the audit topic itself.
  ASSERT_TRUE((*client)->Track("internal-x", Json(Event(kT0, 3))));
  ASSERT_TRUE((*client)->Track("chaperone-audit", Json(Event(kT0, 4))));
  ASSERT_TRUE((*client)->Flush(milliseconds(10'000)).ok());

  auto by = ByTopicWindow(h.transport->Delivered());
  std::set<std::string> topics;
  for (auto& [k, r] : by) topics.insert(k.first);
  EXPECT_EQ(topics, (std::set<std::string>{"events-a", "other"}));
  EXPECT_EQ((by[{"events-a", WindowStartSec(kT0 - 3'600'000, 600)}].count), 1);
  EXPECT_EQ((by[{"other", WindowStartSec(kT0 - 7'200'000, 600)}].count), 1);
  const AuditRecord& no_time = by[{"other", WindowStartSec(kT0, 600)}];
  EXPECT_EQ(no_time.count, 1);
  EXPECT_EQ(*no_time.no_time_count, 1);
}

TEST(AuditClient, TombstonesAndNonJsonPayloadsAreCounted) {
  Harness h;
  auto client = AuditClient::Create(h.Options());
  ASSERT_TRUE(client.ok());
  MessageView tombstone;
  tombstone.key = "user-1";
  tombstone.key_null = false;
  tombstone.record_timestamp_ms = kT0 - 10'000;  // falls back to the record time
  ASSERT_TRUE((*client)->Track("users", tombstone));
  ASSERT_TRUE((*client)->Track("users", Json("\x01\x02 binary", -1)));
  ASSERT_TRUE((*client)->Flush(milliseconds(10'000)).ok());
  auto by = ByTopicWindow(h.transport->Delivered());
  ASSERT_EQ(by.size(), 1u);
  const AuditRecord& r = by.begin()->second;
  EXPECT_EQ(r.count, 2);
  EXPECT_EQ(*r.no_time_count, 1);    // the binary payload has no time at all
  EXPECT_EQ(*r.malformed_count, 1);  // ... and is not JSON
  EXPECT_EQ(*r.digest, MessageDigest("user-1", false, {}, true) + MessageDigest({}, true, "\x01\x02 binary", false));
}

TEST(AuditClient, FailedDeliveriesAreReportedInHeartbeats) {
  Harness h;
  auto client = AuditClient::Create(h.Options());
  ASSERT_TRUE(client.ok());
  (*client)->TrackFailedDelivery(3);
  (*client)->TrackFailedDelivery();
  ASSERT_TRUE((*client)->Flush(milliseconds(10'000)).ok());
  auto hbs = h.transport->Heartbeats();
  ASSERT_EQ(hbs.size(), 1u);
  EXPECT_EQ(hbs[0].failed_deliveries, 4);
  EXPECT_EQ((*client)->stats().failed_deliveries, 4);
}

TEST(AuditClient, AFullQueueDropsAndCountsObservations) {
  Harness h;
  auto o = h.Options();
  o.queue_capacity = 4;
  auto engine = AuditEngine::Create(o);
  ASSERT_TRUE(engine.ok());
  (*engine)->PauseDrainForTesting(true);
  int accepted = 0;
  for (int i = 0; i < 10; ++i) accepted += (*engine)->Track("orders", Json(Event(kT0, i))) ? 1 : 0;
  EXPECT_EQ(accepted, 4);
  EXPECT_EQ((*engine)->stats().dropped_observations, 6);
  (*engine)->PauseDrainForTesting(false);
  ASSERT_TRUE((*engine)->Flush(milliseconds(10'000)).ok());
  auto by = ByTopicWindow(h.transport->Delivered());
  ASSERT_EQ(by.size(), 1u);
  EXPECT_EQ(by.begin()->second.count, 4);
  // The heartbeat says how many messages went uncounted, and survives the wire.
  auto hbs = h.transport->Heartbeats();
  ASSERT_EQ(hbs.size(), 1u);
  EXPECT_EQ(hbs[0].dropped_observations, 6);
  auto decoded = DecodeAuditRecord(EncodeAuditRecord(hbs[0]));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->dropped_observations, 6);
}

TEST(AuditClient, ItsThreadsAreNamedInTheHostProcess) {
  // The host application sees the auditing threads by name in top -H and gdb.
  Harness h;
  auto engine = AuditEngine::Create(h.Options());
  ASSERT_TRUE(engine.ok());
  EXPECT_TRUE(test::WaitForThreadNamed("chaperone-drain", milliseconds(10'000)));
  EXPECT_TRUE(test::WaitForThreadNamed("chaperone-send", milliseconds(10'000)));
}

TEST(AuditClient, AFailedSendIsRetriedWithTheSameRecords) {
  Harness h;
  h.transport->fail_next = 2;
  auto client = AuditClient::Create(h.Options());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Track("orders", Json(Event(kT0, 1))));
  ASSERT_TRUE((*client)->Flush(milliseconds(20'000)).ok());
  std::lock_guard lock(h.transport->mu);
  ASSERT_EQ(h.transport->attempts.size(), 3u);
  ASSERT_EQ(h.transport->attempts[0].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(h.transport->attempts[0][i].uuid, h.transport->attempts[2][i].uuid);  // the collector dedups
    EXPECT_EQ(h.transport->attempts[0][i].seq, h.transport->attempts[2][i].seq);
  }
  EXPECT_EQ(h.transport->delivered.size(), 2u);
  EXPECT_EQ((*client)->stats().send_failures, 2);
}

TEST(AuditClient, RecordsBeyondThePendingLimitAreDroppedAndReportedLater) {
  Harness h;
  h.transport->FailAll(true);
  auto o = h.Options();
  o.max_pending_records = 1;
  o.report_timeout = milliseconds(100);
  auto client = AuditClient::Create(o);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Track("a", Json(Event(kT0, 1))));
  EXPECT_FALSE((*client)->Flush(milliseconds(300)).ok());  // in flight, retried
  ASSERT_TRUE((*client)->Track("b", Json(Event(kT0, 2))));
  EXPECT_FALSE((*client)->Flush(milliseconds(300)).ok());  // no room: b's record is dropped
  EXPECT_EQ((*client)->stats().dropped_records, 1);

  h.transport->FailAll(false);  // the audit cluster is back
  ASSERT_TRUE((*client)->Flush(milliseconds(20'000)).ok());
  auto by = ByTopicWindow(h.transport->Delivered());
  ASSERT_EQ(by.size(), 1u);
  EXPECT_EQ(by.begin()->first.first, "a");
  auto hbs = h.transport->Heartbeats();
  ASSERT_FALSE(hbs.empty());
  EXPECT_EQ(hbs.back().dropped_records, 1);
  EXPECT_EQ(hbs.front().dropped_records, 0);  // stamped before the drop
}

// Ten minutes of an audit-cluster outage on the fake clock (60 flushes of 20
// records each): the records waiting for the audit cluster never hold more
// memory than their budget, every record that found no room is counted, and
// once the cluster is back the heartbeat accounts for all of them.
TEST(AuditClient, TheOutboxStaysWithinItsByteBudgetThroughALongOutage) {
  Harness h;
  h.transport->FailAll(true);
  auto o = h.Options();
  o.max_pending_bytes = 64 * 1024;
  o.report_timeout = milliseconds(100);
  o.log_level = AuditLogLevel::kOff;
  auto engine = AuditEngine::Create(o);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  AuditEngine& e = **engine;
  constexpr int kFlushes = 60;
  constexpr int kTopics = 20;    // one count record per topic and flush
  constexpr int kPerRecord = 3;  // messages in each record
  for (int f = 0; f < kFlushes; ++f) {
    for (int t = 0; t < kTopics; ++t) {
      for (int m = 0; m < kPerRecord; ++m) {
        ASSERT_TRUE(e.Track("topic-" + std::to_string(t), Json(Event(kT0 - 1000 - m, f))));
      }
    }
    h.clock.AdvanceMs(10'000);
    ASSERT_TRUE(test::WaitFor([&] { return e.stats().flushes == f + 1; }, milliseconds(10'000))) << f;
    auto s = e.stats();
    ASSERT_LE(s.pending_bytes, static_cast<int64_t>(o.max_pending_bytes)) << f;
    ASSERT_EQ(s.pending_records + s.dropped_records, (f + 1) * kTopics) << f;  // nothing sent, nothing lost unsaid
  }
  auto during = e.stats();
  EXPECT_EQ(during.records_sent, 0);
  EXPECT_LE(during.peak_pending_bytes, static_cast<int64_t>(o.max_pending_bytes));
  EXPECT_GT(during.dropped_records, 0);  // the budget was reached
  EXPECT_GT(during.peak_pending_bytes, static_cast<int64_t>(o.max_pending_bytes) - 4096);
  std::printf("outbox: %lld records held in %lld bytes (%lld per record), %lld dropped\n",
              static_cast<long long>(during.pending_records), static_cast<long long>(during.pending_bytes),
              static_cast<long long>(during.pending_bytes / std::max<int64_t>(during.pending_records, 1)),
              static_cast<long long>(during.dropped_records));

  h.transport->FailAll(false);  // the audit cluster is back
  ASSERT_TRUE(e.Flush(milliseconds(20'000)).ok());
  std::set<std::string> uuids;
  int64_t counted = 0;
  for (const auto& r : h.transport->Delivered()) {
    if (r.kind == RecordKind::kCount && uuids.insert(r.uuid).second) counted += r.count;
  }
  auto hbs = h.transport->Heartbeats();
  ASSERT_FALSE(hbs.empty());
  EXPECT_EQ(static_cast<int64_t>(uuids.size()) + hbs.back().dropped_records, kFlushes * kTopics);
  EXPECT_EQ(counted, static_cast<int64_t>(uuids.size()) * kPerRecord);
  EXPECT_EQ(e.stats().pending_bytes, 0);
}

TEST(AuditClient, AuditRecordMemoryCountsTheHeapOfItsStrings) {
  AuditRecord r;
  const size_t empty = AuditRecordMemoryBytes(r);
  EXPECT_EQ(empty, sizeof(AuditRecord));
  r.topic = "t";  // fits in the string itself
  EXPECT_EQ(AuditRecordMemoryBytes(r), empty);
  r.latency_sketch.assign(1000, 'x');
  EXPECT_GE(AuditRecordMemoryBytes(r), empty + 1000);
}

TEST(AuditClient, CloseGivesUpAtItsTimeoutAndCountsWhatIsLost) {
  Harness h;
  h.transport->FailAll(true);
  auto o = h.Options();
  o.report_timeout = milliseconds(100);
  auto client = AuditClient::Create(o);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Track("orders", Json(Event(kT0, 1))));
  Status st = (*client)->Close(milliseconds(300));
  EXPECT_EQ(st.code(), Status::Code::kUnavailable);
  auto s = (*client)->stats();
  EXPECT_EQ(s.dropped_records, 1);
  EXPECT_EQ(s.records_sent, 0);
  EXPECT_GE(s.send_failures, 1);
  EXPECT_FALSE((*client)->Track("orders", Json(Event(kT0, 2))));  // closed
  EXPECT_EQ((*client)->stats().dropped_observations, 1);
  EXPECT_EQ((*client)->Close(milliseconds(300)).code(), Status::Code::kUnavailable);  // idempotent
}

TEST(AuditClient, CloseDeliversWhatIsLeft) {
  Harness h;
  auto client = AuditClient::Create(h.Options());
  ASSERT_TRUE(client.ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*client)->Track("orders", Json(Event(kT0, i))));
  ASSERT_TRUE((*client)->Close(milliseconds(10'000)).ok());
  auto by = ByTopicWindow(h.transport->Delivered());
  ASSERT_EQ(by.size(), 1u);
  EXPECT_EQ(by.begin()->second.count, 100);
  EXPECT_EQ(h.transport->Heartbeats().size(), 1u);
}

TEST(AuditClient, CreateRejectsBadOptions) {
  Harness h;
  auto o = h.Options();
  o.tier = "";
  EXPECT_EQ(AuditClient::Create(o).status().code(), Status::Code::kInvalidArgument);
  o = h.Options();
  o.timestamp_rules = {{"orders(", "json:ts"}};
  EXPECT_EQ(AuditClient::Create(o).status().code(), Status::Code::kInvalidArgument);
  o = h.Options();
  o.timestamp_chain = "bogus:x";
  EXPECT_EQ(AuditClient::Create(o).status().code(), Status::Code::kInvalidArgument);
  o = h.Options();
  o.reporter_factory = nullptr;  // and no audit bootstrap servers
  auto r = AuditClient::Create(o);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("bootstrap"), std::string::npos);
}

}  // namespace
}  // namespace chaperone
