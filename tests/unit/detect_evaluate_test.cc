// One evaluation cycle of the detector over the store's window totals: every
// topic's pairs of tiers judged, findings for what is neither ok nor pending,
// the same whatever number of topics is read at once.
#include <gtest/gtest.h>

#include "detect/evaluate.h"
#include "support/fake_store.h"
#include "support/window_rows.h"

namespace chaperone::detect {
namespace {

constexpr int64_t kW = 1'795'303'800;  // a window start (multiple of 600)
constexpr int64_t kNowMs = (kW + 3600) * 1000;

store::WindowRow Row(const std::string& topic, const std::string& tier, int64_t window, int64_t count,
                     const std::string& dc = "dc1") {
  return testing::TestWindowRow(topic, tier, window, count, dc);
}

store::EmitterRow Emitter(const std::string& id, const std::string& tier, int64_t watermark_ms) {
  store::EmitterRow e;
  e.emitter_id = id;
  e.tier = tier;
  e.datacenter = "dc1";
  e.cluster = "c1";
  e.watermark_ms = watermark_ms;
  e.last_seen_ms = kNowMs;
  e.window_sec = 600;
  return e;
}

class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // orders: producer → regional (dc1 + dc2) → aggregate, three windows; the
    // aggregate lost 2 in the second, the third is not final yet.
    for (int64_t w : {kW, kW + 600, kW + 1200}) {
      store_.AddWindow(Row("orders", "producer", w, 100));
      store_.AddWindow(Row("orders", "regional", w, 60, "dc1"));
      store_.AddWindow(Row("orders", "regional", w, 40, "dc2"));
      store_.AddWindow(Row("orders", "aggregate", w, w == kW + 600 ? 98 : w == kW + 1200 ? 50 : 100));
    }
    // payments: duplicated in its only window; audit: one tier, nothing to compare.
    store_.AddWindow(Row("payments", "producer", kW, 5));
    store_.AddWindow(Row("payments", "regional", kW, 6));
    store_.AddWindow(Row("audit", "producer", kW, 1));
    // Every tier's emitters passed kW + 1200 + grace, not kW + 1800 + grace.
    for (const char* tier : {"producer", "regional", "aggregate"}) {
      store_.AddEmitter(Emitter(std::string(tier) + "-1", tier, (kW + 1300) * 1000));
    }
  }
  testing::FakeStore store_;
};

TEST_F(EvaluateTest, EveryPairOfEveryTopicIsJudgedAndWhatIsWrongIsFound) {
  auto e = Evaluate(store_, kW - 86400, kW + 86400, kNowMs, EvaluateOptions{});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->topics, 3);
  EXPECT_EQ(e->pairs, 3);     // orders: 2, payments: 1, audit: 0
  EXPECT_EQ(e->windows, 7);   // orders: 2 pairs x 3 windows, payments: 1
  EXPECT_EQ(e->count(analysis::Verdict::kOk), 3);
  EXPECT_EQ(e->count(analysis::Verdict::kLoss), 1);
  EXPECT_EQ(e->count(analysis::Verdict::kDuplicate), 1);
  EXPECT_EQ(e->count(analysis::Verdict::kPending), 2);
  ASSERT_EQ(e->findings.size(), 2u);
  const Finding& loss = e->findings[0];
  EXPECT_EQ(loss.topic, "orders");
  EXPECT_EQ(loss.source, "regional");  // dc1 + dc2, the aggregate rule
  EXPECT_EQ(loss.target, "aggregate");
  EXPECT_EQ(loss.window.window_begin_sec, kW + 600);
  EXPECT_EQ(loss.window.source_count, 100);
  EXPECT_EQ(loss.window.lost, 2);
  const Finding& dup = e->findings[1];
  EXPECT_EQ(dup.topic, "payments");
  EXPECT_EQ(analysis::VerdictName(dup.window.verdict), "duplicate");
  EXPECT_EQ(dup.window.duplicated, 1);
}

TEST_F(EvaluateTest, ReadingOneTopicAtATimeFindsTheSame) {
  EvaluateOptions one;
  one.topics_per_read = 1;
  auto all = Evaluate(store_, kW - 86400, kW + 86400, kNowMs, EvaluateOptions{});
  auto each = Evaluate(store_, kW - 86400, kW + 86400, kNowMs, one);
  ASSERT_TRUE(all.ok() && each.ok());
  EXPECT_EQ(each->by_verdict, all->by_verdict);
  ASSERT_EQ(each->findings.size(), all->findings.size());
  for (size_t i = 0; i < all->findings.size(); ++i) {
    EXPECT_EQ(each->findings[i].topic, all->findings[i].topic);
    EXPECT_EQ(each->findings[i].window.window_begin_sec, all->findings[i].window.window_begin_sec);
  }
}

TEST_F(EvaluateTest, ReadingOnSeveralConnectionsFindsTheSameInTheSameOrder) {
  // Two more "connections": stores with the same rows, each answering every other span.
  testing::FakeStore second, third;
  auto rows = store_.QueryAllWindows(kW - 86400, kW + 86400);
  ASSERT_TRUE(rows.ok());
  const std::vector<store::WindowRow> copy = *rows;
  for (testing::FakeStore* s : {&second, &third}) {
    for (const auto& r : copy) s->AddWindow(r);
  }
  EvaluateOptions many;
  many.topics_per_read = 1;
  many.readers = {&second, &third};
  auto all = Evaluate(store_, kW - 86400, kW + 86400, kNowMs, EvaluateOptions{});
  auto spread = Evaluate(store_, kW - 86400, kW + 86400, kNowMs, many);
  ASSERT_TRUE(all.ok() && spread.ok());
  EXPECT_EQ(spread->topics, all->topics);
  EXPECT_EQ(spread->by_verdict, all->by_verdict);
  ASSERT_EQ(spread->findings.size(), all->findings.size());
  for (size_t i = 0; i < all->findings.size(); ++i) {
    EXPECT_EQ(spread->findings[i].topic, all->findings[i].topic);
    EXPECT_EQ(spread->findings[i].window.window_begin_sec, all->findings[i].window.window_begin_sec);
  }
  EXPECT_GT(second.reads(), 0);
  EXPECT_GT(third.reads(), 0);
  // A failing connection fails the cycle.
  third.FailReads(Status::Unavailable("down"));
  EXPECT_EQ(Evaluate(store_, kW - 86400, kW + 86400, kNowMs, many).status().code(), Status::Code::kUnavailable);
}

TEST_F(EvaluateTest, ARangeWithoutWindowsJudgesNothingAndAStoreFailureIsReturned) {
  auto none = Evaluate(store_, kW + 86400, kW + 2 * 86400, kNowMs, EvaluateOptions{});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->topics, 0);
  EXPECT_TRUE(none->findings.empty());
  store_.FailReads(Status::Unavailable("store down"));
  auto failed = Evaluate(store_, kW - 86400, kW + 86400, kNowMs, EvaluateOptions{});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace chaperone::detect
