// When the audit service wakes librdkafka's fetchers (lib/kafka/fetch_waker.h).
#include "lib/kafka/fetch_waker.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

namespace chaperone::kafka {
namespace {

constexpr int64_t kMessages = 1'000'000;  // queued.min.messages
constexpr int64_t kBytes = 4'096'000;     // queued.max.messages.kbytes=4096

TEST(QueueDrainTrigger, WakesOnceWhenAQueueThatReachedHalfItsBudgetFallsAFifth) {
  QueueDrainTrigger t(kMessages, kBytes);
  // 200-byte messages: 20480 of them fill the byte budget.
  EXPECT_FALSE(t.Observe(5000, 200));   // a quarter: not armed
  EXPECT_FALSE(t.armed());
  EXPECT_FALSE(t.Observe(20480, 200));  // full: the fetchers may have stopped
  EXPECT_TRUE(t.armed());
  EXPECT_FALSE(t.Observe(18000, 200));  // 88 % of the peak
  EXPECT_TRUE(t.Observe(16000, 200));   // 78 %: wake
  EXPECT_FALSE(t.armed());
  EXPECT_FALSE(t.Observe(8000, 200));   // once per fall
  EXPECT_FALSE(t.Observe(0, 200));
}

TEST(QueueDrainTrigger, FollowsTheHighestLevelSinceTheLastWake) {
  QueueDrainTrigger t(kMessages, kBytes);
  EXPECT_FALSE(t.Observe(11000, 200));  // 54 %: armed
  EXPECT_FALSE(t.Observe(20000, 200));  // a new peak
  EXPECT_FALSE(t.Observe(17000, 200));  // 85 % of it: not yet
  EXPECT_TRUE(t.Observe(15000, 200));
}

TEST(QueueDrainTrigger, AQueueThatNeverNearsItsBudgetNeverWakes) {
  QueueDrainTrigger t(kMessages, kBytes);
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(t.Observe(i % 10000, 200)) << i;  // at most 49 %
}

TEST(QueueDrainTrigger, TheMessageCountLimitCountsToo) {
  QueueDrainTrigger t(1000, kBytes);  // queued.min.messages=1000, tiny messages
  EXPECT_FALSE(t.Observe(1000, 10));
  EXPECT_TRUE(t.armed());
  EXPECT_TRUE(t.Observe(700, 10));
}

TEST(QueueDrainTrigger, SurvivesZeroAndOddInputs) {
  QueueDrainTrigger t(0, 0);  // clamped to 1: anything queued is "full"
  EXPECT_FALSE(t.Observe(1, 1));
  EXPECT_TRUE(t.Observe(0, 1));
  QueueDrainTrigger u(kMessages, kBytes);
  EXPECT_FALSE(u.Observe(0, 0));
}

TEST(PlanFetchWaker, ReadsTheEffectiveLimitsAndWhetherTheLibraryNeedsIt) {
  // The last value of a property wins, as when building the consumer.
  FetchWakerPlan p = PlanFetchWaker({{"queued.max.messages.kbytes", "65536"},
                                     {"queued.max.messages.kbytes", "2048"},
                                     {"queued.min.messages", "50000"}});
  EXPECT_EQ(p.max_bytes, 2048 * 1000);  // librdkafka's kilobyte here is 1000 bytes
  EXPECT_EQ(p.max_messages, 50000);
  // fetch.queue.backoff.ms arrived in librdkafka 2.1.0; before it, the waker runs.
  EXPECT_EQ(p.needed, rd_kafka_version() < 0x020100ff);
  FetchWakerPlan defaults = PlanFetchWaker({{"queued.min.messages", "not a number"}});
  EXPECT_EQ(defaults.max_messages, 100000);
  EXPECT_EQ(defaults.max_bytes, 65536LL * 1000);
}

}  // namespace
}  // namespace chaperone::kafka
