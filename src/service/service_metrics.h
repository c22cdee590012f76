// ServiceMetrics: the counters and gauges of one audit service, rendered as
// Prometheus text for GET /metrics (names in docs/service.md).
//
// Counters are written by the consume thread (relaxed atomics: a plain store
// per poll batch on the hot path) and read by REST threads. Per-partition
// state (assignment, lag) is published by the consume thread as a whole
// under a mutex about once a second and at every flush.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/audit_report.h"
#include "pipeline/consume_loop.h"

namespace chaperone::service {

struct PartitionGauge {
  std::string topic;
  int32_t partition = 0;
  int64_t position = -1;        // next offset to count (-1 unknown)
  int64_t committed = -1;       // last committed offset (-1 unknown)
  int64_t high_watermark = -1;  // as last seen by the consumer (-1 unknown)
  int64_t lag = -1;             // high_watermark - position (-1 unknown)
};

struct ServiceStatus {
  std::vector<PartitionGauge> partitions;  // assigned to this process, sorted
  int64_t last_flush_ms = 0;               // wall clock of the last flush attempt (0 none)
  int64_t last_good_flush_ms = 0;          // wall clock of the last committed flush (0 none)
  bool last_flush_ok = true;
  bool rewind_pending = false;  // counts were discarded and the rewind has not succeeded yet
  int64_t watermark_ms = 0;     // last heartbeat watermark
  std::string last_error;       // the last error seen (empty none)
  bool running = false;
};

// The consume loop's counters (pipeline::LoopMetrics: flushes, commits,
// rewinds, rebalances ...), the report's (pipeline::AuditMetrics: records,
// heartbeats, send errors) and the service's own.
class ServiceMetrics : public pipeline::LoopMetrics, public pipeline::AuditMetrics {
 public:
  // Monotonic counters (relaxed atomics).
  std::atomic<int64_t> messages_audited{0};  // counted into windows (replays after a rewind count again)
  std::atomic<int64_t> bytes_audited{0};
  std::atomic<int64_t> errors_discovery{0};
  std::atomic<int64_t> malformed_messages{0};
  std::atomic<int64_t> no_time_messages{0};
  std::atomic<int64_t> fetch_wakes{0};  // requests that woke librdkafka's fetchers (lib/kafka/fetch_waker.h)
  std::atomic<int64_t> discovered_topics{0};  // gauge: topics selected at the last discovery

  void Publish(ServiceStatus status);
  ServiceStatus Snapshot() const;

  // Prometheus text exposition format, version 0.0.4.
  std::string RenderPrometheus() const;

 private:
  mutable std::mutex mu_;
  ServiceStatus status_;  // guarded by mu_
};

}  // namespace chaperone::service
