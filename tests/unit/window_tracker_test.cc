#include "chaperone/window_tracker.h"

#include <gtest/gtest.h>

#include <map>

#include "chaperone/clock.h"
#include "chaperone/digest.h"
#include "chaperone/emitter.h"

namespace chaperone {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;  // 2023-11-14T22:13:20Z; its 600 s window starts at 1699999800 s

class WindowTrackerTest : public ::testing::Test {
 protected:
  Observation Msg(TopicId topic, int64_t event_ms, int32_t partition = -1, int64_t offset = -1) {
    Observation o;
    o.topic = topic;
    o.partition = partition;
    o.offset = offset;
    o.event_ms = event_ms;
    o.observed_ms = clock_.NowMs();
    o.bytes = 100;
    o.digest = MessageDigest("k", false, std::to_string(seq_++), false);
    return o;
  }

  static const WindowSnapshot* Find(const std::vector<WindowSnapshot>& v, const std::string& topic, int64_t begin,
                                    int32_t partition = INT32_MIN) {
    for (const auto& s : v) {
      if (s.topic == topic && s.window_begin_sec == begin &&
          (partition == INT32_MIN || (!s.partitions.empty() && s.partitions[0].partition == partition))) {
        return &s;
      }
    }
    return nullptr;
  }

  FakeClock clock_{kT0};
  int seq_ = 0;
};

TEST_F(WindowTrackerTest, WindowsAreAlignedToTheEpoch) {
  WindowTracker t({.window_sec = 600});
  TopicId a = t.InternTopic("orders");
  const int64_t begin = 1'699'999'800;  // 1700000000 - 1700000000 % 600
  for (int64_t ms : {begin * 1000, kT0, begin * 1000 + 599'999}) t.Add(Msg(a, ms));
  t.Add(Msg(a, begin * 1000 + 600'000));  // first ms of the next window
  t.Add(Msg(a, begin * 1000 - 1));        // last ms of the previous one
  t.Add(Msg(a, 0));                       // the epoch itself
  t.Add(Msg(a, 599'999));

  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 4u);
  std::map<int64_t, int64_t> counts;
  for (const auto& s : out) {
    EXPECT_EQ(s.window_end_sec - s.window_begin_sec, 600);
    EXPECT_EQ(s.window_begin_sec % 600, 0);
    counts[s.window_begin_sec] = s.count;
  }
  EXPECT_EQ(counts, (std::map<int64_t, int64_t>{{0, 2}, {begin - 600, 1}, {begin, 3}, {begin + 600, 1}}));
  EXPECT_EQ(WindowStartSec(kT0, 600), begin);
}

TEST_F(WindowTrackerTest, OtherWindowSizesAlignToo) {
  for (int64_t w : {1, 60, 3600, 86400}) {
    WindowTracker t({.window_sec = w});
    TopicId a = t.InternTopic("t");
    for (int64_t ms : {kT0, kT0 + 1, kT0 + 59'999, kT0 + 3'600'000 * 5 + 17}) t.Add(Msg(a, ms));
    for (const auto& s : t.Drain()) {
      EXPECT_EQ(s.window_begin_sec % w, 0) << w;
      EXPECT_EQ(s.window_end_sec, s.window_begin_sec + w);
    }
  }
}

TEST_F(WindowTrackerTest, LateEventsGoToTheirOwnWindowWithTheirLatency) {
  WindowTracker t({.window_sec = 600});
  TopicId a = t.InternTopic("orders");
  clock_.SetMs(kT0 + 3 * 600'000);  // half an hour after kT0
  t.Add(Msg(a, kT0 + 3 * 600'000 - 250));  // on time: 250 ms latency
  t.Add(Msg(a, kT0));                       // 30 min late
  t.Add(Msg(a, kT0 + 1000));

  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 2u);
  const WindowSnapshot* old = Find(out, "orders", WindowStartSec(kT0, 600));
  const WindowSnapshot* now = Find(out, "orders", WindowStartSec(kT0 + 1'800'000, 600));
  ASSERT_TRUE(old && now);
  EXPECT_EQ(old->count, 2);
  EXPECT_EQ(now->count, 1);
  EXPECT_EQ(now->latency.count(), 1u);
  EXPECT_EQ(now->latency.Quantile(0.5), 250);  // a single value is exact (clamped to min/max)
  EXPECT_EQ(old->latency.min(), 1'800'000 - 1000);
  EXPECT_EQ(old->latency.max(), 1'800'000);
  EXPECT_EQ(old->no_time, 0);
}

TEST_F(WindowTrackerTest, MessagesWithoutEventTimeGoToTheObservationWindow) {
  WindowTracker t({.window_sec = 600});
  TopicId a = t.InternTopic("orders");
  clock_.SetMs(kT0 + 600'000);
  t.Add(Msg(a, -1));
  t.Add(Msg(a, kT0));  // an old event
  Observation malformed = Msg(a, -1);
  malformed.malformed = true;
  t.Add(malformed);

  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 2u);
  const WindowSnapshot* obs = Find(out, "orders", WindowStartSec(kT0 + 600'000, 600));
  ASSERT_NE(obs, nullptr);
  EXPECT_EQ(obs->count, 2);
  EXPECT_EQ(obs->no_time, 2);
  EXPECT_EQ(obs->malformed, 1);
  EXPECT_TRUE(obs->latency.empty());  // no latency sample without an event time
  const WindowSnapshot* old = Find(out, "orders", WindowStartSec(kT0, 600));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->no_time, 0);
  EXPECT_EQ(old->latency.count(), 1u);
}

TEST_F(WindowTrackerTest, EventsFromTheFutureCountWithNegativeLatency) {
  WindowTracker t({});
  TopicId a = t.InternTopic("t");
  t.Add(Msg(a, kT0 + 5000));  // producer clock ahead
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].latency.negative_count(), 1u);
  EXPECT_EQ(out[0].latency.max(), 0);
}

TEST_F(WindowTrackerTest, CountsBytesAndDigestsAddUp) {
  WindowTracker t({});
  TopicId a = t.InternTopic("orders");
  uint64_t expected = 0;
  int64_t bytes = 0;
  for (int i = 0; i < 1000; ++i) {
    Observation o = Msg(a, kT0 + i);
    o.digest = 0xf000'0000'0000'0000ULL + static_cast<uint64_t>(i);  // forces wrap-around
    o.bytes = static_cast<uint32_t>(i);
    expected += o.digest;
    bytes += i;
    t.Add(o);
  }
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].count, 1000);
  EXPECT_EQ(out[0].bytes, bytes);
  EXPECT_EQ(out[0].digest, expected);
  EXPECT_EQ(out[0].latency.count(), 1000u);
  EXPECT_TRUE(out[0].partitions.empty());
}

TEST_F(WindowTrackerTest, TracksCountAndOffsetsPerPartitionInsideAWindow) {
  WindowTracker t({.track_partitions = true});
  TopicId a = t.InternTopic("orders");
  // Out-of-order offsets and interleaved partitions.
  for (auto [p, off] : std::vector<std::pair<int32_t, int64_t>>{
           {2, 100}, {2, 101}, {0, 7}, {2, 99}, {1, 50}, {0, 5}, {2, 150}, {1, 51}, {0, -1}}) {
    t.Add(Msg(a, kT0, p, off));
  }
  t.Add(Msg(a, kT0 + 600'000, 2, 151));  // next window
  t.Add(Msg(a, kT0 + 1'200'000, 2, 152));
  t.Add(Msg(a, kT0 + 1'200'000, -1, -1));  // unknown partition
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 3u);
  const WindowSnapshot& w = out[0];
  EXPECT_EQ(w.count, 9);
  ASSERT_EQ(w.partitions.size(), 3u);
  auto expect = [](const PartitionCount& pc, int32_t p, int64_t count, int64_t first, int64_t last) {
    EXPECT_EQ(pc.partition, p);
    EXPECT_EQ(pc.count, count) << p;
    EXPECT_EQ(pc.first_offset, first) << p;
    EXPECT_EQ(pc.last_offset, last) << p;
    EXPECT_EQ(pc.chunk_start, -1);
  };
  expect(w.partitions[0], 0, 3, 5, 7);
  expect(w.partitions[1], 1, 2, 50, 51);
  expect(w.partitions[2], 2, 4, 99, 150);
  ASSERT_EQ(out[1].partitions.size(), 1u);
  expect(out[1].partitions[0], 2, 1, 151, 151);
  // Partition counts must add up to the count: a message of unknown partition
  // leaves its window without detail rather than with a wrong one.
  EXPECT_EQ(out[2].count, 2);
  EXPECT_TRUE(out[2].partitions.empty());
}

TEST_F(WindowTrackerTest, ByPartitionKeysWindowsByPartition) {
  WindowTracker t({.by_partition = true});
  TopicId a = t.InternTopic("orders");
  for (int64_t off = 0; off < 30; ++off) t.Add(Msg(a, kT0, static_cast<int32_t>(off % 3), 1000 + off));
  t.Add(Msg(a, kT0 + 600'000, 1, 2000));
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 4u);
  for (const auto& s : out) {
    ASSERT_EQ(s.partitions.size(), 1u);
    EXPECT_EQ(s.partitions[0].count, s.count);
    EXPECT_EQ(s.latency.count(), static_cast<uint64_t>(s.count));
  }
  // Sorted by topic, window, partition.
  EXPECT_EQ(out[0].partitions[0].partition, 0);
  EXPECT_EQ(out[1].partitions[0].partition, 1);
  EXPECT_EQ(out[2].partitions[0].partition, 2);
  const WindowSnapshot* p1 = Find(out, "orders", WindowStartSec(kT0, 600), 1);
  ASSERT_NE(p1, nullptr);
  EXPECT_EQ(p1->count, 10);
  EXPECT_EQ(p1->partitions[0].first_offset, 1001);
  EXPECT_EQ(p1->partitions[0].last_offset, 1028);
  const WindowSnapshot* next = Find(out, "orders", WindowStartSec(kT0 + 600'000, 600), 1);
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(next->count, 1);
  EXPECT_EQ(next->partitions[0].first_offset, 2000);

  t.Add(Msg(a, kT0, -1, -1));  // unknown partition: counted, no PartitionCount
  out = t.Drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].count, 1);
  EXPECT_TRUE(out[0].partitions.empty());
}

TEST_F(WindowTrackerTest, DrainReturnsPartialSumsAndResets) {
  WindowTracker t({});
  TopicId a = t.InternTopic("orders");
  t.Add(Msg(a, kT0));
  t.Add(Msg(a, kT0));
  EXPECT_EQ(t.open_windows(), 1u);
  std::vector<WindowSnapshot> first = t.Drain();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].count, 2);
  EXPECT_EQ(t.open_windows(), 0u);
  EXPECT_TRUE(t.Drain().empty());

  Observation o = Msg(a, kT0);
  t.Add(o);
  std::vector<WindowSnapshot> second = t.Drain();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].count, 1);  // only what came since the previous drain
  EXPECT_EQ(second[0].digest, o.digest);
  EXPECT_EQ(second[0].latency.count(), 1u);
}

TEST_F(WindowTrackerTest, TopicsAreInternedAndOutputSortedByName) {
  WindowTracker t({});
  TopicId z = t.InternTopic("zeta");
  TopicId a = t.InternTopic("alpha");
  EXPECT_EQ(t.InternTopic("zeta"), z);
  EXPECT_EQ(t.InternTopic(std::string("alpha")), a);
  EXPECT_NE(a, z);
  EXPECT_EQ(t.TopicName(z), "zeta");
  EXPECT_EQ(t.topic_count(), 2u);
  const std::string& ref = t.TopicName(a);
  for (int i = 0; i < 1000; ++i) t.InternTopic("topic-" + std::to_string(i));
  EXPECT_EQ(ref, "alpha");  // references stay valid
  EXPECT_EQ(t.TopicName(99999), "");

  t.Add(Msg(z, kT0));
  t.Add(Msg(a, kT0 + 600'000));
  t.Add(Msg(a, kT0));
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].topic, "alpha");
  EXPECT_EQ(out[1].topic, "alpha");
  EXPECT_LT(out[0].window_begin_sec, out[1].window_begin_sec);
  EXPECT_EQ(out[2].topic, "zeta");
}

TEST_F(WindowTrackerTest, ManyTopicsAndWindowsAreAllCounted) {
  WindowTracker t({.track_partitions = true});
  std::vector<TopicId> topics;
  for (int i = 0; i < 1000; ++i) topics.push_back(t.InternTopic("topic-" + std::to_string(i)));
  std::map<std::pair<std::string, int64_t>, int64_t> expected;
  for (int i = 0; i < 200'000; ++i) {
    TopicId topic = topics[static_cast<size_t>(i * 7919) % topics.size()];
    int64_t event = kT0 - static_cast<int64_t>(i % 13) * 600'000;
    t.Add(Msg(topic, event, i % 4, i));
    expected[{t.TopicName(topic), WindowStartSec(event, 600)}] += 1;
  }
  EXPECT_EQ(t.open_windows(), expected.size());
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), expected.size());
  for (const auto& s : out) {
    EXPECT_EQ(s.count, (expected[{s.topic, s.window_begin_sec}])) << s.topic << " " << s.window_begin_sec;
    int64_t sum = 0;
    for (const auto& p : s.partitions) sum += p.count;
    EXPECT_EQ(sum, s.count);
  }
}

TEST_F(WindowTrackerTest, NeedsFlushAtTheBoundAndSpillsBeyondTwiceTheBound) {
  WindowTracker t({.max_open_windows = 4});
  TopicId a = t.InternTopic("orders");
  auto window = [](int i) { return kT0 + static_cast<int64_t>(i) * 600'000; };
  for (int i = 0; i < 3; ++i) t.Add(Msg(a, window(i)));
  EXPECT_FALSE(t.NeedsFlush());
  t.Add(Msg(a, window(3)));
  EXPECT_TRUE(t.NeedsFlush());
  // The owner does not drain: up to 8 windows stay open.
  for (int i = 4; i < 8; ++i) t.Add(Msg(a, window(i)));
  EXPECT_EQ(t.open_windows(), 8u);
  EXPECT_EQ(t.windows_over_cap(), 0);
  // The 9th window closes the 4 oldest early.
  t.Add(Msg(a, window(8)));
  EXPECT_EQ(t.windows_over_cap(), 4);
  EXPECT_EQ(t.open_windows(), 9u);  // 5 open + 4 spilled
  // A late message for a spilled window opens it again; Drain merges both.
  t.Add(Msg(a, window(0)));
  t.Add(Msg(a, window(0)));
  t.Add(Msg(a, window(7)));

  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 9u);
  int64_t total = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].window_begin_sec, WindowStartSec(window(static_cast<int>(i)), 600));
    total += out[i].count;
  }
  EXPECT_EQ(out[0].count, 3);
  EXPECT_EQ(out[0].latency.count(), 3u);
  EXPECT_EQ(out[7].count, 2);
  EXPECT_EQ(total, 12);
  EXPECT_EQ(t.dropped_windows(), 0);
  EXPECT_EQ(t.open_windows(), 0u);
  EXPECT_FALSE(t.NeedsFlush());
}

