// The web API end to end without sockets: Api::Handle over an in-memory store.
#include <gtest/gtest.h>

#include "chaperone/latency_sketch.h"

#include <nlohmann/json.hpp>

#include "support/fake_store.h"
#include "support/window_rows.h"
#include "web/api.h"

namespace chaperone::web {
namespace {

using nlohmann::json;
using store::EmitterRow;
using store::WindowRow;

constexpr int64_t kW = 1'795'303'800;           // a window start
constexpr int64_t kNowMs = (kW + 3600) * 1000;  // an hour later: the windows below are final

WindowRow Row(const std::string& topic, const std::string& tier, int64_t window, int64_t count,
              const std::string& dc = "dc1") {
  return testing::TestWindowRow(topic, tier, window, count, dc);
}

const unsigned char kIndex[] = "<!doctype html><title>Chaperone</title>";
const unsigned char kJs[] = "console.log('chaperone')";
const StaticAsset kFiles[] = {
    {"/index.html", "text/html; charset=utf-8", kIndex, sizeof(kIndex) - 1},
    {"/assets/index-4f2a.js", "text/javascript; charset=utf-8", kJs, sizeof(kJs) - 1},
    {"/favicon.svg", "image/svg+xml", kJs, 3},
};

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : store_(std::make_shared<testing::FakeStore>()),
        pool_(store_),
        clock_(kNowMs),
        bundle_(kFiles),
        empty_(std::span<const StaticAsset>()) {
    EXPECT_TRUE(pool_.Start().ok());
    api_ = std::make_unique<Api>(ApiOptions{}, pool_, clock_, bundle_, metrics_);
  }

