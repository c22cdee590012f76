// The replicator's building blocks against librdkafka's mock cluster:
// FindResumePoints, TranslateOffsets and checkpoints read back through the
// librdkafka DestinationReader, checked against what the delivery reports of
// an idempotent producer said (an independent count); TopicSync between two
// mock clusters, which cannot create topics (no CreateTopics in 2.0.2's mock).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <map>
#include <random>

#include "chaperone/mock_cluster.h"
#include "replicate/checkpoint.h"
#include "replicate/destination_reader.h"
#include "replicate/resume.h"
#include "replicate/topic_sync.h"

namespace chaperone::replicate {
namespace {

using namespace std::chrono_literals;

// Writes records with provenance into a destination cluster, like a
// replicator would, and remembers what each delivery report acknowledged.
class ProvenanceWriter {
 public:
  struct Acked {
    int64_t source_offset;
    int64_t destination_offset;
  };

  explicit ProvenanceWriter(const std::string& bootstrap) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    rd_kafka_conf_set_dr_msg_cb(conf, &ProvenanceWriter::OnDelivery);
    rd_kafka_conf_set_opaque(conf, this);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  }
  ~ProvenanceWriter() {
    if (rk_) rd_kafka_destroy(rk_);
  }

  void Send(const DestinationPartition& d, const OriginPartition& o, int64_t source_offset) {
    auto hs = *EncodeProvenance({o, Offset(source_offset)});
    rd_kafka_headers_t* h = rd_kafka_headers_new(hs.size());
    for (const auto& x : hs) rd_kafka_header_add(h, x.name.data(), x.name.size(), x.value->data(), x.value->size());
    auto* ctx = new Ctx{o, source_offset};
    std::string value = "v" + std::to_string(source_offset);
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(d.topic.c_str()), RD_KAFKA_V_PARTITION(d.partition.value()),
                                    RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE(ctx), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk_, 10);
    ASSERT_EQ(err, RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void Flush() { ASSERT_EQ(rd_kafka_flush(rk_, 10000), RD_KAFKA_RESP_ERR_NO_ERROR); }
  // A producer that stops: whatever is not yet on its way is dropped.
  void Kill() {
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE);
    rd_kafka_flush(rk_, 10000);
  }

  std::map<OriginPartition, std::vector<Acked>> acked;
  int64_t failed = 0;

 private:
  struct Ctx {
    OriginPartition origin;
    int64_t source_offset;
  };
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<ProvenanceWriter*>(opaque);
    std::unique_ptr<Ctx> ctx(static_cast<Ctx*>(m->_private));
    if (m->err) {
      ++self->failed;
      return;
    }
    self->acked[ctx->origin].push_back({ctx->source_offset, m->offset});
  }
  rd_kafka_t* rk_ = nullptr;
};

class ReplicateResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = MockCluster::Start(1, {{"orders", 2}, {std::string(kCheckpointTopic), 1}});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    destination_ = std::move(*c);
    auto r = KafkaDestinationReader::Create({{"bootstrap.servers", destination_->bootstrap_servers()}, {"log_level", "3"}},
                                            10s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    reader_ = std::move(*r);
  }

  std::unique_ptr<MockCluster> destination_;
  std::unique_ptr<KafkaDestinationReader> reader_;
};

const OriginPartition kDc1P0{"dc1", "orders", PartitionId(0)};
const OriginPartition kDc1P1{"dc1", "orders", PartitionId(1)};
const OriginPartition kDc2P0{"dc2", "orders", PartitionId(0)};
const OriginPartition kDc2P1{"dc2", "orders", PartitionId(1)};

