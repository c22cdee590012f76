// AuditClient: audit the messages an application produces or consumes, from
// inside the application. It is the engine of libchaperone-interceptor.so (the
// librdkafka plugin, docs/interceptor.md), offered as a C++ API for programs
// that want explicit control: track a message yourself, flush when you choose.
//
//   chaperone::AuditClientOptions o;
//   o.tier = "producer";
//   o.audit_bootstrap_servers = "kafka:9092";
//   auto client = chaperone::AuditClient::Create(std::move(o));
//   ...
//   (*client)->Track("orders", view);            // after the broker acknowledged it
//   ...
//   (*client)->Close(std::chrono::seconds(5));   // reports what is left
//
// Track() is cheap and never blocks: it extracts the event time and the digest
// from the message (which need only be valid during the call) and hands a
// small fixed-size observation to a bounded queue. A background thread counts
// observations per (topic, window) and, every flush interval, sends audit
// records and a heartbeat to the audit topic through a second thread. When the
// queue is full the observation is dropped and counted; when the audit cluster
// is down or slow, records wait in a bounded outbox and are retried, then
// dropped and counted; both counts are reported in heartbeats.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/status.h"
#include "chaperone/types.h"

namespace chaperone {

class Clock;
class Reporter;
struct MessageView;

enum class AuditLogLevel { kOff, kError, kWarning, kInfo };

struct AuditClientOptions {
  // Who observes. `tier` is required (the plugin defaults it from the client's
  // role: "producer", or "consumer:<group.id>").
  std::string tier;
  std::string datacenter;
  std::string cluster;
  std::string emitter_id;  // empty: a new UUID per client

  // Where audit records go.
  std::string audit_topic = kDefaultAuditTopic;
  std::string audit_bootstrap_servers;  // required unless reporter_factory is set
  std::vector<std::pair<std::string, std::string>> audit_producer_properties;  // any librdkafka property

  // What is counted and how.
  int64_t window_sec = kDefaultWindowSec;
  std::string timestamp_chain;  // empty: TimestampChain::Default()
  // (topic regex, chain spec), first full match wins; topics matching none use timestamp_chain.
  std::vector<std::pair<std::string, std::string>> timestamp_rules;
  std::string topic_exclude;  // regex (full match) of topics not audited; the audit topic never is

  // When and how records leave.
  std::chrono::milliseconds flush_interval{10'000};
  std::chrono::milliseconds close_timeout{5'000};
  std::chrono::milliseconds report_timeout{2'000};  // one attempt to deliver a batch of records
  size_t queue_capacity = 65'536;                   // observations (rounded up to a power of two)
  size_t max_pending_records = 100'000;             // records waiting for the audit cluster
  size_t max_pending_bytes = 4 << 20;               // memory those records may hold (AuditRecordMemoryBytes)

  AuditLogLevel log_level = AuditLogLevel::kWarning;  // diagnostics go to stderr, rate limited

  // Seams for tests and embedding. `clock` must outlive the client; null means
  // the system clock (read coarsely on the hot path). `reporter_factory` is
  // called once, on the reporting thread, before the first send; null means a
  // Kafka reporter built from the audit_* fields.
  const Clock* clock = nullptr;
  std::function<Result<std::unique_ptr<Reporter>>()> reporter_factory;
};

// Memory one record holds while it waits for the audit cluster: the struct
// and the heap blocks of its strings and vectors. The unit of
// max_pending_bytes.
size_t AuditRecordMemoryBytes(const AuditRecord& record);

// Sets the `chaperone.*` property `name` (e.g. "chaperone.flush.interval.ms")
// on `options`, validating the value. The settings are listed in
// docs/interceptor.md, generated from the same table.
Status SetAuditClientProperty(AuditClientOptions& options, std::string_view name, std::string_view value);

struct AuditClientStats {
  int64_t tracked = 0;               // observations queued
  int64_t dropped_observations = 0;  // lost to a full queue, or tracked after Close (never counted)
  int64_t failed_deliveries = 0;     // TrackFailedDelivery()
  int64_t records_sent = 0;          // count records acknowledged by the audit cluster
  int64_t heartbeats_sent = 0;
  int64_t dropped_records = 0;  // count records given up (outbox full, or Close timed out)
  int64_t send_failures = 0;    // attempts to deliver a batch that failed (then retried)
  int64_t flushes = 0;
  int64_t pending_records = 0;     // count records waiting for the audit cluster now
  int64_t pending_bytes = 0;       // their memory (AuditRecordMemoryBytes), at most max_pending_bytes
  int64_t peak_pending_bytes = 0;  // the most pending_bytes has been since the client started
};

class AuditClient {
 public:
  // Validates `options` and starts the background threads. The audit
  // producer is created lazily, on the reporting thread.
  static Result<std::unique_ptr<AuditClient>> Create(AuditClientOptions options);
  ~AuditClient();  // Close(close_timeout) unless closed
  AuditClient(const AuditClient&) = delete;
  AuditClient& operator=(const AuditClient&) = delete;

  // Counts one message of `topic`, observed now. Thread-safe and wait-free
  // except for the first message of a new topic (which takes a lock once).
  // `message` need only be valid during the call. Returns false if the
  // observation was dropped (queue full or client closed); it is counted.
  bool Track(std::string_view topic, const MessageView& message);
  // Same, for a message given by key and value only.
  bool Track(std::string_view topic, std::string_view key, bool key_null, std::string_view value,
             bool value_null = false);
  // Counts messages whose delivery failed (producers): reported as
  // `failedDeliveries` in heartbeats.
  void TrackFailedDelivery(int64_t n = 1);

  // Reports everything tracked before the call (records and a heartbeat) and
  // waits until the audit cluster acknowledged it, or `timeout`.
  Status Flush(std::chrono::milliseconds timeout);
  // Final flush, then stops the threads and the audit producer; waits at most
  // `timeout`. Records still undelivered are dropped, counted and logged.
  // Later Track() calls are dropped. Idempotent.
  Status Close(std::chrono::milliseconds timeout);

  AuditClientStats stats() const;
  const std::string& tier() const;
  const std::string& emitter_id() const;

  class Impl;

 private:
  explicit AuditClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaperone
