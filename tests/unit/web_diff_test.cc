// GET /api/v1/topics/{topic}/windows/{window}/diff without sockets or Kafka:
// Api::Handle over an in-memory store whose partition rows name offsets, and
// in-memory clusters holding the messages at those offsets. What the answer
// must list is written down here, message by message: the regional tier has
// k-0..k-9, the aggregate tier lost k-3 and has k-5 twice.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "lib/util/base64.h"
#include "support/fake_store.h"
#include "support/window_rows.h"
#include "web/api.h"

namespace chaperone::web {
namespace {

using nlohmann::json;

constexpr int64_t kW = 1'795'303'800;           // a window start (600 s windows)
constexpr int64_t kNowMs = (kW + 3600) * 1000;  // an hour later

struct StoredMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key, value;
};

// One cluster's messages of the topic, read as a kafka::SpanReader.
class FakeCluster final : public kafka::SpanReader {
 public:
  std::vector<StoredMessage> messages;
  Status fail;                                   // Read fails with it (OK: reads)
  std::function<void(const StoredMessage&)> on_each;  // before each message is handed over
  int reads = 0;

  Status QueryWatermarks(const std::string&, int32_t partition, int64_t* low, int64_t* high,
                         std::chrono::milliseconds) override {
    *low = 0;
    *high = 0;
    for (const auto& m : messages)
      if (m.partition == partition) *high = std::max(*high, m.offset + 1);
    return Status::Ok();
  }
  Status Read(const std::string& topic, const std::vector<kafka::OffsetSpan>& spans, int64_t,
              const std::function<bool(const kafka::Message&)>& on_message, std::chrono::milliseconds) override {
    ++reads;
    if (!fail.ok()) return fail;
    for (const auto& s : spans) {
      for (const auto& m : messages) {
        if (m.partition != s.partition || m.offset < s.first || m.offset > s.last) continue;
        if (on_each) on_each(m);
        kafka::Message km;
        km.topic = topic;
        km.partition = m.partition;
        km.offset = m.offset;
        km.view.key = m.key;
        km.view.key_null = false;
        km.view.value = m.value;
        km.view.value_null = false;
        km.view.record_timestamp_ms = kW * 1000;
        if (!on_message(km)) return Status::Ok();
      }
    }
    return Status::Ok();
  }
  kafka::SpanReadStats stats() const override { return {}; }
};

class FakeReaders final : public read::ClusterReaders {
 public:
  explicit FakeReaders(std::map<std::string, FakeCluster*> clusters) : clusters_(std::move(clusters)) {}
  Result<kafka::SpanReader*> Get(const std::string& cluster) override {
    auto it = clusters_.find(cluster);
    if (it == clusters_.end()) return Status::NotFound("cluster '" + cluster + "' is not configured");
    return it->second;
  }

 private:
  std::map<std::string, FakeCluster*> clusters_;
};

std::string Value(int i) { return fmt::format("{{\"ts\":{},\"id\":{}}}", kW * 1000 + 1000 * i, i); }

class WebDiffTest : public ::testing::Test {
 protected:
  WebDiffTest() : store_(std::make_shared<testing::FakeStore>()), pool_(store_), clock_(kNowMs), assets_(kNoAssets) {
    EXPECT_TRUE(pool_.Start().ok());
  }

  // regional: k-0..k-9 at offsets 0..9 of partition 0; aggregate: the same
  // without k-3 and with k-5 twice (offsets 0..9). `missing_key` and
  // `missing_value` replace k-3's.
  void Populate(std::string missing_key = "k-3", std::string missing_value = Value(3)) {
    int64_t off = 0;
    for (int i = 0; i < 10; ++i) {
      std::string key = i == 3 ? missing_key : "k-" + std::to_string(i);
      std::string value = i == 3 ? missing_value : Value(i);
      regional_.messages.push_back({0, i, key, value});
      if (i == 3) continue;
      aggregate_.messages.push_back({0, off++, key, value});
      if (i == 5) aggregate_.messages.push_back({0, off++, key, value});
    }
    for (const auto& [tier, cluster] : {std::pair{"regional", &regional_}, std::pair{"aggregate", &aggregate_}}) {
      store::WindowRow row = testing::TestWindowRow("orders", tier, kW, 10);
      store_->AddWindow(row);
      store::PartitionRow p;
      p.topic = "orders";
      p.tier = tier;
      p.datacenter = row.datacenter;
      p.cluster = row.cluster;
      p.window_begin_sec = kW;
      p.partition = 0;
      p.count = 10;
      p.first_offset = 0;
      p.last_offset = static_cast<int64_t>(cluster->messages.size()) - 1;
      store_->AddPartition(p);
      names_[tier] = row.cluster;
    }
  }

  // The Api with clusters configured (unless `configured` is false); `known`:
  // the clusters the readers know (default both).
  void MakeApi(bool configured = true, std::vector<std::string> known = {"regional", "aggregate"}) {
    ApiOptions o;
    if (configured) {
      o.diff.clusters = {{names_["regional"], {{"bootstrap.servers", "r:9092"}}},
                         {names_["aggregate"], {{"bootstrap.servers", "a:9092"}}}};
    }
    o.diff.max_concurrent = max_concurrent_;
    o.diff.timeout_ms = timeout_ms_;
    std::map<std::string, FakeCluster*> clusters;
    for (const auto& tier : known) clusters[names_[tier]] = tier == "regional" ? &regional_ : &aggregate_;
    o.diff.readers = [clusters](const config::Clusters&) { return std::make_unique<FakeReaders>(clusters); };
    api_ = std::make_unique<Api>(o, pool_, clock_, assets_, metrics_);
  }

  HttpResponse Get(const std::string& path, std::multimap<std::string, std::string> params) {
    return api_->Handle(HttpRequest{"GET", path, std::move(params)});
  }
  json Diff(std::multimap<std::string, std::string> params, int status = 200, const std::string& window = "") {
    HttpResponse r = Get("/api/v1/topics/orders/windows/" + (window.empty() ? std::to_string(kW) : window) + "/diff",
                         std::move(params));
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.route, "/api/v1/topics/{topic}/windows/{window}/diff");
    json j = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  static std::multimap<std::string, std::string> Pair() { return {{"source", "regional"}, {"target", "aggregate"}}; }
  static void ExpectError(const json& j, const std::string& code, const std::string& needle) {
    EXPECT_EQ(j["error"]["code"], code) << j.dump();
    EXPECT_NE(j["error"]["message"].get<std::string>().find(needle), std::string::npos) << j.dump();
  }

  static constexpr std::span<const StaticAsset> kNoAssets{};
  std::shared_ptr<testing::FakeStore> store_;
  StorePool pool_;
  FakeClock clock_;
  StaticAssetBundle assets_;
  WebMetrics metrics_;
  FakeCluster regional_, aggregate_;
  std::map<std::string, std::string> names_;
  int max_concurrent_ = 2;
  int64_t timeout_ms_ = 60'000;
  std::unique_ptr<Api> api_;
};

TEST_F(WebDiffTest, ListsTheMissingAndDuplicatedMessagesWithWhereTheyWere) {
  Populate();
  MakeApi();
  json j = Diff(Pair());
  EXPECT_EQ(j["topic"], "orders");
  EXPECT_EQ(j["window"], kW);
  EXPECT_EQ(j["windowSec"], 600);
  EXPECT_EQ(j["source"], "regional");
  EXPECT_EQ(j["target"], "aggregate");
  EXPECT_TRUE(j["datacenter"].is_null());
  EXPECT_EQ(j["limit"], 100);
  const json& s = j["summary"];
  EXPECT_EQ(s["sourceTier"]["tier"], "regional");
  EXPECT_EQ(s["sourceTier"]["messages"], 10);
  EXPECT_EQ(s["sourceTier"]["audited"], 10);
  EXPECT_EQ(s["sourceTier"]["spans"], 1);
  EXPECT_EQ(s["sourceTier"]["spansNotMatching"], json::array());
  EXPECT_EQ(s["targetTier"]["messages"], 10);
  EXPECT_EQ(s["targetTier"]["audited"], 10);
  EXPECT_EQ(s["missing"], 1);
  EXPECT_EQ(s["duplicated"], 1);
  EXPECT_EQ(s["extra"], 0);
  EXPECT_EQ(s["differing"], 2);
  EXPECT_EQ(s["listed"], 2);
  EXPECT_EQ(s["truncated"], false);
  EXPECT_EQ(s["contentOmitted"], 0);

  ASSERT_EQ(j["items"].size(), 2u) << j.dump(1);
  std::map<std::string, json> by_kind;
  for (const json& it : j["items"]) by_kind[it["kind"].get<std::string>()] = it;
  const json& missing = by_kind["missing"];
  EXPECT_EQ(missing["copies"], 1);
  EXPECT_EQ(missing["sourceCopies"], 1);
  EXPECT_EQ(missing["targetCopies"], 0);
  EXPECT_EQ(missing["digest"].get<std::string>().size(), 16u);
  ASSERT_EQ(missing["source"].size(), 1u);
  EXPECT_EQ(missing["source"][0]["cluster"], names_["regional"]);
  EXPECT_EQ(missing["source"][0]["datacenter"], "dc1");
  EXPECT_EQ(missing["source"][0]["partition"], 0);
  EXPECT_EQ(missing["source"][0]["offset"], 3);
  EXPECT_EQ(missing["source"][0]["key"], "k-3");
  EXPECT_EQ(missing["source"][0]["value"], Value(3));
  EXPECT_EQ(missing["source"][0]["timestamp"], kW * 1000);
  EXPECT_FALSE(missing["source"][0].contains("valueTruncated"));
  EXPECT_EQ(missing["target"], json::array());

  const json& dup = by_kind["duplicated"];
  EXPECT_EQ(dup["copies"], 1);
  EXPECT_EQ(dup["sourceCopies"], 1);
  EXPECT_EQ(dup["targetCopies"], 2);
  ASSERT_EQ(dup["source"].size(), 1u);
  EXPECT_EQ(dup["source"][0]["offset"], 5);
  ASSERT_EQ(dup["target"].size(), 2u);
  std::set<int64_t> offsets;
  for (const json& c : dup["target"]) {
    EXPECT_EQ(c["cluster"], names_["aggregate"]);
    EXPECT_EQ(c["key"], "k-5");
    offsets.insert(c["offset"].get<int64_t>());
  }
  EXPECT_EQ(offsets, (std::set<int64_t>{4, 5}));  // k-4 at 3; k-5 at 4 and 5

  // The same window named by any instant in it, and one datacenter's spans.
  json again = Diff({{"source", "regional"}, {"target", "aggregate"}, {"datacenter", "dc1"}}, 200,
                    std::to_string(kW + 599));
  EXPECT_EQ(again["window"], kW);
  EXPECT_EQ(again["datacenter"], "dc1");
  EXPECT_EQ(again["summary"]["missing"], 1);
  json other_dc = Diff({{"source", "regional"}, {"target", "aggregate"}, {"datacenter", "dc9"}}, 404);
  EXPECT_EQ(other_dc["error"]["code"], "not_found");
}

TEST_F(WebDiffTest, TheLimitCutsTheListingNotTheCounts) {
  Populate();
  MakeApi();
  auto with_limit = [](const std::string& n) {
    auto p = Pair();
    p.emplace("limit", n);
    return p;
  };
  json one = Diff(with_limit("1"));
  EXPECT_EQ(one["limit"], 1);
  EXPECT_EQ(one["items"].size(), 1u);
  EXPECT_EQ(one["summary"]["listed"], 1);
  EXPECT_EQ(one["summary"]["truncated"], true);
  EXPECT_EQ(one["summary"]["missing"], 1);
  EXPECT_EQ(one["summary"]["duplicated"], 1);
  EXPECT_EQ(one["summary"]["differing"], 2);
  json none = Diff(with_limit("0"));
  EXPECT_EQ(none["items"], json::array());
  EXPECT_EQ(none["summary"]["missing"], 1);
  json most = Diff(with_limit("10000"));
  EXPECT_EQ(most["items"].size(), 2u);
}

TEST_F(WebDiffTest, RejectsBadParameters) {
  Populate();
  MakeApi();
  auto with = [](std::multimap<std::string, std::string> extra) {
    auto p = Pair();
    p.insert(extra.begin(), extra.end());
    return p;
  };
  ExpectError(Diff({{"target", "aggregate"}}, 400), "bad_request", "'source' is required");
  ExpectError(Diff({{"source", "regional"}}, 400), "bad_request", "'target' is required");
  ExpectError(Diff({{"source", "regional"}, {"target", "regional"}}, 400), "bad_request", "the same tier");
  ExpectError(Diff({{"source", "a,b"}, {"target", "aggregate"}}, 400), "bad_request", "source: invalid tier name");
  ExpectError(Diff(with({{"limit", "10001"}}), 400), "bad_request", "limit");
  ExpectError(Diff(with({{"limit", "-1"}}), 400), "bad_request", "limit");
  ExpectError(Diff(with({{"limit", "ten"}}), 400), "bad_request", "limit");
  ExpectError(Diff(with({{"limit", "1"}, {"limit", "2"}}), 400), "bad_request", "limit");
  ExpectError(Diff(with({{"datacenter", ""}}), 400), "bad_request", "datacenter");
  ExpectError(Diff(with({{"tier", "regional"}}), 400), "bad_request", "tier");
  ExpectError(Diff(Pair(), 400, "yesterday"), "bad_request", "window: malformed time");
  HttpResponse bad_topic = Get("/api/v1/topics/or%20ders/windows/" + std::to_string(kW) + "/diff", Pair());
  EXPECT_EQ(bad_topic.status, 400) << bad_topic.body;
  HttpResponse post = api_->Handle(HttpRequest{"POST", "/api/v1/topics/orders/windows/1/diff", Pair()});
  EXPECT_EQ(post.status, 405);
  // Nothing was read for any of them.
  EXPECT_EQ(regional_.reads + aggregate_.reads, 0);
}

TEST_F(WebDiffTest, UnknownTopicsAndWindowsAre404) {
  Populate();
  MakeApi();
  json topic = [&] {
    HttpResponse r = Get("/api/v1/topics/payments/windows/" + std::to_string(kW) + "/diff", Pair());
    EXPECT_EQ(r.status, 404);
    return json::parse(r.body);
  }();
  ExpectError(topic, "not_found", "unknown topic 'payments'");
  ExpectError(Diff(Pair(), 404, std::to_string(kW - 600)), "not_found", "tier 'regional' has no window");
  ExpectError(Diff({{"source", "regional"}, {"target", "consumer"}}, 404), "not_found", "target tier 'consumer'");
}

TEST_F(WebDiffTest, WithoutClustersItSaysSo) {
  Populate();
  MakeApi(/*configured=*/false);
  ExpectError(Diff(Pair(), 503), "not_configured", "`clusters:`");
  // Bad parameters are still 400 first.
  ExpectError(Diff({{"source", "regional"}}, 400), "bad_request", "'target' is required");
}

TEST_F(WebDiffTest, AClusterTheAuditNamesButTheServerDoesNotKnowIs503) {
  Populate();
  MakeApi(true, {"regional"});
  ExpectError(Diff(Pair(), 503), "not_configured", "'" + names_["aggregate"] + "' is not configured");
}

TEST_F(WebDiffTest, AClusterThatCannotBeReadIs502) {
  Populate();
  aggregate_.fail = Status::Unavailable("aggregate: no progress for 30000 ms on partitions 0");
  MakeApi();
  json j = Diff(Pair(), 502);
  ExpectError(j, "kafka_unavailable", "no progress for 30000 ms");
  ExpectError(j, "kafka_unavailable", "target tier 'aggregate'");
}

TEST_F(WebDiffTest, AStoreThatCannotBeReadIs503) {
  Populate();
  MakeApi();
  store_->FailReads(Status::Unavailable("database is down"));
  ExpectError(Diff(Pair(), 503), "store_unavailable", "database is down");
}

TEST_F(WebDiffTest, TheTimeLimitEndsTheReads) {
  Populate();
  timeout_ms_ = 5000;
  regional_.on_each = [&](const StoredMessage&) { clock_.AdvanceMs(1000); };  // each message takes a second
  MakeApi();
  json j = Diff(Pair(), 504);
  ExpectError(j, "timeout", "time limit of 5000 ms");
  // Stopped at the limit: the sixth message's second passes it.
  EXPECT_EQ(regional_.reads, 1);
  EXPECT_EQ(aggregate_.reads, 0);
}

TEST_F(WebDiffTest, AtMostMaxConcurrentDiffsRun) {
  Populate();
  max_concurrent_ = 1;
  std::mutex mu;
  std::condition_variable cv;
  bool inside = false, release = false;
  regional_.on_each = [&](const StoredMessage& m) {
    if (m.offset != 0) return;
    std::unique_lock lock(mu);
    inside = true;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(30), [&] { return release; });
  };
  MakeApi();
  HttpResponse first;
  std::thread t([&] { first = Get("/api/v1/topics/orders/windows/" + std::to_string(kW) + "/diff", Pair()); });
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return inside; }));
  }
  HttpResponse busy = Get("/api/v1/topics/orders/windows/" + std::to_string(kW) + "/diff", Pair());
  EXPECT_EQ(busy.status, 503);
  ExpectError(json::parse(busy.body), "busy", "1 diffs are running");
  bool retry_after = false;
  for (const auto& [k, v] : busy.headers) retry_after |= k == "Retry-After" && v == "5";
  EXPECT_TRUE(retry_after);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  t.join();
  EXPECT_EQ(first.status, 200) << first.body;
  regional_.on_each = nullptr;
  EXPECT_EQ(Get("/api/v1/topics/orders/windows/" + std::to_string(kW) + "/diff", Pair()).status, 200);
}

