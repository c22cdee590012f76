// The web API through real HTTP over a real SQLite store: records go in
// through Store::Apply (as the collector writes them), answers come out of
// `chaperone web`'s server, read with an HTTP client.
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "chaperone/latency_sketch.h"
#include "store/store.h"
#include "web/web_server.h"

namespace chaperone::web {
namespace {

using nlohmann::json;

constexpr int64_t kW = 1'795'303'800;                      // a window start
constexpr int64_t kNowMs = (kW + 1200 + 120) * 1000;       // two windows later, past end + grace
constexpr int64_t kWatermarkMs = (kW + 1200 + 60) * 1000;  // every emitter reported both windows

std::string Sketch(int from_ms, int to_ms) {
  LatencySketch s;
  for (int v = from_ms; v <= to_ms; ++v) s.Add(v);
  return s.Encode();
}

class WebApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/chaperone-web-api-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    url_ = "sqlite:" + dir_ + "/audit.db";
    auto st = store::Store::Open(url_);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(*st);
    Populate();

    WebServerOptions o;
    o.listen = "127.0.0.1:0";
    o.store_url = url_;  // the server opens its own connections
    o.threads = 4;
    server_ = std::make_unique<WebServer>(o, clock_);
    Status s = server_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    if (server_) server_->Stop();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  AuditRecord Count(const std::string& topic, const std::string& tier, const std::string& dc,
                    const std::string& cluster, int64_t window, int64_t count, const std::string& emitter) {
    AuditRecord r;
    r.tier = tier;
    r.hostname = emitter + ".example";
    r.datacenter = dc;
    r.cluster = cluster;
    r.uuid = "uuid-" + std::to_string(++uuid_);
    r.emitter_id = emitter;
    r.seq = seq_[emitter]++;
    r.flush_id = r.uuid;
    r.topic = topic;
    r.window_begin_sec = window;
    r.window_end_sec = window + 600;
    r.count = count;
    r.total_bytes = count * 100;
    r.no_time_count = 0;
    r.malformed_count = 0;
    return r;
  }

  AuditRecord Heartbeat(const std::string& tier, const std::string& dc, const std::string& cluster,
                        const std::string& emitter) {
    AuditRecord h = Count("", tier, dc, cluster, 0, 0, emitter);
    h.kind = RecordKind::kHeartbeat;
    h.topic.clear();
    h.window_begin_sec = h.window_end_sec = 0;
    h.total_bytes.reset();
    h.no_time_count.reset();
    h.malformed_count.reset();
    h.watermark_ms = kWatermarkMs;
    h.window_sec = 600;
    return h;
  }

  static AuditRecord WithLatency(AuditRecord r, int from_ms, int to_ms, uint64_t digest) {
    r.latency_sketch = Sketch(from_ms, to_ms);
    r.digest = digest;
    return r;
  }

  void Apply(std::vector<AuditRecord> records) {
    std::vector<store::Incoming> batch;
    for (auto& r : records) {
      store::Incoming in;
      in.raw = EncodeAuditRecord(r);
      in.source = "chaperone-audit/0@" + std::to_string(offset_++);
      in.record = std::move(r);
      batch.push_back(std::move(in));
    }
    auto s = store_->Apply(batch, {}, kNowMs);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }

