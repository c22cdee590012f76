// A database outage never loses data: the real `chaperone collector` binary,
// mid-ingest, loses its real PostgreSQL or MariaDB server (stopped); it stops
// committing (to the store and to Kafka), retries with backoff, tells the
// outage on /health and /metrics, and goes on where it stopped when the server
// is restarted: every audit record is applied exactly once.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <regex>

#include "chaperone/mock_cluster.h"
#include "store/store.h"
#include "support/collector_stream.h"
#include "support/process.h"
#include "support/server_util.h"
#include "support/sql_server.h"

namespace chaperone {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 4;
const std::string kGroup = "outage-test";

// One of the collector's /metrics samples (-1 when it cannot be read).
int64_t Metric(httplib::Client& http, const std::string& name) {
  auto r = http.Get("/metrics");
  if (!r || r->status != 200) return -1;
  std::smatch m;
  if (!std::regex_search(r->body, m, std::regex("\n" + name + " (-?[0-9]+)\n"))) return -1;
  return std::stoll(m[1]);
}

int64_t Sum(const std::map<int32_t, int64_t>& offsets) {
  int64_t sum = 0;
  for (const auto& [p, o] : offsets) sum += std::max<int64_t>(o, 0);
  return sum;
}

class CollectorOutage : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto server = test::SqlServer::Start(GetParam());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    db_ = std::move(*server);
    auto url = db_->CreateDatabase("outage");
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
  }
  void TearDown() override { collector_.reset(); }  // SIGKILL if still running

  std::unique_ptr<test::SqlServer> db_;
  std::string url_;
  std::unique_ptr<test::Process> collector_;
};

TEST_P(CollectorOutage, StopsCommittingWhileTheDatabaseIsDownAndLosesNothing) {
  auto cluster = MockCluster::Start(1, {{kDefaultAuditTopic, kPartitions}});
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  const std::string bootstrap = (*cluster)->bootstrap_servers();

  // Two thirds of the stream before the outage, the rest while the database is down.
  const test::AuditStream stream = test::MakeAuditStream();
  const size_t split = stream.messages.size() * 2 / 3;
  const std::vector<std::pair<std::string, std::string>> before(stream.messages.begin(),
                                                                 stream.messages.begin() + split),
      during(stream.messages.begin() + split, stream.messages.end());
  const auto end_before = test::ProduceToAuditTopic(bootstrap, before);
  ASSERT_EQ(Sum(end_before), static_cast<int64_t>(before.size()));

  auto reader = store::Store::Open(url_);  // the collector creates the schema; so may this
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const int port = test::FreeLoopbackPort();
  ASSERT_GT(port, 0);
  auto p = test::StartCollectorProcess(bootstrap, url_, kGroup, 50, {"--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  collector_ = std::move(*p);
  httplib::Client http("127.0.0.1", port);
  http.set_connection_timeout(5);
  http.set_read_timeout(5);

  // Mid-ingest: some of the records are in the store, not all.
  ASSERT_TRUE(test::WaitFor([&] { return Sum(test::StoredPositions(**reader, kGroup)) >= Sum(end_before) / 4; }, 120s));
  ASSERT_TRUE(db_->Stop().ok());

  // The outage shows: /health fails naming the store, the store error counter grows, store_up is 0.
  ASSERT_TRUE(test::WaitFor([&] { return Metric(http, "chaperone_collector_store_up") == 0; }, 30s));
  auto health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503) << health->body;
  EXPECT_NE(health->body.find("\"status\":\"unavailable\""), std::string::npos) << health->body;
  EXPECT_NE(health->body.find("the " + GetParam() + " store is unavailable"), std::string::npos) << health->body;
  EXPECT_NE(health->body.find("\"storeUp\":false"), std::string::npos) << health->body;
  EXPECT_GT(Metric(http, "chaperone_collector_store_down_since_timestamp_ms"), 0);
  const int64_t errors = Metric(http, "chaperone_collector_store_errors_total");
  EXPECT_GT(errors, 0);
  EXPECT_TRUE(test::WaitFor([&] { return Metric(http, "chaperone_collector_store_errors_total") > errors; }, 30s))
      << "the collector stopped retrying";
  const int64_t batches = Metric(http, "chaperone_collector_batches_total");

  // More records while the database is down; then what the group committed to Kafka meanwhile.
  const auto end_after = test::ProduceToAuditTopic(bootstrap, during);
  ASSERT_EQ(Sum(end_after), static_cast<int64_t>(stream.messages.size()));
  EXPECT_TRUE(test::WaitFor([&] { return Metric(http, "chaperone_collector_store_errors_total") > errors + 1; }, 30s));
  const auto committed = test::KafkaCommittedOffsets(bootstrap, kGroup, kPartitions);
  EXPECT_EQ(Metric(http, "chaperone_collector_batches_total"), batches) << "a batch was committed during the outage";

  // The database comes back while the collector is frozen (SIGSTOP), so that the
  // store is read as the outage left it: Kafka's committed offsets never passed it.
  // (The reader's first statement may find its connection lost: it reconnects.)
  ASSERT_TRUE(collector_->Signal(SIGSTOP).ok());
  Status restarted = db_->Restart();
  std::map<int32_t, int64_t> stored;
  auto read_stored = [&] { return !(stored = test::StoredPositions(**reader, kGroup)).empty(); };
  bool read = restarted.ok() && test::WaitFor(read_stored, 30s);
  ASSERT_TRUE(collector_->Signal(SIGCONT).ok());
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  ASSERT_TRUE(read) << "the store did not come back";
  for (const auto& [partition, offset] : committed) {
    int64_t at = stored.count(partition) ? stored.at(partition) : 0;
    EXPECT_LE(offset, at) << "partition " << partition << ": committed to Kafka past what the store holds";
  }
  EXPECT_LT(Sum(stored), Sum(end_after)) << "everything was stored before the outage";

  // It goes on where it stopped: every record, exactly once.
  ASSERT_TRUE(test::WaitFor([&] { return test::StoredPositions(**reader, kGroup) == end_after; }, 120s));
  EXPECT_TRUE(test::WaitFor([&] { return Metric(http, "chaperone_collector_store_up") == 1; }, 30s));
  health = http.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  EXPECT_EQ(Metric(http, "chaperone_collector_store_down_since_timestamp_ms"), 0);
  EXPECT_TRUE(test::WaitFor(
      [&] {
        auto now = test::KafkaCommittedOffsets(bootstrap, kGroup, kPartitions);
        for (const auto& [partition, end] : end_after) {
          if (now[partition] != end) return false;
        }
        return true;
      },
      30s))
      << "the Kafka commits did not resume";

  // Idle (nothing left to apply), it still notices an outage, and its end.
  ASSERT_TRUE(db_->Stop().ok());
  EXPECT_TRUE(test::WaitFor([&] { return Metric(http, "chaperone_collector_store_up") == 0; }, 30s));
  ASSERT_TRUE(db_->Restart().ok());
  EXPECT_TRUE(test::WaitFor([&] { return Metric(http, "chaperone_collector_store_up") == 1; }, 30s));
  auto status = collector_->Stop(30s);  // SIGTERM: a clean stop
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 0);

  test::ExpectStoreHolds(**reader, stream);
}

INSTANTIATE_TEST_SUITE_P(Stores, CollectorOutage, ::testing::Values("postgresql", "mysql"));

}  // namespace
}  // namespace chaperone
