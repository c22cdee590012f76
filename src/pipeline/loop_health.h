// The health of a consume loop (consume_loop.h), judged alike by every
// component built on it (the audit service, the replicator): whether its
// flushes are stuck, its lag, and the loop's fields of a /health body.
//
// Thread contract: pure functions of a status snapshot the caller owns.
#ifndef CHAPERONE_PIPELINE_LOOP_HEALTH_H_
#define CHAPERONE_PIPELINE_LOOP_HEALTH_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

namespace chaperone::pipeline {

struct LoopHealth {
  // Flushes may fail for three flush intervals plus the send timeout before
  // the loop is stuck: counts (or copies) pile up and the audit falls behind.
  int64_t budget_ms = 0;
  bool stuck = false;
  std::string stuck_reason;  // when stuck: "no flush committed for N ms (budget B ms)"
  int64_t lag = 0;           // the assigned partitions' lag, summed (a negative lag counts 0)
};

// `S` is a loop status: LoopStatus, or a component's snapshot with its fields
// (partitions[].lag, last_flush_ms, last_good_flush_ms, last_flush_ok).
template <typename S>
LoopHealth JudgeLoop(const S& st, int64_t now_ms, std::chrono::milliseconds flush_interval,
                     std::chrono::milliseconds send_timeout) {
  LoopHealth h;
  h.budget_ms = 3 * flush_interval.count() + send_timeout.count();
  h.stuck = st.last_flush_ms > 0 && !st.last_flush_ok && now_ms - st.last_good_flush_ms > h.budget_ms;
  if (h.stuck) {
    h.stuck_reason = "no flush committed for " + std::to_string(now_ms - st.last_good_flush_ms) + " ms (budget " +
                     std::to_string(h.budget_ms) + " ms)";
  }
  for (const auto& p : st.partitions) h.lag += std::max<int64_t>(0, p.lag);
  return h;
}

// Appends the loop's fields to a /health body's details (a JSON object), in
// this order: assignedPartitions, lag, lastFlushMs, lastGoodFlushMs,
// lastFlushOk, rewindPending, and lastError when there is one.
template <typename S, typename Json>
void AddLoopDetails(const S& st, const LoopHealth& h, Json& details) {
  details["assignedPartitions"] = st.partitions.size();
  details["lag"] = h.lag;
  details["lastFlushMs"] = st.last_flush_ms;
  details["lastGoodFlushMs"] = st.last_good_flush_ms;
  details["lastFlushOk"] = st.last_flush_ok;
  details["rewindPending"] = st.rewind_pending;
  if (!st.last_error.empty()) details["lastError"] = st.last_error;
}

}  // namespace chaperone::pipeline

#endif  // CHAPERONE_PIPELINE_LOOP_HEALTH_H_