  // orders: producer → regional (dc1 + dc2) → aggregate, two windows; 3
  // messages lost between producer and regional in the second.
  void Populate() {
    Apply({
        WithLatency(Count("orders", "producer", "dc1", "", kW, 100, "p1"), 1, 100, 1000),
        WithLatency(Count("orders", "regional", "dc1", "regional-1", kW, 60, "r1"), 1, 60, 600),
        WithLatency(Count("orders", "regional", "dc2", "regional-2", kW, 40, "r2"), 61, 100, 400),
        WithLatency(Count("orders", "producer", "dc1", "", kW + 600, 100, "p1"), 1, 100, 2000),
        WithLatency(Count("orders", "regional", "dc1", "regional-1", kW + 600, 60, "r1"), 1, 60, 1200),
        WithLatency(Count("orders", "regional", "dc2", "regional-2", kW + 600, 37, "r2"), 61, 97, 700),
        WithLatency(Count("orders", "aggregate", "dc1", "aggregate", kW + 600, 97, "a1"), 101, 197, 1900),
    });
    // The aggregate cluster's audit service reports partition detail.
    AuditRecord agg = WithLatency(Count("orders", "aggregate", "dc1", "aggregate", kW, 100, "a1"), 101, 200, 1000);
    agg.partitions = {{0, 60, 1000, 1059, -1}, {1, 40, 500, 539, -1}};
    Apply({agg});
    // A legacy client topic: no version, no digest, no sketch, two hosts.
    AuditRecord l1 = Count("legacy", "producer", "dc1", "", kW, 10, "");
    AuditRecord l2 = Count("legacy", "producer", "dc1", "", kW, 20, "");
    for (AuditRecord* l : {&l1, &l2}) {
      l->version = 0;
      l->emitter_id.clear();
      l->seq = -1;
      l->total_bytes.reset();
      l->no_time_count.reset();
      l->malformed_count.reset();
    }
    l1.mean_latency_ms = 10;
    l1.latency95_ms = 20;
    l1.latency99_ms = 30;
    l1.max_latency_ms = 35;
    l2.mean_latency_ms = 40;
    l2.latency95_ms = 42;
    l2.latency99_ms = 45;
    l2.max_latency_ms = 50;
    Apply({l1, l2});
    Apply({Heartbeat("producer", "dc1", "", "p1"), Heartbeat("regional", "dc1", "regional-1", "r1"),
           Heartbeat("regional", "dc2", "regional-2", "r2"), Heartbeat("aggregate", "dc1", "aggregate", "a1")});
    // A record the collector could not decode.
    store::Incoming bad;
    bad.raw = R"({"topicName": "orders", "count": -1})";
    bad.error = "count: must be >= 0";
    bad.source = "chaperone-audit/0@" + std::to_string(offset_++);
    auto s = store_->Apply({bad}, {}, kNowMs);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
  }

  json GetJson(const std::string& path, int status = 200) {
    auto r = client_->Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, status) << path << " -> " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    json j = json::parse(r->body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r->body;
    return j;
  }

  std::string dir_, url_;
  FakeClock clock_{kNowMs};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<WebServer> server_;
  std::unique_ptr<httplib::Client> client_;
  int uuid_ = 0;
  int64_t offset_ = 0;
  std::map<std::string, int64_t> seq_;
};

std::string Range() { return "from=" + std::to_string(kW) + "&to=" + std::to_string(kW + 1200); }

TEST_F(WebApiTest, HealthNamesTheStore) {
  json j = GetJson("/health");
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["store"], "sqlite");
  EXPECT_GE(j["schemaVersion"].get<int>(), 1);
}

TEST_F(WebApiTest, TopicsShowTheLossBetweenProducerAndRegional) {
  json j = GetJson("/api/v1/topics");
  ASSERT_EQ(j["total"], 2);
  const json& orders = j["topics"][1];
  ASSERT_EQ(orders["topic"], "orders");
  EXPECT_EQ(orders["status"], "loss");
  EXPECT_EQ(orders["tiers"], json({"producer", "regional", "aggregate"}));
  EXPECT_EQ(orders["lastWindow"], kW + 600);
  EXPECT_EQ(orders["lastFinalWindow"], kW + 600);
  EXPECT_EQ(orders["pairs"][0]["lost"], 3);
  EXPECT_EQ(orders["pairs"][1]["lost"], 0);
  EXPECT_EQ(orders["pairs"][1]["digestMismatch"], false);
  EXPECT_EQ(j["topics"][0]["topic"], "legacy");
  EXPECT_EQ(j["topics"][0]["status"], "healthy");
  j = GetJson("/api/v1/topics?status=loss&sort=-loss");
  EXPECT_EQ(j["total"], 1);
}

// A page of the overview in name order reads only its names' span of the topic
// summary; a topic on it still shows a change the collector made since.
TEST_F(WebApiTest, APageOfTopicsSeesLateDataLikeTheWholeList) {
  json j = GetJson("/api/v1/topics?limit=1&offset=1");
  ASSERT_EQ(j["total"], 2);
  ASSERT_EQ(j["topics"].size(), 1u);
  ASSERT_EQ(j["topics"][0]["topic"], "orders");
  EXPECT_EQ(j["topics"][0]["pairs"][0]["lost"], 3);
  EXPECT_EQ(j["topics"][0]["pairs"][1]["lost"], 0);
  // The 3 messages arrive late in dc2's regional cluster: regional now holds
  // 100, and the aggregate's 97 is 3 short.
  Apply({Count("orders", "regional", "dc2", "regional-2", kW + 600, 3, "r2")});
  clock_.AdvanceMs(1000);
  j = GetJson("/api/v1/topics?limit=1&offset=1");
  ASSERT_EQ(j["topics"].size(), 1u);
  EXPECT_EQ(j["topics"][0]["pairs"][0]["lost"], 0);
  EXPECT_EQ(j["topics"][0]["pairs"][1]["lost"], 3);
  json all = GetJson("/api/v1/topics");
  EXPECT_EQ(all["topics"][1]["pairs"], j["topics"][0]["pairs"]);
}

