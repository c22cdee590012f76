// Topic selection, the REST handlers (against a fake ServiceControl), the
// per-partition chunk ledger and the metrics text of the audit service.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "pipeline/partition_ledger.h"
#include "service/rest_api.h"
#include "service/service_metrics.h"
#include "service/topic_selector.h"

namespace chaperone::service {
namespace {

using nlohmann::json;
using pipeline::kUnknownOffset;
using pipeline::PartitionLedger;

std::vector<std::string> Names(const std::vector<SelectedTopic>& s) {
  std::vector<std::string> out;
  for (const auto& t : s) out.push_back(t.topic);
  return out;
}

TEST(TopicSelector, IncludeAndExcludeMatchWholeNames) {
  auto sel = TopicSelector::Create({"orders\\..*", "payments"}, {".*\\.tmp"}, {"chaperone-audit"});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(Names(sel->Select({"orders.eu", "orders.tmp", "xorders.eu", "payments", "payments2", "chaperone-audit",
                               "orders.eu"})),
            (std::vector<std::string>{"orders.eu", "payments"}));
  EXPECT_TRUE(sel->MatchesPatterns("orders.us"));
  EXPECT_FALSE(sel->MatchesPatterns("orders"));
}

TEST(TopicSelector, TheAuditTopicIsNeverSelectedNotEvenByHand) {
  auto sel = TopicSelector::Create({".*"}, {}, {"chaperone-audit"});
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(Names(sel->Select({"a", "chaperone-audit"})), (std::vector<std::string>{"a"}));
  Status s = sel->Add("chaperone-audit", 0);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
}

TEST(TopicSelector, ManualAddsAndRemovesOverridePatterns) {
  auto sel = TopicSelector::Create({"a.*"}, {"ab"}, {});
  ASSERT_TRUE(sel.ok());
  uint64_t g0 = sel->generation();
  ASSERT_TRUE(sel->Add("ab", 4).ok());  // excluded by pattern, added by hand
  ASSERT_TRUE(sel->Add("zz", 0).ok());  // not in the cluster yet
  EXPECT_EQ(sel->Add("ab", 4).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(sel->Add("bad name", 0).code(), Status::Code::kInvalidArgument);
  EXPECT_GT(sel->generation(), g0);
  auto s = sel->Select({"aa", "ab", "b"});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].topic, "ab");
  EXPECT_EQ(s[1].source, TopicSource::kManual);
  EXPECT_EQ(s[1].expected_partitions, 4);
  EXPECT_EQ(s[0].source, TopicSource::kPattern);
  EXPECT_EQ(sel->Manual().size(), 2u);

  ASSERT_TRUE(sel->Remove("aa", /*exists=*/true).ok());  // pattern topic removed by hand
  ASSERT_TRUE(sel->Remove("ab", /*exists=*/true).ok());  // manual topic removed
  EXPECT_EQ(sel->Remove("b", /*exists=*/true).code(), Status::Code::kNotFound);
  EXPECT_EQ(sel->Remove("aa", /*exists=*/true).code(), Status::Code::kNotFound);
  EXPECT_EQ(sel->Remove("ac", /*exists=*/false).code(), Status::Code::kNotFound);
  EXPECT_EQ(Names(sel->Select({"aa", "ab", "ac"})), (std::vector<std::string>{"ac"}));
  ASSERT_TRUE(sel->Add("aa", 0).ok());  // re-added by hand
  EXPECT_EQ(Names(sel->Select({"aa", "ab", "ac"})), (std::vector<std::string>{"aa", "ac"}));
}

TEST(TopicSelector, RejectsBadRegexes) { EXPECT_FALSE(TopicSelector::Create({"("}, {}, {}).ok()); }

// ---------------------------------------------------------------------------

class FakeControl : public ServiceControl {
 public:
  std::vector<TopicInfo> ListTopics() override { return topics; }
  Status AddTopic(const std::string& topic, int n) override {
    added.emplace_back(topic, n);
    return add_status;
  }
  Status RemoveTopic(const std::string& topic) override {
    removed.push_back(topic);
    return remove_status;
  }
  http::HealthVerdict Health() override { return health; }
  std::string PrometheusMetrics() override { return "m 1\n"; }

