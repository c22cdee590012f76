// Reporters carry audit records out of an emitter: to the audit topic (Kafka)
// or to a file of JSON lines (debugging, dry runs, tests).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/kafka_config.h"
#include "chaperone/status.h"

namespace chaperone {

// Cumulative since the reporter was made.
struct ReporterStats {
  int64_t records_sent = 0;    // handed to the transport (Kafka: accepted by produce; file: written)
  int64_t records_acked = 0;   // acknowledged (Kafka: acks=all; file: flushed)
  int64_t records_failed = 0;  // definitively not delivered: invalid, refused, or failed delivery
  int64_t bytes_sent = 0;      // encoded size of records_sent
  int64_t bytes_acked = 0;     // encoded size of records_acked
  int64_t send_timeouts = 0;   // Send calls that returned before every record was acknowledged
};

class Reporter {
 public:
  virtual ~Reporter() = default;

  // Sends `records` and returns when all are acknowledged or `timeout` passes.
  // Non-OK means some record was not acknowledged (the caller decides: the
  // service rewinds, the interceptor drops and counts):
  //   InvalidArgument  a record breaks the format rules (ValidateAuditRecord);
  //                    nothing of this call was sent.
  //   Unavailable      a delivery failed, or the timeout passed first. Records
  //                    still in flight at the timeout may yet be delivered
  //                    later, after every record of this call that was
  //                    acknowledged (order per key is kept).
  // Send calls are serialised; stats() may be called from any thread. (Kafka:
  // delivery reports of records an earlier Send left in flight are counted in
  // stats() during later Send calls.)
  virtual Status Send(const std::vector<AuditRecord>& records, std::chrono::milliseconds timeout) = 0;
  virtual ReporterStats stats() const = 0;
};

struct KafkaReporterOptions {
  std::string bootstrap_servers;  // required (or bootstrap.servers in `properties`)
  std::string topic = kDefaultAuditTopic;
  // Any librdkafka producer property (TLS, SASL, client.id, message.timeout.ms,
  // linger.ms ...). Plugin properties (IsPluginProperty: plugin.library.paths,
  // interceptor.*, chaperone.*) are dropped: the reporter never loads a plugin.
  KafkaProperties properties;
};

// A producer to the audit topic: idempotent (enable.idempotence=true,
// acks=all; setting either otherwise is an error), lz4 compression, key =
// topicName for count records (one topic's records stay ordered in one
// partition) and emitterId for heartbeats. An unreachable cluster is not an
// error here: Send then returns Unavailable after its timeout. After a fatal
// idempotent-producer error the next Send starts a fresh producer.
Result<std::unique_ptr<Reporter>> MakeKafkaReporter(const KafkaReporterOptions& options);

// Appends one JSON record per line to `path` ("-" = stdout), flushed per Send.
Result<std::unique_ptr<Reporter>> MakeJsonLinesReporter(const std::string& path);

}  // namespace chaperone
