#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "interceptor/mpsc_queue.h"
#include "interceptor/topic_registry.h"

namespace chaperone::interceptor {
namespace {

struct Item {
  uint32_t producer;
  uint32_t seq;
};

TEST(MpscQueue, CapacityIsRoundedUpToAPowerOfTwo) {
  EXPECT_EQ(MpscQueue<Item>(1000).capacity(), 1024u);
  EXPECT_EQ(MpscQueue<Item>(1024).capacity(), 1024u);
  EXPECT_EQ(MpscQueue<Item>(0).capacity(), 2u);
}

TEST(MpscQueue, PopsInPushOrder) {
  MpscQueue<Item> q(8);
  for (uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(q.TryPush({0, i}));
  Item out[8];
  ASSERT_EQ(q.PopBatch(out, 8), 5u);
  for (uint32_t i = 0; i < 5; ++i) EXPECT_EQ(out[i].seq, i);
  EXPECT_TRUE(q.EmptyForConsumer());
  EXPECT_EQ(q.PopBatch(out, 8), 0u);
}

TEST(MpscQueue, FullQueueRejectsWithoutLosingWhatItHolds) {
  MpscQueue<Item> q(4);
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(q.TryPush({0, i}));
  EXPECT_FALSE(q.TryPush({0, 99}));
  EXPECT_EQ(q.SizeApprox(), 4u);
  Item out[4];
  ASSERT_EQ(q.PopBatch(out, 2), 2u);
  EXPECT_EQ(out[0].seq, 0u);
  EXPECT_EQ(out[1].seq, 1u);
  // Freed cells are reusable, and wrap around in order.
  EXPECT_TRUE(q.TryPush({0, 4}));
  EXPECT_TRUE(q.TryPush({0, 5}));
  EXPECT_FALSE(q.TryPush({0, 6}));
  ASSERT_EQ(q.PopBatch(out, 4), 4u);
  EXPECT_EQ(out[0].seq, 2u);
  EXPECT_EQ(out[3].seq, 5u);
}

// Four producers race one consumer through a small queue: every item either
// arrives exactly once, in per-producer order, or was reported as rejected.
TEST(MpscQueue, ConcurrentProducersLoseNothingTheyWereNotToldAbout) {
  constexpr uint32_t kProducers = 4;
  constexpr uint32_t kPerProducer = 200'000;
  MpscQueue<Item> q(256);
  std::atomic<int> running{kProducers};
  std::vector<uint64_t> rejected(kProducers, 0);
  std::vector<std::thread> producers;
  for (uint32_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&, p] {
      for (uint32_t i = 0; i < kPerProducer; ++i) {
        if (!q.TryPush({p, i})) rejected[p]++;
      }
      running--;
    });
  }
  std::vector<int64_t> last(kProducers, -1);
  std::vector<uint64_t> received(kProducers, 0);
  Item buf[64];
  bool in_order = true;
  for (;;) {
    bool done = running.load() == 0;  // read before the final drain
    size_t n;
    while ((n = q.PopBatch(buf, 64)) > 0) {
      for (size_t i = 0; i < n; ++i) {
        if (static_cast<int64_t>(buf[i].seq) <= last[buf[i].producer]) in_order = false;
        last[buf[i].producer] = buf[i].seq;
        received[buf[i].producer]++;
      }
    }
    if (done) break;
  }
  for (auto& t : producers) t.join();
  EXPECT_TRUE(in_order);
  for (uint32_t p = 0; p < kProducers; ++p) {
    EXPECT_EQ(received[p] + rejected[p], kPerProducer) << "producer " << p;
  }
}

TEST(TopicRegistry, InternsOncePerNameAndResolvesOnce) {
  int resolved = 0;
  TopicRegistry r([&](TopicInfo& t) {
    resolved++;
    t.excluded = t.name == "skip";
  });
  const TopicInfo* a = r.Lookup("orders");
  const TopicInfo* b = r.Lookup(std::string("orders"));
  const TopicInfo* c = r.Lookup("skip");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a->name, "orders");
  EXPECT_FALSE(a->excluded);
  EXPECT_TRUE(c->excluded);
  EXPECT_EQ(resolved, 2);
  EXPECT_EQ(r.size(), 2u);
}

TEST(TopicRegistry, EntriesSurviveGrowth) {
  TopicRegistry r([](TopicInfo&) {});
  std::vector<const TopicInfo*> first;
  for (int i = 0; i < 5000; ++i) first.push_back(r.Lookup("topic-" + std::to_string(i)));
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(r.Lookup("topic-" + std::to_string(i)), first[i]);
    ASSERT_EQ(first[i]->name, "topic-" + std::to_string(i));
  }
  EXPECT_EQ(r.size(), 5000u);
}

TEST(TopicRegistry, ConcurrentFirstLookupsAgree) {
  TopicRegistry r([](TopicInfo&) {});
  constexpr int kThreads = 4;
  std::vector<std::vector<const TopicInfo*>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) seen[t].push_back(r.Lookup("t" + std::to_string(i)));
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 1; t < kThreads; ++t) EXPECT_EQ(seen[t], seen[0]);
  EXPECT_EQ(r.size(), 2000u);
}

}  // namespace
}  // namespace chaperone::interceptor