TEST_F(ReplicateResumeTest, ResumePointsAndTranslationsMatchWhatWasAcknowledged) {
  // Two regional clusters into one aggregate topic (identity partitioning):
  // dc1 writes 0..599 of each partition; dc2 (source offsets with holes: a
  // compacted source) is killed part-way through.
  ProvenanceWriter dc1(destination_->bootstrap_servers());
  ProvenanceWriter dc2(destination_->bootstrap_servers());
  std::mt19937 rng(7);
  for (int i = 0; i < 600; ++i) {
    for (int p = 0; p < 2; ++p) {
      DestinationPartition d{"orders", PartitionId(p)};
      dc1.Send(d, p == 0 ? kDc1P0 : kDc1P1, i);
      if (rng() % 2) dc2.Send(d, p == 0 ? kDc2P0 : kDc2P1, 3 * i + 1);
    }
    if (i == 400) dc2.Kill();  // everything dc2 queued but not sent is lost
  }
  dc1.Flush();
  dc2.Flush();
  ASSERT_EQ(dc1.failed, 0);

  std::map<OriginPartition, int64_t> expected_next;  // the independent count
  for (const auto* w : {&dc1, &dc2})
    for (const auto& [origin, acks] : w->acked) {
      int64_t hi = -1;
      for (const auto& a : acks) hi = std::max(hi, a.source_offset);
      expected_next[origin] = hi + 1;
    }
  expected_next.try_emplace(kDc2P0, 0);
  expected_next.try_emplace(kDc2P1, 0);
  EXPECT_EQ(expected_next[kDc1P0], 600);

  std::vector<ResumeQuery> queries;
  for (const auto& o : {kDc1P0, kDc1P1, kDc2P0, kDc2P1}) queries.push_back({o, "orders", {o.partition}});
  auto r = FindResumePoints(*reader_, queries, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const auto& point : r->points)
    EXPECT_EQ(point.next_source_offset.value(), expected_next[point.origin]) << ToString(point.origin);
  EXPECT_EQ(r->stats.foreign + r->stats.malformed, 0);
  const int64_t full_scan = r->stats.records;

  // Translation: for committed positions spread over each origin, the
  // destination offset of the first acknowledged record at or past it.
  std::vector<TranslateQuery> tq;
  std::vector<int64_t> want;
  for (const auto* w : {&dc1, &dc2})
    for (const auto& [origin, acks] : w->acked) {
      for (int64_t c : {int64_t{0}, int64_t{150}, int64_t{451}, expected_next[origin]}) {
        tq.push_back({origin, Offset(c), "orders", {origin.partition}});
        int64_t best = -1, best_src = INT64_MAX;
        for (const auto& a : acks)
          if (a.source_offset >= c && a.source_offset < best_src) best_src = a.source_offset, best = a.destination_offset;
        want.push_back(best);  // −1: none, the partition's end
      }
    }
  auto t = TranslateOffsets(*reader_, tq, {});
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->translations.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const Translation& tr = t->translations[i];
    if (want[i] < 0) {
      auto wm = reader_->Watermarks(tr.destination);
      ASSERT_TRUE(wm.ok());
      EXPECT_FALSE(tr.found);
      EXPECT_EQ(tr.destination_offset, wm->high) << ToString(tr.origin) << " @" << tr.committed.value();
    } else {
      EXPECT_TRUE(tr.found);
      EXPECT_EQ(tr.destination_offset.value(), want[i]) << ToString(tr.origin) << " @" << tr.committed.value();
    }
  }

  // Checkpoints written from the scan bound the next one; records written
  // after them still move the resume point.
  {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", destination_->bootstrap_servers().c_str(), err, sizeof err);
    rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    for (const auto& point : r->points)
      for (const auto& c : CheckpointsFrom(point)) {
        std::string k = *EncodeCheckpointKey(c.key), v = *EncodeCheckpointValue(c);
        ASSERT_EQ(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(std::string(kCheckpointTopic).c_str()),
                                    RD_KAFKA_V_PARTITION(CheckpointPartition(k, 1).value()),
                                    RD_KAFKA_V_KEY(k.data(), k.size()), RD_KAFKA_V_VALUE(v.data(), v.size()),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
      }
    ASSERT_EQ(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
  }
  for (int i = 600; i < 610; ++i) dc1.Send({"orders", PartitionId(0)}, kDc1P0, i);
  dc1.Flush();
  auto load = LoadCheckpoints(*reader_, kCheckpointTopic, 1);
  ASSERT_TRUE(load.ok()) << load.status().ToString();
  EXPECT_EQ(load->malformed, 0);
  EXPECT_GE(load->checkpoints.size(), 2u);
  auto again = FindResumePoints(*reader_, queries, load->checkpoints);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->points[0].next_source_offset, Offset(610));
  for (size_t i = 1; i < again->points.size(); ++i)
    EXPECT_EQ(again->points[i].next_source_offset, r->points[i].next_source_offset);
  EXPECT_EQ(again->stats.records, 10) << "full scan read " << full_scan;
}

