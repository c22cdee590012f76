// `chaperone replicate` as a library between two in-process mock clusters:
// byte-for-byte copies (key, value, headers, CreateTime), rename, identity and
// key-hash partitioning, loop prevention, discovery of a topic created later,
// resume exactness after a restart (checked by content in the destination),
// retention gaps, and the failover of a consumer group with translated offsets.
#include <gtest/gtest.h>
#include <httplib.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "chaperone/mock_cluster.h"
#include "replicate/checkpoint.h"
#include "replicate/destination_reader.h"
#include "replicate/partition_map.h"
#include "replicate/provenance.h"
#include "replicate/replicator.h"
#include "replicate/translate.h"
#include "support/service_support.h"

namespace chaperone::replicate {
namespace {

using namespace std::chrono_literals;
using testing::TestMessage;
using testing::TestProducer;
using testing::WaitFor;

struct Copied {
  int64_t offset;  // in the destination
  std::optional<std::string> key, value;
  std::vector<Header> headers;  // without provenance
  std::optional<Provenance> provenance;
};

class ReplicatorComponentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = MockCluster::Start(1, {{"orders", 4}, {"late", 2}});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    source_ = std::move(*s);
    auto d = MockCluster::Start(1, {{"orders", 4}, {"agg.orders", 4}, {std::string(kCheckpointTopic), 2},
                                    {"chaperone-audit", 1}});
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    destination_ = std::move(*d);
    auto p = TestProducer::Create(source_->bootstrap_servers());
    ASSERT_TRUE(p.ok());
    producer_ = std::move(*p);
  }
  void TearDown() override { Stop(); }

  ReplicateOptions Options() {
    ReplicateOptions o;
    o.source_cluster = "dc1";
    o.source_properties = {{"bootstrap.servers", source_->bootstrap_servers()}, {"log_level", "3"}};
    o.destination_cluster = "agg";
    o.destination_properties = {{"bootstrap.servers", destination_->bootstrap_servers()}, {"log_level", "3"}};
    o.include = {"orders"};
    o.discovery_interval = 200ms;
    o.flush_interval = 100ms;
    o.checkpoint_interval = 200ms;
    o.send_timeout = 10s;
    o.listen = "";
    o.consumer_properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    return o;
  }

