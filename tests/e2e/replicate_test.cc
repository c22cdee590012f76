// `chaperone replicate --config FILE` as a real process between two mock
// clusters: `config check` accepts the section (and names file:line for a bad
// value), the process copies every record exactly once, SIGTERM stops it with
// exit code 0, and `replicate translate` prints one JSON line per partition.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "chaperone/mock_cluster.h"
#include "replicate/checkpoint.h"
#include "replicate/destination_reader.h"
#include "replicate/provenance.h"
#include "support/process.h"
#include "support/service_support.h"

namespace chaperone {
namespace {

using namespace std::chrono_literals;
using test::Process;
using test::ProcessOptions;

class ReplicateE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.empty());
    auto s = MockCluster::Start(1, {{"orders", 2}});
    ASSERT_TRUE(s.ok());
    source_ = std::move(*s);
    auto d = MockCluster::Start(1, {{"orders", 2}, {"chaperone-audit", 1}, {std::string(replicate::kCheckpointTopic), 1}});
    ASSERT_TRUE(d.ok());
    destination_ = std::move(*d);
  }
  void TearDown() override {
    if (HasFailure()) tmp_.Keep();
  }
  std::string Write(const std::string& name, const std::string& text) { return tmp_.Write(name, text); }
  std::string Config(const std::string& extra = "") {
    return "clusters:\n"
           "  dc1: {bootstrap.servers: \"" + source_->bootstrap_servers() + "\", log_level: \"3\"}\n"
           "  agg: {bootstrap.servers: \"" + destination_->bootstrap_servers() + "\", log_level: \"3\"}\n"
           "replicate:\n"
           "  source.cluster: dc1\n"
           "  destination.cluster: agg\n"
           "  topics.include: [orders]\n"
           "  flush_interval_ms: 200\n"
           "  discovery_interval_ms: 500\n"
           "  listen: \"\"\n" + extra;
  }
  // Source offsets per partition found in the destination (by provenance).
  std::map<std::pair<int32_t, int64_t>, int> Copied() {
    std::map<std::pair<int32_t, int64_t>, int> seen;
    auto reader = replicate::KafkaDestinationReader::Create(
        {{"bootstrap.servers", destination_->bootstrap_servers()}, {"log_level", "3"}}, 10s);
    if (!reader.ok()) return seen;
    for (int p = 0; p < 2; ++p) {
      replicate::DestinationPartition d{"orders", PartitionId(p)};
      auto w = (*reader)->Watermarks(d);
      if (!w.ok()) continue;
      (void)(*reader)->Read(d, w->low, w->high, [&](const replicate::DestinationRecordView& r) {
        auto prov = replicate::DecodeProvenance(r.headers);
        if (prov.ok()) ++seen[{prov->origin.partition.value(), prov->offset.value()}];
      });
    }
    return seen;
  }

  test::TempDir tmp_{"chaperone-replicate-e2e"};
  const std::string dir_ = tmp_.path();
  std::unique_ptr<MockCluster> source_, destination_;
};

TEST_F(ReplicateE2E, ConfigCheckReplicatesExactlyOnceAndStopsCleanly) {
  std::string path = Write("chaperone.yaml", Config());
  auto check = test::RunCommand({CHAPERONE_BIN, "config", "check", path});
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->exit_code, 0) << check->out << check->err;
  EXPECT_NE(check->out.find("replicate: dc1 -> agg, tier replicator"), std::string::npos) << check->out;

  std::string bad = Write("bad.yaml", Config("  partitioning: round_robin\n"));
  auto bad_check = test::RunCommand({CHAPERONE_BIN, "config", "check", bad});
  ASSERT_TRUE(bad_check.ok());
  EXPECT_EQ(bad_check->exit_code, 2);
  EXPECT_NE(bad_check->out.find("bad.yaml:11: replicate.partitioning: must be identity or key_hash"), std::string::npos)
      << bad_check->out;

  auto producer = testing::TestProducer::Create(source_->bootstrap_servers());
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 100; ++i) {
    testing::TestMessage m;
    m.topic = "orders";
    m.partition = i % 2;
    m.key = "k" + std::to_string(i);
    m.value = "v" + std::to_string(i);
    m.timestamp_ms = 1'700'000'000'000 + i;
    ASSERT_TRUE((*producer)->Produce(m, 60).ok());
  }
  ASSERT_TRUE((*producer)->Flush(10s).ok());

  ProcessOptions po;
  po.stdout_mode = ProcessOptions::Stream::kNull;
  po.log_file = dir_ + "/replicate.log";
  auto proc = Process::Start({CHAPERONE_BIN, "replicate", "--config", path}, po);
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  bool done = test::WaitFor([&] { return Copied().size() == 100; }, 60'000ms);
  EXPECT_TRUE(done) << "copied " << Copied().size();
  ASSERT_TRUE((*proc)->Signal(SIGTERM).ok());
  auto code = (*proc)->Wait(30'000ms);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  for (const auto& [k, n] : Copied()) EXPECT_EQ(n, 1) << k.first << "/" << k.second;

  // A restart with nothing new copies nothing again.
  auto again = Process::Start({CHAPERONE_BIN, "replicate", "--config", path, "--group-id", "fresh-group"}, po);
  ASSERT_TRUE(again.ok());
  std::this_thread::sleep_for(4s);
  ASSERT_TRUE((*again)->Signal(SIGTERM).ok());
  auto code2 = (*again)->Wait(30'000ms);
  ASSERT_TRUE(code2.ok());
  EXPECT_EQ(*code2, 0);
  auto copied = Copied();
  EXPECT_EQ(copied.size(), 100u);
  for (const auto& [k, n] : copied) EXPECT_EQ(n, 1) << k.first << "/" << k.second;

  // translate: a group with no committed offsets is an error (exit 1); the
  // replicator's own group translates one line per partition.
  auto none = test::RunCommand({CHAPERONE_BIN, "replicate", "translate", "--config", path, "--group", "nobody"});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->exit_code, 1) << none->out << none->err;
  auto tr = test::RunCommand(
      {CHAPERONE_BIN, "replicate", "translate", "--config", path, "--group", "chaperone-replicate-dc1-agg"});
  ASSERT_TRUE(tr.ok());
  EXPECT_EQ(tr->exit_code, 0) << tr->err;
  EXPECT_EQ(std::count(tr->out.begin(), tr->out.end(), '\n'), 2) << tr->out;
  EXPECT_NE(tr->out.find("\"destinationOffset\":50"), std::string::npos) << tr->out;
}

}  // namespace
}  // namespace chaperone
