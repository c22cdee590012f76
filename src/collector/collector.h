// chaperone collector: consumes the audit topic and applies every audit record
// exactly once to the store (docs/architecture.md, "Collector: exactly-once apply").
//
//   audit topic ──▶ Collector (batch, decode, validate) ──▶ Store::Apply(batch, positions)
//
// The store, not Kafka, holds the consumer positions: each batch is written in
// one transaction with the offsets it ends at, and on assignment the collector
// seeks to them. Several collectors in one consumer group split the audit
// topic (cooperative-sticky); a store failure is retried with backoff, never
// skipped. `chaperone up` runs a Collector in-process; `chaperone collector`
// is a thin shell over this header.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "chaperone/audit_record.h"
#include "chaperone/clock.h"
#include "chaperone/status.h"

namespace chaperone::collector {

struct CollectorOptions {
  std::string cluster_name = "audit";             // its name in `clusters:` (for messages)
  std::string bootstrap_servers;                  // required
  std::string audit_topic = kDefaultAuditTopic;   // chaperone-audit
  std::string group = "chaperone-collector";      // Kafka consumer group
  std::string store_url = "sqlite:./chaperone-data/chaperone.db";
  std::map<std::string, std::string> kafka;       // the cluster's other librdkafka properties and collector.consumer
  std::string metrics_listen;                     // "HOST:PORT" serving /metrics and /health; empty: off
  int retention_days = 0;                         // 0: keep everything
  int batch_records = 2000;                       // a batch is applied at this many records...
  int batch_ms = 100;                             // ...or this long after its first record

  // Checks every field; the error names the option at fault.
  Status Validate() const;
};

// The configuration file and flags: collector/collector_config.h.

// Counters, readable from any thread.
struct CollectorMetrics {
  std::atomic<int64_t> messages{0};      // audit-topic messages consumed
  std::atomic<int64_t> applied{0};       // records merged into the store
  std::atomic<int64_t> duplicates{0};    // uuid seen before: skipped
  std::atomic<int64_t> replays{0};       // service chunks replaced
  std::atomic<int64_t> quarantined{0};   // invalid messages stored in quarantine
  std::atomic<int64_t> fenced{0};        // stale owners' chunks kept in quarantine, never merged
  std::atomic<int64_t> retention_overlaps{0};  // replays that resumed inside an uncommitted chunk
  std::atomic<int64_t> overlap_messages{0};    // messages of those that may be counted twice
  std::atomic<int64_t> expired{0};       // records older than the retention horizon
  std::atomic<int64_t> batches{0};       // store transactions committed
  std::atomic<int64_t> store_errors{0};  // failed store operations (each retried)
  std::atomic<int64_t> kafka_errors{0};  // consumer errors reported by librdkafka
  std::atomic<int64_t> lag{0};           // messages behind the high watermark, over assigned partitions
  std::atomic<int64_t> assigned_partitions{0};
  std::atomic<int64_t> last_batch_ms{0};  // wall clock of the last committed batch
  std::atomic<int64_t> store_up{0};       // 1 when the last store operation succeeded
  std::atomic<int64_t> store_down_since_ms{0};  // wall clock of the first failure of the current outage; 0 when up
  std::atomic<int64_t> pending{0};        // messages consumed but not applied yet (held, uncommitted)
};

class Collector {
 public:
  // Validates `options`; nothing is opened yet.
  static Result<std::unique_ptr<Collector>> Create(CollectorOptions options, Clock* clock = nullptr);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Opens the store (retrying while it is unavailable), serves metrics, and
  // consumes until `stop` becomes true; then applies what it holds (if the
  // store allows), closes the consumer and returns. Non-OK only for errors that
  // retrying cannot fix (bad configuration, newer schema).
  Status Run(const std::atomic<bool>& stop);

  const CollectorMetrics& metrics() const { return metrics_; }
  // Prometheus text exposition of metrics().
  std::string MetricsText() const;
  // The port /metrics listens on once Run started it (useful with port 0); 0 before.
  int metrics_port() const { return metrics_port_.load(); }

 private:
  class Impl;
  Collector(CollectorOptions options, Clock* clock);

  const CollectorOptions options_;
  Clock* const clock_;
  CollectorMetrics metrics_;
  std::atomic<int> metrics_port_{0};
};

}  // namespace chaperone::collector
