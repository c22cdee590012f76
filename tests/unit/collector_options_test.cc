#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "collector/collector.h"
#include "collector/collector_config.h"

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
      {[](CollectorOptions& o) { o.audit_topic = "bad topic!"; }, "collector.audit_topic"},
      {[](CollectorOptions& o) { o.audit_topic = std::string(250, 'a'); }, "collector.audit_topic"},
      {[](CollectorOptions& o) { o.group.clear(); }, "collector.group_id"},
      {[](CollectorOptions& o) { o.store_url = "mysql://x"; }, "collector.store"},
      {[](CollectorOptions& o) { o.metrics_listen = "8080"; }, "collector.listen"},
      {[](CollectorOptions& o) { o.metrics_listen = "127.0.0.1:99999"; }, "collector.listen"},
      {[](CollectorOptions& o) { o.metrics_listen = "127.0.0.1:x"; }, "collector.listen"},
      {[](CollectorOptions& o) { o.metrics_listen = "::1:9100"; }, "collector.listen"},
      {[](CollectorOptions& o) { o.audit_topic = ".."; }, "collector.audit_topic"},
      {[](CollectorOptions& o) { o.retention_days = -1; }, "collector.retention_days"},
      {[](CollectorOptions& o) { o.batch_records = 0; }, "collector.batch_records"},
      {[](CollectorOptions& o) { o.batch_ms = 0; }, "collector.batch_ms"},
      {[](CollectorOptions& o) { o.kafka["enable.auto.commit"] = "true"; }, "collector.consumer.enable.auto.commit"},
      {[](CollectorOptions& o) { o.kafka["isolation.level"] = "read_uncommitted"; }, "collector.consumer.isolation.level"},
      {[](CollectorOptions& o) { o.kafka["group.id"] = "x"; }, "use collector.group_id"},
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

TEST_F(ConfigFile, ReadsEveryKeyOfItsSectionAndTheSharedOnes) {
  auto o = LoadCollectorConfig(Write(R"(
clusters:
  regional: {bootstrap.servers: "r:9092"}
  audit:
    bootstrap.servers: "b1:9092,b2:9092"
    security.protocol: SSL
store:
  url: postgresql://db/shared
collector:
  cluster: audit
  audit_topic: audit
  group_id: g1
  listen: 127.0.0.1:9100
  retention_days: 30
  batch_records: 500
  batch_ms: 50
  consumer:
    fetch.wait.max.ms: 20
)"));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->cluster_name, "audit");
  EXPECT_EQ(o->bootstrap_servers, "b1:9092,b2:9092");
  EXPECT_EQ(o->audit_topic, "audit");
  EXPECT_EQ(o->group, "g1");
  EXPECT_EQ(o->store_url, "postgresql://db/shared");  // the shared store
  EXPECT_EQ(o->metrics_listen, "127.0.0.1:9100");
  EXPECT_EQ(o->retention_days, 30);
  EXPECT_EQ(o->batch_records, 500);
  EXPECT_EQ(o->batch_ms, 50);
  EXPECT_EQ(o->kafka.at("security.protocol"), "SSL");
  EXPECT_EQ(o->kafka.at("fetch.wait.max.ms"), "20");

  // Its own store wins over the shared one; durations take units; flags win over the file.
  auto s = LoadCollectorConfig(Write("clusters:\n  a: {bootstrap.servers: x:1}\nstore: {url: sqlite:/a.db}\n"
                                     "collector:\n  store: sqlite:/b.db\n  batch_ms: 2s\n  group_id: g2\n"),
                               {{"group-id", "g3"}, {"property", "client.id=c"}});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->store_url, "sqlite:/b.db");
  EXPECT_EQ(s->batch_ms, 2000);
  EXPECT_EQ(s->group, "g3");
  EXPECT_EQ(s->kafka.at("client.id"), "c");
  EXPECT_EQ(s->audit_topic, "chaperone-audit");  // defaults kept

  // Flags alone.
  auto f = LoadCollectorConfig("", {{"bootstrap-servers", "h:1"}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->bootstrap_servers, "h:1");
}

TEST_F(ConfigFile, BadFilesGiveClearErrorsAllAtOnce) {
  auto unknown = LoadCollectorConfig(Write("clusters:\n  a: {bootstrap.servers: x:1}\ncollector:\n  grup_id: x\n"
                                           "  strore: y\n  retention_days: many\n"));
  ASSERT_FALSE(unknown.ok());
  const std::string& m = unknown.status().message();
  EXPECT_NE(m.find("c.yaml:4: collector.grup_id: unknown setting (did you mean collector.group_id?)"), std::string::npos) << m;
  EXPECT_NE(m.find("c.yaml:5: collector.strore: unknown setting (did you mean collector.store?)"), std::string::npos) << m;
  EXPECT_NE(m.find("c.yaml:6: collector.retention_days: must be an integer"), std::string::npos) << m;
  // The old key style is named with the right one.
  auto old = LoadCollectorConfig(Write("collector:\n  audit-topic: x\n"));
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("did you mean collector.audit_topic?"), std::string::npos)
      << old.status().message();
  auto syntax = LoadCollectorConfig(Write("collector: [unclosed\n"));
  EXPECT_FALSE(syntax.ok());
  auto missing = LoadCollectorConfig(dir_ + "/nope.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read"), std::string::npos);
  auto consumer = LoadCollectorConfig(Write("collector:\n  consumer: [a, b]\n"));
  EXPECT_FALSE(consumer.ok());
  auto owned = LoadCollectorConfig(Write("clusters:\n  a: {bootstrap.servers: x:1}\ncollector:\n  consumer: {isolation.level: read_uncommitted}\n"));
  ASSERT_FALSE(owned.ok());
  EXPECT_NE(owned.status().message().find("isolation.level"), std::string::npos);
  auto no_cluster = LoadCollectorConfig(Write("clusters:\n  a: {bootstrap.servers: x:1}\n  b: {bootstrap.servers: y:1}\n"
                                              "collector:\n  cluster: aa\n"));
  ASSERT_FALSE(no_cluster.ok());
  EXPECT_NE(no_cluster.status().message().find("no cluster named \"aa\" in `clusters` (did you mean a?)"),
            std::string::npos)
      << no_cluster.status().message();
  auto bad_flag = LoadCollectorConfig("", {{"bootstrap-servers", "h:1"}, {"property", "novalue"}});
  ASSERT_FALSE(bad_flag.ok());
  EXPECT_NE(bad_flag.status().message().find("--property: must be KEY=VALUE"), std::string::npos);
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
