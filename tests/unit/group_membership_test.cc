#include "lib/kafka/group_membership.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <string>

namespace chaperone::kafka {
namespace {

// What the client library itself writes for a member of generation `gen`.
std::string Serialized(const char* group, int32_t gen, const char* member, const char* instance) {
  rd_kafka_consumer_group_metadata_t* md = rd_kafka_consumer_group_metadata_new_with_genid(group, gen, member, instance);
  void* buf = nullptr;
  size_t size = 0;
  rd_kafka_error_t* err = rd_kafka_consumer_group_metadata_write(md, &buf, &size);
  rd_kafka_consumer_group_metadata_destroy(md);
  EXPECT_EQ(err, nullptr);
  std::string out(static_cast<const char*>(buf), size);
  rd_kafka_mem_free(nullptr, buf);
  return out;
}

TEST(GroupMembership, ReadsTheGenerationAndMemberIdTheClientLibraryWrites) {
  for (int32_t gen : {0, 1, 7, 123456, 2147483647}) {
    std::string s = Serialized("chaperone-service-regional", gen, "rdkafka-5e1c-member", nullptr);
    auto m = ParseGroupMetadata(s.data(), s.size());
    ASSERT_TRUE(m.has_value()) << gen;
    EXPECT_EQ(m->generation, gen);
    EXPECT_EQ(m->member_id, "rdkafka-5e1c-member");
  }
  std::string with_instance = Serialized("g", 9, "m-1", "static-instance-3");
  auto m = ParseGroupMetadata(with_instance.data(), with_instance.size());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->generation, 9);
  EXPECT_EQ(m->member_id, "m-1");
}

TEST(GroupMembership, AMemberOutsideAnyGenerationReadsAsMinusOne) {
  std::string s = Serialized("g", -1, "", nullptr);
  auto m = ParseGroupMetadata(s.data(), s.size());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->generation, -1);
  EXPECT_EQ(m->member_id, "");
}

TEST(GroupMembership, AnUnknownOrDamagedFormatIsUnknownNeverAWrongNumber) {
  std::string s = Serialized("group", 5, "member", nullptr);
  EXPECT_FALSE(ParseGroupMetadata(nullptr, 0).has_value());
  for (size_t n = 0; n < s.size(); ++n) {
    // Every truncation that cuts the member id's terminator is rejected.
    auto m = ParseGroupMetadata(s.data(), n);
    if (m) {
      EXPECT_EQ(m->generation, 5) << n;
    }
  }
  std::string other = s;
  other[5] = '3';  // "CGMDv3:"
  EXPECT_FALSE(ParseGroupMetadata(other.data(), other.size()).has_value());
  std::string no_nul = s.substr(0, 11) + std::string(20, 'x');
  EXPECT_FALSE(ParseGroupMetadata(no_nul.data(), no_nul.size()).has_value());
}

TEST(GroupMembership, AProducerOrANullHandleHasNoMembership) {
  EXPECT_FALSE(CurrentGroupMembership(nullptr).has_value());
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  ASSERT_NE(producer, nullptr) << err;
  EXPECT_FALSE(CurrentGroupMembership(producer).has_value());
  rd_kafka_destroy(producer);
}

TEST(GroupMembership, AConsumerThatHasNotJoinedHasNoGeneration) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "group.id", "never-joins", err, sizeof err), RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof err), RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err), RD_KAFKA_CONF_OK);
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  ASSERT_NE(consumer, nullptr) << err;
  auto m = CurrentGroupMembership(consumer);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->generation, -1);
  EXPECT_EQ(m->member_id, "");
  rd_kafka_destroy(consumer);
}

}  // namespace
}  // namespace chaperone::kafka