TEST_F(ReplicateResumeTest, AMissingDestinationPartitionIsNotFound) {
  auto r = FindResumePoints(*reader_, std::vector<ResumeQuery>{{kDc1P0, "no-such-topic", {PartitionId(0)}}}, {});
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound) << r.status().ToString();
}

class TopicSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = MockCluster::Start(1, {{"orders", 4}, {"payments", 2}, {"ignored", 1}});
    ASSERT_TRUE(s.ok());
    source_ = std::move(*s);
    auto d = MockCluster::Start(1, {{"orders", 4}});
    ASSERT_TRUE(d.ok());
    destination_ = std::move(*d);
  }

  std::unique_ptr<TopicSync> Sync(std::map<std::string, std::string> rename = {}) {
    PartitionMapConfig c;
    c.source_cluster = "dc1";
    c.destination_cluster = "aggregate";
    c.include = {"orders", "payments"};
    c.rename = std::move(rename);
    auto map = PartitionMap::Create(c);
    EXPECT_TRUE(map.ok()) << map.status().ToString();
    TopicSyncOptions o;
    o.source = {{"bootstrap.servers", source_->bootstrap_servers()}, {"log_level", "3"}};
    o.destination = {{"bootstrap.servers", destination_->bootstrap_servers()}, {"log_level", "3"}};
    o.timeout = 2s;
    auto t = TopicSync::Create(std::move(*map), o);
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return std::move(*t);
  }

  std::unique_ptr<MockCluster> source_;
  std::unique_ptr<MockCluster> destination_;
};

TEST_F(TopicSyncTest, TheMockCannotCreateTopicsAndSyncSaysSoWithoutAutoCreating) {
  auto sync = Sync();
  for (int round = 0; round < 2; ++round) {  // the second round proves nothing was auto-created
    auto r = sync->Sync();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->topics.size(), 2u);
    EXPECT_EQ(r->topics[0].source_topic, "orders");
    EXPECT_EQ(r->topics[0].state, TopicState::kReady);
    EXPECT_EQ(r->topics[1].source_topic, "payments");
    EXPECT_EQ(r->topics[1].state, TopicState::kCannotCreate);
    EXPECT_EQ(r->topics[1].destination_partitions, 0);
    // The 2.0.2 mock answers Metadata with no controller, so the client
    // gives up waiting for one before it could even see that the API is missing.
    EXPECT_NE(r->topics[1].detail.find("CreateTopics: Failed while waiting for controller"), std::string::npos)
        << r->topics[1].detail;
    auto problems = TopicSyncProblems(*r);
    ASSERT_EQ(problems.size(), 1u);
    std::printf("topic sync says: %s\n", problems[0].c_str());
  }
}

TEST_F(TopicSyncTest, APartitionCountMismatchWaitsUntilTheTopicIsRight) {
  auto sync = Sync({{"payments", "agg.payments"}});
  ASSERT_TRUE(destination_->CreateTopic({"agg.payments", 1}).ok());  // too few for identity
  auto r = sync->Sync();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->topics.size(), 2u);
  EXPECT_EQ(r->topics[1].destination_topic, "agg.payments");
  EXPECT_EQ(r->topics[1].state, TopicState::kPartitionMismatch);
  EXPECT_EQ(r->topics[1].destination_partitions, 1);
  std::string metrics;
  AppendTopicSyncMetrics(metrics, *r);
  EXPECT_NE(metrics.find("chaperone_replicate_topic_waiting{topic=\"payments\",state=\"partition_mismatch\"} 1"),
            std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace chaperone::replicate
