// The auditing engine behind AuditClient (include/chaperone/audit_client.h)
// and the interceptor plugin.
//
// Threads:
//   - callers of Track() (librdkafka broker threads for acknowledgements, the
//     application's threads for consumed messages): extract, digest, push a
//     Slot into `queue_`; never block, never allocate (except the first
//     message of a new topic).
//   - the drain thread: pops slots into the WindowTracker; at every flush
//     (interval, Flush(), Close(), or the tracker asking for it) turns its
//     snapshots into count records and appends them to the outbox.
//   - the send thread: owns the Emitter and the Reporter (the audit
//     producer, created lazily); stamps the oldest outbox batch, adds a
//     heartbeat, sends it, retries it until it is acknowledged or Close()
//     gives up.
//
// Memory is bounded: `queue_` holds at most queue_capacity slots (overflow
// is dropped and counted), the outbox at most max_pending_records count
// records holding at most max_pending_bytes (AuditRecordMemoryBytes), plus
// two heartbeats (overflow is dropped and counted, record by record), because
// a new flush merges into the outbox's last batch unless that one is in
// flight.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "chaperone/audit_client.h"
#include "chaperone/audit_record.h"
#include "chaperone/clock.h"
#include "chaperone/event_time.h"
#include "interceptor/diag_log.h"
#include "interceptor/mpsc_queue.h"
#include "interceptor/topic_registry.h"
#include "interceptor/waker.h"

namespace chaperone {
class Reporter;
class Emitter;
class WindowTracker;
}  // namespace chaperone

namespace chaperone::interceptor {

// One observed message, as it travels from a callback to the drain thread.
struct Slot {
  const TopicInfo* topic;
  int64_t event_ms;     // -1: no usable event time
  int64_t observed_ms;  // wall clock
  uint64_t digest;
  uint32_t bytes;
  uint32_t malformed;
};

// queue.buffering.max.kbytes of the audit producer, unless
// audit_producer_properties set it. The producer keeps a batch it gave up on
// queued until it is delivered or expires (message.timeout.ms), so retries
// during an outage would pile up copies of the outbox's front batch: its
// queue holds twice the outbox's byte budget (a record's JSON is about as
// large as its memory), at least 1 MiB.
size_t AuditProducerQueueKbytes(const AuditClientOptions& o);

// Wall-clock milliseconds from CLOCK_REALTIME_COARSE (a few ns, ~1-4 ms resolution).
int64_t CoarseNowMs();

class AuditEngine {
 public:
  // Validates `options` (tier, chains, regexes, reporter). With
  // `learn_brokers`, options.audit_bootstrap_servers may be empty: the audit
  // producer then starts once LearnBroker() has given it an address.
  static Result<std::unique_ptr<AuditEngine>> Create(AuditClientOptions options, bool learn_brokers = false);
  ~AuditEngine();

