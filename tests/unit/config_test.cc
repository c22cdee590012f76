// The one settings mechanism (common/settings.h), the project file
// (config/project_file.h), secrets, and the generated reference of every
// component kept equal to docs/.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "collector/collector_config.h"
#include "common/secrets.h"
#include "common/settings.h"
#include "common/store_url.h"
#include "config/project_file.h"
#include "detect/detect_config.h"
#include "interceptor/settings.h"
#include "read/read_config.h"
#include "replicate/replicate_config.h"
#include "service/service_config.h"
#include "up/up_config.h"
#include "web/web_config.h"

namespace chaperone::config {
namespace {

using std::chrono::milliseconds;

Value V(const Node& n) { return Value{n, "f.yaml:3: s.k"}; }

TEST(Validators, DurationsTakeTheKeysUnitOrTheirOwn) {
  auto ms = [](const std::string& s, milliseconds unit = milliseconds(1)) {
    Node n = Node::Scalar(s);
    return AsDuration(V(n), unit, milliseconds(0), milliseconds(int64_t{1} << 40));
  };
  EXPECT_EQ(*ms("250"), milliseconds(250));
  EXPECT_EQ(*ms("250", milliseconds(1000)), milliseconds(250'000));
  EXPECT_EQ(*ms("250ms", milliseconds(1000)), milliseconds(250));
  EXPECT_EQ(*ms("10s"), milliseconds(10'000));
  EXPECT_EQ(*ms("1.5s"), milliseconds(1'500));
  EXPECT_EQ(*ms("5m"), milliseconds(300'000));
  EXPECT_EQ(*ms("2h"), milliseconds(7'200'000));
  EXPECT_EQ(*ms("7d"), milliseconds(604'800'000));
  for (const char* bad : {"", "s", "10x", "-5", "1.5", "ten", "10 parsecs", "1e3", "0.0001s"}) {
    auto r = ms(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("f.yaml:3: s.k: must be a duration", 0), 0u) << r.status().message();
  }
  Node n = Node::Scalar("50");
  auto low = AsDuration(V(n), milliseconds(1), milliseconds(100), milliseconds(3'600'000));
  ASSERT_FALSE(low.ok());
  EXPECT_NE(low.status().message().find("from 100ms to 1h"), std::string::npos) << low.status().message();
  Node list;
  list.kind = Node::Kind::kList;
  EXPECT_FALSE(AsDuration(V(list), milliseconds(1), milliseconds(0), milliseconds(10)).ok());
}

TEST(Validators, SecondsAreWholeAndNumbersDecimal) {
  auto sec = [](const std::string& s) {
    Node n = Node::Scalar(s);
    return AsSeconds(V(n), 0, 86400);
  };
  EXPECT_EQ(*sec("90"), 90);
  EXPECT_EQ(*sec("2m"), 120);
  EXPECT_EQ(*sec("0"), 0);
  EXPECT_EQ(sec("1500ms").status().message(), "f.yaml:3: s.k: must be whole seconds");
  EXPECT_FALSE(sec("2d").ok());
  auto num = [](const std::string& s) {
    Node n = Node::Scalar(s);
    return AsNumber(V(n), 0, 1);
  };
  EXPECT_EQ(*num("0.01"), 0.01);
  EXPECT_EQ(*num("1"), 1.0);
  EXPECT_EQ(*num("1e-3"), 0.001);
  for (const char* bad : {"", "1.5", "-0.1", "nan", "inf", "0x1", " 0.5", "1%"}) EXPECT_FALSE(num(bad).ok()) << bad;
  EXPECT_EQ(num("2").status().message(), "f.yaml:3: s.k: must be a number from 0 to 1, got \"2\"");
  Node re = Node::Scalar("a(");
  EXPECT_EQ(AsRegex(V(re)).status().message().rfind("f.yaml:3: s.k: bad regex \"a(\"", 0), 0u);
}

TEST(Validators, SizesTakeBinaryAndDecimalUnits) {
  auto size = [](const std::string& s) {
    Node n = Node::Scalar(s);
    return AsSize(V(n), 0, int64_t{1} << 50);
  };
  EXPECT_EQ(*size("1000"), 1000);
  EXPECT_EQ(*size("512KiB"), 512 * 1024);
  EXPECT_EQ(*size("64MiB"), 64 << 20);
  EXPECT_EQ(*size("1GiB"), int64_t{1} << 30);
  EXPECT_EQ(*size("10MB"), 10'000'000);
  EXPECT_EQ(*size("1.5KiB"), 1536);
  for (const char* bad : {"", "MiB", "1.5", "-1", "10 XB", "0.3B"}) EXPECT_FALSE(size(bad).ok()) << bad;
  Node big = Node::Scalar("2GiB");
  EXPECT_FALSE(AsSize(V(big), 0, int64_t{1} << 30).ok());
}

TEST(Validators, ListenTopicUrlAndNamesUseTheSharedRules) {
  Node ok = Node::Scalar("127.0.0.1:0"), bad = Node::Scalar("nohost"), empty = Node::Scalar("");
  EXPECT_TRUE(AsListen(V(ok), false).ok());
  EXPECT_EQ(AsListen(V(bad), true).status().message(), "f.yaml:3: s.k: 'nohost': want HOST:PORT");
  EXPECT_TRUE(AsListen(V(empty), true).ok());
  EXPECT_FALSE(AsListen(V(empty), false).ok());
  for (const char* t : {"..", ".", "a b", ""}) {
    Node n = Node::Scalar(t);
    EXPECT_FALSE(AsTopic(V(n)).ok()) << t;
  }
  Node topic = Node::Scalar("orders.v1");
  EXPECT_TRUE(AsTopic(V(topic)).ok());
  for (const char* u : {"sqlite:/a.db", "sqlite:///a.db", "/a.db", "postgresql://u:p@h/db", "postgres://h/db",
                        "mysql://u:p@h:3306/db", "mysql://h/db"}) {
    Node n = Node::Scalar(u);
    EXPECT_TRUE(AsStoreUrl(V(n)).ok()) << u;
  }
  Node oracle = Node::Scalar("oracle://u:secret@h/db");
  auto m = AsStoreUrl(V(oracle));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("unsupported store URL scheme 'oracle'"), std::string::npos);
  EXPECT_EQ(m.status().message().find("secret"), std::string::npos);
  for (const char* u : {"mysql://u:secret@h", "mysql://u:secret@h/", "mysql:///db"}) {
    Node n = Node::Scalar(u);
    auto r = AsStoreUrl(V(n));
    ASSERT_FALSE(r.ok()) << u;
    EXPECT_NE(r.status().message().find("mysql URL without a host or a database"), std::string::npos) << u;
    EXPECT_EQ(r.status().message().find("secret"), std::string::npos) << u;
  }
  Node sqlite_empty = Node::Scalar("sqlite:");
  EXPECT_FALSE(AsStoreUrl(V(sqlite_empty)).ok());
  EXPECT_EQ(ClosestMatch("grace-sec", {"grace_sec", "window_sec"}), "grace_sec");
  EXPECT_EQ(ClosestMatch("completely-else", {"grace_sec"}), "");
}

TEST(Secrets, PasswordsNeverShow) {
  EXPECT_EQ(common::RedactUrl("postgresql://chaperone:s3cret@db:5432/x"), "postgresql://chaperone:***@db:5432/x");
  EXPECT_EQ(common::RedactUrl("postgresql://u@db/x?password=s3cret&sslmode=require"),
            "postgresql://u@db/x?password=***&sslmode=require");
  EXPECT_EQ(common::RedactUrl("host=db password=s3cret user=u"), "host=db password=*** user=u");
  EXPECT_EQ(common::RedactUrl("postgresql://u:p@ss@db/x"), "postgresql://u:***@db/x");
  EXPECT_EQ(common::RedactUrl("sqlite:/var/lib/a.db"), "sqlite:/var/lib/a.db");
  EXPECT_EQ(common::RedactUrl("postgresql://db/x"), "postgresql://db/x");
  for (const char* k : {"sasl.password", "ssl.key.password", "ssl.keystore.password", "sasl.oauthbearer.client.secret",
                        "ssl.key.pem", "sasl.oauthbearer.config", "SASL.PASSWORD"})
    EXPECT_TRUE(common::IsSecretProperty(k)) << k;
  for (const char* k : {"sasl.username", "bootstrap.servers", "security.protocol"})
    EXPECT_FALSE(common::IsSecretProperty(k)) << k;
  EXPECT_EQ(common::RedactProperty("sasl.password", "x"), "***");
  EXPECT_EQ(common::RedactText("auth failed for s3cret!", {"s3cret", ""}), "auth failed for ***!");
}

// A table driven by flat properties ("<section>.<key>" = value), as the
// interceptor's chaperone.* table is.
struct PropDraft {
  int64_t size = 7;
  std::string token;
  std::vector<std::pair<std::string, std::string>> tags;
};

const Table<PropDraft>& PropTable() {
  static const Table<PropDraft> kTable(
      "demo",
      {
          {{"size", "-", "integer", "`7`", "A size."},
           +[](const Value& v, PropDraft& d) -> Status {
             SETTING_VALUE(x, AsInt(v, 1, 100));
             d.size = x;
             return Status::Ok();
           },
           +[](PropDraft& d, std::string_view) { d.size = PropDraft{}.size; }},
          {{"size.limit", "-", "integer", "none", "Not a family member of size."},
           +[](const Value&, PropDraft&) { return Status::Ok(); }},
          {{"token", "-", "string", "none", "A secret | with a pipe.", false, true},
           +[](const Value& v, PropDraft& d) -> Status {
             if (v.node.scalar.size() < 8) return Status::InvalidArgument(v.where + ": " + Quote(v.node.scalar) + " is too short");
             d.token = v.node.scalar;
             return Status::Ok();
           }},
          {{"tag.", "-", "string", "none", "A tag per name.", false, false, "", "<name>"},
           +[](const Value& v, PropDraft& d) -> Status {
             if (v.suffix.empty()) return Status::InvalidArgument(v.where + ": missing the name");
             if (v.node.scalar.starts_with("x-")) return Status::InvalidArgument(v.where + ": rejected " + Quote(v.node.scalar));
             d.tags.emplace_back(v.suffix, v.node.scalar);
             return Status::Ok();
           },
           +[](PropDraft& d, std::string_view suffix) {
             std::erase_if(d.tags, [&](const auto& kv) { return kv.first == suffix; });
           }},
      });
  return kTable;
}

TEST(PropertyTables, ApplyPlainSettingsAndFamilyMembers) {
  PropDraft d;
  ASSERT_TRUE(PropTable().ApplyProperty("demo.size", "42", d).ok());
  EXPECT_EQ(d.size, 42);
  ASSERT_TRUE(PropTable().ApplyProperty("demo.size.limit", "1", d).ok());  // a plain key, not a family
  ASSERT_TRUE(PropTable().ApplyProperty("demo.tag.a.b", "x", d).ok());
  ASSERT_TRUE(PropTable().ApplyProperty("demo.tag.c", "y", d).ok());
  using KV = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(d.tags, (KV{{"a.b", "x"}, {"c", "y"}}));
  Status st = PropTable().ApplyProperty("demo.size", "0", d);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "demo.size: must be an integer from 1 to 100, got \"0\"");
  EXPECT_EQ(d.size, 42);
  st = PropTable().ApplyProperty("demo.tag.", "x", d);
  EXPECT_EQ(st.message(), "demo.tag.: missing the name");
}

TEST(PropertyTables, ResetRestoresTheDefaultOrRemovesTheMember) {
  PropDraft d;
  ASSERT_TRUE(PropTable().ApplyProperty("demo.size", "42", d).ok());
  ASSERT_TRUE(PropTable().ApplyProperty("demo.tag.a", "x", d).ok());
  ASSERT_TRUE(PropTable().ApplyProperty("demo.tag.b", "y", d).ok());
  ASSERT_TRUE(PropTable().ResetProperty("demo.size", d).ok());
  EXPECT_EQ(d.size, 7);
  ASSERT_TRUE(PropTable().ResetProperty("demo.tag.a", d).ok());
  using KV = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(d.tags, (KV{{"b", "y"}}));
  Status st = PropTable().ResetProperty("demo.token", d);  // no reset declared
  EXPECT_EQ(st.message(), "demo.token: cannot be unset");
  EXPECT_FALSE(PropTable().ResetProperty("demo.nope", d).ok());
}

TEST(PropertyTables, UnknownNamesGetADidYouMean) {
  PropDraft d;
  EXPECT_EQ(PropTable().ApplyProperty("demo.sise", "1", d).message(), "unknown property demo.sise (did you mean demo.size?)");
  // A family's prefix misspelt: the suggestion keeps the member's name.
  EXPECT_EQ(PropTable().ApplyProperty("demo.tags.color", "1", d).message(),
            "unknown property demo.tags.color (did you mean demo.tag.color?)");
  // Nothing close: the known names.
  EXPECT_EQ(PropTable().ApplyProperty("demo.completely.different", "1", d).message(),
            "unknown property demo.completely.different (known: demo.size, demo.size.limit, demo.token, demo.tag.<name>)");
  // Outside the table's prefix.
  EXPECT_NE(PropTable().ApplyProperty("other.size", "1", d).message().find("unknown property other.size"),
            std::string::npos);
  EXPECT_FALSE(PropTable().ApplyProperty("demo", "1", d).ok());
}

TEST(PropertyTables, SecretValuesNeverAppearInErrors) {
  PropDraft d;
  // Declared secret.
  Status st = PropTable().ApplyProperty("demo.token", "hunter2", d);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().find("hunter2"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("demo.token: \"***\" is too short"), std::string::npos) << st.message();
  // A value too short for RedactText: the reason goes, not the value.
  st = PropTable().ApplyProperty("demo.token", "zq", d);
  EXPECT_EQ(st.message(), "demo.token: invalid value (not shown: the value is secret)");
  // A family member whose own name is a secret property's.
  st = PropTable().ApplyProperty("demo.tag.sasl.password", "x-pw", d);
  EXPECT_EQ(st.message(), "demo.tag.sasl.password: rejected \"***\"");
  st = PropTable().ApplyProperty("demo.tag.ssl.key.pem", "x-pem", d);
  EXPECT_EQ(st.message(), "demo.tag.ssl.key.pem: rejected \"***\"");
  // Not a secret: the value is quoted.
  st = PropTable().ApplyProperty("demo.tag.color", "x-red", d);
  EXPECT_EQ(st.message(), "demo.tag.color: rejected \"x-red\"");
}

TEST(PropertyTables, ReferenceHasNoFlagColumn) {
  const std::string ref = PropTable().PropertyReference();
  EXPECT_EQ(ref,
            "<!-- BEGIN GENERATED: demo settings -->\n"
            "| Property | Type | Default | Description |\n"
            "|---|---|---|---|\n"
            "| `demo.size` | integer | `7` | A size. |\n"
            "| `demo.size.limit` | integer | none | Not a family member of size. |\n"
            "| `demo.token` | string | none | A secret \\| with a pipe. Secret: never printed back. |\n"
            "| `demo.tag.<name>` | string | none | A tag per name. |\n"
            "<!-- END GENERATED: demo settings -->\n");
  EXPECT_TRUE(PropTable().Flags().size() == 0u);  // "-": no flags; a family never has one
}

TEST(ProjectFile, ReportsEveryStructuralErrorWithItsLine) {
  auto r = ParseProject("clustrs:\n  a: {bootstrap.servers: h}\nservice:\n  tier: a\n  tier: b\nwbe: {}\n", "p.yaml");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("p.yaml:1: clustrs: unknown section (did you mean clusters?)"), std::string::npos) << m;
  EXPECT_NE(m.find("p.yaml:5: service.tier: duplicate key (first at line 4)"), std::string::npos) << m;
  EXPECT_NE(m.find("p.yaml:6: wbe: unknown section (did you mean web?)"), std::string::npos) << m;
  auto syntax = ParseProject("service: {tier: [unclosed\n", "p.yaml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.status().message().find("p.yaml:2: not valid YAML"), std::string::npos);
  auto list = ParseProject("- a\n", "p.yaml");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("the top level must be a map"), std::string::npos);
  auto future = ParseProject("replicate: {}\ndetect: {}\nread: {}\n", "p.yaml");
  EXPECT_TRUE(future.ok()) << future.status().message();
}

TEST(ProjectFile, AKeySpanningLinesStillGivesOneLineErrors) {
  // A plain YAML key may fold several lines (found by fuzz/config_fuzz.cc).
  auto r = ParseProject("? |\n  clusters:\n  sasl.password: hunter2\n: 1\nservice:\n  ? \"tier\\nx\"\n  : a\n", "p.yaml");
  ASSERT_FALSE(r.ok());
  for (size_t p = 0, nl; (nl = r.status().message().find('\n', p)) != std::string::npos; p = nl + 1)
    EXPECT_EQ(r.status().message().compare(p, 7, "p.yaml:"), 0) << r.status().message();
  EXPECT_EQ(r.status().message().find("p.yaml:1: clusters:?sasl.password: hunter2?: unknown section"), 0u)
      << r.status().message();
  auto s = service::ParseServiceConfig("service:\n  ? \"tier\\nx\"\n  : a\n", "p.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "p.yaml:2: service.tier?x: unknown setting (did you mean service.tier?)");
}

TEST(ProjectFile, ClustersAreSharedAndNamedOnce) {
  auto f = ParseProject("clusters:\n  dc1: {bootstrap.servers: 'a:1', sasl.password: pw}\n  dc2: {bootstrap.servers: 'b:1'}\n",
                        "p.yaml");
  ASSERT_TRUE(f.ok());
  Errors errors;
  Clusters clusters = ParseClusters(*f, errors);
  ASSERT_TRUE(errors.empty());
  ASSERT_EQ(clusters.size(), 2u);
  auto none = ResolveCluster(clusters, {}, "x.cluster");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "x.cluster: required when `clusters` has several entries (dc1, dc2)");
  auto typo = ResolveCluster(clusters, {"dc3"}, "x.cluster");
  ASSERT_FALSE(typo.ok());
  EXPECT_EQ(typo.status().message(), "x.cluster: no cluster named \"dc3\" in `clusters` (did you mean dc1?)");
  ClusterChoice over{"dc2", "c:1", {{"client.id", "me"}}};
  auto r = ResolveCluster(clusters, over, "x.cluster");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*FindKafkaProperty(r->properties, "bootstrap.servers"), "c:1");
  EXPECT_EQ(*FindKafkaProperty(r->properties, "client.id"), "me");
  // The service and the collector name their cluster the same way.
  auto svc = service::ParseServiceConfig(*f, {{"cluster", "dc2"}});
  auto col = collector::ParseCollectorConfig(*f, {{"cluster", "dc1"}});
  ASSERT_TRUE(svc.ok()) << svc.status().message();
  ASSERT_TRUE(col.ok()) << col.status().message();
  EXPECT_EQ(svc->cluster_name, "dc2");
  EXPECT_EQ(col->cluster_name, "dc1");
  EXPECT_EQ(col->bootstrap_servers, "a:1");
  EXPECT_EQ(col->kafka.at("sasl.password"), "pw");
}

TEST(ProjectFile, ASectionReportsAllItsErrorsAtOnce) {
  auto r = service::ParseServiceConfig(
      "clusters:\n  a: {bootstrap.servers: h}\nservice:\n  windw_sec: 5\n  tier: 'a b'\n  listen: nohost\n", "p.yaml");
  ASSERT_FALSE(r.ok());
  std::vector<std::string> lines;
  std::stringstream ss(r.status().message());
  for (std::string l; std::getline(ss, l);) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << r.status().message();
  EXPECT_EQ(lines[0], "p.yaml:4: service.windw_sec: unknown setting (did you mean service.window_sec?)");
  EXPECT_EQ(lines[1].rfind("p.yaml:5: service.tier: use only letters", 0), 0u);
  EXPECT_EQ(lines[2], "p.yaml:6: service.listen: 'nohost': want HOST:PORT");
}

struct Component {
  std::string name;
  const TableBase* table;
  std::string reference;
};

std::vector<Component> Components() {
  return {
      {"store", &StoreTable(), StoreTable().Reference()},
      {"service", &service::ServiceSettingsTable(), service::ServiceConfigReference()},
      {"collector", &collector::CollectorSettingsTable(), collector::CollectorConfigReference()},
      {"web", &web::WebSettingsTable(), web::WebConfigReference()},
      {"up", &up::UpSettingsTable(), up::UpConfigReference()},
      {"replicate", &replicate::ReplicateSettingsTable(), replicate::ReplicateConfigReference()},
      {"detect", &detect::DetectSettingsTable(), detect::DetectConfigReference()},
      {"read", &read::ReadSettingsTable(), read::ReadConfigReference()},
  };
}

std::string ReadDoc(const std::string& name) {
  std::ifstream f(std::string(CHAPERONE_SOURCE_DIR) + "/docs/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(GeneratedDocs, EveryComponentsReferenceIsInTheDocs) {
  const std::string doc = ReadDoc("configuration.md");
  ASSERT_FALSE(doc.empty()) << "docs/configuration.md missing";
  EXPECT_NE(doc.find(SharedSectionsReference()), std::string::npos) << "clusters: regenerate with scripts/generate_config_docs.py";
  for (const auto& c : Components()) {
    EXPECT_NE(doc.find(c.reference), std::string::npos)
        << "docs/configuration.md is out of date for " << c.name
        << ": regenerate it with scripts/generate_config_docs.py (which runs `chaperone config reference`)";
  }
  // The interceptor is configured by librdkafka properties: its table lives in interceptor.md.
  EXPECT_NE(ReadDoc("interceptor.md").find(interceptor::SettingsMarkdownTable()), std::string::npos);
}

TEST(GeneratedDocs, OneKeyStyleAndEveryFlagDocumented) {
  const std::regex snake("[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*");
  for (const auto& c : Components()) {
    std::set<std::string> flags;
    for (const auto& d : c.table->docs()) {
      if (!d.key.empty()) {
        EXPECT_TRUE(std::regex_match(std::string(d.key), snake)) << c.name << "." << d.key;
      }
      EXPECT_FALSE(d.description.empty()) << c.name << "." << d.key;
    }
    for (const auto& f : c.table->Flags()) {
      EXPECT_TRUE(flags.insert(f.name).second) << c.name << ": flag --" << f.name << " twice";
      EXPECT_NE(c.reference.find("`--" + f.name + "`"), std::string::npos) << f.name;
    }
  }
}

}  // namespace
}  // namespace chaperone::config
