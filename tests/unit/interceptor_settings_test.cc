// The chaperone.* settings table: parsing, validation, defaults, and the
// reference table in docs/interceptor.md generated from it.
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
  // Resetting any setting restores exactly the default.
  for (const SettingDef& def : SettingDefs()) {
    if (def.is_prefix) continue;
    InterceptorSettings t;
    ASSERT_TRUE(ResetSetting(t, def.name).ok()) << def.name;
    EXPECT_EQ(t.enable, true);
    EXPECT_EQ(t.client.tier, d.tier) << def.name;
    EXPECT_EQ(t.client.audit_topic, d.audit_topic) << def.name;
    EXPECT_EQ(t.client.window_sec, d.window_sec) << def.name;
    EXPECT_EQ(t.client.flush_interval, d.flush_interval) << def.name;
    EXPECT_EQ(t.client.close_timeout, d.close_timeout) << def.name;
    EXPECT_EQ(t.client.report_timeout, d.report_timeout) << def.name;
    EXPECT_EQ(t.client.queue_capacity, d.queue_capacity) << def.name;
    EXPECT_EQ(t.client.max_pending_records, d.max_pending_records) << def.name;
    EXPECT_EQ(t.client.max_pending_bytes, d.max_pending_bytes) << def.name;
    EXPECT_EQ(t.client.log_level, d.log_level) << def.name;
    EXPECT_EQ(t.client.timestamp_chain, d.timestamp_chain) << def.name;
  }
}

TEST(InterceptorSettings, EveryEntryIsDocumented) {
  for (const SettingDef& def : SettingDefs()) {
    EXPECT_TRUE(def.name.starts_with("chaperone.")) << def.name;
    EXPECT_FALSE(def.type.empty()) << def.name;
    EXPECT_FALSE(def.description.empty()) << def.name;
    EXPECT_EQ(def.is_prefix, def.name.ends_with(".")) << def.name;
    EXPECT_EQ(def.is_prefix, def.erase != nullptr) << def.name;
  }
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
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.window.sec", "0"), "chaperone.window.sec: 0 is out of range [1, 86400]"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.window.sec", "10m"), "expected an integer, got \"10m\""));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.window.sec", ""), "chaperone.window.sec"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.flush.interval.ms", "99"), "[100, 3600000]"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.queue.capacity", "100"), "chaperone.queue.capacity"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.enable", "yes"), "expected true or false"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.log.level", "debug"), "off, error, warning or info"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.timestamp", "json:"), "chaperone.timestamp: invalid timestamp chain"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.timestamp.orders", "sometimes"), "chaperone.timestamp.orders"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.timestamp.(orders", "record"), "invalid regular expression"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.timestamp.", "record"), "missing the topic regex"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.topic.exclude", "[a-"), "chaperone.topic.exclude"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.topic", ""), "must not be empty"));
  EXPECT_TRUE(Fails(ApplySetting(s, "chaperone.audit.topic", ".."), "chaperone.audit.topic: '.' and '..'"));
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

TEST(InterceptorSettings, UnknownNamesListTheKnownOnes) {
  InterceptorSettings s;
  Status st = ApplySetting(s, "chaperone.flush.interval", "10");
  ASSERT_TRUE(Fails(st, "unknown property chaperone.flush.interval"));
  EXPECT_NE(st.message().find("chaperone.flush.interval.ms"), std::string::npos);
  EXPECT_TRUE(Fails(ResetSetting(s, "chaperone.nope"), "unknown property chaperone.nope"));
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

// docs/interceptor.md carries the table generated from SettingDefs() between
// two markers. CHAPERONE_UPDATE_DOCS=1 rewrites it.
TEST(InterceptorSettings, DocsTableIsGeneratedFromTheTable) {
  const std::string path = std::string(CHAPERONE_SOURCE_DIR) + "/docs/interceptor.md";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  std::string doc = buf.str();
  const std::string begin = "<!-- settings-table:begin (generated from src/interceptor/settings.cc) -->\n";
  const std::string end = "<!-- settings-table:end -->";
  size_t b = doc.find(begin);
  size_t e = doc.find(end);
  ASSERT_NE(b, std::string::npos) << "missing marker in " << path;
  ASSERT_NE(e, std::string::npos) << "missing marker in " << path;
  std::string current = doc.substr(b + begin.size(), e - b - begin.size());
  std::string expected = SettingsMarkdownTable();
  if (current != expected && std::getenv("CHAPERONE_UPDATE_DOCS") != nullptr) {
    doc.replace(b + begin.size(), e - b - begin.size(), expected);
    std::ofstream(path) << doc;
    return;
  }
  EXPECT_EQ(current, expected) << "regenerate with: CHAPERONE_UPDATE_DOCS=1 build/bin/unit_tests "
                                  "--gtest_filter=InterceptorSettings.DocsTableIsGeneratedFromTheTable";
}

}  // namespace
}  // namespace chaperone::interceptor
