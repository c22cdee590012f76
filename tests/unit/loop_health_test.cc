#include "pipeline/loop_health.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "pipeline/consume_loop.h"

namespace chaperone::pipeline {
namespace {

using std::chrono::milliseconds;

LoopStatus Status(int64_t last_flush_ms, int64_t last_good_flush_ms, bool ok) {
  LoopStatus st;
  st.last_flush_ms = last_flush_ms;
  st.last_good_flush_ms = last_good_flush_ms;
  st.last_flush_ok = ok;
  return st;
}

TEST(LoopHealth, StuckOnlyWhenFlushesFailedForLongerThanTheBudget) {
  // Budget: 3 × 1000 + 500 = 3500 ms.
  const milliseconds interval(1000), send(500);
  EXPECT_FALSE(JudgeLoop(Status(0, 0, true), 100000, interval, send).stuck) << "no flush yet";
  EXPECT_FALSE(JudgeLoop(Status(99000, 99000, true), 100000, interval, send).stuck) << "the last flush committed";
  EXPECT_FALSE(JudgeLoop(Status(99000, 96500, false), 100000, interval, send).stuck) << "3500 ms: within the budget";
  LoopHealth h = JudgeLoop(Status(99000, 96499, false), 100000, interval, send);
  EXPECT_EQ(h.budget_ms, 3500);
  EXPECT_TRUE(h.stuck);
  EXPECT_EQ(h.stuck_reason, "no flush committed for 3501 ms (budget 3500 ms)");
}

TEST(LoopHealth, LagSumsTheAssignedPartitionsAndDetailsFollowTheStatus) {
  LoopStatus st = Status(10, 5, false);
  st.partitions.resize(3);
  st.partitions[0].lag = 7;
  st.partitions[1].lag = -1;  // unknown: counts 0
  st.partitions[2].lag = 5;
  st.rewind_pending = true;
  st.last_error = "flush: broker down";
  LoopHealth h = JudgeLoop(st, 20, milliseconds(1000), milliseconds(0));
  EXPECT_EQ(h.lag, 12);
  nlohmann::ordered_json d = nlohmann::ordered_json::object();
  d["tier"] = "regional";
  AddLoopDetails(st, h, d);
  EXPECT_EQ(d.dump(),
            R"({"tier":"regional","assignedPartitions":3,"lag":12,"lastFlushMs":10,"lastGoodFlushMs":5,)"
            R"("lastFlushOk":false,"rewindPending":true,"lastError":"flush: broker down"})");
  st.last_error.clear();
  nlohmann::ordered_json e = nlohmann::ordered_json::object();
  AddLoopDetails(st, h, e);
  EXPECT_FALSE(e.contains("lastError"));
}

}  // namespace
}  // namespace chaperone::pipeline
