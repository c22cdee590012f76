// The Kafka reporter against real Kafka-protocol brokers: `chaperone
// mock-kafka` in a child process (read back with kcat) and the in-process
// mock cluster (for broker outages).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>

#include "chaperone/emitter.h"
#include "chaperone/mock_cluster.h"
#include "chaperone/reporter.h"
#include "support/audit_records.h"
#include "support/mock_kafka.h"

namespace chaperone {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kWindow0 = 1'795'303'800;

// One line of `kcat -f '%p\t%k\t%s\n'`.
struct Consumed {
  int partition = -1;
  std::string key;
  std::string value;
};

std::vector<Consumed> ConsumeAudit(const std::string& bootstrap) {
  auto lines = test::KcatConsumeAll(bootstrap, kDefaultAuditTopic, "%p\\t%k\\t%s\\n");
  EXPECT_TRUE(lines.ok()) << lines.status().ToString();
  std::vector<Consumed> out;
  if (!lines.ok()) return out;
  for (const auto& line : *lines) {
    // Encoded records escape tabs, so the first two tabs are kcat's.
    size_t a = line.find('\t');
    size_t b = line.find('\t', a + 1);
    EXPECT_NE(b, std::string::npos) << line;
    if (b == std::string::npos) continue;
    out.push_back({std::stoi(line.substr(0, a)), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
  }
  return out;
}

// A loopback port with nothing listening on it.
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class KafkaReporterWithKcat : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::HaveKcat()) GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh --test)";
    auto mk = test::StartMockKafka(3, {"chaperone-audit:4", "kcat-probe:1"});
    ASSERT_TRUE(mk.ok()) << mk.status().ToString();
    mock_ = std::move(*mk);
  }

  Result<std::unique_ptr<Reporter>> Make(KafkaProperties properties = {}) {
    KafkaReporterOptions o;
    o.bootstrap_servers = mock_.bootstrap;
    o.properties = std::move(properties);
    return MakeKafkaReporter(o);
  }

  test::MockKafkaProcess mock_;
};

TEST_F(KafkaReporterWithKcat, KcatProducesAndConsumesThroughMockKafka) {
  ASSERT_TRUE(test::KcatProduce(mock_.bootstrap, "kcat-probe", {"first line", "{\"ts\":1795303800000}"}).ok());
  auto lines = test::KcatConsumeAll(mock_.bootstrap, "kcat-probe");
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  EXPECT_EQ(*lines, (std::vector<std::string>{"first line", "{\"ts\":1795303800000}"}));
}

TEST_F(KafkaReporterWithKcat, EveryRecordArrivesIntactKeyedByTopic) {
  auto reporter = Make();
  ASSERT_TRUE(reporter.ok()) << reporter.status().ToString();
  Emitter emitter(MakeEmitterIdentity("regional", "dc1", "regional-dc1"));
  const std::vector<std::string> topics = {"orders", "payments", "clicks", "users.v2", "logs_app", "metrics-raw"};

  // Two flushes: each window of each topic, then a heartbeat.
  std::vector<AuditRecord> sent;
  for (int flush = 0; flush < 2; ++flush) {
    emitter.BeginFlush();
    std::vector<AuditRecord> batch;
    for (size_t t = 0; t < topics.size(); ++t) {
      for (int w = 0; w < 4; ++w) {
        int64_t count = static_cast<int64_t>(t * 100 + w * 7 + flush);
        batch.push_back(test::MakeCountRecord(emitter, topics[t], kWindow0 + w * 600, count, 3));
      }
    }
    batch.push_back(emitter.Heartbeat((kWindow0 + 2400) * 1000, 600, 0, 0));
    Status s = (*reporter)->Send(batch, seconds(30));
    ASSERT_TRUE(s.ok()) << s.ToString();
    sent.insert(sent.end(), batch.begin(), batch.end());
  }
  ReporterStats stats = (*reporter)->stats();
  EXPECT_EQ(stats.records_sent, static_cast<int64_t>(sent.size()));
  EXPECT_EQ(stats.records_acked, static_cast<int64_t>(sent.size()));
  EXPECT_EQ(stats.records_failed, 0);
  EXPECT_EQ(stats.send_timeouts, 0);
  EXPECT_EQ(stats.bytes_acked, stats.bytes_sent);

  std::map<std::string, const AuditRecord*> by_uuid;
  for (const auto& r : sent) by_uuid[r.uuid] = &r;
  std::vector<Consumed> consumed = ConsumeAudit(mock_.bootstrap);
  ASSERT_EQ(consumed.size(), sent.size());
  std::set<std::string> seen;
  std::map<std::string, int> partition_of_key;
  std::map<int, int64_t> last_seq_in_partition;
  for (const auto& c : consumed) {
    auto r = DecodeAuditRecord(c.value);
    ASSERT_TRUE(r.ok()) << r.status().ToString() << ": " << c.value;
    auto it = by_uuid.find(r->uuid);
    ASSERT_NE(it, by_uuid.end()) << "unknown record " << c.value;
    EXPECT_EQ(*r, *it->second);
    EXPECT_TRUE(seen.insert(r->uuid).second) << "duplicate " << r->uuid;
    EXPECT_EQ(c.key, r->kind == RecordKind::kHeartbeat ? r->emitter_id : r->topic);
    // One key, one partition; inside a partition, records keep the emitter's order.
    auto [pos, inserted] = partition_of_key.emplace(c.key, c.partition);
    EXPECT_EQ(pos->second, c.partition) << c.key;
    auto last = last_seq_in_partition.find(c.partition);
    if (last != last_seq_in_partition.end()) {
      EXPECT_GT(r->seq, last->second);
    }
    last_seq_in_partition[c.partition] = r->seq;
  }
  EXPECT_EQ(seen.size(), sent.size());
}

