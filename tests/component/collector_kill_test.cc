// The real `chaperone collector` binary, killed with SIGKILL mid-stream and
// restarted, applies every valid audit record exactly once (SQLite and PostgreSQL).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <tuple>

#include "chaperone/latency_sketch.h"
#include "chaperone/mock_cluster.h"
#include "store/store.h"
#include "support/pg_server.h"
#include "support/process.h"

namespace chaperone {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 4;
constexpr int64_t kW = 1795303800;

struct Produced {
  std::mutex mu;
  std::map<int32_t, int64_t> end;  // partition -> offset after the last delivered message
  int failed = 0;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* p = static_cast<Produced*>(opaque);
  std::lock_guard lock(p->mu);
  if (m->err) {
    ++p->failed;
    return;
  }
  p->end[m->partition] = std::max(p->end[m->partition], m->offset + 1);
}

// Produces (key, value) pairs to the audit topic; returns the end offsets.
std::map<int32_t, int64_t> Produce(const std::string& bootstrap,
                                   const std::vector<std::pair<std::string, std::string>>& messages) {
  Produced produced;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, &produced);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  for (const auto& [key, value] : messages) {
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(kDefaultAuditTopic), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      EXPECT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
      break;
    }
  }
  EXPECT_EQ(rd_kafka_flush(rk, 30000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);
  EXPECT_EQ(produced.failed, 0);
  return produced.end;
}

// A record in Chaperone's legacy service shape (shared/fixtures/legacy-service-record.json).
std::string LegacyRecord(const std::string& topic, const std::string& tier, int64_t begin, int64_t count,
                         const std::string& uuid) {
  return "{\"topicName\":\"" + topic + "\",\"timeBeginInSec\":" + std::to_string(begin) +
         ".0,\"timeEndInSec\":" + std::to_string(begin + 600) + ".0,\"totalBytes\":" + std::to_string(count * 100) +
         ",\"count\":" + std::to_string(count) +
         ",\"noTimeCount\":0,\"malformedCount\":0,\"meanLatency\":12.5,\"latency95\":30.0,\"latency99\":41.0,"
         "\"maxLatency\":48.0,\"tier\":\"" + tier + "\",\"hostname\":\"host-" + std::to_string(count % 7) +
         "\",\"datacenter\":\"dc1\",\"uuid\":\"" + uuid + "\"}";
}

// A v1 service-tier record for one partition of `topic` (a chunk of a flush).
AuditRecord ServiceRecord(const std::string& topic, int32_t partition, int64_t chunk_start, const std::string& flush,
                          int64_t count, int64_t seq) {
  AuditRecord r;
  r.tier = "service";
  r.hostname = "svc-1";
  r.datacenter = "dc1";
  r.cluster = "regional";
  r.uuid = "svc-" + topic + "-" + std::to_string(seq);
  r.emitter_id = "svc-1-" + topic;
  r.seq = seq;
  r.flush_id = flush;
  r.topic = topic;
  r.window_begin_sec = kW;
  r.window_end_sec = kW + 600;
  r.count = count;
  r.total_bytes = count * 100;
  r.no_time_count = 0;
  r.malformed_count = 0;
  LatencySketch sketch;
  sketch.Add(10, static_cast<uint64_t>(count));
  r.latency_sketch = sketch.Encode();
  r.mean_latency_ms = 10;
  r.latency50_ms = 10;
  r.latency95_ms = 10;
  r.latency99_ms = 10;
  r.max_latency_ms = 10;
  r.digest = static_cast<uint64_t>(count);
  r.partitions = {{partition, count, chunk_start, chunk_start + count - 1, chunk_start}};
  return r;
}

