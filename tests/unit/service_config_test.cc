#include "service/service_config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace chaperone::service {
namespace {

constexpr const char* kGood = R"(
clusters:
  regional:
    bootstrap.servers: 10.0.0.1:9092
    security.protocol: SASL_SSL
    sasl.mechanism: PLAIN
  audit:
    bootstrap.servers: 10.0.0.2:9092
collector:            # another component's section: ignored here
  store: sqlite
service:
  cluster: regional
  tier: aggregate
  datacenter: dc-west
  topics:
    include: ["orders\\..*", "payments"]
    exclude: "orders\\.tmp.*"
    exclude_audit_topic: true
  timestamps:
    - topic: "orders\\..*"
      chain: "json:meta.created_at,record"
  window_sec: 300
  flush_interval_ms: 2000
  discovery_interval_ms: 5000
  send_timeout_ms: 10000
  group_id: audit-west
  audit:
    topic: audit-records
    cluster: audit
  listen: 0.0.0.0:9100
  consumer:
    session.timeout.ms: 10000
  producer:
    linger.ms: 20
)";

std::string Error(std::string_view yaml, const std::vector<FlagValue>& flags = {}) {
  auto r = ParseServiceConfig(yaml, "cfg.yaml", flags);
  if (r.ok()) return "OK";
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  return r.status().message();
}

std::string Prop(const KafkaProperties& p, const std::string& k) {
  const std::string* v = FindKafkaProperty(p, k);
  return v ? *v : "<absent>";
}

