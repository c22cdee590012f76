// libchaperone-interceptor.so loaded by librdkafka itself (plugin.library.paths)
// into producers and consumers of this process, against the mock cluster.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chaperone/audit_client.h"
#include "chaperone/audit_record.h"
#include "chaperone/digest.h"
#include "chaperone/mock_cluster.h"
#include "chaperone/reporter.h"
#include "support/process.h"

namespace chaperone {
namespace {

using std::chrono::milliseconds;
using Props = std::vector<std::pair<std::string, std::string>>;

const std::string kPlugin = std::string(CHAPERONE_BUILD_DIR) + "/lib/libchaperone-interceptor.so";
constexpr int64_t kTs0 = 1'795'303'800'000;  // start of a 600 s window (ms)

std::string Payload(int64_t ts_ms, int i) {
  return "{\"ts\":" + std::to_string(ts_ms) + ",\"i\":" + std::to_string(i) + ",\"pad\":\"abcdefgh\"}";
}

// A conf with `props` set in order; fails the test on a rejected property.
rd_kafka_conf_t* Conf(const Props& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [k, v] : props) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << k << ": " << err;
  }
  return conf;
}

Props PluginProps(const std::string& bootstrap, Props extra = {}) {
  Props p = {{"plugin.library.paths", kPlugin}, {"bootstrap.servers", bootstrap}};
  for (auto& kv : extra) p.push_back(std::move(kv));
  return p;
}

struct Produced {
  int64_t acked = 0;
  int64_t failed = 0;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* p = static_cast<Produced*>(opaque);
  (m->err ? p->failed : p->acked)++;
}