  void Start(ReplicateOptions o) {
    auto r = Replicator::Create(std::move(o));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    replicator_ = std::move(*r);
    stop_ = false;
    thread_ = std::thread([this] { EXPECT_TRUE(replicator_->Run(stop_).ok()); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    replicator_.reset();
  }

  void Produce(const std::string& topic, int n, int partitions, int first = 0) {
    for (int i = first; i < first + n; ++i) {
      TestMessage m;
      m.topic = topic;
      m.partition = i % partitions;
      m.key = "key-" + std::to_string(i);
      m.value = "value-" + std::to_string(i);
      m.timestamp_ms = 1'700'000'000'000 + i;
      m.headers = {{"trace", "t" + std::to_string(i)}, {"empty", ""}};
      ASSERT_TRUE(producer_->Produce(m, 60).ok());
    }
    ASSERT_TRUE(producer_->Flush(10s).ok());
  }

  // Every record of a destination topic.
  std::map<int32_t, std::vector<Copied>> ReadDestination(const std::string& topic, int partitions) {
    auto reader = KafkaDestinationReader::Create(
        {{"bootstrap.servers", destination_->bootstrap_servers()}, {"log_level", "3"}}, 10s);
    EXPECT_TRUE(reader.ok());
    std::map<int32_t, std::vector<Copied>> out;
    for (int p = 0; p < partitions; ++p) {
      DestinationPartition d{topic, PartitionId(p)};
      auto w = (*reader)->Watermarks(d);
      EXPECT_TRUE(w.ok()) << w.status().ToString();
      if (!w.ok()) continue;
      EXPECT_TRUE((*reader)->Read(d, w->low, w->high, [&](const DestinationRecordView& r) {
        Copied c;
        c.offset = r.offset.value();
        if (r.key) c.key = std::string(*r.key);
        if (r.value) c.value = std::string(*r.value);
        for (const auto& h : r.headers)
          if (!h.name.starts_with(kProvenancePrefix))
            c.headers.push_back({std::string(h.name), h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
        auto prov = DecodeProvenance(r.headers);
        if (prov.ok()) c.provenance = *prov;
        out[p].push_back(std::move(c));
      }).ok());
    }
    return out;
  }

  // Produces `n` records to orders, replicates them into agg.orders and stops.
  ReplicateOptions ReplicateRenamed(int n) {
    Produce("orders", n, 4);
    ReplicateOptions o = Options();
    o.rename = {{"orders", "agg.orders"}};
    Start(o);
    EXPECT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= n; }, 60s));
    Stop();
    return o;
  }

  int64_t CountIn(const std::string& topic, int partitions) {
    int64_t n = 0;
    for (const auto& [p, v] : ReadDestination(topic, partitions)) n += static_cast<int64_t>(v.size());
    return n;
  }

  // Every source offset 0..n-1 of every partition exactly once (by provenance).
  void ExpectExactlyOnce(const std::string& topic, int partitions, int64_t per_source_partition_total) {
    std::map<std::pair<int32_t, int64_t>, int> seen;
    for (const auto& [p, v] : ReadDestination(topic, partitions))
      for (const auto& c : v) {
        ASSERT_TRUE(c.provenance.has_value());
        ++seen[{c.provenance->origin.partition.value(), c.provenance->offset.value()}];
      }
    int64_t total = 0;
    for (const auto& [k, n] : seen) {
      EXPECT_EQ(n, 1) << "partition " << k.first << " offset " << k.second << " copied " << n << " times";
      ++total;
    }
    EXPECT_EQ(total, per_source_partition_total);
  }

  std::unique_ptr<MockCluster> source_, destination_;
  std::unique_ptr<TestProducer> producer_;
  std::unique_ptr<Replicator> replicator_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(ReplicatorComponentTest, CopiesByteForByteWithRenameIdentityPartitioning) {
  ReplicateRenamed(200);
  auto dest = ReadDestination("agg.orders", 4);
  int64_t n = 0;
  for (const auto& [p, v] : dest) {
    for (const auto& c : v) {
      ASSERT_TRUE(c.provenance.has_value());
      EXPECT_EQ(c.provenance->origin.cluster, "dc1");
      EXPECT_EQ(c.provenance->origin.topic, "orders");
      EXPECT_EQ(c.provenance->origin.partition.value(), p);  // identity
      ASSERT_TRUE(c.key.has_value());
      int i = std::stoi(c.key->substr(4));
      EXPECT_EQ(i % 4, p);
      EXPECT_EQ(c.value, "value-" + std::to_string(i));
      ASSERT_EQ(c.headers.size(), 2u);
      EXPECT_EQ(c.headers[0].name, "trace");
      EXPECT_EQ(c.headers[0].value, "t" + std::to_string(i));
      EXPECT_EQ(c.headers[1].name, "empty");
      EXPECT_EQ(c.headers[1].value, "");
      ++n;
    }
  }
  EXPECT_EQ(n, 200);
  ExpectExactlyOnce("agg.orders", 4, 200);
  EXPECT_EQ(CountIn("orders", 4), 0);  // renamed: nothing under the source name
}

TEST_F(ReplicatorComponentTest, PreservesCreateTime) {
  Produce("orders", 8, 4);
  Start(Options());
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 8; }, 60s));
  Stop();
  // Timestamps through a plain consumer (the reader view has none).
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", destination_->bootstrap_servers().c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "ts-check", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < 4; ++p) rd_kafka_topic_partition_list_add(l, "orders", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  int got = 0;
  for (int i = 0; i < 200 && got < 8; ++i) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) {
      rd_kafka_timestamp_type_t type;
      int64_t ts = rd_kafka_message_timestamp(m, &type);
      std::string key(static_cast<const char*>(m->key), m->key_len);
      EXPECT_EQ(type, RD_KAFKA_TIMESTAMP_CREATE_TIME);
      EXPECT_EQ(ts, 1'700'000'000'000 + std::stoi(key.substr(4)));
      ++got;
    }
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(got, 8);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

TEST_F(ReplicatorComponentTest, KeyHashPartitioning) {
  Produce("orders", 120, 4);
  ReplicateOptions o = Options();
  o.rename = {{"orders", "agg.orders"}};
  o.partitioning = PartitionStrategy::kKeyHash;
  Start(o);
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 120; }, 60s));
  Stop();
  for (const auto& [p, v] : ReadDestination("agg.orders", 4))
    for (const auto& c : v) EXPECT_EQ(KafkaKeyPartition(*c.key, 4).value(), p);
  ExpectExactlyOnce("agg.orders", 4, 120);
}

