// Crash test of the replicator: no loss, exactly once, audited exactly once.
//
// Two source clusters (dc1, dc2) each get M/2 messages over P partitions WHILE
// real `chaperone replicate` processes copy both into one topic of a third
// cluster (the aggregate). Meanwhile the replicators are killed with SIGKILL
// and restarted at random moments, a third replicator of dc1 joins the group
// and leaves, brokers of every cluster go down and up, and requests fail
// (commits on the sources, produces on the destination).
//
// Then, judged from the destination's content and never from the
// replicator's own counters: every produced record is in the destination
// exactly once (each has a unique key), with its value and timestamp; and the
// `replicator` tier read from the audit topic (merged with the collector's
// chunk-replacement rule) equals, per (topic, partition, window), the count
// and digest of what the destination holds.
//
// CHAPERONE_CRASH_SEED=<n> replays a schedule; CHAPERONE_CRASH_MESSAGES=<n>
// changes M (default 100000).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chaperone/digest.h"
#include "chaperone/event_time.h"
#include "chaperone/types.h"
#include "chaperone/mock_cluster.h"
#include "support/chaos.h"
#include "support/service_support.h"

namespace chaperone {
namespace {

using namespace std::chrono_literals;
using testing::AuditReader;
using testing::BackgroundReader;
using testing::ChunkMerger;
using testing::DiffTotals;
using testing::GroupProbe;
using testing::Member;
using testing::TestMessage;
using testing::TestProducer;
using testing::TotalCount;
using testing::WaitFor;
using testing::WindowTotals;

constexpr int kPartitions = 8;
constexpr int64_t kWindowSec = 60;
constexpr const char* kTopic = "orders";
constexpr const char* kAuditTopic = "chaperone-audit";
constexpr const char* kTier = "replicator";

int64_t EnvInt(const char* name, int64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoll(v) : dflt;
}

std::string Group(const std::string& source) { return "crash-replicate-" + source; }

// Everything in the destination topic, read with a plain consumer from the
// log start to the high watermark of every partition.
struct DestinationContent {
  std::map<std::string, int> keys;  // key → how many times it is in the destination
  std::map<std::string, std::pair<std::string, int64_t>> first;  // key → (value, timestamp) of its first copy
  WindowTotals totals;              // (topic, partition, window) → count, digest, malformed
  int64_t records = 0;
  int64_t keyless = 0;
};

Result<DestinationContent> ReadDestination(const std::string& bootstrap) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "crash-destination-reader", err, sizeof err);
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) return Status::Internal(err);
  std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> guard(rk, &rd_kafka_destroy);
  rd_kafka_poll_set_consumer(rk);
  std::vector<int64_t> end(kPartitions);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk, kTopic, p, &lo, &hi, 10000)) {
      rd_kafka_topic_partition_list_destroy(list);
      return Status::Unavailable("watermarks");
    }
    end[static_cast<size_t>(p)] = hi;
    rd_kafka_topic_partition_list_add(list, kTopic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  DestinationContent out;
  std::vector<int64_t> next(kPartitions, 0);
  auto done = [&] {
    for (int p = 0; p < kPartitions; ++p)
      if (next[static_cast<size_t>(p)] < end[static_cast<size_t>(p)]) return false;
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return Status::Unavailable("reading the destination timed out");
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 200);
    if (!m) continue;
    if (!m->err) {
      next[static_cast<size_t>(m->partition)] = m->offset + 1;
      ++out.records;
      std::string_view key(static_cast<const char*>(m->key), m->key ? m->key_len : 0);
      std::string_view value(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
      rd_kafka_timestamp_type_t tstype;
      int64_t ts = rd_kafka_message_timestamp(m, &tstype);
      if (!m->key) {
        ++out.keyless;
      } else {
        std::string k(key);
        if (out.keys[k]++ == 0) out.first[k] = {std::string(value), ts};
      }
      MessageView v;
      v.key_null = m->key == nullptr;
      v.key = key;
      v.value_null = m->payload == nullptr;
      v.value = value;
      v.record_timestamp_ms = ts;
      EventTime et = TimestampChain::Default().Extract(v);
      auto& s = out.totals[testing::WindowKey{kTopic, m->partition, WindowStartSec(et.ms, kWindowSec)}];
      s.count += 1;
      s.digest += MessageDigest(v.key, v.key_null, v.value, v.value_null);
      s.malformed += et.malformed;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  return out;
}

TEST(ReplicatorCrash, KillsRestartsRebalancesAndBrokerFaultsCopyEveryRecordExactlyOnce) {
  const uint64_t seed = static_cast<uint64_t>(EnvInt("CHAPERONE_CRASH_SEED", std::random_device{}()));
  const int64_t total = EnvInt("CHAPERONE_CRASH_MESSAGES", 100'000);
  std::printf("replicator crash test: seed %llu, %lld messages (replay with CHAPERONE_CRASH_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<long long>(total),
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };

  // Two sources and the aggregate. librdkafka 2.0.2's mock group coordinator
  // aborts when its broker goes down mid-SyncGroup: pin it to broker 1 and
  // take only brokers 2 and 3 down.
  auto dc1 = MockCluster::Start(3, {{kTopic, kPartitions}});
  auto dc2 = MockCluster::Start(3, {{kTopic, kPartitions}});
  auto agg = MockCluster::Start(3, {{kTopic, kPartitions}, {kAuditTopic, 1}, {"chaperone-replicate-checkpoints", 1}});
  ASSERT_TRUE(dc1.ok() && dc2.ok() && agg.ok());
  ASSERT_EQ(rd_kafka_mock_coordinator_set((*dc1)->raw(), "group", Group("dc1").c_str(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_mock_coordinator_set((*dc2)->raw(), "group", Group("dc2").c_str(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  MockCluster* clusters[] = {dc1->get(), dc2->get(), agg->get()};
  const char* cluster_names[] = {"dc1", "dc2", "agg"};

  char tmpl[] = "/tmp/chaperone-replicator-crash-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string config = dir + "/chaperone.yaml";
  std::ofstream(config) << "clusters:\n"
                        << "  dc1: {bootstrap.servers: \"" << (*dc1)->bootstrap_servers() << "\"}\n"
                        << "  dc2: {bootstrap.servers: \"" << (*dc2)->bootstrap_servers() << "\"}\n"
                        << "  agg: {bootstrap.servers: \"" << (*agg)->bootstrap_servers() << "\"}\n"
                        << "replicate:\n"
                        << "  destination: {cluster: agg}\n"
                        << "  topics: {include: [\"" << kTopic << "\"]}\n"
                        << "  window_sec: " << kWindowSec << "\n"
                        << "  flush_interval_ms: 1000\n"
                        << "  discovery_interval_ms: 1000\n"
                        << "  listen: \"\"\n"
                        << "  producer: {message.timeout.ms: \"120000\"}\n"
                        // A killed member's partitions move after its session times out (librdkafka's
                        // default is 45 s), as in the service's crash test.
                        << "  consumer: {session.timeout.ms: \"6000\"}\n";

  auto reader = AuditReader::Create((*agg)->bootstrap_servers(), kAuditTopic, 1);
  ASSERT_TRUE(reader.ok());
  BackgroundReader audit(std::move(*reader));

  auto replicator = [&](const std::string& name, const std::string& source) {
    return std::make_unique<Member>(
        name,
        std::vector<std::string>{"replicate", "--config", config, "--source-cluster", source, "--group-id",
                                 Group(source)},
        dir);
  };
  std::vector<std::unique_ptr<Member>> members;
  members.push_back(replicator("dc1-a", "dc1"));
  members.push_back(replicator("dc2-a", "dc2"));
  members.push_back(replicator("dc1-b", "dc1"));  // joins and leaves
  members[0]->Start();
  members[1]->Start();

  // Producers: M/2 messages into each source over ~40 s, unique keys, event
  // times advancing with jitter so that every flush touches a few windows.
  std::atomic<int> producers_done{0};
  std::vector<std::thread> produce_threads;
  std::vector<std::unique_ptr<TestProducer>> producers;
  for (int s = 0; s < 2; ++s) {
    auto p = TestProducer::Create(clusters[s]->bootstrap_servers(), {{"message.timeout.ms", "120000"}});
    ASSERT_TRUE(p.ok());
    producers.push_back(std::move(*p));
  }
  for (int s = 0; s < 2; ++s) {
    produce_threads.emplace_back([&, s] {
      std::mt19937_64 prng(seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(s + 1)));
      const int64_t n = total / 2;
      const int64_t base_ms = 1'700'000'000'000;
      const int batches = 400;
      const int64_t per_batch = (n + batches - 1) / batches;
      int64_t i = 0;
      for (int b = 0; b < batches && i < n; ++b) {
        auto next = std::chrono::steady_clock::now() + 100ms;
        for (int64_t k = 0; k < per_batch && i < n; ++k, ++i) {
          TestMessage m;
          m.topic = kTopic;
          m.partition = static_cast<int32_t>(prng() % kPartitions);
          int64_t ts = base_ms + i * (12 * kWindowSec * 1000) / n + static_cast<int64_t>(prng() % 180'000) - 90'000;
          m.timestamp_ms = ts;
          m.key = std::string(cluster_names[s]) + "-" + std::to_string(i);
          if (i % 100 == 7) {
            m.value = std::nullopt;  // tombstone
          } else {
            m.value = "{\"id\":" + std::to_string(i) + ",\"ts\":" + std::to_string(ts) + ",\"v\":\"" +
                      std::string(static_cast<size_t>(prng() % 80), 'x') + "\"}";
          }
          if (i % 10 == 3) m.headers = {{"trace", "t-" + std::to_string(i)}};
          Status st = producers[static_cast<size_t>(s)]->Produce(m, kWindowSec);
          ASSERT_TRUE(st.ok()) << st.ToString();
        }
        std::this_thread::sleep_until(next);
      }
      Status st = producers[static_cast<size_t>(s)]->Flush(120s);
      EXPECT_TRUE(st.ok()) << st.ToString();
      ++producers_done;
    });
  }

  // Chaos while producing.
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  int kills = 0, broker_outages = 0, error_injections = 0;
  bool b_joined = false, b_left = false;
  const double b_join_at = uniform(8, 14), b_leave_at = uniform(24, 30);
  while (producers_done.load() < 2 || kills < 4 || !b_left) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(uniform(2500, 6000))));
    if (!b_joined && elapsed() >= b_join_at) {
      std::printf("  t=%5.1fs  dc1-b joins\n", elapsed());
      members[2]->Start();
      b_joined = true;
      continue;
    }
    if (b_joined && !b_left && elapsed() >= b_leave_at) {
      int rc = members[2]->Stop();
      std::printf("  t=%5.1fs  dc1-b leaves (exit %d)\n", elapsed(), rc);
      EXPECT_EQ(rc, 0);
      b_left = true;
      continue;
    }
    int action = static_cast<int>(uniform(0, 6));
    if (action <= 2 || (producers_done.load() == 2 && kills < 4)) {
      Member& m = *members[static_cast<size_t>(uniform(0, 2))];
      m.Kill();
      ++kills;
      int pause_ms = static_cast<int>(uniform(0, 1500));
      std::printf("  t=%5.1fs  kill -9 %s, restart after %d ms\n", elapsed(), m.name().c_str(), pause_ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      m.Start();
    } else if (action == 3) {
      int c = static_cast<int>(uniform(0, 3));
      int broker = static_cast<int>(uniform(2, 4));  // never the group coordinator (broker 1)
      int down_ms = static_cast<int>(uniform(500, 2000));
      std::printf("  t=%5.1fs  %s broker %d down for %d ms\n", elapsed(), cluster_names[c], broker, down_ms);
      ASSERT_TRUE(clusters[c]->SetBrokerDown(broker).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));
      ASSERT_TRUE(clusters[c]->SetBrokerUp(broker).ok());
      ++broker_outages;
    } else {
      // Kafka API keys: 0 Produce, 1 Fetch, 8 OffsetCommit, 9 OffsetFetch.
      struct Fault {
        int cluster, api, count, error;
        const char* what;
      };
      const Fault faults[] = {
          {0, 8, 2, RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE, "dc1 commit fails"},
          {1, 8, 1, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, "dc2 commit: rebalance in progress"},
          {0, 1, 5, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, "dc1 fetch: not leader"},
          {1, 9, 2, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, "dc2 offset fetch: coordinator loading"},
          {2, 0, 5, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, "agg produce: not enough replicas"},
          {2, 0, 3, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, "agg produce: timed out"},
      };
      const Fault& f = faults[static_cast<size_t>(uniform(0, std::size(faults)))];
      std::printf("  t=%5.1fs  inject %d x %s\n", elapsed(), f.count, f.what);
      clusters[f.cluster]->PushRequestErrors(f.api, f.count, f.error);
      ++error_injections;
    }
  }
  for (auto& t : produce_threads) t.join();
  for (const auto& p : producers) ASSERT_EQ(p->failed(), 0);
  for (int i = 0; i < 2; ++i)
    if (!members[static_cast<size_t>(i)]->running()) members[static_cast<size_t>(i)]->Start();
  const int64_t produced = producers[0]->produced() + producers[1]->produced();
  std::printf("  t=%5.1fs  produced %lld; %d kills, %d broker outages, %d error injections; waiting for the copy\n",
              elapsed(), static_cast<long long>(produced), kills, broker_outages, error_injections);

  // Both groups caught up: every source record was copied and acknowledged
  // before its offset was committed.
  GroupProbe probe1((*dc1)->bootstrap_servers(), Group("dc1"));
  GroupProbe probe2((*dc2)->bootstrap_servers(), Group("dc2"));
  std::string status1, status2;
  ASSERT_TRUE(WaitFor([&] { return probe1.CaughtUp(kTopic, kPartitions, &status1); }, 180s)) << "dc1: " << status1;
  ASSERT_TRUE(WaitFor([&] { return probe2.CaughtUp(kTopic, kPartitions, &status2); }, 180s)) << "dc2: " << status2;
  std::printf("  t=%5.1fs  both groups caught up\n", elapsed());
  for (int i = 0; i < 2; ++i) EXPECT_EQ(members[static_cast<size_t>(i)]->Stop(), 0) << members[static_cast<size_t>(i)]->name();

  // The destination, by content.
  auto content = ReadDestination((*agg)->bootstrap_servers());
  ASSERT_TRUE(content.ok()) << content.status().ToString();
  EXPECT_EQ(content->keyless, 0);
  int64_t missing = 0, duplicated = 0;
  for (int s = 0; s < 2; ++s) {
    for (int64_t i = 0; i < total / 2; ++i) {
      auto it = content->keys.find(std::string(cluster_names[s]) + "-" + std::to_string(i));
      if (it == content->keys.end()) {
        ++missing;
      } else if (it->second > 1) {
        duplicated += it->second - 1;
      }
    }
  }
  std::printf("  destination: %lld records, %lld missing, %lld duplicated\n", static_cast<long long>(content->records),
              static_cast<long long>(missing), static_cast<long long>(duplicated));
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(content->records, produced);
  // Byte for byte: the destination's windows are the sources' windows.
  WindowTotals expected = producers[0]->expected();
  for (const auto& [k, v] : producers[1]->expected()) {
    auto& e = expected[k];
    e.count += v.count;
    e.digest += v.digest;
    e.malformed += v.malformed;
    e.no_time += v.no_time;
  }
  EXPECT_EQ(DiffTotals(expected, content->totals), "");

  // The replicator tier equals the destination's content per window.
  audit.Stop();
  ASSERT_TRUE(audit.reader().ReadToEnd(30s).ok());
  EXPECT_EQ(audit.reader().bad(), 0);
  ChunkMerger merged;
  merged.ApplyAll(audit.reader().records());
  EXPECT_TRUE(merged.violations().empty()) << merged.violations().front();
  const auto tier = merged.Totals(kTier);
  std::printf("  %zu audit records, %lld chunk replacements, %lld heartbeats\n", audit.reader().records().size(),
              static_cast<long long>(merged.replacements()), static_cast<long long>(merged.heartbeats()));
  EXPECT_EQ(TotalCount(tier), content->records);
  EXPECT_EQ(DiffTotals(content->totals, tier), "");
  std::printf("  t=%5.1fs  done (logs in %s)\n", elapsed(), dir.c_str());
}

}  // namespace
}  // namespace chaperone