  // Hot path; see AuditClient::Track.
  bool Track(std::string_view topic, const MessageView& m) {
    if (closed_.load(std::memory_order_relaxed)) {
      dropped_observations_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    const TopicInfo* t = topics_.Lookup(topic);
    if (t->excluded) return true;
    EventTime et = t->chain->Extract(m);
    Slot s;
    s.topic = t;
    s.event_ms = et.found ? et.ms : -1;
    s.observed_ms = clock_ != nullptr ? clock_->NowMs() : CoarseNowMs();
    s.digest = Digest(m);
    s.bytes = static_cast<uint32_t>(m.key.size() + m.value.size());
    s.malformed = et.malformed ? 1 : 0;
    if (!queue_.TryPush(s)) {
      QueueFull();
      return false;
    }
    waker_.Notify();
    return true;
  }
  void TrackFailedDelivery(int64_t n) { failed_deliveries_.fetch_add(n, std::memory_order_relaxed); }

  // A broker address the audited client was given or learned (any thread,
  // e.g. librdkafka's on_broker_state_change): bootstrap servers of the audit
  // producer when the engine was created with `learn_brokers`. Copies a few
  // bytes under a leaf lock until the audit producer starts, then does nothing.
  void LearnBroker(std::string_view host, int port);

  Status Flush(std::chrono::milliseconds timeout);
  Status Close(std::chrono::milliseconds timeout);
  AuditClientStats stats() const;
  const AuditClientOptions& options() const { return opts_; }
  size_t queue_capacity() const { return queue_.capacity(); }

  // Tests: while paused, the drain thread takes nothing from the queue (so
  // that a test can fill it) and cuts no batch. Pausing returns once the
  // drain thread is parked.
  void PauseDrainForTesting(bool paused);
  const std::string& emitter_id() const { return emitter_id_; }
  // The engine's rate-limited stderr diagnostics (thread-safe).
  DiagLog& log() { return log_; }

 private:
  struct Ticket;  // one Flush() call waiting for its records to be acknowledged
  struct Batch {
    std::vector<AuditRecord> records;  // count records; a heartbeat is appended when stamped
    int64_t count_records = 0;
    int64_t count_bytes = 0;  // AuditRecordMemoryBytes of the count records
    int64_t watermark_ms = 0;
    bool stamped = false;  // in flight: the drain thread no longer merges into it
    std::vector<std::shared_ptr<Ticket>> tickets;
  };

  AuditEngine(AuditClientOptions options, bool learn_brokers);
  Status Start();
  static uint64_t Digest(const MessageView& m);
  void QueueFull();

  void DrainLoop();  // drain thread
  size_t DrainQueue();
  void CutBatch(std::vector<std::shared_ptr<Ticket>> tickets);

  void SendLoop();  // send thread
  Status EnsureReporter();
  void Complete(Batch& b, const Status& st);  // mu_ held
  void PopFront();                            // mu_ held: the front batch leaves the outbox

  const AuditClientOptions opts_;
  const Clock* const clock_;      // null: coarse system clock on the hot path
  const Clock& control_clock_;    // flush timing and watermarks
  std::string emitter_id_;
  TimestampRules rules_;
  std::optional<std::regex> exclude_;
  DiagLog log_;

  // Hot path state.
  TopicRegistry topics_;
  MpscQueue<Slot> queue_;
  Waker waker_;
  std::atomic<bool> closed_{false};
  std::atomic<int64_t> dropped_observations_{0};
  std::atomic<int64_t> failed_deliveries_{0};

  // Drain thread only.
  std::unique_ptr<WindowTracker> tracker_;
  std::vector<Slot> scratch_;
  int64_t drained_ = 0;         // slots popped since start (for stats)
  int64_t first_flush_ns_ = 0;  // control clock; set before the thread starts
  int64_t tracker_dropped_ = 0;  // tracker_->dropped_messages() already counted

  // Requests to the drain thread.
  std::atomic<bool> pause_drain_{false};
  std::atomic<bool> drain_parked_{false};
  std::atomic<bool> flush_requested_{false};
  std::atomic<bool> stop_drain_{false};

  // Shared by all threads, guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable send_cv_;  // send thread: outbox or stop changed
  std::deque<Batch> outbox_;
  int64_t outbox_records_ = 0;  // count records in outbox_
  int64_t outbox_bytes_ = 0;    // their AuditRecordMemoryBytes
  std::vector<std::shared_ptr<Ticket>> flush_requests_;
  bool closing_ = false;           // Close() started: attempts are bounded by close_deadline_ns_
  int64_t close_deadline_ns_ = 0;  // real monotonic clock
  bool drain_done_ = false;        // the drain thread cut its last batch: the send thread ends when the outbox is empty
  AuditClientStats stats_;         // the fields owned by the drain and send threads
  Status close_status_;

  // Brokers of the audited client (learn_brokers_): any thread appends until
  // the send thread has started the audit producer with them.
  const bool learn_brokers_;
  std::atomic<bool> brokers_taken_{false};
  std::mutex brokers_mu_;
  std::vector<std::string> brokers_;  // "host:port", guarded by brokers_mu_

  // Send thread only.
  std::unique_ptr<Reporter> reporter_;
  std::unique_ptr<Emitter> emitter_;

  std::thread drain_thread_;
  std::thread send_thread_;
  std::once_flag close_once_;
};

}  // namespace chaperone::interceptor