// Produces `payloads` (key "k<i>") to `topic` with a client built from `conf`,
// waits for every delivery report, then destroys the client.
Produced ProduceAll(rd_kafka_conf_t* conf, const std::string& topic, const std::vector<std::string>& payloads,
                    int32_t partition = RD_KAFKA_PARTITION_UA) {
  Produced result;
  rd_kafka_conf_set_opaque(conf, &result);
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  if (rk == nullptr) return result;
  for (size_t i = 0; i < payloads.size(); ++i) {
    std::string key = "k" + std::to_string(i);
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(payloads[i].data()), payloads[i].size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) result.failed++;  // rejected by produce() itself
    rd_kafka_poll(rk, 0);
  }
  EXPECT_EQ(rd_kafka_flush(rk, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(rk);  // the plugin flushes its last records here
  return result;
}

// Every message of `topic`, from the beginning to the current end.
std::vector<std::string> ReadTopic(const std::string& bootstrap, const std::string& topic) {
  rd_kafka_conf_t* conf = Conf({{"bootstrap.servers", bootstrap},
                                {"group.id", "chaperone-test-reader"},
                                {"enable.partition.eof", "true"},
                                {"enable.auto.commit", "false"}});
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  std::vector<std::string> out;
  if (rk == nullptr) {
    ADD_FAILURE() << err;
    return out;
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10'000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
      md->topics[0].err) {
    ADD_FAILURE() << "no metadata for " << topic;
    if (md) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    return out;
  }
  int parts = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  int eofs = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (eofs < parts && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      eofs++;
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out.emplace_back(static_cast<const char*>(m->payload), m->len);
    }
    rd_kafka_message_destroy(m);
  }
  EXPECT_EQ(eofs, parts) << "did not reach the end of " << topic;
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

std::vector<AuditRecord> ReadAudit(const std::string& bootstrap, const std::string& topic = kDefaultAuditTopic) {
  std::vector<AuditRecord> out;
  for (const auto& json : ReadTopic(bootstrap, topic)) {
    auto r = DecodeAuditRecord(json);
    EXPECT_TRUE(r.ok()) << r.status().ToString() << ": " << json;
    if (r.ok()) out.push_back(std::move(r).value());
  }
  return out;
}

struct TierTotals {
  int64_t count = 0;
  uint64_t digest = 0;
  int64_t heartbeats = 0;
  int64_t failed_deliveries = 0;  // from the last heartbeat
  int64_t dropped_records = 0;    // from the last heartbeat
  std::map<int64_t, int64_t> by_window;
  std::set<std::string> emitters;
};

// Sums per tier as the collector would: one copy per uuid (a batch retried
// after a timeout may have been delivered twice).
std::map<std::string, TierTotals> Totals(const std::vector<AuditRecord>& records, const std::string& topic) {
  std::map<std::string, TierTotals> out;
  std::set<std::string> seen;
  for (const auto& r : records) {
    if (!seen.insert(r.uuid).second) continue;
    TierTotals& t = out[r.tier];
    t.emitters.insert(r.emitter_id);
    if (r.kind == RecordKind::kHeartbeat) {
      t.heartbeats++;
      t.failed_deliveries = r.failed_deliveries;
      t.dropped_records = r.dropped_records;
    } else if (r.topic == topic) {
      t.count += r.count;
      t.digest += r.digest.value_or(0);
      t.by_window[r.window_begin_sec] += r.count;
    }
  }
  return out;
}

class InterceptorPlugin : public testing::Test {
 protected:
  void SetUp() override {
    auto c = MockCluster::Start(1, {{"orders", 3}, {kDefaultAuditTopic, 1}});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    cluster_ = std::move(c).value();
    bootstrap_ = cluster_->bootstrap_servers();
  }

  // N payloads over two windows, and their digest (keys "k<i>").
  std::vector<std::string> Messages(int n, uint64_t* digest) {
    std::vector<std::string> out;
    *digest = 0;
    for (int i = 0; i < n; ++i) {
      out.push_back(Payload(kTs0 + (i % 2) * 600'000 + i, i));
      std::string key = "k" + std::to_string(i);
      *digest += MessageDigest(key, false, out.back(), false);
    }
    return out;
  }

  std::unique_ptr<MockCluster> cluster_;
  std::string bootstrap_;
};

TEST_F(InterceptorPlugin, ProducerReportsAcknowledgedMessagesWhenDestroyed) {
  uint64_t digest;
  auto msgs = Messages(1000, &digest);
  // A flush interval of an hour: everything is reported by rd_kafka_destroy().
  Produced p = ProduceAll(Conf(PluginProps(bootstrap_, {{"chaperone.flush.interval.ms", "3600000"},
                                                        {"chaperone.datacenter", "dc1"},
                                                        {"chaperone.cluster", "regional"}})),
                          "orders", msgs);
  ASSERT_EQ(p.acked, 1000);

  auto records = ReadAudit(bootstrap_);
  auto totals = Totals(records, "orders");
  ASSERT_EQ(totals.size(), 1u);
  const TierTotals& t = totals["producer"];
  EXPECT_EQ(t.count, 1000);
  EXPECT_EQ(t.digest, digest);
  EXPECT_EQ(t.by_window.at(kTs0 / 1000), 500);
  EXPECT_EQ(t.by_window.at(kTs0 / 1000 + 600), 500);
  EXPECT_EQ(t.heartbeats, 1);
  EXPECT_EQ(t.failed_deliveries, 0);
  EXPECT_EQ(t.emitters.size(), 1u);
  for (const auto& r : records) {
    EXPECT_EQ(r.datacenter, "dc1");
    EXPECT_EQ(r.cluster, "regional");
  }
}

TEST_F(InterceptorPlugin, ConsumerInAGroupReportsAsConsumerOfTheGroup) {
  uint64_t digest;
  auto msgs = Messages(300, &digest);
  ASSERT_EQ(ProduceAll(Conf({{"bootstrap.servers", bootstrap_}}), "orders", msgs).acked, 300);

  rd_kafka_conf_t* conf = Conf(PluginProps(bootstrap_, {{"group.id", "billing"},
                                                        {"auto.offset.reset", "earliest"},
                                                        {"chaperone.flush.interval.ms", "3600000"}}));
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, "orders", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(rk, sub), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(sub);
  int consumed = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (consumed < 300 && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) consumed++;
    rd_kafka_message_destroy(m);
  }
  ASSERT_EQ(consumed, 300);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);

  auto totals = Totals(ReadAudit(bootstrap_), "orders");
  ASSERT_EQ(totals.count("consumer:billing"), 1u);
  EXPECT_EQ(totals["consumer:billing"].count, 300);
  EXPECT_EQ(totals["consumer:billing"].digest, digest);
  EXPECT_EQ(totals["consumer:billing"].heartbeats, 1);
}

TEST_F(InterceptorPlugin, FailedDeliveriesAreCountedAndReported) {
  std::vector<std::string> msgs = {Payload(kTs0, 1), Payload(kTs0, 2)};
  // Partition 7 does not exist: librdkafka fails both messages.
  Produced p = ProduceAll(Conf(PluginProps(bootstrap_, {{"chaperone.flush.interval.ms", "3600000"}})), "orders",
                          msgs, /*partition=*/7);
  EXPECT_EQ(p.acked, 0);
  auto totals = Totals(ReadAudit(bootstrap_), "orders");
  EXPECT_EQ(totals["producer"].count, 0);
  EXPECT_EQ(totals["producer"].failed_deliveries, 2);
}

TEST_F(InterceptorPlugin, ACopiedConfKeepsItsChaperoneSettings) {
  uint64_t digest;
  auto msgs = Messages(10, &digest);
  rd_kafka_conf_t* original = Conf(PluginProps(bootstrap_, {{"chaperone.tier", "proxy"},
                                                            {"chaperone.flush.interval.ms", "3600000"}}));
  rd_kafka_conf_t* copy = rd_kafka_conf_dup(original);
  const char* filter[] = {"chaperone.tier"};
  rd_kafka_conf_t* filtered = rd_kafka_conf_dup_filter(original, 1, filter);
  rd_kafka_conf_destroy(original);  // the copies do not depend on it

  ASSERT_EQ(ProduceAll(copy, "orders", msgs).acked, 10);
  ASSERT_EQ(ProduceAll(filtered, "orders", msgs).acked, 10);
  auto totals = Totals(ReadAudit(bootstrap_), "orders");
  EXPECT_EQ(totals["proxy"].count, 10);
  EXPECT_EQ(totals["proxy"].digest, digest);
  EXPECT_EQ(totals["producer"].count, 10);  // the filtered copy has the default tier
  EXPECT_EQ(totals.size(), 2u);
}

TEST_F(InterceptorPlugin, UnknownChaperonePropertiesAreRejectedWithTheReason) {
  rd_kafka_conf_t* conf = Conf({{"plugin.library.paths", kPlugin}});
  char err[1024] = "";
  EXPECT_EQ(rd_kafka_conf_set(conf, "chaperone.flush.interval", "10", err, sizeof err), RD_KAFKA_CONF_INVALID);
  EXPECT_NE(std::string(err).find("unknown property chaperone.flush.interval"), std::string::npos) << err;
  EXPECT_NE(std::string(err).find("chaperone.flush.interval.ms"), std::string::npos) << err;  // the known ones
  EXPECT_EQ(rd_kafka_conf_set(conf, "chaperone.window.sec", "-1", err, sizeof err), RD_KAFKA_CONF_INVALID);
  EXPECT_NE(std::string(err).find("chaperone.window.sec"), std::string::npos) << err;
  // librdkafka's own properties still pass through.
  EXPECT_EQ(rd_kafka_conf_set(conf, "linger.ms", "7", err, sizeof err), RD_KAFKA_CONF_OK) << err;
  rd_kafka_conf_destroy(conf);

  // Without the plugin loaded first, librdkafka itself does not know them.
  rd_kafka_conf_t* plain = rd_kafka_conf_new();
  EXPECT_EQ(rd_kafka_conf_set(plain, "chaperone.tier", "x", err, sizeof err), RD_KAFKA_CONF_UNKNOWN);
  rd_kafka_conf_destroy(plain);
}

// A client that carries its own copy of librdkafka (linked statically): the
// plugin refuses to load instead of driving the system librdkafka on that
// copy's configuration.
TEST(InterceptorPluginLoading, AClientWithItsOwnLibrdkafkaIsRefusedWithTheReason) {
  const std::string client = std::string(CHAPERONE_BUILD_DIR) + "/bin/chaperone-test-static-client";
  if (access(client.c_str(), X_OK) != 0) GTEST_SKIP() << "librdkafka.a not installed: " << client << " not built";
  auto r = test::RunCommand({client, kPlugin});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3) << r->out << r->err;
  EXPECT_NE(r->out.find("the client runs its own copy of librdkafka"), std::string::npos) << r->out;
}

