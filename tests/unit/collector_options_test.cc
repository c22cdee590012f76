#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "collector/collector.h"

namespace chaperone::collector {
namespace {

CollectorOptions Valid() {
  CollectorOptions o;
  o.bootstrap_servers = "127.0.0.1:9092";
  return o;
}

TEST(CollectorOptions, DefaultsWithBootstrapServersAreValid) {
  CollectorOptions o = Valid();
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_EQ(o.audit_topic, "chaperone-audit");
  EXPECT_EQ(o.group, "chaperone-collector");
  EXPECT_EQ(o.store_url, "sqlite:./chaperone-data/chaperone.db");
}

TEST(CollectorOptions, EachBadFieldIsNamed) {
  struct Case {
    std::function<void(CollectorOptions&)> mutate;
    std::string expect;
  };
  const Case cases[] = {
      {[](CollectorOptions& o) { o.bootstrap_servers.clear(); }, "--bootstrap-servers"},
      {[](CollectorOptions& o) { o.audit_topic = "bad topic!"; }, "--audit-topic"},
      {[](CollectorOptions& o) { o.audit_topic = std::string(250, 'a'); }, "--audit-topic"},
      {[](CollectorOptions& o) { o.group.clear(); }, "--group"},
      {[](CollectorOptions& o) { o.store_url = "mysql://x"; }, "--store"},
      {[](CollectorOptions& o) { o.metrics_listen = "8080"; }, "--metrics-listen"},
      {[](CollectorOptions& o) { o.metrics_listen = "127.0.0.1:99999"; }, "--metrics-listen"},
      {[](CollectorOptions& o) { o.metrics_listen = "127.0.0.1:x"; }, "--metrics-listen"},
      {[](CollectorOptions& o) { o.metrics_listen = "::1:9100"; }, "--metrics-listen"},
      {[](CollectorOptions& o) { o.audit_topic = ".."; }, "--audit-topic"},
      {[](CollectorOptions& o) { o.retention_days = -1; }, "--retention-days"},
      {[](CollectorOptions& o) { o.batch_records = 0; }, "--batch-records"},
      {[](CollectorOptions& o) { o.batch_ms = 0; }, "--batch-ms"},
      {[](CollectorOptions& o) { o.kafka["enable.auto.commit"] = "true"; }, "-X enable.auto.commit"},
      {[](CollectorOptions& o) { o.kafka["isolation.level"] = "read_uncommitted"; }, "-X isolation.level"},
      {[](CollectorOptions& o) { o.kafka["group.id"] = "x"; }, "use --group"},
  };
  for (const Case& c : cases) {
    CollectorOptions o = Valid();
    c.mutate(o);
    Status s = o.Validate();
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.expect;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
  CollectorOptions ok = Valid();
  ok.metrics_listen = "127.0.0.1:0";
  ok.store_url = "postgresql://u:p@db/chaperone";
  ok.kafka["fetch.wait.max.ms"] = "10";
  EXPECT_TRUE(ok.Validate().ok());
  EXPECT_FALSE(Collector::Create(CollectorOptions{}).ok());
}

TEST(CollectorOptions, KafkaPropertyIsKeyEqualsValue) {
  std::map<std::string, std::string> m;
  EXPECT_TRUE(ParseKafkaProperty("security.protocol=SASL_SSL", &m).ok());
  EXPECT_TRUE(ParseKafkaProperty("sasl.password=a=b", &m).ok());
  EXPECT_EQ(m["security.protocol"], "SASL_SSL");
  EXPECT_EQ(m["sasl.password"], "a=b");
  EXPECT_FALSE(ParseKafkaProperty("novalue", &m).ok());
  EXPECT_FALSE(ParseKafkaProperty("=x", &m).ok());
}

class ConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char d[] = "/tmp/chaperone-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(d), nullptr);
    dir_ = d;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text) {
    std::string path = dir_ + "/c.yaml";
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigFile, ReadsEveryKeyAtTopLevelOrUnderCollector) {
  auto o = LoadCollectorConfig(Write(R"(
bootstrap-servers: "b1:9092,b2:9092"
audit-topic: audit
group: g1
store: postgresql://db/chaperone
metrics-listen: 127.0.0.1:9100
retention-days: 30
batch-records: 500
batch-ms: 50
kafka:
  security.protocol: SSL
  fetch.wait.max.ms: 20
)"));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->bootstrap_servers, "b1:9092,b2:9092");
  EXPECT_EQ(o->audit_topic, "audit");
  EXPECT_EQ(o->group, "g1");
  EXPECT_EQ(o->store_url, "postgresql://db/chaperone");
  EXPECT_EQ(o->metrics_listen, "127.0.0.1:9100");
  EXPECT_EQ(o->retention_days, 30);
  EXPECT_EQ(o->batch_records, 500);
  EXPECT_EQ(o->batch_ms, 50);
  EXPECT_EQ(o->kafka.at("security.protocol"), "SSL");
  EXPECT_EQ(o->kafka.at("fetch.wait.max.ms"), "20");

  auto s = LoadCollectorConfig(Write("web:\n  listen: x\ncollector:\n  group: g2\n"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->group, "g2");
  EXPECT_EQ(s->audit_topic, "chaperone-audit");  // defaults kept
}

TEST_F(ConfigFile, BadFilesGiveClearErrors) {
  auto unknown = LoadCollectorConfig(Write("grup: x\n"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown key 'grup'"), std::string::npos);
  auto unknown_in_section = LoadCollectorConfig(Write("collector:\n  strore: x\n"));
  ASSERT_FALSE(unknown_in_section.ok());
  EXPECT_NE(unknown_in_section.status().message().find("collector.strore"), std::string::npos);
  auto type = LoadCollectorConfig(Write("retention-days: many\n"));
  ASSERT_FALSE(type.ok());
  EXPECT_NE(type.status().message().find("c.yaml"), std::string::npos);
  auto syntax = LoadCollectorConfig(Write("group: [unclosed\n"));
  EXPECT_FALSE(syntax.ok());
  auto missing = LoadCollectorConfig(dir_ + "/nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read"), std::string::npos);
  auto kafka = LoadCollectorConfig(Write("kafka: [a, b]\n"));
  EXPECT_FALSE(kafka.ok());
}

TEST(CollectorMetricsText, IsPrometheusText) {
  auto c = Collector::Create(Valid());
  ASSERT_TRUE(c.ok());
  std::string text = (*c)->MetricsText();
  EXPECT_NE(text.find("# TYPE chaperone_collector_records_applied_total counter\n"
                      "chaperone_collector_records_applied_total 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE chaperone_collector_lag_messages gauge\n"), std::string::npos);
  for (const char* name : {"duplicates_total", "replays_total", "quarantined_total", "store_errors_total",
                           "batches_total"}) {
    EXPECT_NE(text.find(std::string("chaperone_collector_") + name + " 0\n"), std::string::npos) << name;
  }
}

TEST(CollectorMetricsServer, APortAlreadyServedIsAnErrorNotAShare) {
  // The first server takes cpp-httplib's defaults (SO_REUSEPORT), as another
  // collector of an older build would: the kernel would let a second
  // SO_REUSEPORT socket share the port and split the scrapes between them.
  httplib::Server first;
  int port = first.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  CollectorOptions o = Valid();
  o.metrics_listen = "127.0.0.1:" + std::to_string(port);
  o.store_url = "sqlite:" + ::testing::TempDir() + "/collector_port_test.db";
  auto c = Collector::Create(o);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // Already stopping: Run returns as soon as it is past the metrics server.
  std::atomic<bool> stop{true};
  Status s = (*c)->Run(stop);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_NE(s.message().find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << s.message();
  EXPECT_EQ((*c)->metrics_port(), 0);
}

}  // namespace
}  // namespace chaperone::collector