TEST_F(ReplicatorComponentTest, LoopPreventionDoesNotCopyBack) {
  // A record that came from the destination cluster (origin "agg").
  auto from_agg = *EncodeProvenance({{"agg", "orders", PartitionId(0)}, Offset(3)});
  TestMessage m;
  m.topic = "orders";
  m.partition = 0;
  m.key = "k";
  m.value = "from-agg";
  m.timestamp_ms = 1'700'000'000'000;
  for (const auto& h : from_agg) m.headers.push_back({h.name, *h.value});
  ASSERT_TRUE(producer_->Produce(m, 60).ok());
  Produce("orders", 4, 4);
  Start(Options());
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 5; }, 60s));
  EXPECT_EQ(replicator_->records_loop_skipped(), 1);
  Stop();
  for (const auto& [p, v] : ReadDestination("orders", 4))
    for (const auto& c : v) EXPECT_NE(c.value, "from-agg");
  EXPECT_EQ(CountIn("orders", 4), 4);
}

TEST_F(ReplicatorComponentTest, RestartResumesExactlyFromTheDestination) {
  Produce("orders", 300, 4);
  ReplicateOptions o = Options();
  Start(o);
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 300; }, 60s));
  Stop();
  // A new group (nothing committed) starts from the earliest offset: the
  // destination alone says everything is there.
  Produce("orders", 100, 4, 300);
  o.group_id = "another-group";
  Start(o);
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 400; }, 60s));
  EXPECT_EQ(replicator_->records_already_written(), 300);
  EXPECT_EQ(replicator_->records_copied(), 100);
  Stop();
  ExpectExactlyOnce("orders", 4, 400);
}

TEST_F(ReplicatorComponentTest, DiscoversATopicCreatedLater) {
  ReplicateOptions o = Options();
  o.include = {"orders", "late", "later"};  // "late" exists only on the source
  Start(o);
  Produce("orders", 4, 4);
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 4; }, 60s));
  // Created on both sides after the start (the mock cannot CreateTopics).
  ASSERT_TRUE(destination_->CreateTopic({"later", 3}).ok());
  ASSERT_TRUE(source_->CreateTopic({"later", 3}).ok());
  Produce("later", 30, 3);
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 34; }, 60s));
  std::string metrics = replicator_->PrometheusMetrics();
  // "late" has no destination topic: it waits, reported, never produced to.
  EXPECT_NE(metrics.find("chaperone_replicate_topic_waiting{topic=\"late\""), std::string::npos) << metrics;
  auto health = replicator_->Health();
  EXPECT_EQ(health.state, http::HealthVerdict::State::kDegraded);
  Stop();
  ExpectExactlyOnce("later", 3, 30);
}