TEST_F(WindowTrackerTest, BeyondTheSpillBoundOldestWindowsAreDroppedAndCounted) {
  WindowTracker t({.max_open_windows = 4});
  TopicId a = t.InternTopic("orders");
  int64_t added = 0;
  for (int i = 0; i < 100; ++i) {
    for (int k = 0; k <= i % 3; ++k, ++added) t.Add(Msg(a, kT0 + static_cast<int64_t>(i) * 600'000));
    ASSERT_LE(t.open_windows(), 12u);  // never more than 3 * the bound
  }
  EXPECT_GT(t.windows_over_cap(), 0);
  EXPECT_GT(t.dropped_windows(), 0);
  std::vector<WindowSnapshot> out = t.Drain();
  int64_t reported = 0;
  for (const auto& s : out) reported += s.count;
  // Nothing vanishes: every message is either reported or counted as dropped.
  EXPECT_EQ(reported + t.dropped_messages(), added);
  EXPECT_EQ(static_cast<int64_t>(out.size()) + t.dropped_windows(), 100);
  // The newest windows survive; the dropped ones are the oldest.
  EXPECT_EQ(out.back().window_begin_sec, WindowStartSec(kT0 + 99 * 600'000, 600));
  EXPECT_EQ(out.front().window_begin_sec, WindowStartSec(kT0 + t.dropped_windows() * 600'000, 600));
}

TEST_F(WindowTrackerTest, OutOfRangeOptionsAndClocksAreTamed) {
  WindowTracker t({.window_sec = 0, .max_open_windows = 0});
  EXPECT_EQ(t.options().window_sec, 1);
  EXPECT_EQ(t.options().max_open_windows, 1u);
  TopicId a = t.InternTopic("t");
  Observation o = Msg(a, -1);
  o.observed_ms = -5;  // a clock before 1970
  t.Add(o);
  Observation last = Msg(a, kMaxEventMs);  // 9999-12-31T23:59:59.999Z
  t.Add(last);
  Observation beyond = Msg(a, kMaxEventMs + 1);  // e.g. microseconds taken for ms
  t.Add(beyond);
  Observation far_clock = Msg(a, -1);
  far_clock.observed_ms = INT64_MAX;
  t.Add(far_clock);
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].window_begin_sec, 0);
  EXPECT_EQ(out[0].no_time, 1);
  EXPECT_EQ(out[1].window_begin_sec, WindowStartSec(clock_.NowMs(), 1));
  EXPECT_EQ(out[1].no_time, 1);  // the event time beyond 9999
  EXPECT_EQ(out[2].window_begin_sec, kMaxEventMs / 1000);
  EXPECT_EQ(out[2].count, 2);
  EXPECT_EQ(out[2].no_time, 1);
  EXPECT_EQ(out[2].latency.negative_count(), 1u);

  WindowTracker by_part({.by_partition = true, .track_partitions = true});
  EXPECT_FALSE(by_part.options().track_partitions);  // implied by by_partition
}

}  // namespace
}  // namespace chaperone

namespace chaperone {
namespace {

TEST(FillAuditRecord, TrackerOutputMakesValidRecordsThatRoundTrip) {
  WindowTracker t({.track_partitions = true});
  TopicId topic = t.InternTopic("orders.v2");
  for (int i = 0; i < 500; ++i) {
    Observation o;
    o.topic = topic;
    o.partition = i % 3;
    o.offset = 1000 + i;
    o.observed_ms = kT0 + i;
    o.event_ms = i % 50 == 0 ? -1 : kT0 + i - (i % 200);  // some without event time
    o.bytes = 64;
    o.digest = MessageDigest("k", false, std::to_string(i), false);
    o.malformed = i % 100 == 1;
    t.Add(o);
  }
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 1u);

  Emitter emitter(EmitterIdentity{"regional", "dc1", "regional-dc1", "host-1", "host-1-1-2-abcd"});
  AuditRecord r;
  FillAuditRecord(out[0], &r);
  emitter.Stamp(r);
  ASSERT_TRUE(ValidateAuditRecord(r).ok()) << ValidateAuditRecord(r).ToString();
  EXPECT_EQ(r.count, 500);
  EXPECT_EQ(r.no_time_count, 10);
  EXPECT_EQ(r.malformed_count, 5);
  EXPECT_EQ(r.total_bytes, 500 * 64);
  EXPECT_EQ(r.partitions.size(), 3u);
  EXPECT_EQ(r.max_latency_ms, 199);
  EXPECT_NEAR(*r.latency50_ms, out[0].latency.Quantile(0.5), 1e-9);

  Result<AuditRecord> back = DecodeAuditRecord(EncodeAuditRecord(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->digest, out[0].digest);
  Result<LatencySketch> sketch = LatencySketch::Decode(back->latency_sketch);
  ASSERT_TRUE(sketch.ok()) << sketch.status().ToString();
  EXPECT_EQ(sketch->count(), 490u);
  EXPECT_EQ(sketch->Buckets(), out[0].latency.Buckets());
  EXPECT_EQ(sketch->Quantile(0.99), out[0].latency.Quantile(0.99));
}

TEST(FillAuditRecord, AWindowWithoutLatencySamplesHasZeroLatencies) {
  WindowTracker t({.by_partition = true});
  TopicId topic = t.InternTopic("t");
  Observation o;
  o.topic = topic;
  o.partition = 4;
  o.offset = 9;
  o.observed_ms = kT0;
  t.Add(o);
  std::vector<WindowSnapshot> out = t.Drain();
  ASSERT_EQ(out.size(), 1u);
  AuditRecord r;
  FillAuditRecord(out[0], &r);
  Emitter emitter(EmitterIdentity{"regional", "dc1", "c", "h", "h-1-2-abcd"});
  emitter.Stamp(r);
  ASSERT_TRUE(ValidateAuditRecord(r).ok()) << ValidateAuditRecord(r).ToString();
  EXPECT_EQ(r.mean_latency_ms, 0);
  EXPECT_EQ(r.latency50_ms, 0);
  EXPECT_EQ(r.max_latency_ms, 0);
  ASSERT_EQ(r.partitions.size(), 1u);
  EXPECT_EQ(r.partitions[0].partition, 4);
  EXPECT_TRUE(LatencySketch::Decode(r.latency_sketch)->empty());
}

}  // namespace
}  // namespace chaperone
