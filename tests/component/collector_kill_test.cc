// The real `chaperone collector` binary, killed with SIGKILL mid-stream and
// restarted, applies every valid audit record exactly once (SQLite and PostgreSQL).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "chaperone/mock_cluster.h"
#include "store/store.h"
#include "support/collector_stream.h"
#include "support/pg_server.h"
#include "support/process.h"

namespace chaperone {
namespace {

using namespace std::chrono_literals;

constexpr int kPartitions = 4;

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
    // A killed member's partitions move after the session timeout: keep it short.
    auto p = test::StartCollectorProcess(bootstrap, url_, "kill-test", batch_records,
                                         {"-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"});
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

  // Valid records with redeliveries and garbage mixed in, and service chunks with replays.
  const test::AuditStream stream = test::MakeAuditStream();
  auto end = test::ProduceToAuditTopic(bootstrap, stream.messages);
  int64_t total_messages = 0;
  for (const auto& [p, e] : end) total_messages += e;
  ASSERT_EQ(total_messages, static_cast<int64_t>(stream.messages.size()));
  const int64_t expected_total = stream.expected_total();

  auto reader = store::Store::Open(url_);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  StartCollector(bootstrap, 50);
  auto applied_total = [&] { return test::StoredTotal(**reader); };

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
  auto caught_up = [&] { return test::StoredPositions(**reader, "kill-test") == end; };
  ASSERT_TRUE(test::WaitFor(caught_up, 120s));
  auto status = collector_->Stop(30s);  // SIGTERM: a clean stop
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 0);

  test::ExpectStoreHolds(**reader, stream);
}

INSTANTIATE_TEST_SUITE_P(Stores, CollectorKill, ::testing::Values("sqlite", "postgresql"));

}  // namespace
}  // namespace chaperone