TEST_F(ReplicatorComponentTest, OffsetOutOfRangeLosesAndDuplicatesNothing) {
  Produce("orders", 40, 4);
  ReplicateOptions o = Options();
  Start(o);
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 40; }, 60s));
  Stop();
  // A group whose committed offset of partition 0 points past the log's end
  // (a topic deleted and created again): the fetch gets OFFSET_OUT_OF_RANGE
  // and the consumer resets; whatever it resets to, the destination ends up
  // with every record exactly once (records it already holds are skipped).
  o.group_id = "out-of-range";
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", source_->bootstrap_servers().c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", o.group_id.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < 4; ++p) rd_kafka_topic_partition_list_add(l, "orders", p)->offset = p == 0 ? 1000 : 10;
  ASSERT_EQ(rd_kafka_commit(rk, l, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(rk);
  Produce("orders", 8, 4, 40);
  Start(o);
  ASSERT_TRUE(WaitFor([&] { return replicator_->records_copied() >= 8; }, 60s));
  // Partition 0 was reset to its earliest offset: 0..9 found in the destination.
  EXPECT_TRUE(WaitFor([&] { return replicator_->records_already_written() >= 10; }, 10s));
  Stop();
  ExpectExactlyOnce("orders", 4, 48);
}

TEST_F(ReplicatorComponentTest, TranslatedOffsetsFailOverWithoutSkipOrReread) {
  ReplicateOptions o = ReplicateRenamed(200);
  // A consumer group on the source has read up to offset 17 + p of each partition.
  char err[512];
  auto group_client = [&](const std::string& bootstrap) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "app", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    return rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  };
  rd_kafka_t* src = group_client(source_->bootstrap_servers());
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < 4; ++p) rd_kafka_topic_partition_list_add(l, "orders", p)->offset = 17 + p;
  ASSERT_EQ(rd_kafka_commit(src, l, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(src);

  auto r = TranslateGroup(o, "app", /*commit=*/true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->translations.size(), 4u);
  EXPECT_TRUE(r->committed);

  // The group fails over to the destination: its committed offsets there lead
  // to exactly the source offsets it had not read yet.
  rd_kafka_t* dst = group_client(destination_->bootstrap_servers());
  l = rd_kafka_topic_partition_list_new(4);
  for (int p = 0; p < 4; ++p) rd_kafka_topic_partition_list_add(l, "agg.orders", p);
  ASSERT_EQ(rd_kafka_committed(dst, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::map<int32_t, int64_t> committed;
  for (int i = 0; i < l->cnt; ++i) committed[l->elems[i].partition] = l->elems[i].offset;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy(dst);
  auto dest = ReadDestination("agg.orders", 4);
  for (int p = 0; p < 4; ++p) {
    std::vector<int64_t> read_after;  // source offsets the failed-over consumer reads
    for (const auto& c : dest[p])
      if (c.offset >= committed[p]) read_after.push_back(c.provenance->offset.value());
    ASSERT_FALSE(read_after.empty());
    EXPECT_EQ(read_after.front(), 17 + p) << "partition " << p;  // nothing skipped, nothing re-read
    EXPECT_EQ(static_cast<int64_t>(read_after.size()), 50 - (17 + p));
  }
}

TEST_F(ReplicatorComponentTest, TwoRegionsIntoOneAggregateTopicEachExactlyOnce) {
  auto dc2 = MockCluster::Start(1, {{"orders", 4}});
  ASSERT_TRUE(dc2.ok());
  auto dc2_producer = TestProducer::Create((*dc2)->bootstrap_servers());
  ASSERT_TRUE(dc2_producer.ok());
  Produce("orders", 60, 4);
  for (int i = 0; i < 40; ++i) {
    TestMessage m;
    m.topic = "orders";
    m.partition = i % 4;
    m.value = "dc2-" + std::to_string(i);
    m.timestamp_ms = 1'700'000'000'000 + i;
    ASSERT_TRUE((*dc2_producer)->Produce(m, 60).ok());
  }
  ASSERT_TRUE((*dc2_producer)->Flush(10s).ok());
  Start(Options());
  ReplicateOptions o2 = Options();
  o2.source_cluster = "dc2";
  o2.source_properties = {{"bootstrap.servers", (*dc2)->bootstrap_servers()}, {"log_level", "3"}};
  auto r2 = Replicator::Create(o2);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  std::atomic<bool> stop2{false};
  std::thread t2([&] { EXPECT_TRUE((*r2)->Run(stop2).ok()); });
  EXPECT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 60 && (*r2)->messages_committed() >= 40; }, 60s));
  stop2 = true;
  t2.join();
  Stop();
  std::map<std::string, std::map<std::pair<int32_t, int64_t>, int>> seen;  // origin cluster → (partition, offset)
  for (const auto& [p, v] : ReadDestination("orders", 4))
    for (const auto& c : v) {
      ASSERT_TRUE(c.provenance.has_value());
      EXPECT_EQ(c.provenance->origin.partition.value(), p);
      ++seen[c.provenance->origin.cluster][{p, c.provenance->offset.value()}];
    }
  EXPECT_EQ(seen["dc1"].size(), 60u);
  EXPECT_EQ(seen["dc2"].size(), 40u);
  for (const auto& [cluster, offsets] : seen)
    for (const auto& [k, n] : offsets) EXPECT_EQ(n, 1) << cluster << " " << k.first << "/" << k.second;
}