  HttpResponse Call(const std::string& method, const std::string& path,
                    std::multimap<std::string, std::string> params = {}) {
    return api_->Handle(HttpRequest{method, path, std::move(params)});
  }
  HttpResponse Get(const std::string& path, std::multimap<std::string, std::string> params = {}) {
    return Call("GET", path, std::move(params));
  }
  // GET that must answer `status` with JSON; returns the parsed body.
  json GetJson(const std::string& path, std::multimap<std::string, std::string> params = {}, int status = 200) {
    HttpResponse r = Get(path, std::move(params));
    EXPECT_EQ(r.status, status) << path << ": " << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  // Expects a 400 whose message mentions `needle`.
  void ExpectBadRequest(const std::string& path, std::multimap<std::string, std::string> params,
                        const std::string& needle) {
    json j = GetJson(path, std::move(params), 400);
    EXPECT_EQ(j["error"]["code"], "bad_request");
    EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << j.dump();
  }

  // orders: producer 100 → regional (dc1 60 + dc2 40) → aggregate 98; two windows.
  void AddOrders() {
    for (int64_t w : {kW, kW + 600}) {
      store_->AddWindow(Row("orders", "producer", w, 100));
      store_->AddWindow(Row("orders", "regional", w, 60, "dc1"));
      store_->AddWindow(Row("orders", "regional", w, 40, "dc2"));
      store_->AddWindow(Row("orders", "aggregate", w, w == kW ? 100 : 98));
    }
  }

  std::shared_ptr<testing::FakeStore> store_;
  StorePool pool_;
  FakeClock clock_;
  StaticAssetBundle bundle_;
  StaticAssetBundle empty_;
  WebMetrics metrics_;
  std::unique_ptr<Api> api_;
};

// ---------------------------------------------------------------------------
// /api/v1/topics

TEST_F(ApiTest, TopicsReportsStatusPairsAndLatency) {
  AddOrders();
  store_->AddWindow(Row("payments", "producer", kW, 5));
  store_->AddWindow(Row("payments", "regional", kW, 5));
  json j = GetJson("/api/v1/topics");
  EXPECT_EQ(j["total"], 2);
  EXPECT_EQ(j["windowSec"], 600);
  EXPECT_EQ(j["to"], kNowMs / 1000);
  EXPECT_EQ(j["from"], kNowMs / 1000 - 86400);
  ASSERT_EQ(j["topics"].size(), 2u);
  const json& orders = j["topics"][0];
  EXPECT_EQ(orders["topic"], "orders");
  EXPECT_EQ(orders["status"], "loss");
  EXPECT_EQ(orders["tiers"], json({"producer", "regional", "aggregate"}));
  EXPECT_EQ(orders["lastWindow"], kW + 600);
  EXPECT_EQ(orders["lastFinalWindow"], kW + 600);
  ASSERT_EQ(orders["pairs"].size(), 2u);
  EXPECT_EQ(orders["pairs"][0]["source"], "producer");
  EXPECT_EQ(orders["pairs"][0]["target"], "regional");
  EXPECT_EQ(orders["pairs"][0]["lost"], 0);
  EXPECT_EQ(orders["pairs"][1]["source"], "regional");
  EXPECT_EQ(orders["pairs"][1]["target"], "aggregate");
  EXPECT_EQ(orders["pairs"][1]["lost"], 2);
  EXPECT_EQ(orders["pairs"][1]["duplicated"], 0);
  EXPECT_EQ(orders["pairs"][1]["digestMismatch"], false);
  EXPECT_EQ(orders["p99ByTier"]["producer"], 41);
  EXPECT_EQ(orders["lastUpdatedMs"], (kW + 600 + 650) * 1000);
  EXPECT_EQ(j["topics"][1]["topic"], "payments");
  EXPECT_EQ(j["topics"][1]["status"], "healthy");
}

// The overview's p99 of a window: a tier with one row shows the row's p99 (kept
// in the window totals); a tier with several rows (two datacenters) shows the
// p99 of their merged sketches, read from the rows, never the max of the rows'.
TEST_F(ApiTest, TheOverviewsP99OfAWindowOfSeveralRowsIsMergedFromTheirSketches) {
  LatencySketch fast, slow, both;
  fast.Add(10, 995);
  slow.Add(1000, 5);
  both.Add(10, 995);
  both.Add(1000, 5);
  WindowRow producer = Row("orders", "producer", kW, 1000);
  producer.latency_p99 = 77;
  WindowRow dc1 = Row("orders", "regional", kW, 995, "dc1");
  dc1.latency_sketch = fast.Encode();
  dc1.latency_p99 = fast.Quantile(0.99);
  WindowRow dc2 = Row("orders", "regional", kW, 5, "dc2");
  dc2.latency_sketch = slow.Encode();
  dc2.latency_p99 = slow.Quantile(0.99);
  for (const WindowRow& r : {producer, dc1, dc2}) store_->AddWindow(r);
  json j = GetJson("/api/v1/topics");
  ASSERT_EQ(j["topics"].size(), 1u);
  const json& p99 = j["topics"][0]["p99ByTier"];
  EXPECT_EQ(p99["producer"], 77);
  // 0.5 % of the merged observations are slow: the merged p99 is a fast one
  // (dc2's own p99 is 1000 ms).
  EXPECT_DOUBLE_EQ(p99["regional"].get<double>(), both.Quantile(0.99));
  EXPECT_LT(p99["regional"].get<double>(), 20);
  EXPECT_EQ(j["topics"][0]["pairs"][0]["lost"], 0);
}

TEST_F(ApiTest, TopicsFiltersSortsAndPages) {
  AddOrders();
  for (const char* t : {"payments", "pay.refunds", "audit"}) {
    store_->AddWindow(Row(t, "producer", kW, 5));
    store_->AddWindow(Row(t, "regional", kW, 5));
  }
  store_->AddWindow(Row("ancient", "producer", kW - 10 * 86400, 5));  // nothing in the last 24 h

  json j = GetJson("/api/v1/topics", {{"q", "PAY"}});
  EXPECT_EQ(j["total"], 2);
  EXPECT_EQ(j["topics"][0]["topic"], "pay.refunds");

  j = GetJson("/api/v1/topics", {{"status", "loss"}});
  ASSERT_EQ(j["total"], 1);
  EXPECT_EQ(j["topics"][0]["topic"], "orders");

  j = GetJson("/api/v1/topics", {{"status", "no_data"}});
  ASSERT_EQ(j["total"], 1);
  EXPECT_EQ(j["topics"][0]["topic"], "ancient");
  EXPECT_EQ(j["topics"][0]["lastWindow"], kW - 10 * 86400);  // last seen long ago
  EXPECT_EQ(j["topics"][0]["lastFinalWindow"], nullptr);

  j = GetJson("/api/v1/topics", {{"sort", "-status"}, {"limit", "2"}});
  EXPECT_EQ(j["total"], 5);
  ASSERT_EQ(j["topics"].size(), 2u);
  EXPECT_EQ(j["topics"][0]["topic"], "orders");   // loss first
  EXPECT_EQ(j["topics"][1]["topic"], "ancient");  // then no_data, then the healthy ones

  j = GetJson("/api/v1/topics", {{"sort", "-topic"}, {"limit", "2"}, {"offset", "1"}});
  EXPECT_EQ(j["total"], 5);
  ASSERT_EQ(j["topics"].size(), 2u);
  EXPECT_EQ(j["topics"][0]["topic"], "pay.refunds");  // after "payments"
  EXPECT_EQ(j["topics"][1]["topic"], "orders");

  j = GetJson("/api/v1/topics", {{"offset", "100"}});
  EXPECT_EQ(j["total"], 5);
  EXPECT_TRUE(j["topics"].empty());

  j = GetJson("/api/v1/topics", {{"from", std::to_string(kW - 11 * 86400)}, {"to", std::to_string(kW - 9 * 86400)}});
  EXPECT_EQ(j["topics"][0]["topic"], "ancient");
  EXPECT_EQ(j["topics"][0]["status"], "healthy");
}

TEST_F(ApiTest, TopicsRejectsBadParameters) {
  ExpectBadRequest("/api/v1/topics", {{"limit", "10001"}}, "limit");
  ExpectBadRequest("/api/v1/topics", {{"limit", "0"}}, "limit");
  ExpectBadRequest("/api/v1/topics", {{"limit", "ten"}}, "limit");
  ExpectBadRequest("/api/v1/topics", {{"offset", "-1"}}, "offset");
  ExpectBadRequest("/api/v1/topics", {{"offset", "99999999999999999999999"}}, "offset");
  ExpectBadRequest("/api/v1/topics", {{"sort", "name"}}, "sort");
  ExpectBadRequest("/api/v1/topics", {{"status", "broken"}}, "status");
  ExpectBadRequest("/api/v1/topics", {{"colour", "red"}}, "unknown parameter 'colour'");
  ExpectBadRequest("/api/v1/topics", {{"limit", "1"}, {"limit", "2"}}, "more than once");
  ExpectBadRequest("/api/v1/topics", {{"q", std::string(300, 'a')}}, "q");
  ExpectBadRequest("/api/v1/topics", {{"from", "2026-02-30"}}, "from");
  EXPECT_EQ(store_->reads(), 0);  // rejected before touching the store
}

TEST_F(ApiTest, TheTopicListIsReusedBrieflyAndNewTopicsAppear) {
  AddOrders();
  EXPECT_EQ(GetJson("/api/v1/topics")["total"], 1);
  store_->AddWindow(Row("late", "producer", kW, 1));
  int64_t reads = store_->reads();
  EXPECT_EQ(GetJson("/api/v1/topics")["total"], 1);  // the cached list
  EXPECT_EQ(store_->reads() - reads, 3);             // emitters, orders' windows, firing alerts: no listing
  clock_.AdvanceMs(15'001);
  EXPECT_EQ(GetJson("/api/v1/topics")["total"], 2);
  // An unknown name refreshes the list at most every 5 s.
  store_->AddWindow(Row("later", "producer", kW - 86400 * 30, 1));  // outside the default range
  EXPECT_EQ(GetJson("/api/v1/topics/later/series", {}, 404)["error"]["code"], "not_found");
  clock_.AdvanceMs(5'001);
  EXPECT_TRUE(GetJson("/api/v1/topics/later/series")["series"].empty());
}

// ---------------------------------------------------------------------------
// /api/v1/topics/{topic}/series

TEST_F(ApiTest, SeriesMergesDatacentersPerTier) {
  AddOrders();
  json j = GetJson("/api/v1/topics/orders/series", {{"from", std::to_string(kW)}, {"to", std::to_string(kW + 1200)}});
  EXPECT_EQ(j["topic"], "orders");
  EXPECT_EQ(j["windowSec"], 600);
  EXPECT_EQ(j["from"], kW);
  EXPECT_EQ(j["to"], kW + 1200);
  ASSERT_EQ(j["series"].size(), 3u);
  EXPECT_EQ(j["series"][0]["tier"], "producer");
  EXPECT_EQ(j["series"][0]["datacenter"], nullptr);
  const json& regional = j["series"][1];
  EXPECT_EQ(regional["tier"], "regional");
  ASSERT_EQ(regional["points"].size(), 2u);
  const json& p = regional["points"][0];
  EXPECT_EQ(p["window"], kW);
  EXPECT_EQ(p["count"], 100);
  EXPECT_EQ(p["bytes"], 1000);
  EXPECT_EQ(p["noTime"], 0);
  EXPECT_EQ(p["malformed"], 0);
  EXPECT_EQ(p["records"], 4);
  EXPECT_EQ(p["final"], true);
  EXPECT_EQ(p["latencyUpperBound"], true);  // two legacy-style rows (no sketches) merged
  EXPECT_EQ(p["p99"], 41);
  char digest[17];
  std::snprintf(digest, sizeof(digest), "%016llx", static_cast<unsigned long long>(100ULL * 1000003));
  EXPECT_EQ(p["digest"], digest);
  EXPECT_EQ(j["series"][2]["tier"], "aggregate");
  EXPECT_EQ(j["series"][2]["points"][1]["count"], 98);
}

TEST_F(ApiTest, SeriesGroupsByDatacenterAndFiltersTiers) {
  AddOrders();
  json j = GetJson("/api/v1/topics/orders/series",
                   {{"groupBy", "tier,datacenter"}, {"tier", "regional"}, {"tier", "aggregate"}});
  ASSERT_EQ(j["series"].size(), 3u);
  EXPECT_EQ(j["series"][0]["tier"], "regional");
  EXPECT_EQ(j["series"][0]["datacenter"], "dc1");
  EXPECT_EQ(j["series"][0]["points"][0]["count"], 60);
  EXPECT_EQ(j["series"][0]["points"][0]["latencyUpperBound"], false);  // one row: stored values
  EXPECT_EQ(j["series"][1]["datacenter"], "dc2");
  EXPECT_EQ(j["series"][1]["points"][0]["count"], 40);
  EXPECT_EQ(j["series"][2]["tier"], "aggregate");

  j = GetJson("/api/v1/topics/orders/series", {{"tier", "producer"}});
  ASSERT_EQ(j["series"].size(), 1u);
  EXPECT_EQ(j["series"][0]["tier"], "producer");
  j = GetJson("/api/v1/topics/orders/series", {{"tier", "no-such-tier"}});
  EXPECT_TRUE(j["series"].empty());
}

TEST_F(ApiTest, SeriesShowsUnknownValuesAsNull) {
  WindowRow r = Row("legacy", "producer", kW, 7);
  r.bytes_known = false;
  r.digest_known = false;
  r.latency_mean = r.latency_p50 = r.latency_p95 = r.latency_p99 = r.latency_max = 0;
  store_->AddWindow(r);
  json j = GetJson("/api/v1/topics/legacy/series");
  const json& p = j["series"][0]["points"][0];
  EXPECT_EQ(p["count"], 7);
  EXPECT_EQ(p["bytes"], nullptr);
  EXPECT_EQ(p["digest"], nullptr);
  EXPECT_EQ(p["p99"], nullptr);
  EXPECT_EQ(p["mean"], nullptr);
}

TEST_F(ApiTest, SeriesMarksWindowsFinalFromHeartbeats) {
  AddOrders();
  EmitterRow e;
  e.emitter_id = "p-1";
  e.tier = "producer";
  e.datacenter = "dc1";
  e.watermark_ms = (kW + 600 + 60) * 1000;  // first window final, second not
  e.last_seen_ms = kNowMs;
  store_->AddEmitter(e);
  json j = GetJson("/api/v1/topics/orders/series", {{"tier", "producer"}});
  EXPECT_EQ(j["series"][0]["points"][0]["final"], true);
  EXPECT_EQ(j["series"][0]["points"][1]["final"], false);
}

TEST_F(ApiTest, SeriesOfAnUnknownTopicIs404AndOfAQuietTopicIsEmpty) {
  AddOrders();
  json j = GetJson("/api/v1/topics/nope/series", {}, 404);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("nope"), std::string::npos);
  j = GetJson("/api/v1/topics/orders/series", {{"from", "1000000000"}, {"to", "1000003600"}});
  EXPECT_TRUE(j["series"].empty());
}

TEST_F(ApiTest, SeriesRejectsHostileInput) {
  AddOrders();
  ExpectBadRequest("/api/v1/topics/orders'; DROP TABLE windows; --/series", {}, "invalid topic name");
  ExpectBadRequest("/api/v1/topics/" + std::string(250, 'a') + "/series", {}, "invalid topic name");
  ExpectBadRequest("/api/v1/topics//series", {}, "invalid topic name");
  ExpectBadRequest("/api/v1/topics/orders/series", {{"groupBy", "datacenter"}}, "groupBy");
  ExpectBadRequest("/api/v1/topics/orders/series", {{"from", "0"}, {"to", "99999999999"}}, "90 days");
  ExpectBadRequest("/api/v1/topics/orders/series", {{"from", "tomorrow"}}, "from");
  ExpectBadRequest("/api/v1/topics/orders/series", {{"from", "1795303800"}, {"to", "1795300000"}}, "before");
  ExpectBadRequest("/api/v1/topics/orders/series", {{"tier", std::string("a\0b", 3)}}, "tier");
  ExpectBadRequest("/api/v1/topics/orders/series", {{"tier", ""}}, "tier");
}

// ---------------------------------------------------------------------------
// /api/v1/topics/{topic}/loss

TEST_F(ApiTest, LossComparesTargetToTheSumOfTheSource) {
  AddOrders();
  json j = GetJson("/api/v1/topics/orders/loss", {{"source", "regional"}, {"target", "aggregate"}});
  EXPECT_EQ(j["source"], "regional");
  EXPECT_EQ(j["target"], "aggregate");
  EXPECT_EQ(j["sourceDatacenters"], nullptr);
  ASSERT_EQ(j["windows"].size(), 2u);
  const json& w0 = j["windows"][0];
  EXPECT_EQ(w0["window"], kW);
  EXPECT_EQ(w0["sourceCount"], 100);
  EXPECT_EQ(w0["targetCount"], 100);
  EXPECT_EQ(w0["lost"], 0);
  EXPECT_EQ(w0["digestMatch"], true);  // 60 + 40 hashed like 100 in this fixture
  const json& w1 = j["windows"][1];
  EXPECT_EQ(w1["lost"], 2);
  EXPECT_EQ(w1["duplicated"], 0);
  EXPECT_DOUBLE_EQ(w1["lossRatio"].get<double>(), 0.02);
  EXPECT_EQ(w1["digestMatch"], false);
  EXPECT_EQ(w1["final"], true);
  EXPECT_EQ(j["summary"]["finalWindows"], 2);
  EXPECT_EQ(j["summary"]["lost"], 2);

  j = GetJson("/api/v1/topics/orders/loss",
              {{"source", "regional"}, {"target", "aggregate"}, {"sourceDatacenters", "dc1"}});
  EXPECT_EQ(j["sourceDatacenters"], json({"dc1"}));
  EXPECT_EQ(j["windows"][0]["sourceCount"], 60);
  EXPECT_EQ(j["windows"][0]["duplicated"], 40);

  j = GetJson("/api/v1/topics/orders/loss",
              {{"source", "regional"}, {"target", "aggregate"}, {"targetDatacenters", "dc9"}});
  EXPECT_EQ(j["windows"][0]["targetCount"], 0);
  EXPECT_EQ(j["windows"][0]["lost"], 100);
}

TEST_F(ApiTest, LossValidatesItsParameters) {
  AddOrders();
  ExpectBadRequest("/api/v1/topics/orders/loss", {{"target", "aggregate"}}, "'source' is required");
  ExpectBadRequest("/api/v1/topics/orders/loss", {{"source", "regional"}}, "'target' is required");
  ExpectBadRequest("/api/v1/topics/orders/loss", {{"source", "a"}, {"target", "a"}}, "different");
  ExpectBadRequest("/api/v1/topics/orders/loss", {{"source", "a"}, {"target", "b"}, {"sourceDatacenters", "dc1,,dc2"}},
                   "sourceDatacenters");
  ExpectBadRequest("/api/v1/topics/orders/loss", {{"source", "a"}, {"target", "b"}, {"targetDatacenters", ""}},
                   "targetDatacenters");
  json j = GetJson("/api/v1/topics/nope/loss", {{"source", "a"}, {"target", "b"}}, 404);
  EXPECT_EQ(j["error"]["code"], "not_found");
}

// ---------------------------------------------------------------------------
// /api/v1/topics/{topic}/windows/{window}/partitions

TEST_F(ApiTest, PartitionsListCountsAndOffsetsPerCluster) {
  AddOrders();
  auto part = [](int32_t p, int64_t count, int64_t first, int64_t last, const std::string& cluster = "regional") {
    store::PartitionRow r;
    r.topic = "orders";
    r.tier = "regional";
    r.datacenter = "dc1";
    r.cluster = cluster;
    r.window_begin_sec = kW;
    r.partition = p;
    r.count = count;
    r.first_offset = first;
    r.last_offset = last;
    return r;
  };
  store_->AddPartition(part(1, 20, 500, 519));
  store_->AddPartition(part(0, 30, 1000, 1029));
  store_->AddPartition(part(0, 10, 1030, 1039));  // a second stored row of the same partition
  json j = GetJson("/api/v1/topics/orders/windows/" + std::to_string(kW) + "/partitions", {{"tier", "regional"}});
  EXPECT_EQ(j["tier"], "regional");
  EXPECT_EQ(j["window"], kW);
  ASSERT_EQ(j["partitions"].size(), 2u);
  EXPECT_EQ(j["partitions"][0]["partition"], 0);
  EXPECT_EQ(j["partitions"][0]["count"], 40);
  EXPECT_EQ(j["partitions"][0]["firstOffset"], 1000);
  EXPECT_EQ(j["partitions"][0]["lastOffset"], 1039);
  EXPECT_EQ(j["partitions"][0]["cluster"], "regional");
  EXPECT_EQ(j["partitions"][1]["partition"], 1);
  // The window may be given as ISO-8601 too.
  j = GetJson("/api/v1/topics/orders/windows/2026-11-21T23:30:00Z/partitions", {{"tier", "regional"}});
  EXPECT_EQ(j["window"], kW);
  EXPECT_EQ(j["partitions"].size(), 2u);
}

TEST_F(ApiTest, PartitionsValidatesItsParameters) {
  AddOrders();
  std::string path = "/api/v1/topics/orders/windows/" + std::to_string(kW) + "/partitions";
  ExpectBadRequest(path, {}, "'tier' is required");
  ExpectBadRequest("/api/v1/topics/orders/windows/soon/partitions", {{"tier", "regional"}}, "window");
  ExpectBadRequest("/api/v1/topics/orders/windows/-600/partitions", {{"tier", "regional"}}, "window");
  json j = GetJson("/api/v1/topics/nope/windows/" + std::to_string(kW) + "/partitions", {{"tier", "x"}}, 404);
  EXPECT_EQ(j["error"]["code"], "not_found");
  j = GetJson(path, {{"tier", "regional"}});
  EXPECT_TRUE(j["partitions"].empty());
}

// ---------------------------------------------------------------------------
// /api/v1/emitters and /api/v1/finality

void AddEmitters(testing::FakeStore& s) {
  auto e = [](const std::string& id, const std::string& tier, int64_t watermark_ms, int64_t seen_ms) {
    EmitterRow r;
    r.emitter_id = id;
    r.tier = tier;
    r.datacenter = "dc1";
    r.cluster = "c";
    r.hostname = id + ".example";
    r.last_seq = 42;
    r.watermark_ms = watermark_ms;
    r.window_sec = 600;
    r.last_seen_ms = seen_ms;
    r.dropped_records = 1;
    return r;
  };
  s.AddEmitter(e("r-1", "regional", (kW + 700) * 1000, kNowMs - 1000));
  s.AddEmitter(e("p-1", "producer", (kW + 1300) * 1000, kNowMs - 1000));
  s.AddEmitter(e("p-2", "producer", (kW + 100) * 1000, kNowMs - 600'000));  // stale
}

TEST_F(ApiTest, EmittersReportCoverageAndStaleness) {
  AddEmitters(*store_);
  json j = GetJson("/api/v1/emitters");
  ASSERT_EQ(j["emitters"].size(), 3u);
  EXPECT_EQ(j["staleAfterMs"], 180000);
  EXPECT_EQ(j["stale"], 1);
  EXPECT_EQ(j["emitters"][0]["emitterId"], "p-1");  // producer before regional
  EXPECT_EQ(j["emitters"][0]["stale"], false);
  EXPECT_EQ(j["emitters"][1]["emitterId"], "p-2");
  EXPECT_EQ(j["emitters"][1]["stale"], true);
  EXPECT_EQ(j["emitters"][2]["tier"], "regional");
  EXPECT_EQ(j["emitters"][2]["hostname"], "r-1.example");
  EXPECT_EQ(j["emitters"][2]["lastSeq"], 42);
  EXPECT_EQ(j["emitters"][2]["droppedRecords"], 1);
  j = GetJson("/api/v1/emitters", {{"tier", "regional"}});
  EXPECT_EQ(j["emitters"].size(), 1u);
  ExpectBadRequest("/api/v1/emitters", {{"tier", "a,b"}}, "tier");
}

TEST_F(ApiTest, FinalityListsTheLastFinalAndTheOpenWindowsPerTier) {
  AddOrders();
  AddEmitters(*store_);
  json j = GetJson("/api/v1/finality", {{"topic", "orders"}});
  EXPECT_EQ(j["graceSec"], 60);
  ASSERT_EQ(j["tiers"].size(), 3u);
  const json& producer = j["tiers"][0];
  EXPECT_EQ(producer["tier"], "producer");
  EXPECT_EQ(producer["basis"], "heartbeat");
  EXPECT_EQ(producer["watermarkMs"], (kW + 1300) * 1000);  // the stale p-2 does not hold it back
  EXPECT_EQ(producer["emitters"], 2);
  EXPECT_EQ(producer["staleEmitters"], 1);
  EXPECT_EQ(producer["lastFinalWindow"], kW + 600);
  EXPECT_TRUE(producer["openWindows"].empty());
  const json& regional = j["tiers"][1];
  EXPECT_EQ(regional["lastFinalWindow"], kW);
  EXPECT_EQ(regional["openWindows"], json({kW + 600}));
  const json& aggregate = j["tiers"][2];
  EXPECT_EQ(aggregate["basis"], "wall_clock");
  EXPECT_EQ(aggregate["watermarkMs"], nullptr);
  EXPECT_EQ(aggregate["lastFinalWindow"], kW + 600);

  ExpectBadRequest("/api/v1/finality", {}, "'topic' is required");
  ExpectBadRequest("/api/v1/finality", {{"topic", "../etc"}}, "invalid topic name");
  ExpectBadRequest("/api/v1/finality", {{"topic", ".."}}, "invalid topic name '..' ('.' and '..' are not topic names)");
  EXPECT_EQ(GetJson("/api/v1/finality", {{"topic", "nope"}}, 404)["error"]["code"], "not_found");
}

// ---------------------------------------------------------------------------
// /api/v1/quarantine

TEST_F(ApiTest, QuarantineShowsRejectedRecordsNewestFirst) {
  for (int i = 1; i <= 5; ++i) {
    store::QuarantineRow q;
    q.id = i;
    q.received_ms = kNowMs - 1000 * (10 - i);
    q.reason = "count: must be >= 0";
    q.raw = i == 5 ? std::string("{\"count\": -1, \"bad\": \"\xff\xfe\"}") : "{}";
    q.source = "chaperone-audit/0@" + std::to_string(i);
    store_->AddQuarantine(q);
  }
  json j = GetJson("/api/v1/quarantine", {{"limit", "2"}});
  EXPECT_EQ(j["total"], 5);
  ASSERT_EQ(j["records"].size(), 2u);
  EXPECT_EQ(j["records"][0]["id"], 5);
  EXPECT_EQ(j["records"][0]["reason"], "count: must be >= 0");
  EXPECT_EQ(j["records"][0]["source"], "chaperone-audit/0@5");
  EXPECT_NE(j["records"][0]["raw"].get<std::string>().find("\"count\": -1"), std::string::npos);
  EXPECT_EQ(GetJson("/api/v1/quarantine")["records"].size(), 5u);
  ExpectBadRequest("/api/v1/quarantine", {{"limit", "1001"}}, "limit");
}

// ---------------------------------------------------------------------------
// /api/v1/alerts, and the firing alerts on the overview

store::AlertRow Alert(const std::string& topic, const std::string& kind, const std::string& state,
                      const std::string& severity, int64_t updated_ms) {
  store::AlertRow a;
  a.fingerprint = "7a314cbfd450fe3a";
  a.topic = topic;
  a.source_tier = "producer";
  a.target_tier = "regional";
  a.kind = kind;
  a.state = state;
  a.severity = severity;
  a.starts_ms = kW * 1000 + 1200'000;
  a.ends_ms = state == "resolved" ? updated_ms : 0;
  a.updated_ms = updated_ms;
  a.lost = 42;
  a.windows = 3;
  a.source_messages = 300;
  a.first_window_sec = kW;
  a.last_window_sec = kW + 1200;
  return a;
}

TEST_F(ApiTest, AlertsListEveryFieldNewestFirst) {
  store::AlertRow loss = Alert("orders", "loss", "firing", "critical", kNowMs - 5000);
  loss.datacenter = "dc1";
  loss.updated_ms = kNowMs - 4877;  // milliseconds are kept
  store_->AddAlert(loss);
  store::AlertRow dup = Alert("payments", "duplicate", "resolved", "warning", kNowMs - 1000);
  dup.lost = 0;
  dup.duplicated = 7;
  store_->AddAlert(dup);

  json j = GetJson("/api/v1/alerts");
  ASSERT_EQ(j["alerts"].size(), 2u);
  EXPECT_TRUE(j["nextBefore"].is_null());
  EXPECT_EQ(j["alerts"][0]["id"], 2);  // newest first
  EXPECT_EQ(j["alerts"][0]["state"], "resolved");
  EXPECT_EQ(j["alerts"][0]["endsAt"], "2026-11-22T00:29:59Z");
  EXPECT_TRUE(j["alerts"][0]["datacenter"].is_null());
  EXPECT_EQ(j["alerts"][0]["duplicated"], 7);
  const json& a = j["alerts"][1];
  EXPECT_EQ(a, json::parse(R"({
    "id": 1, "fingerprint": "7a314cbfd450fe3a", "topic": "orders", "sourceTier": "producer",
    "targetTier": "regional", "kind": "loss", "datacenter": "dc1", "state": "firing", "severity": "critical",
    "startsAt": "2026-11-21T23:50:00Z", "endsAt": null, "updatedAt": "2026-11-22T00:29:55.123Z",
    "lost": 42, "duplicated": 0, "windows": 3, "sourceMessages": 300,
    "firstWindow": 1795303800, "lastWindow": 1795305000,
    "firstWindowStart": "2026-11-21T23:30:00Z", "lastWindowStart": "2026-11-21T23:50:00Z",
    "dashboardPath": "#/topic/orders?range=custom&from=1795300200&to=1795309200&w=1795303800"})"))
      << a.dump();
}

TEST_F(ApiTest, AlertsFilterByStateTopicAndUpdateTime) {
  store_->AddAlert(Alert("orders", "loss", "resolved", "warning", kNowMs - 60'000));   // 1
  store_->AddAlert(Alert("orders", "loss", "firing", "critical", kNowMs - 30'000));    // 2
  store_->AddAlert(Alert("payments", "digest_mismatch", "firing", "info", kNowMs));  // 3
  auto ids = [&](std::multimap<std::string, std::string> params) {
    std::vector<int64_t> out;
    json j = GetJson("/api/v1/alerts", std::move(params));
    for (const json& a : j["alerts"]) out.push_back(a["id"]);
    return out;
  };
  EXPECT_EQ(ids({{"state", "firing"}}), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(ids({{"state", "resolved"}}), (std::vector<int64_t>{1}));
  EXPECT_EQ(ids({{"topic", "orders"}}), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(ids({{"topic", "orders"}, {"state", "firing"}}), (std::vector<int64_t>{2}));
  EXPECT_EQ(ids({{"topic", "unknown-topic"}}), (std::vector<int64_t>{}));  // a filter: no 404
  // Updated at or after `since`: RFC 3339, epoch milliseconds or epoch seconds.
  EXPECT_EQ(ids({{"since", std::to_string(kNowMs - 30'000)}}), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(ids({{"since", std::to_string(kNowMs - 29'999)}}), (std::vector<int64_t>{3}));
  EXPECT_EQ(ids({{"since", std::to_string(kNowMs / 1000 - 30)}}), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(ids({{"since", "2026-11-22T00:29:30Z"}}), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(ids({{"since", "2026-11-22T00:29:30.001Z"}}), (std::vector<int64_t>{3}));
}

TEST_F(ApiTest, AlertsPageBackwardsWithTheNextBeforeCursor) {
  for (int i = 0; i < 5; ++i) store_->AddAlert(Alert("orders", "loss", "resolved", "warning", kNowMs - i));
  json j = GetJson("/api/v1/alerts", {{"limit", "2"}});
  ASSERT_EQ(j["alerts"].size(), 2u);
  EXPECT_EQ(j["alerts"][0]["id"], 5);
  EXPECT_EQ(j["alerts"][1]["id"], 4);
  EXPECT_EQ(j["nextBefore"], 4);
  j = GetJson("/api/v1/alerts", {{"limit", "2"}, {"before", "4"}});
  EXPECT_EQ(j["alerts"][0]["id"], 3);
  EXPECT_EQ(j["nextBefore"], 2);
  j = GetJson("/api/v1/alerts", {{"limit", "2"}, {"before", "2"}});
  ASSERT_EQ(j["alerts"].size(), 1u);
  EXPECT_EQ(j["alerts"][0]["id"], 1);
  EXPECT_TRUE(j["nextBefore"].is_null());  // the last page
  j = GetJson("/api/v1/alerts", {{"limit", "5"}});
  EXPECT_EQ(j["alerts"].size(), 5u);
  EXPECT_TRUE(j["nextBefore"].is_null());  // exactly a page: nothing after it
  EXPECT_EQ(GetJson("/api/v1/alerts")["alerts"].size(), 5u);
}

TEST_F(ApiTest, AlertsRejectBadParameters) {
  ExpectBadRequest("/api/v1/alerts", {{"state", "open"}}, "state: expected 'firing' or 'resolved'");
  ExpectBadRequest("/api/v1/alerts", {{"state", "firing"}, {"state", "resolved"}}, "given more than once");
  ExpectBadRequest("/api/v1/alerts", {{"topic", "a/b"}}, "topic: invalid topic name");
  ExpectBadRequest("/api/v1/alerts", {{"limit", "0"}}, "limit: '0' is out of range [1, 1000]");
  ExpectBadRequest("/api/v1/alerts", {{"limit", "1001"}}, "limit");
  ExpectBadRequest("/api/v1/alerts", {{"before", "0"}}, "before: '0' is out of range");
  ExpectBadRequest("/api/v1/alerts", {{"before", "x"}}, "before: 'x' is not an integer");
  ExpectBadRequest("/api/v1/alerts", {{"since", "yesterday"}}, "since: malformed time 'yesterday'");
  ExpectBadRequest("/api/v1/alerts", {{"since", "-5"}}, "since: time '-5' is before 1970");
  ExpectBadRequest("/api/v1/alerts", {{"since", "99999999999999999"}},
                   "since: time '99999999999999999' is out of range");
  ExpectBadRequest("/api/v1/alerts", {{"sort", "id"}}, "unknown parameter 'sort'");
  EXPECT_EQ(store_->reads(), 0);  // every parameter is checked before the store is read
}

TEST_F(ApiTest, AlertsOfAFailingStoreAre503) {
  store_->FailReads(Status::Unavailable("database is locked"));
  json j = GetJson("/api/v1/alerts", {}, 503);
  EXPECT_EQ(j["error"]["code"], "store_unavailable");
  EXPECT_EQ(metrics_.store_errors(), 1);
  EXPECT_EQ(metrics_.requests("/api/v1/alerts", 503), 1);
  store_->FailReads(Status::Ok());
  GetJson("/api/v1/alerts");
  EXPECT_EQ(metrics_.requests("/api/v1/alerts", 200), 1);
  EXPECT_EQ(Call("POST", "/api/v1/alerts").status, 405);
}

TEST_F(ApiTest, TheOverviewCountsEachTopicsFiringAlertsWithTheWorstSeverity) {
  AddOrders();
  store_->AddWindow(Row("payments", "producer", kW, 5));
  store_->AddWindow(Row("payments", "regional", kW, 5));
  store_->AddAlert(Alert("orders", "loss", "firing", "warning", kNowMs));
  store_->AddAlert(Alert("orders", "duplicate", "firing", "critical", kNowMs));
  store_->AddAlert(Alert("orders", "digest_mismatch", "firing", "info", kNowMs));
  store_->AddAlert(Alert("payments", "loss", "resolved", "critical", kNowMs));  // history only
  json j = GetJson("/api/v1/topics");
  ASSERT_EQ(j["topics"].size(), 2u);
  EXPECT_EQ(j["topics"][0]["alerts"], json::parse(R"({"firing": 3, "severity": "critical"})"));
  EXPECT_EQ(j["topics"][1]["alerts"], json::parse(R"({"firing": 0, "severity": null})"));
  // One read of the firing alerts per overview, not one per topic.
  for (int i = 0; i < 20; ++i) store_->AddWindow(Row("topic-" + std::to_string(i), "producer", kW, 5));
  clock_.AdvanceMs(60'000);  // past the topic listing's reuse
  int64_t queries = store_->alert_queries();
  j = GetJson("/api/v1/topics");
  EXPECT_EQ(j["topics"].size(), 22u);
  EXPECT_EQ(store_->alert_queries() - queries, 1);
  j = GetJson("/api/v1/topics", {{"q", "nothing-matches"}});
  EXPECT_EQ(store_->alert_queries() - queries, 1);  // an empty page reads none
}

// ---------------------------------------------------------------------------
// Store failures, /health, /metrics

TEST_F(ApiTest, AStoreFailureIs503AndCounted) {
  AddOrders();
  store_->FailReads(Status::Unavailable("database is locked"));
  json j = GetJson("/api/v1/topics/orders/series", {}, 503);
  EXPECT_EQ(j["error"]["code"], "store_unavailable");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("database is locked"), std::string::npos);
  // /health is the endpoint's (WebServer): Api gives the verdict.
  http::HealthVerdict h = api_->Health();
  EXPECT_EQ(h.http_status(), 503);
  j = json::parse(h.ToJson());
  EXPECT_EQ(j["status"], "unavailable");
  EXPECT_NE(j["error"].get<std::string>().find("database is locked"), std::string::npos);
  EXPECT_EQ(metrics_.store_errors(), 2);
  store_->FailReads(Status::Ok());
  h = api_->Health();
  EXPECT_EQ(h.http_status(), 200);
  j = json::parse(h.ToJson());
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["store"], "fake");
  EXPECT_EQ(j["schemaVersion"], 1);
  GetJson("/api/v1/topics/orders/series");
}

TEST_F(ApiTest, MetricsCountRequestsByRoutePatternAndStatus) {
  AddOrders();
  GetJson("/api/v1/topics/orders/series");
  GetJson("/api/v1/topics/payments/series", {}, 404);
  GetJson("/api/v1/topics/orders/series", {{"from", "x"}}, 400);
  GetJson("/nowhere.txt", {}, 404);
  EXPECT_EQ(metrics_.requests("/api/v1/topics/{topic}/series", 200), 1);
  EXPECT_EQ(metrics_.requests("/api/v1/topics/{topic}/series", 404), 1);
  EXPECT_EQ(metrics_.requests("/api/v1/topics/{topic}/series", 400), 1);
  // /metrics is the endpoint's (WebServer): it serves this text.
  std::string m = metrics_.RenderPrometheus();
  EXPECT_NE(m.find("chaperone_web_requests_total{route=\"/api/v1/topics/{topic}/series\",status=\"200\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("chaperone_web_request_duration_seconds_count{route=\"/api/v1/topics/{topic}/series\"} 3"),
            std::string::npos);
  EXPECT_NE(m.find("chaperone_web_store_errors_total 0"), std::string::npos);
  EXPECT_EQ(m.find("orders"), std::string::npos);  // raw paths never become labels
}

// ---------------------------------------------------------------------------
// Routing

TEST_F(ApiTest, UnknownRoutesAre404JsonAndWrongMethods405) {
  json j = GetJson("/api/v1/nothing", {}, 404);
  EXPECT_EQ(j["error"]["code"], "not_found");
  GetJson("/api/v2/topics", {}, 404);
  GetJson("/api/v1/topics/orders/series/extra", {}, 404);
  GetJson("/api", {}, 404);
  HttpResponse r = Call("POST", "/api/v1/topics");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "method_not_allowed");
  bool allow = false;
  for (const auto& [k, v] : r.headers) allow |= k == "Allow" && v == "GET, HEAD";
  EXPECT_TRUE(allow);
  EXPECT_EQ(Call("DELETE", "/api/v1/topics/orders/series").status, 405);
  EXPECT_EQ(Call("PUT", "/").status, 405);
  EXPECT_EQ(Call("HEAD", "/api/v1/topics").status, 200);
  EXPECT_EQ(Get("/api/v1/topics/").status, 200);  // one trailing slash is tolerated
}

TEST_F(ApiTest, ApiResponsesAreNotCached) {
  HttpResponse r = Get("/api/v1/topics");
  bool no_store = false;
  for (const auto& [k, v] : r.headers) no_store |= k == "Cache-Control" && v == "no-store";
  EXPECT_TRUE(no_store);
}

// ---------------------------------------------------------------------------
// The dashboard

std::string Header(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST_F(ApiTest, ServesTheDashboardAndItsAssets) {
  HttpResponse r = Get("/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, reinterpret_cast<const char*>(kIndex));
  EXPECT_EQ(Header(r, "Cache-Control"), "no-cache");
  r = Get("/assets/index-4f2a.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Header(r, "Cache-Control"), "public, max-age=31536000, immutable");
  r = Get("/favicon.svg");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "image/svg+xml");
}

TEST_F(ApiTest, ClientSideRoutesServeIndexButMissingFilesAre404) {
  HttpResponse r = Get("/topics/orders");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, reinterpret_cast<const char*>(kIndex));
  EXPECT_EQ(Get("/assets/missing.js").status, 404);
  EXPECT_EQ(Get("/assets/other").status, 404);
  EXPECT_EQ(Get("/robots.txt").status, 404);
  for (const char* hostile : {"/assets/../../etc/passwd", "/../etc/passwd", "/assets/..%2f..%2fetc%2fpasswd",
                              "/assets//index-4f2a.js", "/assets\\..\\x", "/a\x01"}) {
    HttpResponse h = Get(hostile);
    EXPECT_EQ(h.status, 404) << hostile;
    EXPECT_EQ(json::parse(h.body)["error"]["code"], "not_found");
  }
}

TEST_F(ApiTest, WithoutABuiltDashboardTheRootSaysSo) {
  Api bare(ApiOptions{}, pool_, clock_, empty_, metrics_);
  HttpResponse r = bare.Handle(HttpRequest{"GET", "/", {}});
  EXPECT_EQ(r.status, 404);
  json j = json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], "not_found");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("dashboard was not built"), std::string::npos);
  EXPECT_EQ(bare.Handle(HttpRequest{"GET", "/topics/orders", {}}).status, 404);
  EXPECT_EQ(bare.Health().http_status(), 200);
}

}  // namespace
}  // namespace chaperone::web
