// The exactly-once loop (pipeline/consume_loop.h) on the in-memory consumer
// (support/fake_consumer.h) and a fake clock: one test per failure point.
#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "pipeline/consume_loop.h"
#include "support/fake_consumer.h"

namespace chaperone::pipeline {
namespace {

using kafka::TopicPartition;
using test::FakeConsumer;

const TopicPartition kP0{"orders", 0};
const TopicPartition kP1{"orders", 1};

// A report of one partition's chunk: what the collector would receive.
struct Chunk {
  TopicPartition tp;
  int64_t chunk_start = -1;
  int64_t count = 0;
  int64_t generation = -1;
  bool operator==(const Chunk&) const = default;
};

// Counts messages per partition and reports them; a script drives each turn.
class CountingHooks : public LoopHooks {
 public:
  FakeClock clock;
  ConsumeLoop* loop = nullptr;
  std::atomic<bool> stop{false};
  int turn = 0;
  std::function<void(int)> script;  // called at the start of each turn
  std::map<TopicPartition, int64_t> pending;
  std::vector<std::vector<Chunk>> sent;  // every report that was sent (a failed commit included)
  bool fail_next_report = false;
  int64_t last_watermark = 0;

  void OnIteration() override {
    ++turn;
    clock.AdvanceMs(100);
    if (script) script(turn);
    if (turn >= 200) stop = true;  // a bound: every test stops itself earlier
  }
  void OnMessage(const kafka::Message& m, const LoopPartition& p) override { ++pending[p.tp]; (void)m; }
  Status Report(FlushContext& ctx) override {
    std::vector<Chunk> report;
    for (const auto& [tp, n] : pending) {
      const LoopPartition* p = ctx.Find(tp.topic, tp.partition);
      if (!p) return Status::Internal("counts of an unassigned partition");
      report.push_back({tp, p->ledger.chunk_start(), n, p->generation});
    }
    pending.clear();
    if (fail_next_report) {
      fail_next_report = false;
      return Status::Unavailable("injected: report failed");
    }
    if (!report.empty()) sent.push_back(report);
    return Status::Ok();
  }
  void AfterCommit(const FlushContext&, int64_t watermark_ms) override { last_watermark = watermark_ms; }
  void Discard() override { pending.clear(); }