  std::vector<TopicInfo> topics;
  std::vector<std::pair<std::string, int>> added;
  std::vector<std::string> removed;
  Status add_status, remove_status;
  http::HealthVerdict health;
};

TEST(ServiceRest, ListsTopicsWithAssignedPartitions) {
  FakeControl c;
  c.topics = {{"a", "pattern", 3, 0, {0, 2}}, {"m", "manual", -1, 4, {}}};
  HttpResponse r = HandleRestRequest(c, "GET", "/topics", "");
  EXPECT_EQ(r.status, 200);
  json j = json::parse(r.body);
  ASSERT_EQ(j["topics"].size(), 2u);
  EXPECT_EQ(j["topics"][0]["topic"], "a");
  EXPECT_EQ(j["topics"][0]["partitions"], 3);
  EXPECT_EQ(j["topics"][0]["assignedPartitions"], json::array({0, 2}));
  EXPECT_FALSE(j["topics"][1].contains("partitions"));
  EXPECT_EQ(j["topics"][1]["numPartitions"], 4);
  EXPECT_EQ(HandleRestRequest(c, "GET", "/topics/a", "").status, 200);
  EXPECT_EQ(HandleRestRequest(c, "GET", "/topics/zz", "").status, 404);
}

TEST(ServiceRest, AddsTopicsTheChaperoneWay) {
  FakeControl c;
  EXPECT_EQ(HandleRestRequest(c, "POST", "/topics", R"({"topic":"t1","numPartitions":8})").status, 201);
  EXPECT_EQ(HandleRestRequest(c, "POST", "/topics", R"({"topic":"t2","numPartitions":"1"})").status, 201);
  EXPECT_EQ(HandleRestRequest(c, "POST", "/topics/", R"({"topic":"t3"})").status, 201);
  ASSERT_EQ(c.added.size(), 3u);
  EXPECT_EQ(c.added[0], (std::pair<std::string, int>{"t1", 8}));
  EXPECT_EQ(c.added[1], (std::pair<std::string, int>{"t2", 1}));
  EXPECT_EQ(c.added[2], (std::pair<std::string, int>{"t3", 0}));
}

TEST(ServiceRest, BadRequestsGet4xxJson) {
  FakeControl c;
  struct Case {
    std::string method, path, body;
    int status;
  };
  const Case cases[] = {
      {"POST", "/topics", "", 400},
      {"POST", "/topics", "{not json", 400},
      {"POST", "/topics", "[1,2]", 400},
      {"POST", "/topics", R"({"numPartitions":1})", 400},
      {"POST", "/topics", R"({"topic":5})", 400},
      {"POST", "/topics", R"({"topic":"a","numPartitions":0})", 400},
      {"POST", "/topics", R"({"topic":"a","numPartitions":"x"})", 400},
      {"POST", "/topics", R"({"topic":"a","numPartitions":1.5})", 400},
      {"POST", "/topics", R"({"topic":"a","extra":1})", 400},
      {"POST", "/topics", std::string(70000, ' '), 413},
      {"PUT", "/topics", "", 405},
      {"GET", "/nope", "", 404},
      {"GET", "/topics/a/b", "", 404},
      {"PATCH", "/topics/a", "", 405},
  };
  for (const auto& tc : cases) {
    HttpResponse r = HandleRestRequest(c, tc.method, tc.path, tc.body);
    EXPECT_EQ(r.status, tc.status) << tc.method << " " << tc.path << " " << tc.body.substr(0, 40);
    EXPECT_EQ(r.content_type, "application/json");
    json j = json::parse(r.body);
    EXPECT_TRUE(j["error"]["code"].is_string()) << r.body;
    EXPECT_TRUE(j["error"]["message"].is_string()) << r.body;
  }
  EXPECT_EQ(json::parse(HandleRestRequest(c, "PUT", "/topics", "").body)["error"]["code"], "method_not_allowed");
  EXPECT_EQ(json::parse(HandleRestRequest(c, "POST", "/topics", "[]").body)["error"]["code"], "bad_request");
  EXPECT_TRUE(c.added.empty());
}

TEST(ServiceRest, MapsControlErrorsToStatusCodes) {
  FakeControl c;
  c.add_status = Status::AlreadyExists("topic t was already added");
  HttpResponse r = HandleRestRequest(c, "POST", "/topics", R"({"topic":"t"})");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "already_exists");
  EXPECT_EQ(json::parse(r.body)["error"]["message"], "topic t was already added");
  c.add_status = Status::InvalidArgument("topic names use only [a-zA-Z0-9._-]");
  EXPECT_EQ(HandleRestRequest(c, "POST", "/topics", R"({"topic":"a b"})").status, 400);
  c.remove_status = Status::NotFound("topic x is not audited");
  EXPECT_EQ(HandleRestRequest(c, "DELETE", "/topics/x", "").status, 404);
  c.remove_status = Status::Ok();
  r = HandleRestRequest(c, "DELETE", "/topics/y", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["removed"], true);
  EXPECT_EQ(c.removed, (std::vector<std::string>{"x", "y"}));
}

