#include "support/collector_stream.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <mutex>

#include "chaperone/audit_record.h"
#include "chaperone/latency_sketch.h"
#include "chaperone/mock_cluster.h"

namespace chaperone::test {
namespace {

constexpr int64_t kW = kStreamWindow;

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

}  // namespace

int64_t AuditStream::expected_total() const {
  int64_t total = 0;
  for (const auto& [k, v] : expect_count) total += v;
  return total;
}

AuditStream MakeAuditStream(int legacy) {
  AuditStream s;
  std::vector<std::pair<std::string, std::string>> messages;
  std::vector<std::string> sent;
  for (int i = 0; i < legacy; ++i) {
    std::string topic = "topic-" + std::to_string(i % 6);
    std::string tier = i % 2 ? "regional" : "aggregate";
    int64_t begin = kW + 600 * ((i / 12) % 3);
    int64_t count = 1 + i % 17;
    std::string json = LegacyRecord(topic, tier, begin, count, "uuid-" + std::to_string(i));
    messages.emplace_back(topic, json);
    sent.push_back(json);
    s.expect_count[{topic, tier, begin}] += count;
    s.expect_records[{topic, tier, begin}] += 1;
    if (i % 10 == 3) messages.emplace_back(topic, sent[i / 2]);  // a redelivery of an earlier record
    if (i % 40 == 7) {
      messages.emplace_back(topic, i % 80 == 7 ? "{\"topicName\": 42" : "definitely not json");
      ++s.garbage;
    }
  }
  // Service-tier records with chunk replays: per (topic, partition) a flush f1 of
  // chunk 0, its replay f2 (same chunk start: f1 is taken back out), then chunk 1000.
  std::map<std::string, int64_t> seq;
  std::vector<std::pair<std::string, std::string>> v1;
  for (int t = 0; t < 6; ++t) {
    std::string topic = "topic-" + std::to_string(t);
    AuditStream::Key k{topic, "service", kW};
    for (int32_t p = 0; p < 3; ++p) {
      const int64_t c1 = 10 + p, c2 = 12 + p, c3 = 5 + t;
      for (auto [chunk, flush, count] : {std::tuple<int64_t, const char*, int64_t>{0, "f1", c1}, {0, "f2", c2},
                                         {1000, "f3", c3}}) {
        AuditRecord r = ServiceRecord(topic, p, chunk, flush + std::to_string(p), count, seq[topic]++);
        EXPECT_TRUE(ValidateAuditRecord(r).ok()) << ValidateAuditRecord(r).ToString();
        v1.emplace_back(topic, EncodeAuditRecord(r));
      }
      s.expect_count[k] += c2 + c3;
      s.expect_records[k] += 2;
    }
  }
  // Spread them through the stream (keeping their order), so that a fault lands between a flush and its replay.
  const size_t every = messages.size() / (v1.size() + 1);
  for (size_t i = 0, j = 0; i < messages.size(); ++i) {
    s.messages.push_back(std::move(messages[i]));
    if ((i + 1) % every == 0 && j < v1.size()) s.messages.push_back(std::move(v1[j++]));
    if (i + 1 == messages.size()) {
      while (j < v1.size()) s.messages.push_back(std::move(v1[j++]));
    }
  }
  return s;
}

std::map<int32_t, int64_t> ProduceToAuditTopic(const std::string& bootstrap,
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
  if (rk == nullptr) return {};
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

Result<std::unique_ptr<Process>> StartCollectorProcess(const std::string& bootstrap, const std::string& store_url,
                                                       const std::string& group, int batch_records,
                                                       const std::vector<std::string>& extra) {
  ProcessOptions po;
  po.stdout_mode = ProcessOptions::Stream::kInherit;  // its log shows in the test output
  std::vector<std::string> argv = {CHAPERONE_BIN, "collector", "--bootstrap-servers", bootstrap, "--store", store_url,
                                   "--batch-records", std::to_string(batch_records), "--group-id", group, "-X",
                                   "fetch.wait.max.ms=10"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return Process::Start(argv, po);
}

int64_t StoredTotal(store::Store& store) {
  auto rows = store.QueryAllWindows(0, kW + 10 * 600);
  if (!rows.ok()) return -1;
  int64_t sum = 0;
  for (const auto& w : *rows) sum += w.count;
  return sum;
}

std::map<int32_t, int64_t> StoredPositions(store::Store& store, const std::string& group) {
  std::map<int32_t, int64_t> at;
  auto pos = store.LoadPositions(group, kDefaultAuditTopic);
  if (!pos.ok()) return at;
  for (const auto& p : *pos) at[p.partition] = p.next_offset;
  return at;
}

std::map<int32_t, int64_t> KafkaCommittedOffsets(const std::string& bootstrap, const std::string& group,
                                                 int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);  // reads the group's offsets, never joins it
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  if (rk == nullptr) return {};
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, kDefaultAuditTopic, p);
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, list, 30000);
  EXPECT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
  std::map<int32_t, int64_t> out;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    out[tp.partition] = tp.offset < 0 ? -1 : tp.offset;
  }
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return out;
}

void ExpectStoreHolds(store::Store& store, const AuditStream& stream) {
  auto rows = store.QueryAllWindows(0, kW + 10 * 600);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), stream.expect_count.size());
  for (const auto& w : *rows) {
    AuditStream::Key k{w.topic, w.tier, w.window_begin_sec};
    const int64_t count = stream.expect_count.at(k);
    EXPECT_EQ(w.count, count) << w.topic << "/" << w.tier << "@" << w.window_begin_sec;
    EXPECT_EQ(w.records, stream.expect_records.at(k)) << w.topic << "/" << w.tier << "@" << w.window_begin_sec;
    EXPECT_EQ(w.bytes, 100 * count);
    if (w.tier == "service") {
      EXPECT_FALSE(w.latency_upper_bound);  // exact: from the merged sketch
      EXPECT_TRUE(w.digest_known);
      EXPECT_EQ(w.digest, static_cast<uint64_t>(count));
      auto sketch = LatencySketch::Decode(w.latency_sketch);
      ASSERT_TRUE(sketch.ok());
      EXPECT_EQ(sketch->count(), static_cast<uint64_t>(count));
      auto parts = store.QueryPartitions(w.topic, "service", kW);
      ASSERT_TRUE(parts.ok());
      EXPECT_EQ(parts->size(), 3u);
    } else {
      EXPECT_TRUE(w.latency_upper_bound);  // legacy records
    }
  }
  auto emitters = store.QueryEmitters("service");
  ASSERT_TRUE(emitters.ok());
  ASSERT_EQ(emitters->size(), 6u);
  for (const auto& e : *emitters) {
    EXPECT_EQ(e.last_seq, 8);
    EXPECT_EQ(e.missing_records, 0);
  }
  auto quarantined = store.QuarantineCount();
  ASSERT_TRUE(quarantined.ok());
  EXPECT_EQ(*quarantined, stream.garbage);
}

}  // namespace chaperone::test
