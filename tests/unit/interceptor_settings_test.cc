// The chaperone.* settings table (a property table of common/settings.h):
// parsing, validation, defaults, and the reference table in
// docs/interceptor.md generated from it.
#include "interceptor/settings.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "chaperone/event_time.h"

namespace chaperone::interceptor {
namespace {

testing::AssertionResult Fails(const Status& st, const std::string& needle) {
  if (st.ok()) return testing::AssertionFailure() << "unexpectedly OK";
  if (st.code() != Status::Code::kInvalidArgument) return testing::AssertionFailure() << st.ToString();
  if (st.message().find(needle) == std::string::npos) {
    return testing::AssertionFailure() << "\"" << st.message() << "\" does not mention \"" << needle << "\"";
  }
  return testing::AssertionSuccess();
}

TEST(InterceptorSettings, DefaultsMatchAFreshOptionsObject) {
  InterceptorSettings s;
  const AuditClientOptions d;
  EXPECT_TRUE(s.enable);
  EXPECT_EQ(s.client.audit_topic, "chaperone-audit");
  EXPECT_EQ(s.client.window_sec, 600);
  EXPECT_EQ(s.client.flush_interval.count(), 10'000);
  EXPECT_EQ(s.client.close_timeout.count(), 5'000);
  EXPECT_EQ(s.client.queue_capacity, 65'536u);
  // Resetting any setting, after setting it to something else, restores exactly the default.
  const auto& table = SettingsTable();
  for (size_t i = 0; i < table.docs().size(); ++i) {
    if (table.IsFamily(i)) continue;
    const std::string name = table.PropertyName(i);
    InterceptorSettings t;
    ASSERT_TRUE(ApplySetting(t, "chaperone.tier", "x").ok());
    ASSERT_TRUE(ApplySetting(t, "chaperone.audit.topic", "x").ok());
    ASSERT_TRUE(ApplySetting(t, "chaperone.window.sec", "60").ok());
    ASSERT_TRUE(ApplySetting(t, "chaperone.enable", "false").ok());
    for (const char* n : {"chaperone.tier", "chaperone.audit.topic", "chaperone.window.sec", "chaperone.enable"})
      ASSERT_TRUE(ResetSetting(t, n).ok()) << n;
    ASSERT_TRUE(ResetSetting(t, name).ok()) << name;
    EXPECT_EQ(t.enable, true);
    EXPECT_EQ(t.client.tier, d.tier) << name;
    EXPECT_EQ(t.client.audit_topic, d.audit_topic) << name;
    EXPECT_EQ(t.client.window_sec, d.window_sec) << name;
    EXPECT_EQ(t.client.flush_interval, d.flush_interval) << name;
    EXPECT_EQ(t.client.close_timeout, d.close_timeout) << name;
    EXPECT_EQ(t.client.report_timeout, d.report_timeout) << name;
    EXPECT_EQ(t.client.queue_capacity, d.queue_capacity) << name;
    EXPECT_EQ(t.client.max_pending_records, d.max_pending_records) << name;
    EXPECT_EQ(t.client.max_pending_bytes, d.max_pending_bytes) << name;
    EXPECT_EQ(t.client.log_level, d.log_level) << name;
    EXPECT_EQ(t.client.timestamp_chain, d.timestamp_chain) << name;
  }
  // Every plain setting can be reset to its value in a fresh object.
  InterceptorSettings all;
  for (const char* n : {"chaperone.flush.interval.ms", "chaperone.close.timeout.ms", "chaperone.report.timeout.ms",
                        "chaperone.report.max.pending.records", "chaperone.report.max.pending.bytes",
                        "chaperone.queue.capacity", "chaperone.log.level", "chaperone.timestamp",
                        "chaperone.topic.exclude", "chaperone.datacenter", "chaperone.cluster",
                        "chaperone.emitter.id", "chaperone.audit.bootstrap.servers"}) {
    ASSERT_TRUE(ResetSetting(all, n).ok()) << n;
  }
  EXPECT_EQ(all.client.flush_interval, d.flush_interval);
  EXPECT_EQ(all.client.max_pending_bytes, d.max_pending_bytes);
}

TEST(InterceptorSettings, EveryEntryIsDocumented) {
  const auto& table = SettingsTable();
  EXPECT_EQ(table.section(), "chaperone");
  for (size_t i = 0; i < table.docs().size(); ++i) {
    const config::SettingDoc& def = table.docs()[i];
    const std::string name = table.PropertyName(i);
    EXPECT_TRUE(IsChaperoneSetting(name)) << name;
    EXPECT_FALSE(def.type.empty()) << name;
    EXPECT_FALSE(def.default_text.empty()) << name;
    EXPECT_FALSE(def.description.empty()) << name;
    EXPECT_EQ(table.IsFamily(i), !def.placeholder.empty()) << name;
  }
  EXPECT_TRUE(table.Flags().empty());  // librdkafka properties, not command-line flags
}

TEST(InterceptorSettings, AppliesValidValues) {
  InterceptorSettings s;
  ASSERT_TRUE(ApplySetting(s, "chaperone.tier", "proxy-1").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.datacenter", "dc-west").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.cluster", "regional").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.emitter.id", "e-1").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.audit.topic", "audit").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.audit.bootstrap.servers", "a:9092,b:9092").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.audit.producer.linger.ms", "50").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.audit.producer.client.id", "auditor").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.window.sec", "60").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.timestamp", "header:t,record").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.timestamp.orders-.*", "json:meta.createdAt").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.timestamp.clicks", "record").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.topic.exclude", "tmp-.*|__.*").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.flush.interval.ms", "2500").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.close.timeout.ms", "0").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.report.timeout.ms", "1000").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.report.max.pending.records", "10").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.report.max.pending.bytes", "65536").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.queue.capacity", "4096").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.log.level", "off").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.enable", "false").ok());

  const AuditClientOptions& c = s.client;
  EXPECT_FALSE(s.enable);
  EXPECT_EQ(c.tier, "proxy-1");
  EXPECT_EQ(c.datacenter, "dc-west");
  EXPECT_EQ(c.cluster, "regional");
  EXPECT_EQ(c.emitter_id, "e-1");
  EXPECT_EQ(c.audit_topic, "audit");
  EXPECT_EQ(c.audit_bootstrap_servers, "a:9092,b:9092");
  using KV = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(c.audit_producer_properties, (KV{{"linger.ms", "50"}, {"client.id", "auditor"}}));
  EXPECT_EQ(c.window_sec, 60);
  EXPECT_EQ(c.timestamp_chain, "header:t,record");
  EXPECT_EQ(c.timestamp_rules, (KV{{"orders-.*", "json:meta.createdAt"}, {"clicks", "record"}}));
  EXPECT_EQ(c.topic_exclude, "tmp-.*|__.*");
  EXPECT_EQ(c.flush_interval.count(), 2500);
  EXPECT_EQ(c.close_timeout.count(), 0);
  EXPECT_EQ(c.report_timeout.count(), 1000);
  EXPECT_EQ(c.max_pending_records, 10u);
  EXPECT_EQ(c.max_pending_bytes, 65'536u);
  EXPECT_EQ(c.queue_capacity, 4096u);
  EXPECT_EQ(c.log_level, AuditLogLevel::kOff);
}

