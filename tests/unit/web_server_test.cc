// WebServer over real HTTP on loopback (port 0), with an in-memory store.
#include "web/web_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "support/fake_store.h"
#include "web/web_config.h"

namespace chaperone::web {
namespace {

using nlohmann::json;

constexpr int64_t kW = 1'795'303'800;
constexpr int64_t kNowMs = (kW + 3600) * 1000;

store::WindowRow Row(const std::string& tier, int64_t count) {
  store::WindowRow r;
  r.topic = "orders";
  r.tier = tier;
  r.datacenter = "dc1";
  r.cluster = "c1";
  r.window_begin_sec = kW;
  r.window_end_sec = kW + 600;
  r.count = count;
  r.records = 1;
  return r;
}

// Sends raw bytes and returns the server's answer: up to the end of a JSON
// body, the server closing, or 5 s.
std::string RawExchange(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  (void)!::write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (out.find("\r\n\r\n") != std::string::npos && out.back() == '}') break;
  }
  ::close(fd);
  return out;
}

class WebServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::make_shared<testing::FakeStore>();
    store_->AddWindow(Row("producer", 10));
    store_->AddWindow(Row("regional", 9));
    WebServerOptions o;
    o.listen = "127.0.0.1:0";
    o.store = store_;
    o.threads = 2;
    server_ = std::make_unique<WebServer>(o, clock_);
    ASSERT_TRUE(server_->Start().ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  json ParseBody(const httplib::Result& r) {
    EXPECT_TRUE(r);
    if (!r) return json();
    json j = json::parse(r->body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r->body;
    return j;
  }

  FakeClock clock_{kNowMs};
  std::shared_ptr<testing::FakeStore> store_;
  std::unique_ptr<WebServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(WebServerTest, ServesTheApiOverHttp) {
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()));
  auto r = client_->Get("/api/v1/topics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  json j = ParseBody(r);
  EXPECT_EQ(j["total"], 1);
  EXPECT_EQ(j["topics"][0]["status"], "loss");
  EXPECT_EQ(j["topics"][0]["pairs"][0]["lost"], 1);
}

TEST_F(WebServerTest, DecodesQueryParameters) {
  auto r = client_->Get("/api/v1/topics/orders/loss?source=producer&target=regional&from=2026-11-21T23%3A00%3A00Z");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  json j = ParseBody(r);
  EXPECT_EQ(j["from"], kW - 1800);
  EXPECT_EQ(j["windows"][0]["lost"], 1);
}

TEST_F(WebServerTest, HostileRequestsGetJsonErrors) {
  // SQL in a percent-encoded topic name: rejected by the name rule.
  auto r = client_->Get("/api/v1/topics/orders%27%3B%20DROP%20TABLE%20windows%3B--/series");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(ParseBody(r)["error"]["code"], "bad_request");
  // Traversal, encoded or not, finds nothing.
  for (const char* path : {"/assets/%2e%2e/%2e%2e/etc/passwd", "/assets/../../etc/passwd", "/%2e%2e/etc/passwd"}) {
    r = client_->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(ParseBody(r)["error"]["code"], "not_found");
  }
  // Huge numbers and ranges.
  r = client_->Get("/api/v1/topics/orders/series?from=0&to=99999999999999999999999999");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  r = client_->Get("/api/v1/topics?limit=18446744073709551617");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  // Wrong method.
  r = client_->Post("/api/v1/topics", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
  EXPECT_EQ(ParseBody(r)["error"]["code"], "method_not_allowed");
  // Unknown route.
  r = client_->Get("/api/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(ParseBody(r)["error"]["code"], "not_found");
  // A URI longer than httplib accepts.
  r = client_->Get("/api/v1/topics?q=" + std::string(10000, 'a'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 414);
  EXPECT_EQ(ParseBody(r)["error"]["code"], "bad_request");
  // A long but acceptable path goes through the router without trouble.
  r = client_->Get("/api/v1/topics/" + std::string(8000, 'a') + "/series");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
}

TEST_F(WebServerTest, AMalformedRequestLineGetsAJson400) {
  std::string reply = RawExchange(server_->port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(reply.find("400"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"bad_request\""), std::string::npos) << reply;
}

TEST_F(WebServerTest, HeadAnswersWithoutABody) {
  auto r = client_->Head("/api/v1/topics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body.empty());
}

TEST_F(WebServerTest, HealthFollowsTheStore) {
  auto r = client_->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(ParseBody(r)["status"], "ok");
  store_->FailReads(Status::Unavailable("disk on fire"));
  r = client_->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(ParseBody(r)["status"], "unavailable");
  r = client_->Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("chaperone_web_store_errors_total 1"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("chaperone_web_requests_total{route=\"/health\",status=\"503\"} 1"), std::string::npos);
}

TEST_F(WebServerTest, RootServesTheEmbeddedDashboard) {
  auto r = client_->Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/html"), std::string::npos);
  EXPECT_NE(r->body.find("<html"), std::string::npos);
}

TEST(WebServer, DashboardNotBuiltIsAJson404) {
  FakeClock clock(kNowMs);
  const StaticAssetBundle empty{std::span<const StaticAsset>()};
  WebServerOptions o;
  o.listen = "127.0.0.1:0";
  o.store = std::make_shared<testing::FakeStore>();
  o.assets = &empty;
  WebServer server(o, clock);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client c("127.0.0.1", server.port());
  auto r = c.Get("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(nlohmann::json::parse(r->body)["error"]["message"].get<std::string>().find("not built"), std::string::npos);
}

TEST_F(WebServerTest, StopIsIdempotentAndClosesThePort) {
  int port = server_->port();
  server_->Stop();
  server_->Stop();
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(1, 0);
  EXPECT_FALSE(c.Get("/health"));
}

TEST(WebServer, StartFailsClearlyOnABusyPortOrBadOptions) {
  FakeClock clock(kNowMs);
  auto store = std::make_shared<testing::FakeStore>();
  WebServerOptions o;
  o.listen = "127.0.0.1:0";
  o.store = store;
  WebServer first(o, clock);
  ASSERT_TRUE(first.Start().ok());
  o.listen = "127.0.0.1:" + std::to_string(first.port());
  WebServer second(o, clock);
  Status s = second.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);  // a port in use at start: exit code 2
  EXPECT_NE(s.message().find("cannot listen on " + o.listen), std::string::npos) << s.message();

  o.listen = "localhost";
  EXPECT_EQ(WebServer(o, clock).Start().code(), Status::Code::kInvalidArgument);
  o.listen = "127.0.0.1:70000";
  EXPECT_EQ(WebServer(o, clock).Start().code(), Status::Code::kInvalidArgument);
  o.listen = "127.0.0.1:0";
  o.grace_sec = -1;
  EXPECT_EQ(WebServer(o, clock).Start().code(), Status::Code::kInvalidArgument);
  o.grace_sec = 60;
  o.tier_order = {"a", ""};
  EXPECT_EQ(WebServer(o, clock).Start().code(), Status::Code::kInvalidArgument);
  o.tier_order = {};
  o.store = nullptr;
  EXPECT_EQ(WebServer(o, clock).Start().code(), Status::Code::kInvalidArgument);  // no store at all
}

TEST(WebConfig, ReadsTheWebSectionAndRejectsUnknownKeys) {
  auto o = ParseWebConfig(R"(
collector:
  group_id: x
store:
  url: sqlite:/tmp/shared.db
web:
  listen: 0.0.0.0:9090
  store: sqlite:/tmp/audit.db
  tier_order: [producer, "edge*", aggregate]
  delay_threshold_ms: 30s
  grace_sec: 15
  stale_emitter_sec: 90
  window_sec: 1m
  threads: 4
)",
                          "w.yaml");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->listen, "0.0.0.0:9090");
  EXPECT_EQ(o->store_url, "sqlite:/tmp/audit.db");
  EXPECT_EQ(o->tier_order, (std::vector<std::string>{"producer", "edge*", "aggregate"}));
  EXPECT_EQ(o->delay_threshold_ms, 30000);
  EXPECT_EQ(o->grace_sec, 15);
  EXPECT_EQ(o->stale_emitter_sec, 90);
  EXPECT_EQ(o->window_sec, 60);
  EXPECT_EQ(o->threads, 4);

  // The shared store, a tier order as "a,b", and flags over the file.
  auto p = ParseWebConfig("store: {url: sqlite:/tmp/s.db}\nweb:\n  tier_order: a,b\n  listen: 127.0.0.1:1\n", "w.yaml",
                          {{"threads", "2"}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->tier_order, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p->store_url, "sqlite:/tmp/s.db");
  EXPECT_EQ(p->threads, 2);

  auto q = ParseWebConfig("store: {url: sqlite:/x}\nweb:\n  listne: x\n  grace_sec: -5\n", "w.yaml");
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("w.yaml:3: web.listne: unknown setting (did you mean web.listen?)"),
            std::string::npos)
      << q.status().message();
  EXPECT_NE(q.status().message().find("w.yaml:4: web.grace_sec: must be a duration"), std::string::npos)
      << q.status().message();
  auto old = ParseWebConfig("web:\n  grace-sec: 5\n", "w.yaml");
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.status().message().find("did you mean web.grace_sec?"), std::string::npos) << old.status().message();
  EXPECT_FALSE(ParseWebConfig("web:\n  grace_sec: [1]\n", "w.yaml").ok());
  EXPECT_FALSE(ParseWebConfig("web:\n  listen: nowhere\n", "w.yaml").ok());
  EXPECT_FALSE(ParseWebConfig("web: [1, 2]\n", "w.yaml").ok());
  EXPECT_FALSE(ParseWebConfig("web:\n  listen: [unclosed\n", "w.yaml").ok());
  EXPECT_FALSE(ParseWebConfig("web:\n  listen: 127.0.0.1:1\n", "w.yaml").ok());  // no store anywhere
  EXPECT_FALSE(LoadWebConfig("/nonexistent/chaperone.yaml").ok());
}

TEST(WebConfig, TheWindowDiffReadsTheClustersAndTheReadSettings) {
  auto o = ParseWebConfig(R"(
store: {url: sqlite:/tmp/shared.db}
clusters:
  regional: {bootstrap.servers: "r1:9092,r2:9092"}
  aggregate: {bootstrap.servers: "a1:9092", security.protocol: SSL}
read:
  timestamps: [{topic: "orders", chain: "json:eventTime,record"}]
  memory_budget: 64MiB
  stall_timeout_ms: 5s
web:
  diff_concurrency: 3
  diff_timeout_ms: 2m
)",
                          "w.yaml");
  ASSERT_TRUE(o.ok()) << o.status().message();
  ASSERT_EQ(o->read.clusters.size(), 2u);
  EXPECT_EQ(o->read.clusters[0].first, "regional");
  EXPECT_EQ(o->read.clusters[0].second, (KafkaProperties{{"bootstrap.servers", "r1:9092,r2:9092"}}));
  EXPECT_EQ(o->read.clusters[1].first, "aggregate");
  EXPECT_EQ(o->read.rules.size(), 1u);
  EXPECT_EQ(o->read.memory_budget, int64_t{64} << 20);
  EXPECT_EQ(o->read.stall_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(o->diff_concurrency, 3);
  EXPECT_EQ(o->diff_timeout_ms, 120'000);
  EXPECT_EQ(o->store_url, "sqlite:/tmp/shared.db");  // the read settings do not move the web server's store

  // Without `clusters:` the diff is not configured; the defaults stay.
  auto none = ParseWebConfig("store: {url: sqlite:/tmp/s.db}\n", "w.yaml");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->read.clusters.empty());
  EXPECT_EQ(none->diff_concurrency, 2);
  EXPECT_EQ(none->diff_timeout_ms, 60'000);

  // Errors in `clusters:` and `read:` fail the start as the web section's do.
  auto bad = ParseWebConfig("store: {url: sqlite:/tmp/s.db}\nclusters:\n  regional: {linger.ms: 5}\n", "w.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("w.yaml:3: clusters.regional: bootstrap.servers is required"),
            std::string::npos)
      << bad.status().message();
  auto bad_read = ParseWebConfig("store: {url: sqlite:/tmp/s.db}\nread: {memory_budget: 1KiB}\n", "w.yaml");
  ASSERT_FALSE(bad_read.ok());
  EXPECT_NE(bad_read.status().message().find("read.memory_budget"), std::string::npos) << bad_read.status().message();
  for (const char* setting : {"diff_concurrency: 0", "diff_concurrency: 65", "diff_timeout_ms: 10ms"}) {
    auto r = ParseWebConfig(std::string("store: {url: sqlite:/tmp/s.db}\nweb: {") + setting + "}\n", "w.yaml");
    EXPECT_FALSE(r.ok()) << setting;
  }
  // A store handed in (no URL): the read settings still parse.
  WebServerOptions base;
  base.store = std::make_shared<testing::FakeStore>();
  auto handed = ParseWebConfig("clusters: {regional: {bootstrap.servers: \"r:1\"}}\n", "w.yaml", {}, base);
  ASSERT_TRUE(handed.ok()) << handed.status().message();
  EXPECT_EQ(handed->read.clusters.size(), 1u);
  auto flags = ParseWebConfig("clusters: {regional: {bootstrap.servers: \"r:1\"}}\n", "w.yaml",
                              {{"store", "sqlite:/tmp/f.db"}, {"diff-concurrency", "4"}});
  ASSERT_TRUE(flags.ok()) << flags.status().message();
  EXPECT_EQ(flags->read.clusters.size(), 1u);
  EXPECT_EQ(flags->diff_concurrency, 4);
}

}  // namespace
}  // namespace chaperone::web