TEST_F(ReplicatorComponentTest, MembersJoiningAndLeavingCopyEachRecordOnce) {
  Produce("orders", 400, 4);
  ReplicateOptions o = Options();
  o.flush_interval = 20ms;
  Start(o);  // member A
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 50; }, 60s));
  auto b = Replicator::Create(o);  // member B joins: partitions move
  ASSERT_TRUE(b.ok());
  std::atomic<bool> stop_b{false};
  std::thread tb([&] { EXPECT_TRUE((*b)->Run(stop_b).ok()); });
  // Records produced before B holds partitions may all be copied by A (a
  // sanitizer build's A did, and B then had nothing to commit): produce once
  // B owns some.
  auto assigned = [](Replicator& r) {
    const std::string m = r.PrometheusMetrics();
    const std::string key = "\nchaperone_replicate_assigned_partitions ";
    const size_t at = m.find(key);
    return at == std::string::npos ? 0 : std::atoi(m.c_str() + at + key.size());
  };
  bool b_assigned = WaitFor([&] { return assigned(**b) > 0; }, 90s);
  EXPECT_TRUE(b_assigned) << "member B was never assigned partitions";
  Produce("orders", 200, 4, 400);
  bool b_committed = b_assigned && WaitFor([&] { return (*b)->messages_committed() > 0; }, 90s);
  EXPECT_TRUE(b_committed) << "member B never committed";
  if (!b_committed) {
    stop_b = true;
    tb.join();
    return;
  }
  Stop();  // A leaves: B takes everything
  Produce("orders", 200, 4, 600);
  EXPECT_TRUE(WaitFor([&] { return CountIn("orders", 4) >= 800; }, 90s));
  stop_b = true;
  tb.join();
  ExpectExactlyOnce("orders", 4, 800);
}

TEST_F(ReplicatorComponentTest, RestTopicsHealthMetricsAndTranslate) {
  Produce("orders", 8, 4);
  ReplicateOptions o = Options();
  o.listen = "127.0.0.1:0";
  Start(o);
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 8; }, 60s));
  httplib::Client http("127.0.0.1", replicator_->rest_port());
  auto topics = http.Get("/topics");
  ASSERT_TRUE(topics);
  EXPECT_EQ(topics->status, 200);
  EXPECT_NE(topics->body.find("\"topic\":\"orders\""), std::string::npos) << topics->body;
  EXPECT_NE(topics->body.find("\"state\":\"ready\""), std::string::npos) << topics->body;
  auto one = http.Get("/topics/orders");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_NE(one->body.find("\"partitions\":[{"), std::string::npos) << one->body;
  EXPECT_NE(one->body.find("\"owner\":"), std::string::npos) << one->body;
  EXPECT_NE(one->body.find("\"lag\":"), std::string::npos) << one->body;
  auto missing = http.Get("/topics/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("\"code\":\"not_found\""), std::string::npos) << missing->body;
  auto bad = http.Post("/topics", "{\"name\": 1}", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto no_group = http.Post("/translate", "", "application/json");
  ASSERT_TRUE(no_group);
  EXPECT_EQ(no_group->status, 400);
  auto health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  auto metrics = http.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("chaperone_replicate_records_copied_total 8"), std::string::npos) << metrics->body;
  // Lag is published with the loop's status (every second) once the consumer knows the watermarks.
  EXPECT_TRUE(WaitFor([&] {
    auto m = http.Get("/metrics");
    return m && m->body.find("chaperone_replicate_lag{topic=\"orders\",partition=\"0\"} 0") != std::string::npos;
  }, 10s));
  EXPECT_NE(metrics->body.find("chaperone_replicate_topics{state=\"ready\"} 1"), std::string::npos) << metrics->body;

  // Added at runtime: a topic the include list does not select.
  ASSERT_TRUE(destination_->CreateTopic({"extra", 2}).ok());
  ASSERT_TRUE(source_->CreateTopic({"extra", 2}).ok());
  Produce("extra", 6, 2);
  auto add = http.Post("/topics", "{\"topic\": \"extra\"}", "application/json");
  ASSERT_TRUE(add);
  EXPECT_EQ(add->status, 202);
  ASSERT_TRUE(WaitFor([&] { return replicator_->messages_committed() >= 14; }, 60s));
  // Removed at runtime: no longer listed, new records no longer copied.
  auto del = http.Delete("/topics/extra");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_TRUE(WaitFor([&] {
    auto r = http.Get("/topics/extra");
    return r && r->status == 404;
  }, 30s));
  Stop();
  ExpectExactlyOnce("extra", 2, 6);
}

}  // namespace
}  // namespace chaperone::replicate