  // Every chunk sent for `tp`, in order.
  std::vector<Chunk> ChunksOf(const TopicPartition& tp) const {
    std::vector<Chunk> out;
    for (const auto& r : sent)
      for (const auto& c : r)
        if (c.tp == tp) out.push_back(c);
    return out;
  }
};

struct Harness {
  FakeConsumer consumer;
  CountingHooks hooks;
  LoopMetrics metrics;
  ConsumeLoop loop;
  explicit Harness(std::chrono::milliseconds flush_interval = std::chrono::milliseconds(1000))
      : loop(consumer, hooks, metrics, Options(hooks, flush_interval)) {
    hooks.loop = &loop;
  }
  static LoopOptions Options(CountingHooks& h, std::chrono::milliseconds flush_interval) {
    LoopOptions o;
    o.clock = &h.clock;
    o.flush_interval = flush_interval;
    o.poll_timeout = std::chrono::milliseconds(0);
    o.log_prefix = "test";
    return o;
  }
  void Fill(const TopicPartition& tp, int n) {
    for (int i = 0; i < n; ++i) consumer.Append(tp, "m" + std::to_string(i));
  }
  Status Run() { return loop.Run(hooks.stop); }
};

TEST(ConsumeLoop, StopFlushesAndCommitsWhatWasCounted) {
  Harness h(std::chrono::milliseconds(60'000));  // the interval never comes
  h.Fill(kP0, 10);
  h.consumer.Assign({kP0});
  h.hooks.script = [&](int turn) { h.hooks.stop = turn >= 3; };
  ASSERT_TRUE(h.Run().ok());
  EXPECT_EQ(h.hooks.ChunksOf(kP0), (std::vector<Chunk>{{kP0, 0, 10, 1}}));
  EXPECT_EQ(h.consumer.committed(kP0), 10);
  EXPECT_EQ(h.metrics.messages_committed.load(), 10);
  EXPECT_TRUE(h.consumer.closed());
}

TEST(ConsumeLoop, AFailedReportRewindsAndTheReplayCountsWhatTheFirstDid) {
  Harness h;
  h.Fill(kP0, 10);
  h.consumer.Assign({kP0});
  h.hooks.fail_next_report = true;
  h.hooks.script = [&](int turn) { h.hooks.stop = turn >= 25; };
  ASSERT_TRUE(h.Run().ok());
  // The failed report was not sent; the replay reports the same chunk, once.
  EXPECT_EQ(h.hooks.ChunksOf(kP0), (std::vector<Chunk>{{kP0, 0, 10, 1}}));
  EXPECT_EQ(h.metrics.flushes_failed.load(), 1);
  EXPECT_EQ(h.metrics.rewinds.load(), 1);
  EXPECT_EQ(h.metrics.messages_discarded.load(), 10);
  EXPECT_EQ(h.metrics.messages_committed.load(), 10);
  EXPECT_EQ(h.consumer.committed(kP0), 10);
  EXPECT_EQ(h.consumer.seeks(), 1);
}

TEST(ConsumeLoop, AFailedCommitRewindsAndTheReplayReplacesTheSameChunk) {
  Harness h;
  h.Fill(kP0, 10);
  h.consumer.Assign({kP0});
  h.consumer.FailNextCommit();
  h.hooks.script = [&](int turn) { h.hooks.stop = turn >= 25; };
  ASSERT_TRUE(h.Run().ok());
  // Reported twice with the same chunk start and counts: the collector replaces the first.
  EXPECT_EQ(h.hooks.ChunksOf(kP0), (std::vector<Chunk>{{kP0, 0, 10, 1}, {kP0, 0, 10, 1}}));
  EXPECT_EQ(h.metrics.errors_commit.load(), 1);
  EXPECT_EQ(h.metrics.messages_committed.load(), 10);
  EXPECT_EQ(h.consumer.committed(kP0), 10);
}

TEST(ConsumeLoop, AFailedCommittedLookupIsRetriedUntilTheRewindSucceeds) {
  Harness h;
  h.Fill(kP0, 10);
  h.consumer.SetCommitted(kP0, 0);
  h.consumer.Assign({kP0});
  h.hooks.fail_next_report = true;
  h.hooks.script = [&](int turn) {
    if (turn == 11) h.consumer.FailNextCommitted();  // the first rewind's lookup (turn 11, after the flush of turn 10)
    h.hooks.stop = turn >= 40;
  };
  ASSERT_TRUE(h.Run().ok());
  EXPECT_EQ(h.metrics.errors_rewind.load(), 1);
  EXPECT_EQ(h.consumer.seeks(), 1);  // once the lookup worked
  EXPECT_EQ(h.hooks.ChunksOf(kP0), (std::vector<Chunk>{{kP0, 0, 10, 1}}));
  EXPECT_EQ(h.consumer.committed(kP0), 10);
}

TEST(ConsumeLoop, AFailedSeekIsRetriedAndNothingIsCountedMeanwhile) {
  Harness h;
  h.Fill(kP0, 10);
  h.consumer.Assign({kP0});
  h.hooks.fail_next_report = true;
  h.hooks.script = [&](int turn) {
    if (turn == 11) h.consumer.FailNextSeek();
    h.hooks.stop = turn >= 40;
  };
  ASSERT_TRUE(h.Run().ok());
  EXPECT_EQ(h.metrics.errors_rewind.load(), 1);
  EXPECT_EQ(h.hooks.ChunksOf(kP0), (std::vector<Chunk>{{kP0, 0, 10, 1}}));
  EXPECT_EQ(h.metrics.messages_committed.load(), 10);
}

TEST(ConsumeLoop, ARevokedPartitionIsFlushedBeforeItGoesAndNeverReportedTwice) {
  Harness h;
  h.Fill(kP0, 5);
  h.Fill(kP1, 5);
  h.consumer.Assign({kP0, kP1});
  h.consumer.RevokeAfterMessages(6, {kP1});  // in the middle of the first batch
  h.hooks.script = [&](int turn) {
    if (turn == 5) h.Fill(kP0, 3);
    h.hooks.stop = turn >= 25;
  };
  ASSERT_TRUE(h.Run().ok());
  auto p1 = h.hooks.ChunksOf(kP1);
  ASSERT_EQ(p1.size(), 1u);  // reported by the revoke's flush, once
  EXPECT_EQ(h.consumer.committed(kP1), p1[0].count);
  EXPECT_EQ(h.metrics.rebalances_revoke.load(), 2);  // the rebalance and the close
  int64_t p0 = 0;
  for (const auto& c : h.hooks.ChunksOf(kP0)) p0 += c.count;
  EXPECT_EQ(p0, 8);
  EXPECT_EQ(h.metrics.messages_committed.load(), 8 + p1[0].count);
}

TEST(ConsumeLoop, WhenTheFlushBeforeARevokeFailsTheRevokedCountsAreDropped) {
  Harness h;
  h.Fill(kP0, 5);
  h.Fill(kP1, 5);
  h.consumer.Assign({kP0, kP1});
  h.hooks.script = [&](int turn) {
    if (turn == 3) {
      h.consumer.FailNextCommit();
      h.consumer.Revoke({kP1});
    }
    h.hooks.stop = turn >= 25;
  };
  ASSERT_TRUE(h.Run().ok());
  EXPECT_FALSE(h.consumer.committed(kP1).has_value());  // its next owner replays it
  // The failed flush sent p1's chunk once (uncommitted); nothing of p1 after that.
  EXPECT_EQ(h.hooks.ChunksOf(kP1).size(), 1u);
  EXPECT_EQ(h.consumer.committed(kP0), 5);
  EXPECT_EQ(h.metrics.messages_committed.load(), 5);
}

TEST(ConsumeLoop, ALostAssignmentDiscardsItsCountsAndReportsNothing) {
  Harness h;
  h.Fill(kP0, 10);
  h.consumer.Assign({kP0});
  h.hooks.script = [&](int turn) {
    if (turn == 3) h.consumer.Revoke({kP0}, /*lost=*/true);
    h.hooks.stop = turn >= 25;
  };
  ASSERT_TRUE(h.Run().ok());
  EXPECT_TRUE(h.hooks.sent.empty());
  EXPECT_FALSE(h.consumer.committed(kP0).has_value());
  EXPECT_EQ(h.metrics.rebalances_lost.load(), 1);
  EXPECT_EQ(h.metrics.messages_discarded.load(), 10);
}

TEST(ConsumeLoop, AMemberThatRejoinedUnderAnotherIdReportsNothingOfItsOldOwnership) {
  Harness h;
  h.Fill(kP0, 10);
  h.consumer.Assign({kP0});
  h.hooks.script = [&](int turn) {
    if (turn == 3) h.consumer.SetMembership(2, "member-2");  // another member id since the assignment
    h.hooks.stop = turn >= 40;
  };
  ASSERT_TRUE(h.Run().ok());
  // The first flush is fenced and rewinds; the counts of the old ownership are
  // never reported. The partitions it still holds (no lost event came) are then
  // owned as member-2: the replay is reported once, under generation 2, and
  // the loop does not fail every flush from then on.
  EXPECT_GE(h.metrics.flushes_failed.load(), 1);
  EXPECT_GE(h.metrics.rewinds.load(), 1);
  EXPECT_EQ(h.hooks.ChunksOf(kP0), (std::vector<Chunk>{{kP0, 0, 10, 2}}));
  EXPECT_EQ(h.consumer.committed(kP0), 10);
}

TEST(ConsumeLoop, AMemberOutsideAnyGenerationReportsNothing) {
  Harness h;
  h.Fill(kP0, 10);
  h.consumer.Assign({kP0});
  h.hooks.script = [&](int turn) {
    if (turn == 3) h.consumer.SetMembership(-1, "");  // session expired
    h.hooks.stop = turn >= 25;
  };
  ASSERT_TRUE(h.Run().ok());
  EXPECT_TRUE(h.hooks.sent.empty());
  EXPECT_GE(h.metrics.flushes_failed.load(), 1);
}

TEST(ConsumeLoop, RetentionPastTheCommittedOffsetCountsTheGap) {
  Harness h;
  h.Fill(kP0, 10);
  h.consumer.SetCommitted(kP0, 2);
  h.consumer.SetLogStart(kP0, 6);  // offsets 2..5 deleted before they were read
  h.consumer.Assign({kP0});
  h.hooks.script = [&](int turn) { h.hooks.stop = turn >= 12; };
  ASSERT_TRUE(h.Run().ok());
  EXPECT_EQ(h.metrics.offsets_lost.load(), 4);
  EXPECT_EQ(h.hooks.ChunksOf(kP0), (std::vector<Chunk>{{kP0, 6, 4, 1}}));
  EXPECT_EQ(h.consumer.committed(kP0), 10);
}

TEST(ConsumeLoop, AssignmentsCarryTheirGeneration) {
  Harness h;
  h.Fill(kP0, 3);
  h.consumer.SetMembership(7, "m7");
  h.consumer.Assign({kP0});
  h.hooks.script = [&](int turn) { h.hooks.stop = turn >= 3; };
  ASSERT_TRUE(h.Run().ok());
  EXPECT_EQ(h.hooks.ChunksOf(kP0), (std::vector<Chunk>{{kP0, 0, 3, 7}}));
}

}  // namespace
}  // namespace chaperone::pipeline