TEST_F(WebApiTest, SeriesMergesDatacentersWithExactPercentiles) {
  json j = GetJson("/api/v1/topics/orders/series?" + Range());
  ASSERT_EQ(j["series"].size(), 3u);
  const json& regional = j["series"][1];
  ASSERT_EQ(regional["tier"], "regional");
  const json& p = regional["points"][0];
  EXPECT_EQ(p["window"], kW);
  EXPECT_EQ(p["count"], 100);
  EXPECT_EQ(p["bytes"], 10000);
  EXPECT_EQ(p["final"], true);
  EXPECT_EQ(p["latencyUpperBound"], false);
  // The merged sketch of 1..60 (dc1) and 61..100 (dc2) is that of 1..100.
  EXPECT_NEAR(p["p50"].get<double>(), 50, 0.5);
  EXPECT_NEAR(p["p99"].get<double>(), 99, 1);
  EXPECT_NEAR(p["max"].get<double>(), 100, 1);
  EXPECT_NEAR(p["mean"].get<double>(), 50.5, 0.01);
  EXPECT_EQ(p["digest"], "00000000000003e8");  // 600 + 400
  EXPECT_EQ(regional["points"][1]["count"], 97);

  j = GetJson("/api/v1/topics/orders/series?groupBy=tier,datacenter&tier=regional&" + Range());
  ASSERT_EQ(j["series"].size(), 2u);
  EXPECT_EQ(j["series"][0]["datacenter"], "dc1");
  EXPECT_EQ(j["series"][0]["points"][0]["count"], 60);
  EXPECT_EQ(j["series"][1]["datacenter"], "dc2");
  EXPECT_EQ(j["series"][1]["points"][1]["count"], 37);
}

TEST_F(WebApiTest, LegacyRecordsGiveUpperBounds) {
  json j = GetJson("/api/v1/topics/legacy/series?" + Range());
  const json& p = j["series"][0]["points"][0];
  EXPECT_EQ(p["count"], 30);
  EXPECT_EQ(p["bytes"], nullptr);
  EXPECT_EQ(p["digest"], nullptr);
  EXPECT_EQ(p["latencyUpperBound"], true);
  EXPECT_EQ(p["p99"], 45);
}

TEST_F(WebApiTest, LossAppliesTheAggregateClusterRule) {
  json j = GetJson("/api/v1/topics/orders/loss?source=regional&target=aggregate&" + Range());
  ASSERT_EQ(j["windows"].size(), 2u);
  EXPECT_EQ(j["windows"][0]["sourceCount"], 100);
  EXPECT_EQ(j["windows"][0]["targetCount"], 100);
  EXPECT_EQ(j["windows"][0]["digestMatch"], true);
  EXPECT_EQ(j["windows"][1]["lost"], 0);
  EXPECT_EQ(j["windows"][1]["final"], true);

  j = GetJson("/api/v1/topics/orders/loss?source=producer&target=regional&" + Range());
  EXPECT_EQ(j["windows"][1]["lost"], 3);
  EXPECT_DOUBLE_EQ(j["windows"][1]["lossRatio"].get<double>(), 0.03);
  EXPECT_EQ(j["summary"]["lost"], 3);

  j = GetJson("/api/v1/topics/orders/loss?source=regional&target=aggregate&sourceDatacenters=dc1&" + Range());
  EXPECT_EQ(j["windows"][0]["sourceCount"], 60);
  EXPECT_EQ(j["windows"][0]["duplicated"], 40);
  EXPECT_EQ(j["windows"][0]["digestMatch"], false);
}

TEST_F(WebApiTest, PartitionsDrillDownToOffsets) {
  json j = GetJson("/api/v1/topics/orders/windows/" + std::to_string(kW) + "/partitions?tier=aggregate");
  ASSERT_EQ(j["partitions"].size(), 2u);
  EXPECT_EQ(j["partitions"][0]["partition"], 0);
  EXPECT_EQ(j["partitions"][0]["count"], 60);
  EXPECT_EQ(j["partitions"][0]["firstOffset"], 1000);
  EXPECT_EQ(j["partitions"][0]["lastOffset"], 1059);
  EXPECT_EQ(j["partitions"][1]["partition"], 1);
  EXPECT_EQ(j["partitions"][1]["lastOffset"], 539);
}