TEST_F(KafkaReporterWithKcat, PluginPropertiesNeverReachTheProducer) {
  // Were it passed on, librdkafka would try to load this library and fail.
  auto reporter = Make({{"plugin.library.paths", "/nonexistent/libchaperone-interceptor.so"},
                        {"interceptor.test.config", "1"},
                        {"chaperone.tier", "producer"},
                        {"client.id", "reporter-under-test"}});
  ASSERT_TRUE(reporter.ok()) << reporter.status().ToString();
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  Status s = (*reporter)->Send({test::MakeCountRecord(emitter, "orders", kWindow0, 5)}, seconds(30));
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ConsumeAudit(mock_.bootstrap).size(), 1u);
}

TEST(KafkaReporter, UnreachableClusterReturnsUnavailableWithinTheTimeout) {
  KafkaReporterOptions o;
  o.bootstrap_servers = "127.0.0.1:" + std::to_string(ClosedPort());
  auto reporter = MakeKafkaReporter(o);
  ASSERT_TRUE(reporter.ok()) << reporter.status().ToString();
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  std::vector<AuditRecord> batch = {test::MakeCountRecord(emitter, "orders", kWindow0, 5),
                                    test::MakeCountRecord(emitter, "payments", kWindow0, 2)};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto start = std::chrono::steady_clock::now();
    Status s = (*reporter)->Send(batch, milliseconds(1500));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
    EXPECT_NE(s.message().find("2 of 2 audit records not acknowledged within 1500 ms"), std::string::npos)
        << s.message();
    // Not a timing assertion: only a hang (far beyond the timeout) fails here.
    EXPECT_LT(took, seconds(30));
  }
  ReporterStats stats = (*reporter)->stats();
  EXPECT_EQ(stats.records_sent, 4);
  EXPECT_EQ(stats.records_acked, 0);
  EXPECT_EQ(stats.send_timeouts, 2);
  reporter->reset();  // must not wait for the unreachable cluster
}

TEST(KafkaReporter, DeliveryFailuresAreReportedAndCounted) {
  auto cluster = MockCluster::Start(1, {{kDefaultAuditTopic, 2}});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  KafkaReporterOptions o;
  o.bootstrap_servers = (*cluster)->bootstrap_servers();
  o.properties = {{"message.timeout.ms", "300"}};
  auto reporter = MakeKafkaReporter(o);
  ASSERT_TRUE(reporter.ok()) << reporter.status().ToString();
  ASSERT_TRUE((*cluster)->SetBrokerDown(1).ok());
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  Status s = (*reporter)->Send({test::MakeCountRecord(emitter, "orders", kWindow0, 5),
                                test::MakeCountRecord(emitter, "orders", kWindow0 + 600, 6)},
                               seconds(30));
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_NE(s.message().find("2 of 2 audit records failed: Local: Message timed out"), std::string::npos)
      << s.message();
  EXPECT_EQ((*reporter)->stats().records_failed, 2);
  EXPECT_EQ((*reporter)->stats().records_acked, 0);
}

TEST(KafkaReporter, RecordsHeldUpByAnOutageArriveInOrderAfterIt) {
  auto cluster = MockCluster::Start(1, {{kDefaultAuditTopic, 1}});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  KafkaReporterOptions o;
  o.bootstrap_servers = (*cluster)->bootstrap_servers();
  auto reporter = MakeKafkaReporter(o);
  ASSERT_TRUE(reporter.ok()) << reporter.status().ToString();
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));

  std::vector<AuditRecord> before = {test::MakeCountRecord(emitter, "orders", kWindow0, 1)};
  ASSERT_TRUE((*reporter)->Send(before, seconds(30)).ok());

  ASSERT_TRUE((*cluster)->SetBrokerDown(1).ok());
  std::vector<AuditRecord> during = {test::MakeCountRecord(emitter, "orders", kWindow0, 2)};
  Status s = (*reporter)->Send(during, milliseconds(500));
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();

  ASSERT_TRUE((*cluster)->SetBrokerUp(1).ok());
  std::vector<AuditRecord> after = {test::MakeCountRecord(emitter, "orders", kWindow0, 3)};
  s = (*reporter)->Send(after, seconds(30));
  ASSERT_TRUE(s.ok()) << s.ToString();
  // The record that missed its timeout was still delivered, before the later one.
  ReporterStats stats = (*reporter)->stats();
  EXPECT_EQ(stats.records_acked, 3);
  EXPECT_EQ(stats.records_failed, 0);
  EXPECT_EQ(stats.send_timeouts, 1);
  if (test::HaveKcat()) {
    std::vector<Consumed> consumed = ConsumeAudit((*cluster)->bootstrap_servers());
    ASSERT_EQ(consumed.size(), 3u);
    std::vector<int64_t> counts;
    for (const auto& c : consumed) counts.push_back(DecodeAuditRecord(c.value)->count);
    EXPECT_EQ(counts, (std::vector<int64_t>{1, 2, 3}));
  }
}

}  // namespace
}  // namespace chaperone
