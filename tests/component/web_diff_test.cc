// GET /api/v1/topics/{topic}/windows/{window}/diff through real HTTP, over two
// real mock clusters (a regional and an aggregate one) and a SQLite store
// written by chaperone-test-read-fixture, configured from a project file as
// `chaperone web --config` reads it. The oracle is the fixture's own report:
// the ids it dropped and duplicated when copying into the aggregate cluster,
// and where it produced each message (partition, offset, event time).
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "chaperone/clock.h"
#include "chaperone/mock_cluster.h"
#include "support/process.h"
#include "web/web_config.h"
#include "web/web_server.h"

namespace chaperone::web {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kTopic = "orders";

struct Produced {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t window = 0;  // the window of its event time
};

// Two clusters and the fixture's audit of both, shared by the tests.
struct Fixture {
  std::unique_ptr<test::TempDir> dir;
  std::unique_ptr<MockCluster> regional, aggregate;
  std::string store_url;
  json report;                        // the fixture's output
  std::map<int64_t, Produced> by_id;  // every message, where the regional cluster holds it
  std::vector<int64_t> windows;
};
Fixture* fx = nullptr;

// A port nothing listens on (bound, then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return 1;
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

class WebDiffComponent : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fx = new Fixture;
    fx->dir = std::make_unique<test::TempDir>("chaperone-web-diff");
    auto r = MockCluster::Start(1, {{kTopic, 4}});
    auto a = MockCluster::Start(1, {{kTopic, 4}});
    ASSERT_TRUE(r.ok() && a.ok());
    fx->regional = std::move(*r);
    fx->aggregate = std::move(*a);
    fx->store_url = "sqlite:" + fx->dir->File("audit.db");
    auto run = test::RunCommand({std::string(CHAPERONE_BUILD_DIR) + "/bin/chaperone-test-read-fixture", "--store",
                                 fx->store_url, "--topic", kTopic, "--regional", fx->regional->bootstrap_servers(),
                                 "--aggregate", fx->aggregate->bootstrap_servers(), "--messages", "2000", "--drop", "5",
                                 "--duplicate", "3", "--events"},
                                {}, milliseconds(120'000));
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    ASSERT_EQ(run->exit_code, 0) << run->err;
    fx->report = json::parse(run->out);
    const int64_t window_sec = fx->report["window_sec"];
    for (const json& e : fx->report["events"]) {
      const int64_t event_ms = e[3];
      fx->by_id[e[0].get<int64_t>()] = {e[1].get<int32_t>(), e[2].get<int64_t>(), event_ms / 1000 / window_sec * window_sec};
    }
    for (int64_t k = 0; k < fx->report["windows"].get<int64_t>(); ++k)
      fx->windows.push_back(fx->report["start_sec"].get<int64_t>() + k * window_sec);
  }
  static void TearDownTestSuite() {
    delete fx;
    fx = nullptr;
  }

  void SetUp() override { ASSERT_NE(fx, nullptr); }

  // Starts `chaperone web` in-process from a project file with `clusters` (YAML, may be empty) and `extra`.
  void StartWeb(const std::string& clusters, const std::string& extra = "") {
    std::string yaml = "store: {url: \"" + fx->store_url + "\"}\nweb: {listen: \"127.0.0.1:0\"}\n" + extra;
    if (!clusters.empty()) yaml += "clusters:\n" + clusters;
    auto o = ParseWebConfig(yaml, "web-diff.yaml");
    ASSERT_TRUE(o.ok()) << o.status().ToString();
    server_ = std::make_unique<WebServer>(std::move(*o), SystemClock::Instance());
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(120, 0);
  }
  static std::string BothClusters() {
    return "  regional: {bootstrap.servers: \"" + fx->regional->bootstrap_servers() + "\"}\n" +
           "  aggregate: {bootstrap.servers: \"" + fx->aggregate->bootstrap_servers() + "\"}\n";
  }

  std::pair<int, json> Get(const std::string& path) {
    auto r = client_->Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return {0, json()};
    json j = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << r->body;
    return {r->status, j};
  }
  static std::string DiffPath(int64_t window, const std::string& query = "source=regional&target=aggregate") {
    return "/api/v1/topics/" + std::string(kTopic) + "/windows/" + std::to_string(window) + "/diff?" + query;
  }

  std::unique_ptr<WebServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(WebDiffComponent, ListsExactlyWhatWasDroppedAndDuplicated) {
  StartWeb(BothClusters());
  std::set<int64_t> dropped, duplicated;
  for (const json& id : fx->report["dropped"]) dropped.insert(id.get<int64_t>());
  for (const json& id : fx->report["duplicated"]) duplicated.insert(id.get<int64_t>());
  ASSERT_EQ(dropped.size(), 5u);
  ASSERT_EQ(duplicated.size(), 3u);
  int64_t missing_total = 0, duplicated_total = 0, messages_total = 0;
  for (int64_t w : fx->windows) {
    SCOPED_TRACE("window " + std::to_string(w));
    std::set<std::string> want_missing, want_dup;
    int64_t in_window = 0;
    for (const auto& [id, p] : fx->by_id) {
      if (p.window != w) continue;
      ++in_window;
      if (dropped.count(id)) want_missing.insert("k-" + std::to_string(id));
      if (duplicated.count(id)) want_dup.insert("k-" + std::to_string(id));
    }
    auto [status, j] = Get(DiffPath(w, "source=regional&target=aggregate&limit=10000"));
    ASSERT_EQ(status, 200) << j.dump();
    const json& s = j["summary"];
    EXPECT_EQ(j["window"], w);
    EXPECT_EQ(s["sourceTier"]["messages"], in_window);
    EXPECT_EQ(s["sourceTier"]["audited"], in_window);
    EXPECT_EQ(s["targetTier"]["messages"],
              in_window - static_cast<int64_t>(want_missing.size()) + static_cast<int64_t>(want_dup.size()));
    EXPECT_EQ(s["targetTier"]["messages"], s["targetTier"]["audited"]);
    EXPECT_EQ(s["sourceTier"]["spansNotMatching"], json::array());
    EXPECT_EQ(s["targetTier"]["spansNotMatching"], json::array());
    EXPECT_EQ(s["missing"], static_cast<int64_t>(want_missing.size()));
    EXPECT_EQ(s["duplicated"], static_cast<int64_t>(want_dup.size()));
    EXPECT_EQ(s["extra"], 0);
    EXPECT_EQ(s["truncated"], false);
    std::set<std::string> got_missing, got_dup;
    for (const json& it : j["items"]) {
      ASSERT_EQ(it["source"].size(), 1u) << it.dump();
      const json& src = it["source"][0];
      const std::string key = src["key"];
      const int64_t id = std::stoll(key.substr(2));
      // Where the fixture produced it, and its value as produced (it names its id).
      EXPECT_EQ(src["cluster"], "regional");
      EXPECT_EQ(src["datacenter"], "dc1");
      EXPECT_EQ(src["partition"], fx->by_id[id].partition) << key;
      EXPECT_EQ(src["offset"], fx->by_id[id].offset) << key;
      EXPECT_NE(src["value"].get<std::string>().find("\"id\":" + std::to_string(id) + ","), std::string::npos);
      if (it["kind"] == "missing") {
        got_missing.insert(key);
        EXPECT_EQ(it["copies"], 1);
        EXPECT_EQ(it["targetCopies"], 0);
        EXPECT_EQ(it["target"], json::array());
      } else {
        ASSERT_EQ(it["kind"], "duplicated");
        got_dup.insert(key);
        EXPECT_EQ(it["copies"], 1);
        EXPECT_EQ(it["sourceCopies"], 1);
        EXPECT_EQ(it["targetCopies"], 2);
        ASSERT_EQ(it["target"].size(), 2u);
        for (const json& c : it["target"]) {
          EXPECT_EQ(c["cluster"], "aggregate");
          EXPECT_EQ(c["key"], key);
        }
      }
    }
    EXPECT_EQ(got_missing, want_missing);
    EXPECT_EQ(got_dup, want_dup);
    missing_total += s["missing"].get<int64_t>();
    duplicated_total += s["duplicated"].get<int64_t>();
    messages_total += in_window;
  }
  EXPECT_EQ(missing_total, 5);
  EXPECT_EQ(duplicated_total, 3);
  EXPECT_EQ(messages_total, 2000);
}

TEST_F(WebDiffComponent, BadRequestsUnknownTopicsAndWindowsAreRefused) {
  StartWeb(BothClusters());
  const int64_t w = fx->windows[0];
  auto [missing_target, j1] = Get(DiffPath(w, "source=regional"));
  EXPECT_EQ(missing_target, 400);
  EXPECT_EQ(j1["error"]["code"], "bad_request");
  auto [big_limit, j2] = Get(DiffPath(w, "source=regional&target=aggregate&limit=20000"));
  EXPECT_EQ(big_limit, 400);
  EXPECT_NE(j2["error"]["message"].get<std::string>().find("limit"), std::string::npos) << j2.dump();
  auto [unknown, j3] = Get("/api/v1/topics/payments/windows/" + std::to_string(w) + "/diff?source=regional&target=aggregate");
  EXPECT_EQ(unknown, 404);
  EXPECT_EQ(j3["error"]["message"], "unknown topic 'payments'");
  auto [no_window, j4] = Get(DiffPath(w - 86400));
  EXPECT_EQ(no_window, 404);
  EXPECT_NE(j4["error"]["message"].get<std::string>().find("has no window"), std::string::npos) << j4.dump();
}

TEST_F(WebDiffComponent, WithoutClustersTheServerSaysSo) {
  StartWeb("");
  auto [status, j] = Get(DiffPath(fx->windows[0]));
  EXPECT_EQ(status, 503);
  EXPECT_EQ(j["error"]["code"], "not_configured");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("clusters:"), std::string::npos) << j.dump();
}

TEST_F(WebDiffComponent, AClusterMissingFromTheConfigurationIsNamed) {
  StartWeb("  regional: {bootstrap.servers: \"" + fx->regional->bootstrap_servers() + "\"}\n");
  auto [status, j] = Get(DiffPath(fx->windows[0]));
  EXPECT_EQ(status, 503);
  EXPECT_EQ(j["error"]["code"], "not_configured");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("cluster 'aggregate'"), std::string::npos) << j.dump();
}

TEST_F(WebDiffComponent, AnUnreachableClusterIs502WithTheReason) {
  StartWeb("  regional: {bootstrap.servers: \"" + fx->regional->bootstrap_servers() + "\"}\n" +
               "  aggregate: {bootstrap.servers: \"127.0.0.1:" + std::to_string(ClosedPort()) + "\"}\n",
           "read: {stall_timeout_ms: 2000}\n");
  auto [status, j] = Get(DiffPath(fx->windows[0]));
  EXPECT_EQ(status, 502);
  EXPECT_EQ(j["error"]["code"], "kafka_unavailable");
  const std::string message = j["error"]["message"];
  EXPECT_NE(message.find("target tier 'aggregate'"), std::string::npos) << message;
  EXPECT_NE(message.find("cluster 'aggregate'"), std::string::npos) << message;
}

}  // namespace
}  // namespace chaperone::web
