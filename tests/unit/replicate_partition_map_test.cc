// The partition map: topic selection and rename, identity and key-hash
// partitioning (murmur2 as Kafka's default partitioner), impossible maps.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "replicate/checkpoint.h"
#include "replicate/partition_map.h"

namespace chaperone::replicate {
namespace {

PartitionMapConfig Config() {
  PartitionMapConfig c;
  c.source_cluster = "dc1";
  c.destination_cluster = "aggregate";
  return c;
}

TEST(PartitionMap, Murmur2MatchesKafkasJavaValues) {
  // From librdkafka's rdmurmur2.c unit test (values of Kafka's Utils.murmur2).
  EXPECT_EQ(Murmur2("kafka"), 0xd067cf64u);
  EXPECT_EQ(Murmur2("giberish123456789"), 0x8f552b0cu);
  EXPECT_EQ(Murmur2("1234"), 0x9fc97b14u);
  EXPECT_EQ(Murmur2("234"), 0xe7c009cau);
  EXPECT_EQ(Murmur2("34"), 0x873930dau);
  EXPECT_EQ(Murmur2("4"), 0x5a4b5ca1u);
  EXPECT_EQ(Murmur2("PreAmbleWillBeRemoved,ThePrePartThatIs"), 0x78424f1cu);
  EXPECT_EQ(Murmur2(""), 0x106e08d9u);
}

TEST(PartitionMap, KeyPartitionAgreesWithLibrdkafkasMurmur2Partitioner) {
  for (int i = 0; i < 2000; ++i) {
    std::string key = "key-" + std::to_string(i * 7919);
    for (int32_t n : {1, 3, 8, 64}) {
      int32_t theirs = rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), n, nullptr, nullptr);
      EXPECT_EQ(KafkaKeyPartition(key, n).value(), theirs) << key << " over " << n;
    }
  }
}

TEST(PartitionMap, SelectsByWholeNameAndRenames) {
  auto c = Config();
  c.include = {"orders.*", "payments"};
  c.exclude = {".*-tmp"};
  c.rename = {{"payments", "agg.payments"}};
  c.always_excluded = {"orders-audit"};
  auto m = PartitionMap::Create(c);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->Selects("orders"));
  EXPECT_TRUE(m->Selects("orders.eu"));
  EXPECT_FALSE(m->Selects("orders-tmp"));
  EXPECT_FALSE(m->Selects("orders-audit"));
  EXPECT_FALSE(m->Selects("my-payments"));  // whole name, not a substring
  EXPECT_TRUE(m->Selects("payments"));
  EXPECT_EQ(m->DestinationTopic("payments"), "agg.payments");
  EXPECT_EQ(m->DestinationTopic("orders"), "orders");
}

TEST(PartitionMap, NeverSelectsInternalTopicsOrItsCheckpoints) {
  auto m = PartitionMap::Create(Config());
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->Selects("__consumer_offsets"));
  EXPECT_FALSE(m->Selects(kCheckpointTopic));
  EXPECT_TRUE(m->Selects("anything"));
}

TEST(PartitionMap, ImpossibleMapsAreInvalidArguments) {
  auto c = Config();
  c.destination_cluster = "dc1";
  EXPECT_EQ(PartitionMap::Create(c).status().code(), Status::Code::kInvalidArgument);
  c = Config();
  c.include = {"("};
  EXPECT_EQ(PartitionMap::Create(c).status().code(), Status::Code::kInvalidArgument);
  c = Config();
  c.rename = {{"orders", "bad name"}};
  EXPECT_EQ(PartitionMap::Create(c).status().code(), Status::Code::kInvalidArgument);
  c = Config();
  c.rename = {{"orders", "__consumer_offsets"}};
  EXPECT_EQ(PartitionMap::Create(c).status().code(), Status::Code::kInvalidArgument);
  c = Config();
  c.include = {"orders"};
  c.rename = {{"payments", "agg.payments"}};  // not selected: a typo somewhere
  EXPECT_EQ(PartitionMap::Create(c).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ParsePartitionStrategy("round-robin").status().code(), Status::Code::kInvalidArgument);
}

TEST(PartitionMap, IdentityNeedsAsManyDestinationPartitions) {
  auto m = PartitionMap::Create(Config());
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->CheckPartitionCounts(8, 8).ok());
  EXPECT_TRUE(m->CheckPartitionCounts(8, 12).ok());
  Status s = m->CheckPartitionCounts(8, 4);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("at least 8"), std::string::npos) << s.message();
  EXPECT_EQ(m->DestinationPartition(PartitionId(5), "k", 8), PartitionId(5));
  EXPECT_EQ(m->DestinationPartitionsOf(PartitionId(5), 8), std::vector<PartitionId>{PartitionId(5)});
}

TEST(PartitionMap, KeyHashPlacesKeyedRecordsLikeKafkaAndNullKeysBySourcePartition) {
  auto c = Config();
  c.strategy = PartitionStrategy::kKeyHash;
  auto m = PartitionMap::Create(c);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->CheckPartitionCounts(8, 3).ok());
  EXPECT_FALSE(m->CheckPartitionCounts(8, 0).ok());
  EXPECT_EQ(m->DestinationPartition(PartitionId(5), "kafka", 3), KafkaKeyPartition("kafka", 3));
  EXPECT_EQ(m->DestinationPartition(PartitionId(5), std::nullopt, 3), PartitionId(2));
  EXPECT_EQ(m->DestinationPartitionsOf(PartitionId(5), 3).size(), 3u);
}

}  // namespace
}  // namespace chaperone::replicate