// /health, /metrics and paths outside /topics are the http::Endpoint's: through a real server on port 0.
TEST(ServiceRest, ServesTopicsHealthAndMetricsOverHttp) {
  FakeControl c;
  c.topics = {{"a", "pattern", 3, 0, {0}}};
  auto server = RestServer::Start("127.0.0.1:0", &c);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  httplib::Client http("127.0.0.1", (*server)->port());

  auto h = http.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  c.health.state = http::HealthVerdict::State::kFailing;
  c.health.status = "failing";
  h = http.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 503);
  EXPECT_EQ(json::parse(h->body)["status"], "failing");

  auto m = http.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  EXPECT_EQ(m->body, "m 1\n");

  auto t = http.Get("/topics");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->status, 200);
  EXPECT_EQ(json::parse(t->body)["topics"][0]["topic"], "a");
  auto big = http.Post("/topics", std::string(70000, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(json::parse(big->body)["error"]["code"], "bad_request");

  struct Case {
    std::string method, path;
    int status;
    std::string code;
  };
  const Case cases[] = {
      {"POST", "/health", 405, "method_not_allowed"}, {"DELETE", "/metrics", 405, "method_not_allowed"},
      {"GET", "/nope", 404, "not_found"},             {"PUT", "/topics", 405, "method_not_allowed"},
      {"GET", "/topics/a/b", 404, "not_found"},
  };
  for (const auto& tc : cases) {
    httplib::Request req;
    req.method = tc.method;
    req.path = tc.path;
    auto r = http.send(req);
    ASSERT_TRUE(r) << tc.method << " " << tc.path;
    EXPECT_EQ(r->status, tc.status) << tc.method << " " << tc.path;
    EXPECT_EQ(json::parse(r->body)["error"]["code"], tc.code) << r->body;
  }
}

// ---------------------------------------------------------------------------

TEST(PartitionLedger, AChunkStartsAtTheFirstOffsetAfterACommit) {
  PartitionLedger l(/*committed=*/100);
  EXPECT_TRUE(l.first_since_start());
  EXPECT_EQ(l.position(), 100);
  EXPECT_EQ(l.OnMessage(100), PartitionLedger::Verdict::kCount);
  EXPECT_FALSE(l.first_since_start());
  EXPECT_EQ(l.OnMessage(101), PartitionLedger::Verdict::kCount);
  EXPECT_EQ(l.OnMessage(105), PartitionLedger::Verdict::kCount);  // gaps are fine (markers, compaction)
  EXPECT_EQ(l.chunk_start(), 100);
  EXPECT_EQ(l.pending(), 3);
  EXPECT_EQ(l.commit_offset(), 106);
  l.OnCommitted();
  EXPECT_EQ(l.committed(), 106);
  EXPECT_FALSE(l.has_pending());
  EXPECT_EQ(l.chunk_start(), kUnknownOffset);
  EXPECT_EQ(l.OnMessage(106), PartitionLedger::Verdict::kCount);
  EXPECT_EQ(l.chunk_start(), 106);
}

TEST(PartitionLedger, DuplicatesAreDroppedNotCountedTwice) {
  PartitionLedger l(0);
  EXPECT_EQ(l.OnMessage(0), PartitionLedger::Verdict::kCount);
  EXPECT_EQ(l.OnMessage(1), PartitionLedger::Verdict::kCount);
  EXPECT_EQ(l.OnMessage(1), PartitionLedger::Verdict::kStale);
  EXPECT_EQ(l.OnMessage(0), PartitionLedger::Verdict::kStale);
  EXPECT_EQ(l.pending(), 2);
}

TEST(PartitionLedger, ARewindDiscardsTheChunkAndTheReplayStartsAtTheSameOffset) {
  PartitionLedger l(50);
  l.OnMessage(50);
  l.OnMessage(51);
  int64_t start = l.chunk_start();
  EXPECT_EQ(l.Discard(), 2);
  EXPECT_TRUE(l.rewinding());
  EXPECT_EQ(l.OnMessage(52), PartitionLedger::Verdict::kRewinding);  // in flight before the seek
  l.OnRewound(50);
  EXPECT_TRUE(l.first_since_start());
  EXPECT_EQ(l.OnMessage(50), PartitionLedger::Verdict::kCount);
  EXPECT_EQ(l.chunk_start(), start);
  EXPECT_EQ(l.pending(), 1);
}

TEST(PartitionLedger, TheFirstMessageAfterAssignmentIsTakenWhereverTheLogStarts) {
  // The committed offset is gone (retention, or the topic was recreated): the
  // consumer resets, and the ledger counts from where it resumes.
  PartitionLedger l(5000);
  EXPECT_EQ(l.OnMessage(0), PartitionLedger::Verdict::kCount);
  EXPECT_EQ(l.chunk_start(), 0);
  PartitionLedger unknown;
  EXPECT_EQ(unknown.position(), kUnknownOffset);
  EXPECT_EQ(unknown.OnMessage(7), PartitionLedger::Verdict::kCount);
}

// ---------------------------------------------------------------------------

TEST(ServiceMetrics, RendersPrometheusText) {
  ServiceMetrics m;
  m.messages_audited = 42;
  m.rewinds = 3;
  m.rebalances_lost = 1;
  ServiceStatus st;
  st.partitions.push_back(PartitionGauge{"orders", 2, 10, 8, 15, 5});
  st.partitions.push_back(PartitionGauge{"we\"ird", 0, -1, -1, -1, -1});
  st.running = true;
  m.Publish(st);
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE chaperone_service_messages_audited_total counter\nchaperone_service_messages_audited_total 42\n"),
            std::string::npos);
  EXPECT_NE(text.find("chaperone_service_rewinds_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("chaperone_service_rebalances_total{kind=\"lost\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("chaperone_service_consumer_lag{topic=\"orders\",partition=\"2\"} 5\n"), std::string::npos);
  EXPECT_EQ(text.find("we\\\"ird"), std::string::npos);  // unknown lag is not reported
  EXPECT_NE(text.find("chaperone_service_assigned_partitions 2\n"), std::string::npos);
  EXPECT_NE(text.find("chaperone_service_errors_total{kind=\"commit\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace chaperone::service