TEST(ServiceConfig, ParsesEveryKey) {
  auto r = ParseServiceConfig(kGood, "cfg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ServiceOptions& o = *r;
  EXPECT_EQ(o.cluster_name, "regional");
  EXPECT_EQ(Prop(o.cluster_properties, "bootstrap.servers"), "10.0.0.1:9092");
  EXPECT_EQ(Prop(o.cluster_properties, "security.protocol"), "SASL_SSL");
  EXPECT_EQ(o.tier, "aggregate");
  EXPECT_EQ(o.datacenter, "dc-west");
  EXPECT_EQ(o.include, (std::vector<std::string>{"orders\\..*", "payments"}));
  EXPECT_EQ(o.exclude, (std::vector<std::string>{"orders\\.tmp.*"}));
  ASSERT_EQ(o.timestamps.size(), 1u);
  EXPECT_EQ(o.timestamps[0].chain, "json:meta.created_at,record");
  EXPECT_EQ(o.window_sec, 300);
  EXPECT_EQ(o.flush_interval.count(), 2000);
  EXPECT_EQ(o.discovery_interval.count(), 5000);
  EXPECT_EQ(o.send_timeout.count(), 10000);
  EXPECT_EQ(o.EffectiveGroupId(), "audit-west");
  EXPECT_EQ(o.audit_topic, "audit-records");
  EXPECT_EQ(o.audit_cluster_name, "audit");
  EXPECT_EQ(Prop(o.audit_properties, "bootstrap.servers"), "10.0.0.2:9092");
  EXPECT_EQ(o.listen, "0.0.0.0:9100");
  EXPECT_EQ(Prop(o.consumer_properties, "session.timeout.ms"), "10000");
  EXPECT_EQ(Prop(o.producer_properties, "linger.ms"), "20");
}

TEST(ServiceConfig, DefaultsNeedOnlyACluster) {
  auto r = ParseServiceConfig("clusters:\n  only:\n    bootstrap.servers: h:1\n", "cfg.yaml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cluster_name, "only");
  EXPECT_EQ(r->tier, "regional");
  EXPECT_EQ(r->EffectiveGroupId(), "chaperone-service-regional");
  EXPECT_EQ(r->window_sec, 600);
  EXPECT_EQ(r->flush_interval.count(), 10000);
  EXPECT_EQ(r->audit_topic, "chaperone-audit");
  EXPECT_TRUE(r->audit_properties.empty());  // the audited cluster
  EXPECT_EQ(r->include, (std::vector<std::string>{".*"}));
  EXPECT_EQ(r->listen, "127.0.0.1:9000");
}

TEST(ServiceConfig, FlagsAloneAreEnoughAndWinOverTheFile) {
  auto r = ParseServiceConfig("", "flags",
                              {{"bootstrap-servers", "k:9092"},
                               {"tier", "regional"},
                               {"include", "a.*"},
                               {"include", "b"},
                               {"property", "security.protocol=SSL"},
                               {"audit-bootstrap-servers", "audit:9092"},
                               {"listen", ""}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->cluster_name, "default");
  EXPECT_EQ(Prop(r->cluster_properties, "bootstrap.servers"), "k:9092");
  EXPECT_EQ(Prop(r->cluster_properties, "security.protocol"), "SSL");
  EXPECT_EQ(r->include, (std::vector<std::string>{"a.*", "b"}));
  EXPECT_EQ(Prop(r->audit_properties, "bootstrap.servers"), "audit:9092");
  EXPECT_EQ(Prop(r->audit_properties, "security.protocol"), "SSL");
  EXPECT_EQ(r->listen, "");

  auto over = ParseServiceConfig(kGood, "cfg.yaml", {{"window-sec", "60"}, {"include", "x"}});
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->window_sec, 60);
  EXPECT_EQ(over->include, (std::vector<std::string>{"x"}));
}

TEST(ServiceConfig, EveryKindOfBadConfigIsAOneLineErrorNamingTheKey) {
  const std::string c = "clusters:\n  a: {bootstrap.servers: 'h:1'}\n";
  struct Case {
    std::string yaml;
    std::string expected;  // substring of the message
  };
  const Case cases[] = {
      {"service: [1, 2]\n", "cfg.yaml:1: service: must be a map"},
      {"- a\n- b\n", "the top level must be a map"},
      {"servce:\n  tier: x\n", "cfg.yaml:1: servce: unknown section"},
      {c + "service:\n  windw_sec: 5\n", "cfg.yaml:4: service.windw_sec: unknown setting (did you mean service.window_sec?)"},
      {c + "service:\n  topics:\n    includ: [a]\n", "service.topics.includ: unknown setting"},
      {c + "service:\n  window_sec: abc\n", "service.window_sec: must be a duration from 1s to 7d (a number of s, or with a unit: 250ms, 10s, 5m, 2h, 7d), got \"abc\""},
      {c + "service:\n  window_sec: 0\n", "service.window_sec: must be a duration from 1s"},
      {c + "service:\n  window_sec: 99999999999999999999\n", "service.window_sec: must be a duration"},
      {c + "service:\n  window_sec: [1]\n", "service.window_sec: must be a duration"},
      {c + "service:\n  flush_interval_ms: 50\n", "service.flush_interval_ms: must be a duration from 100ms to 1h"},
      {c + "service:\n  send_timeout_ms: -1\n", "service.send_timeout_ms"},
      {c + "service:\n  tier: ''\n", "service.tier: must not be empty"},
      {c + "service:\n  tier: 'a b'\n", "service.tier: use only letters"},
      {c + "service:\n  datacenter: {x: 1}\n", "service.datacenter: must be a string"},
      {c + "service:\n  topics:\n    include: ['(']\n", "service.topics.include: bad regex \"(\""},
      {c + "service:\n  topics:\n    include: []\n", "service.topics.include: must not be empty"},
      {c + "service:\n  topics:\n    exclude: [{a: 1}]\n", "service.topics.exclude: must be a list of strings"},
      {c + "service:\n  topics:\n    exclude_audit_topic: maybe\n", "must be true or false"},
      {c + "service:\n  topics: 5\n", "service.topics: must be a map"},
      {c + "service:\n  timestamps: {topic: a}\n", "service.timestamps: must be a list"},
      {c + "service:\n  timestamps:\n    - {topic: a}\n", "each rule must be {topic: REGEX, chain: SPEC}"},
      {c + "service:\n  timestamps:\n    - {topic: a, chain: 'nope:x'}\n", "service.timestamps"},
      {c + "service:\n  timestamps:\n    - {topic: '(', chain: 'record'}\n", "service.timestamps"},
      {c + "service:\n  audit:\n    topic: 'bad topic'\n", "service.audit.topic: not a valid Kafka topic name (topic names use only"},
      {c + "service:\n  audit:\n    cluster: nowhere\n", "service.audit.cluster: no cluster named \"nowhere\""},
      {c + "service:\n  cluster: other\n", "service.cluster: no cluster named \"other\""},
      {c + "service:\n  listen: nohost\n", "cfg.yaml:4: service.listen: 'nohost': want HOST:PORT"},
      {c + "service:\n  listen: 'h:70000'\n", "port must be a number from 0 to 65535"},
      {c + "service:\n  consumer: [a]\n", "service.consumer: must be a map"},
      {c + "service:\n  consumer: {group.id: x}\n", "service.consumer.group.id: cannot be overridden"},
      {c + "service:\n  consumer: {enable.auto.commit: 'true'}\n", "cannot be overridden"},
      {c + "service:\n  consumer: {fetch.max.bytes: {a: 1}}\n", "property 'fetch.max.bytes' must have a scalar value"},
      {c + "service:\n  producer: {plugin.library.paths: x}\n", "service.producer.plugin.library.paths"},
      {"clusters:\n  a: {security.protocol: SSL}\n", "clusters.a: bootstrap.servers is required"},
      {"clusters:\n  'bad name': {bootstrap.servers: h}\n", "clusters.bad name: use only letters"},
      {"clusters:\n  a: {bootstrap.servers: h, plugin.library.paths: x}\n", "plugin properties are not allowed"},
      {"clusters: [a]\n", "clusters: must be a map"},
      {"clusters:\n  a: {bootstrap.servers: h}\n  b: {bootstrap.servers: h}\n", "service.cluster: required when `clusters` has several"},
      {"service:\n  tier: x\n", "no cluster: give --bootstrap-servers"},
      {"service: {tier: [unclosed\n", "cfg.yaml:2: not valid YAML"},
  };
  for (const auto& tc : cases) {
    std::string err = Error(tc.yaml);
    EXPECT_NE(err.find(tc.expected), std::string::npos) << "yaml:\n" << tc.yaml << "error: " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  }
}

TEST(ServiceConfig, BadFlagsNameTheFlag) {
  EXPECT_EQ(Error("", {{"bootstrap-servers", "h:1"}, {"window-sec", "x"}}),
            "--window-sec: must be a duration from 1s to 7d (a number of s, or with a unit: 250ms, 10s, 5m, 2h, 7d), "
            "got \"x\"");
  EXPECT_EQ(Error("", {{"bootstrap-servers", "h:1"}, {"property", "novalue"}}),
            "--property: must be KEY=VALUE (a librdkafka property)");
  EXPECT_EQ(Error("", {{"bootstrap-servers", ""}}), "--bootstrap-servers: must not be empty");
  EXPECT_EQ(Error("", {{"bootstrap-servers", "h:1"}, {"property", "plugin.library.paths=x"}}),
            "--property plugin.library.paths: plugin properties are not allowed in Chaperone's own clients");
  EXPECT_EQ(Error("", {{"nope", "1"}}), "--nope: unknown flag");
}

TEST(ServiceConfig, MissingOrEmptyFilesAreErrors) {
  auto r = LoadServiceConfig("/nonexistent/chaperone.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/nonexistent/chaperone.yaml: cannot read the config file");
  std::string path = ::testing::TempDir() + "/empty.yaml";
  std::ofstream(path) << "\n  \n";
  auto e = LoadServiceConfig(path);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("the config file is empty"), std::string::npos);
}

TEST(ServiceConfig, EveryFlagHasASettingAndHelp) {
  for (const auto& f : ServiceFlags()) {
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_NE(ServiceConfigReference().find("`--" + f.name + "`"), std::string::npos) << f.name;
  }
}

}  // namespace
}  // namespace chaperone::service