TEST_F(WebApiTest, EmittersFinalityAndQuarantine) {
  json j = GetJson("/api/v1/emitters");
  ASSERT_EQ(j["emitters"].size(), 4u);
  EXPECT_EQ(j["stale"], 0);
  EXPECT_EQ(j["emitters"][0]["emitterId"], "p1");
  EXPECT_EQ(j["emitters"][0]["watermarkMs"], kWatermarkMs);
  EXPECT_EQ(j["emitters"][0]["missingRecords"], 0);

  j = GetJson("/api/v1/finality?topic=orders&" + Range());
  ASSERT_EQ(j["tiers"].size(), 3u);
  for (const auto& t : j["tiers"]) {
    EXPECT_EQ(t["basis"], "heartbeat");
    EXPECT_EQ(t["lastFinalWindow"], kW + 600);
    EXPECT_TRUE(t["openWindows"].empty());
  }

  j = GetJson("/api/v1/quarantine");
  EXPECT_EQ(j["total"], 1);
  EXPECT_EQ(j["records"][0]["reason"], "count: must be >= 0");
}

// The loss detector's alerts, written as it writes them (under its lease), read
// through the alerts route and counted on the overview.
TEST_F(WebApiTest, TheDetectorsAlertsAreListedPagedAndCountedOnTheOverview) {
  auto alert = [](const std::string& kind, const std::string& state, const std::string& severity, int64_t at_ms) {
    return store::AlertRow{.fingerprint = "fp-" + kind, .topic = "orders", .source_tier = "producer",
                           .target_tier = "regional", .kind = kind, .datacenter = "dc2", .state = state,
                           .severity = severity, .sent_severity = "", .starts_ms = at_ms,
                           .ends_ms = state == "resolved" ? at_ms + 60'000 : 0, .updated_ms = at_ms,
                           .lost = kind == "loss" ? 3 : 0, .duplicated = kind == "duplicate" ? 5 : 0, .windows = 1,
                           .source_messages = 100, .first_window_sec = kW + 600, .last_window_sec = kW + 600};
  };
  ASSERT_TRUE(*store_->TakeLease("detect", "web-api-test", kNowMs, 60'000));
  std::vector<store::AlertChange> changes = {
      {alert("duplicate", "resolved", "info", kNowMs - 600'000), {}},
      {alert("loss", "firing", "warning", kNowMs - 60'000), {}},
      {alert("digest_mismatch", "firing", "critical", kNowMs - 1'000), {}},
  };
  Status saved = store_->SaveAlerts(changes, "detect", "web-api-test", kNowMs);
  ASSERT_TRUE(saved.ok()) << saved.ToString();

  json j = GetJson("/api/v1/alerts");
  ASSERT_EQ(j["alerts"].size(), 3u);
  EXPECT_TRUE(j["nextBefore"].is_null());
  const json& loss = j["alerts"][1];
  EXPECT_EQ(loss["id"], changes[1].alert.id);
  EXPECT_EQ(loss["kind"], "loss");
  EXPECT_EQ(loss["state"], "firing");
  EXPECT_EQ(loss["datacenter"], "dc2");
  EXPECT_EQ(loss["lost"], 3);
  EXPECT_EQ(loss["sourceMessages"], 100);
  EXPECT_TRUE(loss["endsAt"].is_null());
  EXPECT_EQ(loss["firstWindow"], kW + 600);
  EXPECT_EQ(loss["firstWindowStart"], "2026-11-21T23:40:00Z");
  EXPECT_EQ(j["alerts"][2]["endsAt"], "2026-11-21T23:43:00Z");

  // Paging backwards, and the filters, as the store answers them.
  j = GetJson("/api/v1/alerts?limit=2");
  ASSERT_EQ(j["alerts"].size(), 2u);
  ASSERT_EQ(j["nextBefore"], changes[1].alert.id);
  j = GetJson("/api/v1/alerts?limit=2&before=" + std::to_string(changes[1].alert.id));
  ASSERT_EQ(j["alerts"].size(), 1u);
  EXPECT_EQ(j["alerts"][0]["kind"], "duplicate");
  EXPECT_TRUE(j["nextBefore"].is_null());
  EXPECT_EQ(GetJson("/api/v1/alerts?state=firing&topic=orders")["alerts"].size(), 2u);
  EXPECT_EQ(GetJson("/api/v1/alerts?state=resolved")["alerts"].size(), 1u);
  EXPECT_EQ(GetJson("/api/v1/alerts?topic=legacy")["alerts"].size(), 0u);
  EXPECT_EQ(GetJson("/api/v1/alerts?since=" + std::to_string(kNowMs - 60'000))["alerts"].size(), 2u);
  EXPECT_EQ(GetJson("/api/v1/alerts?since=2026-11-21T23:51:30Z")["alerts"].size(), 1u);
  EXPECT_EQ(GetJson("/api/v1/alerts?state=open", 400)["error"]["code"], "bad_request");

  // The overview: orders has two firing alerts, the worst critical; legacy none.
  j = GetJson("/api/v1/topics");
  ASSERT_EQ(j["topics"].size(), 2u);
  EXPECT_EQ(j["topics"][1]["topic"], "orders");
  EXPECT_EQ(j["topics"][1]["alerts"], json::parse(R"({"firing": 2, "severity": "critical"})"));
  EXPECT_EQ(j["topics"][0]["alerts"], json::parse(R"({"firing": 0, "severity": null})"));

  auto m = client_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("chaperone_web_requests_total{route=\"/api/v1/alerts\",status=\"200\"}"), std::string::npos);
}

TEST_F(WebApiTest, HostileInputIsRejectedOrHandledVerbatim) {
  // SQL in a topic name: not a topic name.
  json j = GetJson("/api/v1/topics/orders%27%20OR%20%271%27%3D%271/series", 400);
  EXPECT_EQ(j["error"]["code"], "bad_request");
  // SQL in free-form values: bound as parameters, so it matches nothing.
  j = GetJson("/api/v1/topics/orders/series?tier=regional%27%20OR%20%271%27%3D%271&" + Range());
  EXPECT_TRUE(j["series"].empty());
  j = GetJson("/api/v1/topics?q=%27%20OR%201%3D1%20--");
  EXPECT_EQ(j["total"], 0);
  j = GetJson(
      "/api/v1/topics/orders/loss?source=regional&target=aggregate&sourceDatacenters="
      "dc1%27)%3B%20DROP%20TABLE%20windows%3B--&" +
      Range());
  EXPECT_EQ(j["windows"][0]["sourceCount"], 0);
  j = GetJson("/api/v1/emitters?tier=x%27%20OR%20%27a%27%3D%27a");
  EXPECT_TRUE(j["emitters"].empty());
  // The data is intact.
  j = GetJson("/api/v1/topics/orders/series?" + Range());
  EXPECT_EQ(j["series"].size(), 3u);
  // Ranges and times.
  GetJson("/api/v1/topics/orders/series?from=0&to=" + std::to_string(91 * 86400), 400);
  GetJson("/api/v1/topics/orders/series?from=2026-13-45", 400);
  GetJson("/api/v1/topics/orders/series?from=99999999999999999999", 400);
  GetJson("/api/v1/topics/orders/series?from=1795303800&to=1795303200", 400);
  GetJson("/api/v1/topics?limit=100000", 400);
  GetJson("/api/v1/topics/nope/series", 404);
  // Paths.
  GetJson("/assets/../../../etc/passwd", 404);
  GetJson("/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd", 404);
  GetJson("/api/v1/topics/..%2f..%2fetc/series", 404);  // decoded into more path segments: no such route
}

TEST_F(WebApiTest, ConcurrentRequestsGetIdenticalAnswers) {
  const std::string path = "/api/v1/topics/orders/series?" + Range();
  auto first = client_->Get(path);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      httplib::Client c("127.0.0.1", server_->port());
      for (int i = 0; i < 20; ++i) {
        auto r = c.Get(path);
        if (!r || r->status != 200) {
          ++failures;
        } else if (r->body != first->body) {
          ++mismatches;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  auto m = client_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("chaperone_web_requests_total{route=\"/api/v1/topics/{topic}/series\",status=\"200\"} 161"),
            std::string::npos)
      << m->body;
}

TEST_F(WebApiTest, AnUnopenableStoreFailsStart) {
  FakeClock clock(kNowMs);
  WebServerOptions o;
  o.listen = "127.0.0.1:0";
  o.store_url = "sqlite:" + dir_ + "/audit.db/inside-a-file.db";  // a path under a regular file
  o.store_mode = store::OpenMode::kCreate;                          // even a writer cannot create it
  WebServer server(o, clock);
  Status s = server.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(server.port(), 0);
}

TEST_F(WebApiTest, AMissingStoreFailsStartNamingThePathAndCreatesNothing) {
  FakeClock clock(kNowMs);
  WebServerOptions o;
  o.listen = "127.0.0.1:0";
  const std::string path = dir_ + "/mistyped/path.db";
  o.store_url = "sqlite:" + path;
  WebServer server(o, clock);
  Status s = server.Start();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();  // a configuration error: exit code 2
  EXPECT_NE(s.message().find(path + " does not exist"), std::string::npos) << s.message();
  EXPECT_EQ(server.port(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/mistyped"));
}

}  // namespace
}  // namespace chaperone::web
