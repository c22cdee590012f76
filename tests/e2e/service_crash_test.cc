// Crash test of exactly-once auditing at the service tier.
//
// M messages with known event times are produced into P partitions of an
// in-process mock cluster WHILE real `chaperone service` processes audit them
// as one consumer group. Meanwhile the members are killed with SIGKILL and
// restarted at random moments, a third member joins and leaves, and the
// brokers misbehave (request errors on commit, produce and fetch; a broker
// down and up). At the end the service-tier records on the audit topic,
// merged with the chunk-replacement rule, must give per (topic, partition,
// window) exactly the produced counts and digests.
//
// The same records are also judged through the real pipeline: a `chaperone
// collector` process, running through the chaos, applies the audit topic to
// a SQLite store, whose per-partition and per-window totals must equal what
// the test produced. Both are checked against the producer's own counts,
// never against each other.
//
// CHAPERONE_CRASH_SEED=<n> replays a schedule; CHAPERONE_CRASH_MESSAGES=<n>
// changes M (default 100000).
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chaperone/mock_cluster.h"
#include "store/store.h"
#include "support/chaos.h"
#include "support/service_support.h"

namespace chaperone {
namespace {

using namespace std::chrono_literals;
using testing::AuditReader;
using testing::BackgroundReader;
using testing::GroupProbe;
using testing::Member;
using testing::ChunkMerger;
using testing::ComparableWithStore;
using testing::DiffTotals;
using testing::TestMessage;
using testing::TestProducer;
using testing::TotalCount;
using testing::StoreTotals;
using testing::WaitFor;
using testing::WindowTotals;

constexpr int kPartitions = 8;
constexpr int64_t kWindowSec = 60;
constexpr const char* kTopic = "crash.events";
constexpr const char* kAuditTopic = "chaperone-audit";
constexpr const char* kTier = "crash";
constexpr const char* kGroup = "chaperone-crash-test";
constexpr const char* kCollectorGroup = "chaperone-crash-collector";

int64_t EnvInt(const char* name, int64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoll(v) : dflt;
}

TEST(ServiceCrash, KillsRestartsRebalancesAndBrokerFaultsStillCountEveryMessageExactlyOnce) {
  const uint64_t seed = static_cast<uint64_t>(EnvInt("CHAPERONE_CRASH_SEED", std::random_device{}()));
  const int64_t total = EnvInt("CHAPERONE_CRASH_MESSAGES", 100'000);
  std::printf("crash test: seed %llu, %lld messages (replay with CHAPERONE_CRASH_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<long long>(total),
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };

  auto cluster = MockCluster::Start(3, {{kTopic, kPartitions}, {kAuditTopic, 1}});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  // librdkafka 2.0.2's mock group coordinator aborts the whole process
  // (rd_kafka_mock_cgrp_member_sync_set: Assertion `!member->resp') when its
  // broker goes down in the middle of a SyncGroup. Pin the coordinator to
  // broker 1 and take only brokers 2 and 3 down (partition leaders still move).
  ASSERT_EQ(rd_kafka_mock_coordinator_set((*cluster)->raw(), "group", kGroup, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  const std::string bootstrap = (*cluster)->bootstrap_servers();

  char tmpl[] = "/tmp/chaperone-crash-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string config = dir + "/service.yaml";
  std::ofstream(config) << testing::ServiceConfigYaml({.bootstrap = bootstrap,
                                                        .tier = kTier,
                                                        .group = kGroup,
                                                        .include = "crash\\..*",
                                                        .window_sec = kWindowSec,
                                                        .flush_interval_ms = 1000});

  auto reader = AuditReader::Create(bootstrap, kAuditTopic, 1);
  ASSERT_TRUE(reader.ok());
  BackgroundReader audit(std::move(*reader));

  // The collector runs through the chaos too (the mock keeps only a few MiB
  // of the audit topic, so it must read along). It shares the cluster, so
  // it may take some of the injected commit and fetch errors.
  const std::string store_url = "sqlite:" + dir + "/store.db";
  Member collector("collector",
                   {"collector", "--bootstrap-servers", bootstrap, "--audit-topic", kAuditTopic, "--group-id",
                    kCollectorGroup, "--store", store_url},
                   dir);
  collector.Start();

  std::vector<std::unique_ptr<Member>> members;
  for (const char* name : {"a", "b", "c"})
    members.push_back(std::make_unique<Member>(
        name, std::vector<std::string>{"service", "--config", config, "--log-level", "info"}, dir));
  members[0]->Start();
  members[1]->Start();

  // The producer: ~total messages over ~40 s, event times advancing with
  // jitter so that every flush touches a few windows.
  auto producer = TestProducer::Create(bootstrap, {{"message.timeout.ms", "120000"}});
  ASSERT_TRUE(producer.ok());
  std::atomic<bool> produced{false};
  std::thread produce_thread([&] {
    std::mt19937_64 prng(seed ^ 0x9e3779b97f4a7c15ULL);
    const int64_t base_ms = 1'700'000'000'000;
    const int batches = 400;
    const int64_t per_batch = (total + batches - 1) / batches;
    int64_t i = 0;
    for (int b = 0; b < batches && i < total; ++b) {
      auto next = std::chrono::steady_clock::now() + 100ms;
      for (int64_t k = 0; k < per_batch && i < total; ++k, ++i) {
        TestMessage m;
        m.topic = kTopic;
        m.partition = static_cast<int32_t>(prng() % kPartitions);
        int64_t ts = base_ms + i * (12 * kWindowSec * 1000) / total +
                     static_cast<int64_t>(prng() % 180'000) - 90'000;
        m.timestamp_ms = ts;
        if (i % 53 != 0) m.key = "key-" + std::to_string(i);
        switch (i % 100) {
          case 7: m.value = std::nullopt; break;        // tombstone
          case 17: m.value = ""; break;                  // empty
          case 27: m.value = "plain text " + std::to_string(i); break;  // not JSON
          default:
            m.value = "{\"id\":" + std::to_string(i) + ",\"ts\":" + std::to_string(ts) + ",\"v\":\"" +
                      std::string(static_cast<size_t>(prng() % 80), 'x') + "\"}";
        }
        Status s = (*producer)->Produce(m, kWindowSec);
        ASSERT_TRUE(s.ok()) << s.ToString();
      }
      std::this_thread::sleep_until(next);
    }
    Status s = (*producer)->Flush(120s);
    EXPECT_TRUE(s.ok()) << s.ToString();
    produced = true;
  });

  // Chaos while producing.
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  int kills = 0, broker_outages = 0, error_injections = 0;
  bool c_joined = false, c_left = false;
  const double c_join_at = uniform(8, 14), c_leave_at = uniform(24, 30);
  while (!produced.load() || kills < 4 || !c_left) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(uniform(2500, 6000))));
    if (!c_joined && elapsed() >= c_join_at) {
      std::printf("  t=%5.1fs  c joins\n", elapsed());
      members[2]->Start();
      c_joined = true;
      continue;
    }
    if (c_joined && !c_left && elapsed() >= c_leave_at) {
      int rc = members[2]->Stop();
      std::printf("  t=%5.1fs  c leaves (exit %d)\n", elapsed(), rc);
      EXPECT_EQ(rc, 0);
      c_left = true;
      continue;
    }
    int action = static_cast<int>(uniform(0, 6));
    if (action <= 2 || (produced.load() && kills < 4)) {
      Member& m = *members[static_cast<size_t>(uniform(0, 2))];
      m.Kill();
      ++kills;
      int pause_ms = static_cast<int>(uniform(0, 1500));
      std::printf("  t=%5.1fs  kill -9, restart after %d ms\n", elapsed(), pause_ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      m.Start();
    } else if (action == 3) {
      int broker = static_cast<int>(uniform(2, 4));  // never the group coordinator (broker 1)
      int down_ms = static_cast<int>(uniform(500, 2000));
      std::printf("  t=%5.1fs  broker %d down for %d ms\n", elapsed(), broker, down_ms);
      ASSERT_TRUE((*cluster)->SetBrokerDown(broker).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));
      ASSERT_TRUE((*cluster)->SetBrokerUp(broker).ok());
      ++broker_outages;
    } else {
      // Kafka API keys: 0 Produce, 1 Fetch, 8 OffsetCommit, 9 OffsetFetch.
      struct Fault {
        int api, count, error;
        const char* what;
      };
      const Fault faults[] = {
          {8, 2, RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE, "commit fails"},
          {8, 1, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, "commit: rebalance in progress"},
          {8, 1, RD_KAFKA_RESP_ERR_NOT_COORDINATOR, "commit: not coordinator"},
          {0, 5, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, "produce: not enough replicas"},
          {0, 3, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, "produce: timed out"},
          {1, 5, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, "fetch: not leader"},
          {9, 2, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS, "offset fetch: coordinator loading"},
      };
      const Fault& f = faults[static_cast<size_t>(uniform(0, std::size(faults)))];
      std::printf("  t=%5.1fs  inject %d x %s\n", elapsed(), f.count, f.what);
      (*cluster)->PushRequestErrors(f.api, f.count, f.error);
      ++error_injections;
    }
  }
  produce_thread.join();
  ASSERT_EQ((*producer)->failed(), 0);
  for (int i = 0; i < 2; ++i)
    if (!members[static_cast<size_t>(i)]->running()) members[static_cast<size_t>(i)]->Start();
  std::printf("  t=%5.1fs  produced %lld; %d kills, %d broker outages, %d error injections; waiting for commits\n",
              elapsed(), static_cast<long long>((*producer)->produced()), kills, broker_outages, error_injections);

  // Everything produced is committed by the group (records are sent before
  // their offsets are committed, so they are all on the audit topic then).
  GroupProbe probe(bootstrap, kGroup);
  std::string status;
  ASSERT_TRUE(WaitFor([&] { return probe.CaughtUp(kTopic, kPartitions, &status); }, 120s)) << status;
  std::printf("  t=%5.1fs  group caught up\n", elapsed());

  audit.Stop();
  ASSERT_TRUE(audit.reader().ReadToEnd(30s).ok());
  EXPECT_EQ(audit.reader().bad(), 0);
  ChunkMerger merged;
  merged.ApplyAll(audit.reader().records());
  EXPECT_TRUE(merged.violations().empty()) << merged.violations().front();
  const auto actual = merged.Totals(kTier);
  std::printf("  %zu audit records, %lld chunk replacements, %lld heartbeats, %zu (partition, window) cells\n",
              audit.reader().records().size(), static_cast<long long>(merged.replacements()),
              static_cast<long long>(merged.heartbeats()), actual.size());
  EXPECT_EQ(TotalCount(actual), (*producer)->produced());
  EXPECT_EQ(DiffTotals((*producer)->expected(), actual), "");

  // A clean shutdown: exit code 0, and its final flush changes nothing.
  for (int i = 0; i < 2; ++i) EXPECT_EQ(members[static_cast<size_t>(i)]->Stop(), 0) << "member " << i;
  ASSERT_TRUE(audit.reader().ReadToEnd(30s).ok());
  ChunkMerger after;
  after.ApplyAll(audit.reader().records());
  EXPECT_EQ(DiffTotals((*producer)->expected(), after.Totals(kTier)), "");

  // The collector and the store: once the collector's stored position reaches
  // the end of the audit topic, the store holds exactly what was produced.
  const int64_t audit_end = probe.HighWatermark(kAuditTopic, 0);
  ASSERT_GT(audit_end, 0);
  auto store = store::Store::Open(store_url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  int64_t stored_at = -1;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto positions = (*store)->LoadPositions(kCollectorGroup, kAuditTopic);
        if (!positions.ok() || positions->empty()) return false;
        stored_at = positions->front().next_offset;
        return stored_at >= audit_end;
      },
      120s))
      << "the collector stored position " << stored_at << " of " << audit_end;
  std::printf("  t=%5.1fs  collector caught up with the audit topic (end offset %lld)\n", elapsed(),
              static_cast<long long>(audit_end));
  EXPECT_EQ(collector.Stop(), 0);
  auto stored = StoreTotals(**store, kTopic, kTier);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  std::printf("  store: %zu (partition, window) and window cells\n", stored->size());
  EXPECT_EQ(DiffTotals(ComparableWithStore((*producer)->expected()), *stored), "");
  auto quarantined = (*store)->QuarantineCount();
  ASSERT_TRUE(quarantined.ok()) << quarantined.status().ToString();
  EXPECT_EQ(*quarantined, 0);
  std::printf("  t=%5.1fs  done (logs in %s)\n", elapsed(), dir.c_str());
}

}  // namespace
}  // namespace chaperone