class CollectorKill : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/chaperone-collector-kill-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    if (GetParam() == "sqlite") {
      url_ = "sqlite:" + dir_ + "/chaperone.db";
    } else {
      auto url = test::FreshPgDatabase();
      ASSERT_TRUE(url.ok()) << url.status().ToString();
      url_ = *url;
    }
  }
  void TearDown() override {
    collector_.reset();  // SIGKILL if still running
    std::filesystem::remove_all(dir_);
  }

  void StartCollector(const std::string& bootstrap, int batch_records) {
    test::ProcessOptions po;
    po.stdout_mode = test::ProcessOptions::Stream::kInherit;  // its log shows in the test output
    auto p = test::Process::Start({CHAPERONE_BIN, "collector", "--bootstrap-servers", bootstrap, "--store", url_,
                                   "--batch-records", std::to_string(batch_records), "--group-id", "kill-test", "-X",
                                   "fetch.wait.max.ms=10",
                                   // A killed member's partitions move after the session timeout: keep it short.
                                   "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"},
                                  po);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    collector_ = std::move(*p);
  }

  std::string dir_, url_;
  std::unique_ptr<test::Process> collector_;
};

TEST_P(CollectorKill, EveryValidRecordIsAppliedExactlyOnceAcrossKill9) {
  auto cluster = MockCluster::Start(1, {{kDefaultAuditTopic, kPartitions}});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  const std::string bootstrap = (*cluster)->bootstrap_servers();

  // Valid records over 6 topics x 2 tiers x 3 windows, with redeliveries and garbage mixed in.
  using Key = std::tuple<std::string, std::string, int64_t>;
  std::map<Key, int64_t> expect_count, expect_records;
  std::vector<std::pair<std::string, std::string>> messages;
  std::vector<std::string> sent;
  int garbage = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string topic = "topic-" + std::to_string(i % 6);
    std::string tier = i % 2 ? "regional" : "aggregate";
    int64_t begin = kW + 600 * ((i / 12) % 3);
    int64_t count = 1 + i % 17;
    std::string json = LegacyRecord(topic, tier, begin, count, "uuid-" + std::to_string(i));
    messages.emplace_back(topic, json);
    sent.push_back(json);
    expect_count[{topic, tier, begin}] += count;
    expect_records[{topic, tier, begin}] += 1;
    if (i % 10 == 3) messages.emplace_back(topic, sent[i / 2]);  // a redelivery of an earlier record
    if (i % 40 == 7) {
      messages.emplace_back(topic, i % 80 == 7 ? "{\"topicName\": 42" : "definitely not json");
      ++garbage;
    }
  }
  // Service-tier records with chunk replays: per (topic, partition) a flush f1 of
  // chunk 0, its replay f2 (same chunk start: f1 is taken back out), then chunk 1000.
  std::map<std::string, int64_t> seq;
  std::vector<std::pair<std::string, std::string>> v1;
  for (int t = 0; t < 6; ++t) {
    std::string topic = "topic-" + std::to_string(t);
    Key k{topic, "service", kW};
    for (int32_t p = 0; p < 3; ++p) {
      const int64_t c1 = 10 + p, c2 = 12 + p, c3 = 5 + t;
      for (auto [chunk, flush, count] : {std::tuple<int64_t, const char*, int64_t>{0, "f1", c1}, {0, "f2", c2},
                                         {1000, "f3", c3}}) {
        AuditRecord r = ServiceRecord(topic, p, chunk, flush + std::to_string(p), count, seq[topic]++);
        ASSERT_TRUE(ValidateAuditRecord(r).ok()) << ValidateAuditRecord(r).ToString();
        v1.emplace_back(topic, EncodeAuditRecord(r));
      }
      expect_count[k] += c2 + c3;
      expect_records[k] += 2;
    }
  }
  // Spread them through the stream (keeping their order), so kills land between a flush and its replay.
  std::vector<std::pair<std::string, std::string>> mixed;
  const size_t every = messages.size() / (v1.size() + 1);
  for (size_t i = 0, j = 0; i < messages.size(); ++i) {
    mixed.push_back(std::move(messages[i]));
    if ((i + 1) % every == 0 && j < v1.size()) mixed.push_back(std::move(v1[j++]));
    if (i + 1 == messages.size()) {
      while (j < v1.size()) mixed.push_back(std::move(v1[j++]));
    }
  }
  messages = std::move(mixed);
  auto end = Produce(bootstrap, messages);
  int64_t total_messages = 0;
  for (const auto& [p, e] : end) total_messages += e;
  ASSERT_EQ(total_messages, static_cast<int64_t>(messages.size()));
  int64_t expected_total = 0;
  for (const auto& [k, v] : expect_count) expected_total += v;

  auto reader = store::Store::Open(url_);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  StartCollector(bootstrap, 50);
  auto applied_total = [&]() -> int64_t {
    auto rows = (*reader)->QueryAllWindows(0, kW + 10 * 600);
    if (!rows.ok()) return -1;
    int64_t sum = 0;
    for (const auto& w : *rows) sum += w.count;
    return sum;
  };

  // Kill -9 twice while it is mid-stream, restarting each time.
  for (double fraction : {0.15, 0.5}) {
    ASSERT_TRUE(test::WaitFor([&] { return applied_total() >= fraction * expected_total; }, 120s));
    EXPECT_LT(applied_total(), expected_total) << "the stream finished before the kill; make it longer";
    ASSERT_TRUE(collector_->Signal(SIGKILL).ok());
    auto status = collector_->Wait(30s);
    ASSERT_TRUE(status.ok()) << status.status().ToString();
    ASSERT_EQ(*status, 128 + SIGKILL);
    StartCollector(bootstrap, 50);
  }

  // Done when the stored positions reach the end of every partition.
  auto caught_up = [&] {
    auto pos = (*reader)->LoadPositions("kill-test", kDefaultAuditTopic);
    if (!pos.ok()) return false;
    std::map<int32_t, int64_t> at;
    for (const auto& p : *pos) at[p.partition] = p.next_offset;
    for (const auto& [p, e] : end) {
      if (at[p] != e) return false;
    }
    return true;
  };
  ASSERT_TRUE(test::WaitFor(caught_up, 120s));
  auto status = collector_->Stop(30s);  // SIGTERM: a clean stop
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 0);

  auto rows = (*reader)->QueryAllWindows(0, kW + 10 * 600);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), expect_count.size());
  for (const auto& w : *rows) {
    Key k{w.topic, w.tier, w.window_begin_sec};
    EXPECT_EQ(w.count, expect_count[k]) << w.topic << "/" << w.tier << "@" << w.window_begin_sec;
    EXPECT_EQ(w.records, expect_records[k]) << w.topic << "/" << w.tier << "@" << w.window_begin_sec;
    EXPECT_EQ(w.bytes, 100 * expect_count[k]);
    if (w.tier == "service") {
      EXPECT_FALSE(w.latency_upper_bound);  // exact: from the merged sketch
      EXPECT_TRUE(w.digest_known);
      EXPECT_EQ(w.digest, static_cast<uint64_t>(expect_count[k]));
      auto sketch = LatencySketch::Decode(w.latency_sketch);
      ASSERT_TRUE(sketch.ok());
      EXPECT_EQ(sketch->count(), static_cast<uint64_t>(expect_count[k]));
      auto parts = (*reader)->QueryPartitions(w.topic, "service", kW);
      ASSERT_TRUE(parts.ok());
      EXPECT_EQ(parts->size(), 3u);
    } else {
      EXPECT_TRUE(w.latency_upper_bound);  // legacy records
    }
  }
  auto emitters = (*reader)->QueryEmitters("service");
  ASSERT_TRUE(emitters.ok());
  ASSERT_EQ(emitters->size(), 6u);
  for (const auto& e : *emitters) {
    EXPECT_EQ(e.last_seq, 8);
    EXPECT_EQ(e.missing_records, 0);
  }
  auto quarantined = (*reader)->QuarantineCount();
  ASSERT_TRUE(quarantined.ok());
  EXPECT_EQ(*quarantined, garbage);
}

INSTANTIATE_TEST_SUITE_P(Stores, CollectorKill, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace chaperone