// A program that exits without destroying its producer: the plugin's exit
// handler still sends what it counted.
TEST_F(InterceptorPlugin, AProgramThatExitsWithoutDestroyingItsClientIsStillReported) {
  auto r = test::RunCommand({std::string(CHAPERONE_BUILD_DIR) + "/bin/chaperone-test-exit-without-destroy",
                             bootstrap_, kPlugin, "orders", "25"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->exit_code, 0) << r->err;
  auto totals = Totals(ReadAudit(bootstrap_), "orders");
  EXPECT_EQ(totals["exit-without-destroy"].count, 25);
  EXPECT_EQ(totals["exit-without-destroy"].heartbeats, 1);
  // Its log says what became of the last records, and that nothing it
  // produced was left unacknowledged (it flushed).
  EXPECT_NE(r->err.find("process exiting without rd_kafka_destroy(): final audit records delivered (1 delivered, 0 "
                        "dropped since the start); 0 messages of this producer were not yet acknowledged"),
            std::string::npos)
      << r->err;
}

// A C client without bootstrap.servers that adds its brokers with
// rd_kafka_brokers_add(): the plugin learns them from the client and audits
// it on that cluster. The oracle is the data topic, read back here.
TEST_F(InterceptorPlugin, AClientThatAddsItsBrokersWithBrokersAddIsAudited) {
  auto r = test::RunCommand({std::string(CHAPERONE_BUILD_DIR) + "/bin/chaperone-test-brokers-add-client", bootstrap_,
                             kPlugin, "orders", "40"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->exit_code, 0) << r->out << r->err;
  EXPECT_NE(r->out.find("acked=40 failed=0"), std::string::npos) << r->out;
  EXPECT_EQ(r->err.find("not audited"), std::string::npos) << r->err;

  std::vector<std::string> data = ReadTopic(bootstrap_, "orders");
  ASSERT_EQ(data.size(), 40u);
  uint64_t digest = 0;
  for (const auto& v : data) digest += MessageDigest({}, true, v, false);
  auto totals = Totals(ReadAudit(bootstrap_), "orders");
  ASSERT_EQ(totals.count("brokers-add"), 1u);
  EXPECT_EQ(totals["brokers-add"].count, 40);
  EXPECT_EQ(totals["brokers-add"].digest, digest);
  EXPECT_EQ(totals["brokers-add"].heartbeats, 1);
  EXPECT_EQ(totals["brokers-add"].failed_deliveries, 0);
}

// The application destroys its producer without flushing: librdkafka
// acknowledges or fails the messages still queued while it shuts down,
// after on_destroy(). The final report waits for them, so every message
// produced is either counted or reported as a failed delivery.
TEST_F(InterceptorPlugin, MessagesSettledDuringDestroyAreInTheFinalReport) {
  constexpr int kMessages = 200;
  rd_kafka_conf_t* conf = Conf(PluginProps(
      bootstrap_, {{"chaperone.flush.interval.ms", "3600000"}, {"chaperone.log.level", "off"}, {"linger.ms", "50"}}));
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  for (int i = 0; i < kMessages; ++i) {
    std::string v = Payload(kTs0, i);
    ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("orders"), RD_KAFKA_V_VALUE(v.data(), v.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  rd_kafka_destroy(rk);  // no flush

  const int64_t in_topic = static_cast<int64_t>(ReadTopic(bootstrap_, "orders").size());
  auto totals = Totals(ReadAudit(bootstrap_), "orders");
  const TierTotals& t = totals["producer"];
  EXPECT_EQ(t.heartbeats, 1);
  EXPECT_EQ(t.count + t.failed_deliveries, kMessages);
  EXPECT_LE(t.count, in_topic);  // counted: acknowledged, so in the topic
  std::printf("destroy without flush: %lld counted, %lld failed, %lld in the topic\n", static_cast<long long>(t.count),
              static_cast<long long>(t.failed_deliveries), static_cast<long long>(in_topic));
}

TEST_F(InterceptorPlugin, DisabledPluginReportsNothing) {
  uint64_t digest;
  auto msgs = Messages(5, &digest);
  ASSERT_EQ(ProduceAll(Conf(PluginProps(bootstrap_, {{"chaperone.enable", "false"}})), "orders", msgs).acked, 5);
  EXPECT_TRUE(ReadTopic(bootstrap_, kDefaultAuditTopic).empty());
}

TEST_F(InterceptorPlugin, ClientsInOneProcessReportSeparately) {
  uint64_t digest;
  auto msgs = Messages(20, &digest);
  std::thread a([&] {
    EXPECT_EQ(ProduceAll(Conf(PluginProps(bootstrap_, {{"chaperone.tier", "a"}})), "orders", msgs).acked, 20);
  });
  std::thread b([&] {
    EXPECT_EQ(ProduceAll(Conf(PluginProps(bootstrap_, {{"chaperone.tier", "b"}})), "orders", msgs).acked, 20);
  });
  a.join();
  b.join();
  auto totals = Totals(ReadAudit(bootstrap_), "orders");
  EXPECT_EQ(totals["a"].count, 20);
  EXPECT_EQ(totals["b"].count, 20);
  EXPECT_EQ(totals["a"].digest, digest);
  EXPECT_EQ(totals["b"].digest, digest);
  ASSERT_EQ(totals["a"].emitters.size(), 1u);
  EXPECT_NE(*totals["a"].emitters.begin(), *totals["b"].emitters.begin());
}

// The application destroys its producer while messages are still queued for
// a broker that is down: librdkafka purges them and acknowledges them with
// an error after on_destroy(). Nothing may crash or hang.
TEST_F(InterceptorPlugin, DestroyingWithUndeliveredMessagesIsSafe) {
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  rd_kafka_conf_t* conf = Conf(PluginProps(bootstrap_, {{"chaperone.close.timeout.ms", "200"},
                                                        {"chaperone.log.level", "off"},
                                                        {"message.timeout.ms", "60000"}}));
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  for (int i = 0; i < 100; ++i) {
    std::string v = Payload(kTs0, i);
    ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("orders"), RD_KAFKA_V_VALUE(v.data(), v.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  auto start = std::chrono::steady_clock::now();
  rd_kafka_destroy(rk);
  auto took = std::chrono::steady_clock::now() - start;
  std::printf("destroy with 100 undelivered messages and the cluster down took %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<milliseconds>(took).count()));
}

// The audit cluster is down while the application produces: the application
// is not held up, and once the audit cluster is back the records arrive.
TEST_F(InterceptorPlugin, AnAuditOutageDelaysRecordsWithoutLosingThem) {
  auto audit = MockCluster::Start(1, {{kDefaultAuditTopic, 1}});
  ASSERT_TRUE(audit.ok());
  ASSERT_TRUE((*audit)->SetBrokerDown(1).ok());
  uint64_t digest;
  auto msgs = Messages(500, &digest);
  rd_kafka_conf_t* conf = Conf(PluginProps(bootstrap_, {{"chaperone.audit.bootstrap.servers", (*audit)->bootstrap_servers()},
                                                        {"chaperone.flush.interval.ms", "100"},
                                                        {"chaperone.report.timeout.ms", "200"},
                                                        {"chaperone.close.timeout.ms", "30000"},
                                                        {"chaperone.log.level", "off"}}));
  Produced result;
  rd_kafka_conf_set_opaque(conf, &result);
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  for (size_t i = 0; i < msgs.size(); ++i) {
    std::string key = "k" + std::to_string(i);
    ASSERT_EQ(rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("orders"), RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(msgs[i].data(), msgs[i].size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  ASSERT_EQ(rd_kafka_flush(rk, 30'000), RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(result.acked, 500);  // the data path is unaffected
  ASSERT_TRUE((*audit)->SetBrokerUp(1).ok());
  // Records flushed during the outage are retried and arrive.
  ASSERT_TRUE(test::WaitFor([&] { return Totals(ReadAudit((*audit)->bootstrap_servers()), "orders")["producer"].count == 500; },
                            milliseconds(60'000)));
  rd_kafka_destroy(rk);
  auto totals = Totals(ReadAudit((*audit)->bootstrap_servers()), "orders");
  EXPECT_EQ(totals["producer"].count, 500);
  EXPECT_EQ(totals["producer"].digest, digest);
  EXPECT_EQ(totals["producer"].dropped_records, 0);
  EXPECT_TRUE(ReadTopic(bootstrap_, kDefaultAuditTopic).empty());  // nothing went to the data cluster
}

// The audit topic does not exist (metadata says so): the application is not
// disturbed, destroy returns within the close timeout, nothing is reported.
TEST_F(InterceptorPlugin, AMissingAuditTopicDoesNotDisturbTheClient) {
  rd_kafka_mock_topic_set_error(cluster_->raw(), "missing-audit", RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  uint64_t digest;
  auto msgs = Messages(200, &digest);
  auto start = std::chrono::steady_clock::now();
  Produced p = ProduceAll(Conf(PluginProps(bootstrap_, {{"chaperone.audit.topic", "missing-audit"},
                                                        {"chaperone.report.timeout.ms", "300"},
                                                        {"chaperone.close.timeout.ms", "1000"},
                                                        {"chaperone.log.level", "off"}})),
                          "orders", msgs);
  auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(p.acked, 200);
  EXPECT_EQ(p.failed, 0);
  std::printf("produce + destroy with a missing audit topic took %lld ms\n", static_cast<long long>(took));
  EXPECT_TRUE(ReadTopic(bootstrap_, kDefaultAuditTopic).empty());
}

// The C++ API with a Kafka reporter to `bootstrap`: tier "app", flushed on
// demand only, short delivery attempts, quiet.
AuditClientOptions OnDemandClientOptions(const std::string& bootstrap) {
  AuditClientOptions o;
  o.tier = "app";
  o.audit_bootstrap_servers = bootstrap;
  o.flush_interval = milliseconds(3'600'000);
  o.report_timeout = milliseconds(200);
  o.log_level = AuditLogLevel::kOff;
  return o;
}

// The same engine through the C++ API with a Kafka reporter: records that
// find no room while the audit cluster is down are dropped, and the next
// heartbeat once it is back says how many.
TEST_F(InterceptorPlugin, DroppedRecordsAreReportedOnceTheAuditClusterIsBack) {
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  AuditClientOptions o = OnDemandClientOptions(bootstrap_);
  o.max_pending_records = 1;
  auto client = AuditClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE((*client)->Track("orders", "", true, Payload(kTs0, 1)));
  EXPECT_FALSE((*client)->Flush(milliseconds(500)).ok());  // in flight, retried
  ASSERT_TRUE((*client)->Track("payments", "", true, Payload(kTs0, 2)));
  EXPECT_FALSE((*client)->Flush(milliseconds(500)).ok());  // no room: dropped
  ASSERT_EQ((*client)->stats().dropped_records, 1);
  ASSERT_TRUE(cluster_->SetBrokerUp(1).ok());
  ASSERT_TRUE((*client)->Flush(milliseconds(60'000)).ok());
  ASSERT_TRUE((*client)->Close(milliseconds(10'000)).ok());

  auto records = ReadAudit(bootstrap_);
  auto totals = Totals(records, "orders");
  EXPECT_EQ(totals["app"].count, 1);
  EXPECT_EQ(Totals(records, "payments")["app"].count, 0);
  EXPECT_EQ(totals["app"].dropped_records, 1);  // the last heartbeat
  // seq stays gap-free: the dropped record was never stamped.
  std::set<int64_t> seqs;
  for (const auto& r : records) seqs.insert(r.seq);
  EXPECT_EQ(static_cast<int64_t>(seqs.size()), *seqs.rbegin() + 1);
}

// The memory ceiling under a long audit-cluster outage, with the real audit
// producer: flushes are driven one after another (an outage of many flush
// intervals in effect) while the audit cluster is down. The records waiting
// never hold more than their byte budget; those that found no room are
// counted exactly, and the heartbeat says so once the cluster is back.
TEST_F(InterceptorPlugin, AnAuditOutageHoldsNoMoreThanTheByteBudget) {
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  AuditClientOptions o = OnDemandClientOptions(bootstrap_);
  o.max_pending_bytes = 64 * 1024;
  auto client = AuditClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  constexpr int kFlushes = 50;
  constexpr int kTopics = 20;  // one count record per topic and flush
  for (int f = 0; f < kFlushes; ++f) {
    for (int t = 0; t < kTopics; ++t)
      ASSERT_TRUE((*client)->Track("t" + std::to_string(t), "", true, Payload(kTs0, f)));
    EXPECT_FALSE((*client)->Flush(milliseconds(1)).ok());
    ASSERT_TRUE(test::WaitFor([&] { return (*client)->stats().flushes == f + 1; }, milliseconds(10'000)));
    auto s = (*client)->stats();
    ASSERT_LE(s.pending_bytes, static_cast<int64_t>(o.max_pending_bytes)) << f;
    ASSERT_EQ(s.pending_records + s.dropped_records, (f + 1) * kTopics) << f;
  }
  auto during = (*client)->stats();
  EXPECT_EQ(during.records_sent, 0);
  EXPECT_GT(during.dropped_records, 0);
  EXPECT_LE(during.peak_pending_bytes, static_cast<int64_t>(o.max_pending_bytes));
  std::printf("audit outage: %lld records held in %lld bytes (peak %lld, budget %zu), %lld dropped\n",
              static_cast<long long>(during.pending_records), static_cast<long long>(during.pending_bytes),
              static_cast<long long>(during.peak_pending_bytes), o.max_pending_bytes,
              static_cast<long long>(during.dropped_records));

  ASSERT_TRUE(cluster_->SetBrokerUp(1).ok());
  ASSERT_TRUE((*client)->Flush(milliseconds(60'000)).ok());
  ASSERT_TRUE((*client)->Close(milliseconds(10'000)).ok());
  std::set<std::string> uuids;
  int64_t last_seq = -1, dropped_reported = -1;
  for (const auto& r : ReadAudit(bootstrap_)) {
    if (r.kind == RecordKind::kCount) uuids.insert(r.uuid);
    if (r.kind == RecordKind::kHeartbeat && r.seq > last_seq) {
      last_seq = r.seq;
      dropped_reported = r.dropped_records;
    }
  }
  EXPECT_EQ(dropped_reported, during.dropped_records);
  EXPECT_EQ(static_cast<int64_t>(uuids.size()) + dropped_reported, kFlushes * kTopics);
}

}  // namespace
}  // namespace chaperone