TEST_F(WebDiffTest, LongValuesAreCutAtACharacterAndBinaryKeysAreBase64) {
  // About 100,000 bytes, with a 2-byte character ("é") across the cut: kept
  // whole, the listing would end inside it.
  std::string value = fmt::format("{{\"ts\":{},\"id\":3,\"pad\":\"", kW * 1000 + 3000);
  value.append(WindowDiffer::kMaxFieldBytes - 1 - value.size(), 'x');
  while (value.size() < 100'000) value += "é";
  value += "\"}";
  ASSERT_EQ(value.substr(WindowDiffer::kMaxFieldBytes - 1, 2), "é");
  const std::string key = std::string("\xff\xfe", 2) + "k-3";
  Populate(key, value);
  MakeApi();
  json j = Diff(Pair());
  json missing;
  for (const json& it : j["items"])
    if (it["kind"] == "missing") missing = it["source"][0];
  ASSERT_FALSE(missing.is_null()) << j.dump();
  EXPECT_FALSE(missing.contains("key"));
  auto decoded = util::Base64Decode(missing["keyBase64"].get<std::string>());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, key);
  EXPECT_FALSE(missing.contains("keyTruncated"));
  EXPECT_EQ(missing["valueTruncated"], true);
  EXPECT_EQ(missing["valueBytes"], static_cast<int64_t>(value.size()));
  const std::string shown = missing["value"];  // text: a prefix cut before a character, not inside it
  EXPECT_EQ(shown.size(), WindowDiffer::kMaxFieldBytes - 1);
  EXPECT_EQ(value.substr(0, shown.size()), shown);
}

}  // namespace
}  // namespace chaperone::web