TEST(InterceptorSettings, DurationsAndSizesTakeUnits) {
  InterceptorSettings s;
  ASSERT_TRUE(ApplySetting(s, "chaperone.flush.interval.ms", "10s").ok());
  EXPECT_EQ(s.client.flush_interval.count(), 10'000);
  ASSERT_TRUE(ApplySetting(s, "chaperone.close.timeout.ms", "1m").ok());
  EXPECT_EQ(s.client.close_timeout.count(), 60'000);
  ASSERT_TRUE(ApplySetting(s, "chaperone.report.timeout.ms", "250ms").ok());
  EXPECT_EQ(s.client.report_timeout.count(), 250);
  ASSERT_TRUE(ApplySetting(s, "chaperone.window.sec", "10m").ok());
  EXPECT_EQ(s.client.window_sec, 600);
  ASSERT_TRUE(ApplySetting(s, "chaperone.report.max.pending.bytes", "64MiB").ok());
  EXPECT_EQ(s.client.max_pending_bytes, 64u << 20);
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.window.sec", "1500ms"), "chaperone.window.sec: must be whole seconds"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.report.max.pending.bytes", "2GiB"), "must be a size in bytes"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.flush.interval.ms", "2h"), "from 100ms to 1h"));
}

TEST(InterceptorSettings, SecretValuesNeverAppearInErrors) {
  InterceptorSettings s;
  // The audit producer's secret properties are accepted like any other...
  ASSERT_TRUE(ApplySetting(s, "chaperone.audit.producer.sasl.password", "hunter2-pw").ok());
  // ...and when an error names one, its value is not in it.
  for (const char* name : {"chaperone.audit.producer.sasl.passwords", "chaperone.audit.producer.ssl.key.pem",
                           "chaperone.audit.producer.sasl.oauthbearer.client.secret"}) {
    Status st = ApplySetting(s, name, "hunter2-pw\n");
    if (st.ok()) continue;
    EXPECT_EQ(st.message().find("hunter2"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(name), std::string::npos) << st.message();
  }
}

TEST(InterceptorSettings, RulesKeepTheirOrderWhenReplacedAndCanBeRemoved) {
  InterceptorSettings s;
  ASSERT_TRUE(ApplySetting(s, "chaperone.timestamp.a.*", "record").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.timestamp.b.*", "record").ok());
  ASSERT_TRUE(ApplySetting(s, "chaperone.timestamp.a.*", "json:x").ok());  // replaced in place: still first
  using KV = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(s.client.timestamp_rules, (KV{{"a.*", "json:x"}, {"b.*", "record"}}));
  ASSERT_TRUE(ResetSetting(s, "chaperone.timestamp.a.*").ok());
  EXPECT_EQ(s.client.timestamp_rules, (KV{{"b.*", "record"}}));
  ASSERT_TRUE(ApplySetting(s, "chaperone.audit.producer.acks", "all").ok());
  ASSERT_TRUE(ResetSetting(s, "chaperone.audit.producer.acks").ok());
  EXPECT_TRUE(s.client.audit_producer_properties.empty());
}

TEST(InterceptorSettings, RejectsBadValuesNamingTheProperty) {
  InterceptorSettings s;
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.window.sec", "0"), "chaperone.window.sec: must be a duration from 1s to 1d"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.window.sec", "ten"), "got \"ten\""));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.window.sec", ""), "chaperone.window.sec"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.flush.interval.ms", "99"), "from 100ms to 1h"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.queue.capacity", "100"), "chaperone.queue.capacity"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.enable", "maybe"), "chaperone.enable: must be true or false"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.report.max.pending.records", "0"),
                    "chaperone.report.max.pending.records: must be an integer from 1 to 10000000, got \"0\""));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.log.level", "debug"), "off, error, warning or info"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.timestamp", "json:"), "chaperone.timestamp: invalid timestamp chain"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.timestamp.orders", "sometimes"), "chaperone.timestamp.orders"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.timestamp.(orders", "record"), "chaperone.timestamp.(orders: bad regex"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.timestamp.", "record"), "missing the topic regex"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.topic.exclude", "[a-"), "chaperone.topic.exclude"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.topic", ""), "must not be empty"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.topic", ".."), "chaperone.audit.topic: not a valid Kafka topic name ('.' and '..'"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.topic", "audit topic"), "[a-zA-Z0-9._-]"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.tier", "a\nb"), "control characters"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.producer.no.such.property", "1"),
                    "chaperone.audit.producer.no.such.property"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.producer.linger.ms", "-5"), "chaperone.audit.producer.linger.ms"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.producer.plugin.library.paths", "x.so"), "never loads plugins"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.producer.bootstrap.servers", "x:1"),
                    "use chaperone.audit.bootstrap.servers"));
  // Nothing was changed by the failures.
  EXPECT_EQ(s.client.window_sec, 600);
  EXPECT_TRUE(s.client.timestamp_rules.empty());
  EXPECT_TRUE(s.client.audit_producer_properties.empty());
}

