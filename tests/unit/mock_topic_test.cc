// ParseMockTopic: the "NAME[:PARTITIONS]" specs of `chaperone mock-kafka --topic`
// and the embedded demo, checked by Kafka's one topic-name rule (src/common).
#include <gtest/gtest.h>

#include <string>

#include "chaperone/mock_cluster.h"

namespace chaperone {
namespace {

TEST(ParseMockTopic, NameAloneHasOnePartition) {
  auto t = ParseMockTopic("orders");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name, "orders");
  EXPECT_EQ(t->partitions, 1);
}

TEST(ParseMockTopic, NameAndPartitions) {
  auto t = ParseMockTopic("orders.eu-1:12");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->name, "orders.eu-1");
  EXPECT_EQ(t->partitions, 12);
}

TEST(ParseMockTopic, DotAndDotDotAreNotTopicNames) {
  for (const char* spec : {".", "..", ".:3", "..:3"}) {
    auto t = ParseMockTopic(spec);
    ASSERT_FALSE(t.ok()) << spec;
    EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(t.status().message(), "topic spec '" + std::string(spec) + "': '.' and '..' are not topic names");
  }
}

TEST(ParseMockTopic, NamesBreakingKafkasRuleAreRefusedWithTheRule) {
  EXPECT_EQ(ParseMockTopic(":3").status().message(), "topic spec ':3': a topic name must not be empty");
  EXPECT_EQ(ParseMockTopic("a/b").status().message(), "topic spec 'a/b': topic names use only [a-zA-Z0-9._-]");
  EXPECT_EQ(ParseMockTopic(std::string(250, 't')).status().message(),
            "topic spec '" + std::string(250, 't') + "': a topic name is at most 249 characters");
  EXPECT_TRUE(ParseMockTopic(std::string(249, 't')).ok());
}

TEST(ParseMockTopic, PartitionsAreFrom1To10000) {
  for (const char* spec : {"t:0", "t:10001", "t:x", "t:", "t:1x"}) {
    EXPECT_EQ(ParseMockTopic(spec).status().message(),
              "topic spec '" + std::string(spec) + "': partitions must be a number from 1 to 10000")
        << spec;
  }
}

}  // namespace
}  // namespace chaperone
