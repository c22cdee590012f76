#include "chaperone/kafka_config.h"

#include <gtest/gtest.h>

namespace chaperone {
namespace {

std::string Get(rd_kafka_conf_t* conf, const char* name) {
  char buf[512];
  size_t size = sizeof buf;
  if (rd_kafka_conf_get(conf, name, buf, &size) != RD_KAFKA_CONF_OK) return "<unset>";
  return buf;
}

TEST(BuildKafkaConf, SetsEveryPropertyInOrder) {
  auto conf = BuildKafkaConf({{"bootstrap.servers", "127.0.0.1:9092"}, {"linger.ms", "7"}, {"linger.ms", "9"}});
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  EXPECT_EQ(Get(*conf, "bootstrap.servers"), "127.0.0.1:9092");
  EXPECT_EQ(Get(*conf, "linger.ms"), "9");
  rd_kafka_conf_destroy(*conf);
}

TEST(BuildKafkaConf, ErrorsNameTheProperty) {
  auto unknown = BuildKafkaConf({{"linger.ms", "5"}, {"no.such.property", "1"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("kafka property 'no.such.property'"), std::string::npos)
      << unknown.status().message();
  auto bad_value = BuildKafkaConf({{"acks", "sometimes"}});
  ASSERT_FALSE(bad_value.ok());
  EXPECT_NE(bad_value.status().message().find("kafka property 'acks'"), std::string::npos)
      << bad_value.status().message();
}

TEST(KafkaProperties, PluginPropertiesAreRecognisedAndRemoved) {
  EXPECT_TRUE(IsPluginProperty("plugin.library.paths"));
  EXPECT_TRUE(IsPluginProperty("interceptor.test.config"));
  EXPECT_TRUE(IsPluginProperty("chaperone.tier"));
  EXPECT_FALSE(IsPluginProperty("bootstrap.servers"));
  EXPECT_FALSE(IsPluginProperty("plugin"));
  KafkaProperties kept = WithoutPluginProperties(
      {{"plugin.library.paths", "libchaperone-interceptor"}, {"acks", "all"}, {"chaperone.tier", "producer"}});
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].first, "acks");
}

TEST(KafkaProperties, FindReturnsTheLastValue) {
  KafkaProperties p = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
  ASSERT_NE(FindKafkaProperty(p, "a"), nullptr);
  EXPECT_EQ(*FindKafkaProperty(p, "a"), "3");
  EXPECT_EQ(FindKafkaProperty(p, "c"), nullptr);
}

}  // namespace
}  // namespace chaperone
