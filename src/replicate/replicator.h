// Replicator: `chaperone replicate` as a library. It copies the selected
// topics of a source cluster to a destination cluster, exactly once, as the
// hooks of the shared consume loop (pipeline/consume_loop.h), and reports
// what it delivered as audit tier `replicator` (pipeline/audit_report.h).
//
// Per message (consume thread): loop prevention (DecideCopy), the partition
// map (rename, identity or key hash), the provenance headers, then the
// idempotent producer — unless the destination already holds the record
// (the resume point found from the destination on assignment and after
// every rewind, resume.h), in which case it is counted as delivered without
// being written again. At each flush: wait for every acknowledgement (a
// failure fails the flush: the loop rewinds and the rescan skips what
// landed), report the audit, then the loop commits the source offsets.
// Checkpoints (checkpoint.h) are written from acknowledged facts.
// A discovery thread runs TopicSync; the REST API (README.md) runs on an
// http::Endpoint. docs/replicator.md has the guarantees.
//
//   auto r = Replicator::Create(options);   // validates, binds REST
//   std::atomic<bool> stop{false};
//   std::thread t([&] { Status s = (*r)->Run(stop); });
//   ...; stop = true; t.join();              // final flush + commit
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "chaperone/status.h"
#include "http/health.h"
#include "lib/kafka/consumer.h"
#include "replicate/destination_producer.h"
#include "replicate/destination_reader.h"
#include "replicate/replicate_options.h"

namespace chaperone::replicate {

// Test seams: what Create builds from the options when left null.
struct ReplicatorSeams {
  kafka::Consumer* consumer = nullptr;
  DestinationProducer* producer = nullptr;
  DestinationReader* reader = nullptr;
  // Instead of TopicSync: the replicated source topics, each with its
  // destination partition count, all ready.
  std::optional<std::map<std::string, int32_t>> fixed_topics;
};

class Replicator {
 public:
  // Checks the options, creates the clients and binds the REST listener.
  // InvalidArgument for bad options; Unavailable when the REST port is taken.
  static Result<std::unique_ptr<Replicator>> Create(ReplicateOptions options, ReplicatorSeams seams = {});
  ~Replicator();
  Replicator(const Replicator&) = delete;
  Replicator& operator=(const Replicator&) = delete;

  // Replicates until `stop`, then flushes, commits and leaves the group.
  Status Run(const std::atomic<bool>& stop);

  int rest_port() const;  // 0 when REST is off
  void RequestFlush();    // thread-safe
  std::string PrometheusMetrics();
  http::HealthVerdict Health();
  // Records produced and acknowledged, records counted as delivered because
  // the destination already held them, records skipped by loop prevention,
  // and source messages committed (relaxed reads; any thread).
  int64_t records_copied() const;
  int64_t records_already_written() const;
  int64_t records_loop_skipped() const;
  int64_t messages_committed() const;

  class Impl;

 private:
  explicit Replicator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaperone::replicate
