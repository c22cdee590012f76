// OverviewCache: recent windows re-read, older ones reused, full re-reads on schedule.
#include <gtest/gtest.h>

#include "support/fake_store.h"
#include "web/overview_cache.h"

namespace chaperone::web {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kTo = 1'795'303'800;  // window-aligned
constexpr int64_t kFrom = kTo - kDay;

store::WindowRow Row(const std::string& tier, int64_t window, int64_t count) {
  store::WindowRow r;
  r.topic = "orders";
  r.tier = tier;
  r.datacenter = "dc1";
  r.cluster = "c";
  r.window_begin_sec = window;
  r.window_end_sec = window + 600;
  r.count = count;
  r.records = 1;
  return r;
}

int64_t CountAt(const std::vector<Series>& series, const std::string& tier, int64_t window) {
  for (const auto& s : series) {
    if (s.tier != tier) continue;
    for (const auto& p : s.points) {
      if (p.window_begin_sec == window) return p.count;
    }
  }
  return -1;
}

class OverviewCacheTest : public ::testing::Test {
 protected:
  OverviewCacheTest() : cache_(clock_, OverviewCacheOptions{3600, 300, 2 * kDay}, TierOrder()) {
    for (int64_t w = kFrom; w < kTo + 600; w += 600) {
      store_.AddWindow(Row("regional", w, 10));
      store_.AddWindow(Row("producer", w, 10));
    }
  }

  // The topic summary's days of the range, as the overview reads them with each request.
  std::vector<store::TopicDay> Days(int64_t from, int64_t to) {
    auto days = store_.QueryTopicSummary(from, to);
    EXPECT_TRUE(days.ok()) << days.status().ToString();
    return days.ok() ? *days : std::vector<store::TopicDay>();
  }

  std::shared_ptr<const OverviewCache::SeriesList> Get(int64_t from, int64_t to) {
    auto r = cache_.Get(store_, "orders", from, to, Days(from, to));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : nullptr;
  }

  FakeClock clock_{kTo * 1000};
  testing::FakeStore store_;
  OverviewCache cache_;
};

TEST_F(OverviewCacheTest, TheFirstReadIsFullThenOnlyRecentWindowsAreReRead) {
  auto first = Get(kFrom, kTo);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].tier, "producer");
  EXPECT_EQ((*first)[0].points.size(), 144u);
  EXPECT_EQ(cache_.rows_read(), 288);

  clock_.AdvanceMs(60'000);
  auto second = Get(kFrom + 60, kTo + 60);  // the range moved a minute
  int64_t reread = cache_.rows_read() - 288;
  EXPECT_LE(reread, 2 * 8);  // the last hour (6 windows) and the new one, two tiers
  EXPECT_GT(reread, 0);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ((*second)[0].points.size(), 144u);  // kFrom dropped out, kTo came in
  EXPECT_EQ((*second)[0].points.front().window_begin_sec, kFrom + 600);
  EXPECT_EQ((*second)[0].points.back().window_begin_sec, kTo);
  EXPECT_EQ(cache_.topics(), 1u);
}

TEST_F(OverviewCacheTest, RecentChangesShowAtOnceOlderOnesAfterTheFullRefresh) {
  Get(kFrom, kTo);
  store_.AddWindow(Row("producer", kTo - 600, 5));           // a late record in the newest window
  store_.AddWindow(Row("producer", kFrom + 6000, 7));        // a very late one, hours back
  store_.AddWindow(Row("consumer:billing", kTo - 600, 15));  // a new tier
  clock_.AdvanceMs(1000);
  auto s = Get(kFrom, kTo);
  EXPECT_EQ(CountAt(*s, "producer", kTo - 600), 15);
  EXPECT_EQ(CountAt(*s, "producer", kFrom + 6000), 10);  // not yet
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[2].tier, "consumer:billing");  // in tier order
  clock_.AdvanceMs(300'000);
  s = Get(kFrom, kTo);
  EXPECT_EQ(CountAt(*s, "producer", kFrom + 6000), 17);
}

TEST_F(OverviewCacheTest, TheNewestWindowOfEachTierIsAlwaysReRead) {
  OverviewCache daily(clock_, OverviewCacheOptions{0, 300, 30 * kDay}, TierOrder());  // recent_sec 0
  ASSERT_TRUE(daily.Get(store_, "orders", kFrom, kTo, Days(kFrom, kTo)).ok());
  store_.AddWindow(Row("regional", kTo - 600, 1));
  auto s = daily.Get(store_, "orders", kFrom, kTo, Days(kFrom, kTo));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(CountAt(**s, "regional", kTo - 600), 11);
}

TEST_F(OverviewCacheTest, EarlierOrLongerRangesAreReadInFull) {
  Get(kFrom, kTo);
  int64_t before = cache_.rows_read();
  auto s = Get(kFrom - 600, kTo);  // starts earlier than the cache (the store has nothing earlier)
  EXPECT_EQ(cache_.rows_read() - before, 288);
  EXPECT_EQ((*s)[0].points.size(), 144u);
  before = cache_.rows_read();
  s = Get(kTo - 3 * kDay, kTo);  // beyond max_range: read, not kept
  EXPECT_EQ(cache_.rows_read() - before, 288);
  s = Get(kFrom - 600, kTo);
  EXPECT_LT(cache_.rows_read() - before - 288, 20);  // the cached entry is still there
}

// The store's topic summary says nothing changed: nothing is read, and the
// answer is what a full read would give.
TEST_F(OverviewCacheTest, AnUnchangedTopicIsNotReReadAndAChangeInAnEarlierDayIsReadAtOnce) {
  Get(kFrom, kTo + 600);  // every window of the store
  int64_t before = cache_.rows_read();
  clock_.AdvanceMs(60'000);
  const int64_t from = kFrom + 60, to = kTo + 660;  // no window came into the range, one left it
  auto s = Get(from, to);
  EXPECT_EQ(cache_.rows_read(), before);
  OverviewCache fresh(clock_, OverviewCacheOptions{3600, 300, 2 * kDay}, TierOrder());
  auto full = fresh.Get(store_, "orders", from, to, Days(from, to));
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(s->size(), (*full)->size());
  for (size_t i = 0; i < s->size(); ++i) {
    EXPECT_EQ((*s)[i].tier, (**full)[i].tier);
    ASSERT_EQ((*s)[i].points.size(), (**full)[i].points.size());
    for (size_t j = 0; j < (*s)[i].points.size(); ++j) {
      EXPECT_EQ((*s)[i].points[j].window_begin_sec, (**full)[i].points[j].window_begin_sec);
      EXPECT_EQ((*s)[i].points[j].count, (**full)[i].points[j].count);
    }
  }
  // A late record in the earlier day (hours before the recent windows) shows at once.
  store_.AddWindow(Row("regional", kFrom + 600, 4));
  s = Get(from, to);
  EXPECT_EQ(CountAt(*s, "regional", kFrom + 600), 14);
  EXPECT_EQ(CountAt(*s, "regional", kFrom + 1200), 10);
  EXPECT_EQ(CountAt(*s, "producer", kFrom + 600), 10);
  EXPECT_LT(cache_.rows_read() - before, 288);  // that day and the recent windows, not the whole range
}

TEST_F(OverviewCacheTest, RetainForgetsOtherTopicsAndErrorsPassThrough) {
  Get(kFrom, kTo);
  cache_.Retain({"payments"});
  EXPECT_EQ(cache_.topics(), 0u);
  store_.FailReads(Status::Unavailable("gone"));
  auto r = cache_.Get(store_, "orders", kFrom, kTo, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
}

}  // namespace
}  // namespace chaperone::web
