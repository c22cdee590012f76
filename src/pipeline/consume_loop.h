// ConsumeLoop: the exactly-once consume → flush (report, then commit) →
// rewind-on-failure loop that the audit service and the replicator share
// (docs/architecture.md, "Exactly once at the service tier"), written against
// the consumer seam (lib/kafka/consumer.h).
//
// The loop owns: the assigned partitions and their ledgers
// (pipeline/partition_ledger.h), the flush cadence, the order report → commit,
// the rewind to the committed offsets after a failed flush (retried every
// second until it succeeds), retention-loss detection, the membership check
// before each flush (fencing), the caught-up watermark for heartbeats, the
// rebalance handling (flush before a revoke, discard on a lost assignment),
// and the final flush on stop. The component supplies LoopHooks: what to do
// with a message, when it is ready to flush, what to report.
//
// Threads: Run() is the consume thread; it owns the loop, the consumer and
// calls every hook. RequestFlush() is thread-safe; LoopMetrics are relaxed
// atomics any thread may read.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "chaperone/clock.h"
#include "chaperone/status.h"
#include "common/rate_limited_log.h"
#include "lib/kafka/consumer.h"
#include "pipeline/partition_ledger.h"

namespace chaperone::pipeline {

// The counters the loop writes (relaxed atomics). A component's metrics
// derive from it (service/service_metrics.h) and render them.
struct LoopMetrics {
  std::atomic<int64_t> messages_discarded{0};  // counted, then dropped by a rewind (re-counted from the log)
  std::atomic<int64_t> messages_committed{0};  // counted and committed: the exactly-once total
  std::atomic<int64_t> flushes_ok{0};
  std::atomic<int64_t> flushes_failed{0};
  std::atomic<int64_t> rewinds{0};
  std::atomic<int64_t> offsets_lost{0};   // offsets skipped because retention deleted them before they were read
  std::atomic<int64_t> offset_resets{0};  // offset resets by the consumer (auto.offset.reset)
  std::atomic<int64_t> rebalances_assign{0};
  std::atomic<int64_t> rebalances_revoke{0};
  std::atomic<int64_t> rebalances_lost{0};
  std::atomic<int64_t> errors_consume{0};
  std::atomic<int64_t> errors_commit{0};
  std::atomic<int64_t> errors_rewind{0};
};

struct LoopOptions {
  std::chrono::milliseconds flush_interval{10'000};
  // How old the consumer's cached high watermark can be (fetch.wait.max.ms + margin).
  int64_t hwm_staleness_ms = 1000;
  const Clock* clock = &SystemClock::Instance();
  std::string log_prefix = "service";  // of log lines
  int consume_batch = 256;             // messages per Poll
  int batches_per_loop = 16;           // Polls between two looks at the timers
  std::chrono::milliseconds poll_timeout{100};
  std::chrono::milliseconds broker_timeout{5'000};  // Committed / Seek
  std::chrono::milliseconds rewind_retry{1'000};
  std::chrono::milliseconds status_interval{1'000};
};

// What a component keeps per assigned topic (LoopHooks::NewTopic).
class TopicContext {
 public:
  virtual ~TopicContext() = default;
};

// One assigned partition, as the loop keeps it. Hooks read it.
struct LoopPartition {
  kafka::TopicPartition tp;
  TopicContext* topic = nullptr;  // the component's, from NewTopic (may be null)
  PartitionLedger ledger;
  int64_t assigned_ms = 0;  // wall clock of the assignment
  // Unique per assignment of a partition to this loop (a revoked and
  // re-assigned partition gets a new one): components key per-ownership
  // state by it.
  uint64_t ownership = 0;
  // The group generation and member id under which the partition was
  // assigned: every chunk of this ownership carries that generation (the
  // fencing epoch); -1 / "" when the client library cannot tell.
  int64_t generation = -1;
  std::string member_id;
  // Heartbeat bookkeeping: everything appended before caught_up_ms was
  // committed (0 unknown); the high/low watermark sampled at sampled_ms.
  int64_t caught_up_ms = 0;
  int64_t high_watermark = -1;
  int64_t sampled_high = -1, sampled_low = -1;
  int64_t sampled_ms = 0;
};

class ConsumeLoop;

// One flush, as the hooks see it.
struct FlushContext {
  bool final = false;       // the flush on stop (bounded timeouts)
  int64_t flush_ms = 0;     // wall clock of the flush
  std::vector<const LoopPartition*> to_commit;  // partitions with messages counted since their last commit
  // Set by Report when nothing was at stake and nothing was sent (e.g. only a
  // heartbeat failed): the flush ends without a commit and counts as neither
  // success nor failure.
  bool skip_commit = false;
  const ConsumeLoop* loop = nullptr;
  // The assigned partition, or null.
  const LoopPartition* Find(const std::string& topic, int32_t partition) const;
};

struct PartitionStatus {
  kafka::TopicPartition tp;
  int64_t position = -1;        // next offset to count (-1 unknown)
  int64_t committed = -1;       // last committed offset (-1 unknown)
  int64_t high_watermark = -1;  // as last seen by the consumer (-1 unknown)
  int64_t lag = -1;             // high_watermark - position (-1 unknown)
};

struct LoopStatus {
  std::vector<PartitionStatus> partitions;  // sorted by topic, partition
  int64_t last_flush_ms = 0;                // wall clock of the last flush attempt (0 none)
  int64_t last_good_flush_ms = 0;           // wall clock of the last committed flush (0 none)
  bool last_flush_ok = true;
  bool rewind_pending = false;  // counts were discarded and the rewind has not succeeded yet
  std::string last_error;       // the last error seen (empty none)
};

// What a component plugs into the loop. Every hook runs on the consume thread.
class LoopHooks {
 public:
  virtual ~LoopHooks() = default;
  // A topic gets its first assigned partition.
  virtual std::unique_ptr<TopicContext> NewTopic(const std::string& /*topic*/) { return nullptr; }
  // Once per loop turn, before polling (e.g. apply a new subscription).
  virtual void OnIteration() {}
  // A message the ledger accepted: count it (service) or produce it (replicator).
  virtual void OnMessage(const kafka::Message& m, const LoopPartition& p) = 0;
  // After each turn's polls (e.g. publish hot-path counters).
  virtual void AfterPoll() {}
  // True to flush before the interval is up (e.g. too many open windows).
  virtual bool FlushDue() { return false; }
  // Before reporting: everything handed on since the last flush is durable
  // (replicator: every produced message acknowledged). An error fails the flush.
  virtual Status ReadyToFlush(const FlushContext& /*ctx*/) { return Status::Ok(); }
  // Reports what was counted since the last flush for ctx.to_commit (and
  // anything else, e.g. a heartbeat). OK: the loop commits. An error fails
  // the flush: everything uncommitted is discarded and rewound.
  virtual Status Report(FlushContext& ctx) = 0;
  // The flush was committed. `watermark_ms`: everything appended to the
  // assigned partitions before it was committed (0: cannot tell).
  virtual void AfterCommit(const FlushContext& /*ctx*/, int64_t /*watermark_ms*/) {}
  // Forget everything counted since the last commit (a rewind follows).
  virtual void Discard() = 0;
  // After the final flush, before the consumer leaves the group.
  virtual void OnStopping() {}
  // The loop's status: every status_interval, after flushes and rebalances.
  virtual void OnStatus(const LoopStatus& /*status*/) {}
};

class ConsumeLoop final : private kafka::ConsumerEvents {
 public:
  // `consumer`, `hooks` and `metrics` outlive the loop.
  ConsumeLoop(kafka::Consumer& consumer, LoopHooks& hooks, LoopMetrics& metrics, LoopOptions options);
  ~ConsumeLoop() override;
  ConsumeLoop(const ConsumeLoop&) = delete;
  ConsumeLoop& operator=(const ConsumeLoop&) = delete;

  // Consumes until `stop` (checked every poll_timeout), flushes a last time,
  // then closes the consumer (leaving the group). Returns an error only for a
  // fatal consumer error (after the same shutdown). Call once.
  Status Run(const std::atomic<bool>& stop);

  // Asks the consume thread to flush at its next turn (thread-safe).
  void RequestFlush() { flush_requested_.store(true); }

  // ---- consume thread (hooks) ----
  // Wall clock, refreshed per batch of messages.
  int64_t now_ms() const { return now_ms_; }
  std::vector<const LoopPartition*> Assigned() const;
  const LoopPartition* Find(const std::string& topic, int32_t partition) const;
  // Builds the status and hands it to LoopHooks::OnStatus.
  void PublishStatus();
  // Runs one flush now (as the interval would); false when it failed and a rewind started.
  bool FlushNow();

 private:
  struct TopicState {
    std::string name;
    std::unique_ptr<TopicContext> context;
    std::vector<std::unique_ptr<LoopPartition>> partitions;  // index: partition id
    int assigned = 0;
    LoopPartition* Find(int32_t p) const {
      return p >= 0 && static_cast<size_t>(p) < partitions.size() ? partitions[static_cast<size_t>(p)].get() : nullptr;
    }
  };

  // kafka::ConsumerEvents (inside Poll / Close).
  void OnMessage(const kafka::Message& m) override;
  void OnAssigned(const kafka::AssignmentChange& change) override;
  void OnRevoked(const kafka::AssignmentChange& change) override;
  void OnRebalanceError(const std::string& what) override;

  void OnConsumerError(const kafka::Message& m);
  TopicState* LookupTopic(std::string_view topic);
  std::vector<LoopPartition*> AssignedMutable() const;
  void CheckRetentionLoss(LoopPartition& p, int64_t first_offset);
  bool FlushCycle(const char* reason);
  Status Flush(bool final);
  Status FailFlush(Status s);
  int64_t HeartbeatWatermark();
  void StartRewind(const std::set<kafka::TopicPartition>& exclude);
  void TryRewind();

  kafka::Consumer& consumer_;
  LoopHooks& hooks_;
  LoopMetrics& metrics_;
  LoopOptions opts_;
  const Clock& clock_;

  // ---- consume thread ----
  std::map<std::string, std::unique_ptr<TopicState>, std::less<>> topics_;  // assigned topics by name
  const char* last_topic_ptr_ = nullptr;  // lookup cache: Message::topic.data() → TopicState
  TopicState* last_topic_ = nullptr;
  int64_t now_ms_ = 0;
  int64_t next_flush_ns_ = 0;
  int64_t next_status_ns_ = 0;
  int64_t next_rewind_ns_ = 0;
  bool rewind_pending_ = false;
  bool joined_ = false;  // had an assignment (possibly empty) from the group
  uint64_t next_ownership_ = 0;
  int64_t last_flush_ms_ = 0;
  int64_t last_good_flush_ms_ = 0;
  bool last_flush_ok_ = true;
  std::string last_error_;
  common::RateLimitedLog log_consume_, log_stale_, log_loss_, log_flush_, log_rewind_;
  std::atomic<bool> flush_requested_{false};
};

}  // namespace chaperone::pipeline
