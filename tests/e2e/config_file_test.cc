// One project file for every component: the two-datacenter example of
// docs/configuration.md, taken from the doc itself, starts two regional audit
// services, the collector and the web server (cluster addresses and the store
// swapped for mock clusters and SQLite; nothing else changed), and the store
// ends up with exactly what was produced in both datacenters. `chaperone config
// check` passes on the example, never prints its secrets, and names file:line
// and a suggestion for each of a list of broken variants.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "chaperone/mock_cluster.h"
#include "store/store.h"
#include "support/process.h"
#include "support/service_support.h"

namespace chaperone {
namespace {

using test::Process;
using test::ProcessOptions;
using testing::ComparableWithStore;
using testing::DiffTotals;
using testing::StoreTotals;
using testing::TestMessage;
using testing::TestProducer;
using testing::WaitFor;
using std::chrono::milliseconds;

constexpr int64_t kWindowSec = 600;  // the example's window_sec

std::string ExampleFromDocs() {
  std::ifstream f(std::string(CHAPERONE_SOURCE_DIR) + "/docs/configuration.md");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str();
  size_t marker = doc.find("<!-- example: two-datacenter -->");
  if (marker == std::string::npos) return "";
  size_t begin = doc.find("```yaml\n", marker);
  size_t end = doc.find("```\n", begin + 8);
  if (begin == std::string::npos || end == std::string::npos) return "";
  return doc.substr(begin + 8, end - begin - 8);
}

// Replaces `from` (which must occur) with `to`, everywhere.
std::string Replace(std::string text, const std::string& from, const std::string& to) {
  EXPECT_NE(text.find(from), std::string::npos) << "the example no longer contains: " << from;
  for (size_t p = 0; (p = text.find(from, p)) != std::string::npos; p += to.size()) text.replace(p, from.size(), to);
  return text;
}

// The 1-based line of the first line of `text` that contains `needle`.
int LineOf(const std::string& text, const std::string& needle) {
  size_t p = text.find(needle);
  EXPECT_NE(p, std::string::npos) << needle;
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(p), '\n'));
}

class OneConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.empty());
    example_ = ExampleFromDocs();
    ASSERT_FALSE(example_.empty()) << "docs/configuration.md has no two-datacenter example";
  }
  void TearDown() override {
    if (HasFailure()) tmp_.Keep();
  }
  std::string Write(const std::string& name, const std::string& text) { return tmp_.Write(name, text); }
  test::CommandResult Run(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CHAPERONE_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions o;
    o.stderr_mode = ProcessOptions::Stream::kPipe;
    auto p = Process::Start(argv, o);
    EXPECT_TRUE(p.ok());
    if (!p.ok()) return {};
    auto r = (*p)->Communicate("", milliseconds(30'000));
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : test::CommandResult{};
  }
  test::TempDir tmp_{"chaperone-config-e2e"};
  const std::string dir_ = tmp_.path();
  std::string example_;
};

TEST_F(OneConfigFile, ConfigCheckPassesOnTheExampleAndPrintsNoSecret) {
  std::string path = Write("chaperone.yaml", example_);
  auto r = Run({"config", "check", path});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(path + ": ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sasl.password=***"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("postgresql://chaperone:***@db.internal:5432/chaperone"), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find("change-me"), std::string::npos) << r.out << r.err;
}

TEST_F(OneConfigFile, ConfigCheckNamesFileLineAndASuggestionForEachBrokenVariant) {
  struct Variant {
    std::string name;
    std::string from, to;  // one edit of the example
    std::string line_of;   // the expected line: the first line of the broken file containing this
    std::string message;   // after "<file>:<line>: "
  };
  const std::vector<Variant> variants = {
      {"section typo", "clusters:\n", "clustrs:\n", "clustrs:", "clustrs: unknown section (did you mean clusters?)"},
      {"old key style", "  tier_order:", "  tier-order:", "tier-order:",
       "web.tier-order: unknown setting (did you mean web.tier_order?)"},
      {"key typo", "  retention_days: 30", "  retension_days: 30", "retension_days",
       "collector.retension_days: unknown setting (did you mean collector.retention_days?)"},
      {"bad duration", "  window_sec: 600", "  window_sec: ten minutes", "window_sec:",
       "service.window_sec: must be a duration from 1s to 7d"},
      {"bad port", "  listen: 0.0.0.0:8080", "  listen: 0.0.0.0:80800", "0.0.0.0:80800",
       "web.listen: '0.0.0.0:80800': the port must be a number from 0 to 65535"},
      {"bad topic", "  audit_topic: chaperone-audit", "  audit_topic: chaperone audit", "audit_topic:",
       "collector.audit_topic: not a valid Kafka topic name"},
      {"unknown cluster", "  cluster: aggregate\n  audit_topic", "  cluster: agregate\n  audit_topic", "cluster: agregate",
       "collector.cluster: no cluster named \"agregate\" in `clusters` (did you mean aggregate?)"},
      {"no bootstrap servers", "    bootstrap.servers: kafka-dc2-1:9092,kafka-dc2-2:9092\n", "    client.id: dc2\n",
       "dc2-regional:", "clusters.dc2-regional: bootstrap.servers is required"},
      {"store scheme", "url: postgresql://", "url: oracle://", "url: oracle://",
       "store.url: unsupported store URL scheme 'oracle'"},
      {"duplicate key", "  tier: regional\n", "  tier: regional\n  tier: aggregate\n", "tier: aggregate",
       "service.tier: duplicate key (first at line"},
      {"plugin property", "    sasl.username: chaperone\n", "    sasl.username: chaperone\n    plugin.library.paths: x\n",
       "aggregate:\n", "clusters.aggregate.plugin.library.paths: plugin properties are not allowed"},
  };
  for (const auto& v : variants) {
    SCOPED_TRACE(v.name);
    std::string broken = Replace(example_, v.from, v.to);
    std::string path = Write("broken.yaml", broken);
    auto r = Run({"config", "check", path});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    std::string want = path + ":" + std::to_string(LineOf(broken, v.line_of)) + ": " + v.message;
    EXPECT_NE(r.out.find(want), std::string::npos) << "want: " << want << "\ngot:\n" << r.out << r.err;
    EXPECT_EQ(r.out.find("change-me"), std::string::npos) << r.out;
  }
  // Several errors in several sections: all reported at once.
  std::string two = Replace(Replace(example_, "  tier_order:", "  tier-order:"), "  retention_days: 30",
                            "  retention_days: forever");
  std::string path = Write("two.yaml", two);
  auto r = Run({"config", "check", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find(path + ":" + std::to_string(LineOf(two, "tier-order")) + ": web.tier-order"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(path + ":" + std::to_string(LineOf(two, "retention_days")) + ": collector.retention_days"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(path + ": 2 errors"), std::string::npos) << r.out;
  // A component refuses a broken file with the same message and exit code 2.
  auto c = Run({"collector", "--config", path});
  EXPECT_EQ(c.exit_code, 2) << c.err;
  EXPECT_NE(c.err.find("chaperone collector: " + path + ":" + std::to_string(LineOf(two, "retention_days")) +
                       ": collector.retention_days"),
            std::string::npos)
      << c.err;
}

TEST_F(OneConfigFile, ServiceCollectorAndWebStartFromTheExampleAndAgree) {
  // Three clusters as in the example: dc1, dc2 and the aggregate (which holds the audit topic).
  auto dc1 = MockCluster::Start(1, {{"payments", 3}});
  auto dc2 = MockCluster::Start(1, {{"payments", 2}});
  auto agg = MockCluster::Start(1, {{"chaperone-audit", 2}});
  ASSERT_TRUE(dc1.ok() && dc2.ok() && agg.ok());
  const std::string db = dir_ + "/audit.db";
  std::string text = example_;
  text = Replace(text, "kafka-dc1-1:9092,kafka-dc1-2:9092", (*dc1)->bootstrap_servers());
  text = Replace(text, "kafka-dc2-1:9092,kafka-dc2-2:9092", (*dc2)->bootstrap_servers());
  text = Replace(text, "kafka-agg-1:9092,kafka-agg-2:9092", (*agg)->bootstrap_servers());
  // The mock clusters speak plaintext only.
  for (const char* line : {"    security.protocol: SASL_SSL\n", "    sasl.mechanisms: SCRAM-SHA-512\n",
                           "    sasl.username: chaperone\n", "    sasl.password: change-me\n"})
    text = Replace(text, line, "");
  text = Replace(text, "postgresql://chaperone:change-me@db.internal:5432/chaperone", "sqlite:" + db);
  for (const char* listen : {"0.0.0.0:9000", "0.0.0.0:9100", "0.0.0.0:8080"}) text = Replace(text, listen, "127.0.0.1:0");
  const std::string config = Write("chaperone.yaml", text);
  auto check = Run({"config", "check", config});
  ASSERT_EQ(check.exit_code, 0) << check.out;

  auto start = [&](const std::vector<std::string>& args, const std::string& log) {
    ProcessOptions o;
    o.log_file = dir_ + "/" + log;
    if (args[0] == "web") {
      o.log_file.clear();
      o.stdout_mode = ProcessOptions::Stream::kPipe;
    }
    std::vector<std::string> argv = {CHAPERONE_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return Process::Start(argv, o);
  };
  // Per-process differences are flags, as docs/configuration.md says; a short
  // flush interval only makes the test quick.
  auto collector = start({"collector", "--config", config}, "collector.log");
  auto svc1 = start({"service", "--config", config, "--flush-interval-ms", "300"}, "dc1.log");
  auto svc2 = start({"service", "--config", config, "--cluster", "dc2-regional", "--datacenter", "dc2",
                     "--flush-interval-ms", "300"},
                    "dc2.log");
  ASSERT_TRUE(collector.ok() && svc1.ok() && svc2.ok());

  // Messages in both datacenters, event time from the record timestamp.
  const int64_t now_ms = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  testing::WindowTotals expected;
  auto produce = [&](const std::string& bootstrap, int n, int partitions) {
    auto p = TestProducer::Create(bootstrap);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    for (int i = 0; i < n; ++i) {
      TestMessage m{"payments", i % partitions, "k" + std::to_string(i), "v" + std::to_string(i), now_ms - i * 1000, {}};
      ASSERT_TRUE((*p)->Produce(m, kWindowSec).ok());
    }
    ASSERT_TRUE((*p)->Flush(milliseconds(30'000)).ok());
    for (const auto& [k, v] : (*p)->expected()) {
      auto& e = expected[k];
      e.count += v.count;
      e.digest += v.digest;
      e.malformed += v.malformed;
      e.no_time += v.no_time;
    }
  };
  produce((*dc1)->bootstrap_servers(), 700, 3);
  produce((*dc2)->bootstrap_servers(), 500, 2);
  expected = ComparableWithStore(expected);

  // The collector creates the store; the web server (a reader) starts once it exists.
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(db); }, milliseconds(60'000)));
  testing::WindowTotals stored;
  bool equal = WaitFor(
      [&] {
        auto st = store::Store::Open("sqlite:" + db, store::OpenMode::kMustExist);
        if (!st.ok()) return false;
        auto t = StoreTotals(**st, "payments", "regional");
        if (!t.ok()) return false;
        stored = *t;
        return DiffTotals(expected, stored).empty();
      },
      milliseconds(120'000));
  EXPECT_TRUE(equal) << DiffTotals(expected, stored) << "logs in " << dir_;

  auto web = start({"web", "--config", config}, "");
  ASSERT_TRUE(web.ok());
  auto line = (*web)->ReadLine(milliseconds(30'000));
  ASSERT_TRUE(line.ok()) << line.status().ToString();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(*line, m, std::regex("serving (?:on )?(http://[^ ]+)"))) << *line;
  ProcessOptions o;
  auto get = Process::Start({"curl", "-s", m[1].str() + "/api/v1/topics"}, o);
  ASSERT_TRUE(get.ok());
  auto body = (*get)->Communicate("", milliseconds(30'000));
  ASSERT_TRUE(body.ok());
  EXPECT_NE(body->out.find("\"payments\""), std::string::npos) << body->out;

  for (auto* p : {&*web, &*svc1, &*svc2, &*collector}) {
    auto rc = (**p).Stop(milliseconds(20'000));
    ASSERT_TRUE(rc.ok());
    EXPECT_EQ(*rc, 0) << (**p).name() << ": logs in " << dir_;
  }
}

}  // namespace
}  // namespace chaperone
