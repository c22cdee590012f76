// Topic sync, the pure half: which topics wait, and why, in /metrics terms.
#include <gtest/gtest.h>

#include "replicate/topic_sync.h"

namespace chaperone::replicate {
namespace {

PartitionMap Map(PartitionStrategy s = PartitionStrategy::kIdentity) {
  PartitionMapConfig c;
  c.source_cluster = "dc1";
  c.destination_cluster = "aggregate";
  c.include = {"orders.*", "payments"};
  c.rename = {{"payments", "agg.payments"}};
  c.strategy = s;
  return *PartitionMap::Create(c);
}

TEST(PlanTopics, ReportsReadyMissingAndMismatchedDestinations) {
  ClusterTopics source = {{"orders", 8}, {"orders.eu", 4}, {"payments", 2}, {"other", 1}, {"__consumer_offsets", 50}};
  ClusterTopics destination = {{"orders", 8}, {"orders.eu", 2}, {"payments", 2}};
  auto plan = PlanTopics(Map(), source, destination);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0].source_topic, "orders");
  EXPECT_EQ(plan[0].state, TopicState::kReady);
  EXPECT_EQ(plan[1].source_topic, "orders.eu");
  EXPECT_EQ(plan[1].state, TopicState::kPartitionMismatch);
  EXPECT_NE(plan[1].detail.find("at least 4"), std::string::npos) << plan[1].detail;
  EXPECT_EQ(plan[2].destination_topic, "agg.payments");
  EXPECT_EQ(plan[2].state, TopicState::kCannotCreate);  // "payments" exists, but not "agg.payments"

  TopicSyncReport report{plan};
  EXPECT_EQ(report.ready(), 1);
  EXPECT_EQ(report.waiting(), 2);
  auto problems = TopicSyncProblems(report);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].rfind("orders.eu → orders.eu: partition_mismatch: ", 0), 0u) << problems[0];
  std::string metrics;
  AppendTopicSyncMetrics(metrics, report);
  EXPECT_NE(metrics.find("chaperone_replicate_topics{state=\"partition_mismatch\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("chaperone_replicate_topic_waiting{topic=\"payments\",state=\"cannot_create\"} 1\n"),
            std::string::npos) << metrics;
}

TEST(PlanTopics, KeyHashAcceptsAnyDestinationCountButSaysSo) {
  auto plan = PlanTopics(Map(PartitionStrategy::kKeyHash), {{"orders", 8}}, {{"orders", 3}});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].state, TopicState::kReady);
  EXPECT_NE(plan[0].detail.find("3 partitions"), std::string::npos) << plan[0].detail;
}

}  // namespace
}  // namespace chaperone::replicate
