// AuditReport: the audit a consume loop reports at each flush — what the
// audit service counts, and what the replicator delivered — shared so the two
// tiers emit the same records (docs/audit-record-format.md): per (topic,
// window, partition) counts, digests and latency sketches from a
// WindowTracker, each record carrying its partition's chunk start and fencing
// epoch (pipeline/partition_ledger.h), stamped by one Emitter, sent by a
// Reporter, and a heartbeat stamped after each commit that rides with the
// next flush.
//
// A component calls it from its LoopHooks: Count (OnMessage), NeedsFlush
// (FlushDue), Report (Report), AfterCommit (AfterCommit), Discard (Discard).
//
// Threads: the consume thread only; metrics are relaxed atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "chaperone/audit_record.h"
#include "chaperone/clock.h"
#include "chaperone/emitter.h"
#include "chaperone/event_time.h"
#include "chaperone/kafka_config.h"
#include "chaperone/reporter.h"
#include "chaperone/status.h"
#include "chaperone/window_tracker.h"
#include "common/rate_limited_log.h"
#include "pipeline/consume_loop.h"

namespace chaperone::pipeline {

// The report's counters; a component's metrics derive from it.
struct AuditMetrics {
  std::atomic<int64_t> records_emitted{0};  // count records acknowledged by the audit topic
  std::atomic<int64_t> heartbeats_emitted{0};
  std::atomic<int64_t> errors_send{0};
  std::atomic<int64_t> errors_heartbeat{0};
};

struct AuditReportOptions {
  // Identity written into every record.
  std::string tier;
  std::string datacenter;
  std::string cluster_name;
  int64_t window_sec = 600;
  std::chrono::milliseconds flush_interval{10'000};
  std::chrono::milliseconds send_timeout{30'000};  // one flush's wait for its records
  const Clock* clock = &SystemClock::Instance();
  std::string log_prefix = "service";
};

// The Kafka reporter of a component's audit records: the audit cluster's
// properties, then the component's producer overrides (plugin properties dropped).
Result<std::shared_ptr<Reporter>> MakeAuditReporter(const std::string& topic, const KafkaProperties& cluster,
                                                    const KafkaProperties& producer_overrides);

class AuditReport {
 public:
  // The loop partition whose chunk a counted (topic, partition) belongs to
  // (default: the assigned partition of that name).
  using PartitionOf =
      std::function<const LoopPartition*(const FlushContext& ctx, const std::string& topic, int32_t partition)>;

  AuditReport(AuditReportOptions options, std::shared_ptr<Reporter> reporter, AuditMetrics& metrics);

  WindowTracker& tracker() { return *tracker_; }
  TopicId InternTopic(const std::string& topic) { return tracker_->InternTopic(topic); }
  // Counts one message (pipeline/message_audit.h) into (topic, partition).
  EventTime Count(const TimestampChain& chain, TopicId topic, int32_t partition, int64_t offset, const MessageView& v,
                  int64_t observed_ms);
  bool NeedsFlush() const { return tracker_->NeedsFlush(); }
  // Forgets everything counted since the last report (a rewind follows).
  void Discard() { tracker_->Drain(); }
  // Sends the heartbeat stamped at the previous commit and one record per
  // (topic, window, partition) counted since the last flush. An error fails
  // the flush; a failed heartbeat alone sets ctx.skip_commit.
  Status Report(FlushContext& ctx, const PartitionOf& partition_of = {});
  // Stamps the heartbeat (sent with the next flush; at the final flush, now).
  // `skipped_offsets`: offsets retention deleted before they were read, since
  // start (LoopMetrics::offsets_lost), carried as the heartbeat's skippedOffsets.
  void AfterCommit(const FlushContext& ctx, int64_t watermark_ms, int64_t skipped_offsets);
  // The watermark of the last heartbeat delivered (0: none yet).
  int64_t watermark_ms() const { return watermark_ms_; }

 private:
  AuditReportOptions opts_;
  const Clock& clock_;
  std::shared_ptr<Reporter> reporter_;
  AuditMetrics& metrics_;
  std::unique_ptr<WindowTracker> tracker_;
  std::unique_ptr<Emitter> emitter_;
  std::optional<AuditRecord> pending_heartbeat_;
  int64_t watermark_ms_ = 0;
  common::RateLimitedLog log_;
};

}  // namespace chaperone::pipeline