TEST(InterceptorSettings, UnknownNamesGetTheClosestKnownOne) {
  InterceptorSettings s;
  EXPECT_EQ(ApplySetting(s, "chaperone.flush.interval", "10").message(),
            "unknown property chaperone.flush.interval (did you mean chaperone.flush.interval.ms?)");
  EXPECT_EQ(ApplySetting(s, "chaperone.audit.produce.acks", "all").message(),
            "unknown property chaperone.audit.produce.acks (did you mean chaperone.audit.producer.acks?)");
  EXPECT_EQ(ApplySetting(s, "chaperone.timestamps.orders", "record").message(),
            "unknown property chaperone.timestamps.orders (did you mean chaperone.timestamp.orders?)");
  Status st = ResetSetting(s, "chaperone.nope");
  ASSERT_TRUE(Fails(st, "unknown property chaperone.nope (known: chaperone.enable, "));
  EXPECT_NE(st.message().find("chaperone.timestamp.<topic-regex>"), std::string::npos) << st.message();
  EXPECT_TRUE(IsChaperoneSetting("chaperone.x"));
  EXPECT_FALSE(IsChaperoneSetting("bootstrap.servers"));
  EXPECT_FALSE(IsChaperoneSetting("chaperone"));
}

TEST(InterceptorSettings, AuditClientPropertiesShareTheTable) {
  AuditClientOptions o;
  ASSERT_TRUE(SetAuditClientProperty(o, "chaperone.tier", "consumer:billing").ok());
  ASSERT_TRUE(SetAuditClientProperty(o, "chaperone.window.sec", "300").ok());
  EXPECT_EQ(o.tier, "consumer:billing");
  EXPECT_EQ(o.window_sec, 300);
  EXPECT_TRUE(Fails(SetAuditClientProperty(o, "chaperone.enable", "false"), "only the interceptor plugin"));
  EXPECT_TRUE(Fails(SetAuditClientProperty(o, "chaperone.window.sec", "x"), "chaperone.window.sec"));
  EXPECT_EQ(o.window_sec, 300);
}

// docs/interceptor.md carries the table generated from SettingsTable() between
// its two markers. CHAPERONE_UPDATE_DOCS=1 rewrites it.
TEST(InterceptorSettings, DocsTableIsGeneratedFromTheTable) {
  const std::string path = std::string(CHAPERONE_SOURCE_DIR) + "/docs/interceptor.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  std::string doc = buf.str();
  const std::string end = SettingsTable().EndMarker() + "\n";
  size_t b = doc.find(SettingsTable().BeginMarker());
  size_t e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << "missing marker in " << path;
  ASSERT_NE(e, std::string::npos) << "missing marker in " << path;
  std::string current = doc.substr(b, e + end.size() - b);
  std::string expected = SettingsMarkdownTable();
  if (current != expected && std::getenv("CHAPERONE_UPDATE_DOCS") != nullptr) {
    doc.replace(b, e + end.size() - b, expected);
    std::ofstream(path) << doc;
    return;
  }
  EXPECT_EQ(current, expected) << "regenerate with: CHAPERONE_UPDATE_DOCS=1 build/bin/unit_tests "
                                  "--gtest_filter=InterceptorSettings.DocsTableIsGeneratedFromTheTable";
}

}  // namespace
}  // namespace chaperone::interceptor
