// AuditService: `chaperone service` as a library. It consumes every message of
// the selected topics of one cluster (as a member of a consumer group), counts
// them per (topic, partition, event-time window), and at every flush reports
// the counts to the audit topic and commits the consumed offsets, so that every
// message is counted exactly once across crashes, restarts and rebalances
// (docs/service.md, docs/architecture.md).
//
// Threads: Run() is the consume thread (it owns the consumer, the window
// tracker and the emitter); a discovery thread reads the cluster's topic list;
// the REST server answers on its own threads through control().
//
//   auto svc = AuditService::Create(options);          // validates, binds REST
//   std::atomic<bool> stop{false};
//   std::thread t([&] { Status s = (*svc)->Run(stop); });
//   ...; stop = true; t.join();                         // final flush + commit
#pragma once

#include <atomic>
#include <memory>

#include "chaperone/status.h"
#include "service/rest_api.h"
#include "service/service_metrics.h"
#include "service/service_options.h"

namespace chaperone::service {

class AuditService {
 public:
  // Checks the options, creates the consumer and the reporter, and binds the
  // REST listener (so a port conflict fails here). InvalidArgument for bad
  // options or librdkafka properties; Unavailable when the REST port is taken.
  static Result<std::unique_ptr<AuditService>> Create(ServiceOptions options);
  ~AuditService();
  AuditService(const AuditService&) = delete;
  AuditService& operator=(const AuditService&) = delete;

  // Consumes until `stop` becomes true (checked at least every 100 ms), then
  // flushes, commits, leaves the group and returns OK. Returns an error only
  // for a fatal consumer error. Call once.
  Status Run(const std::atomic<bool>& stop);

  // The REST port actually bound (0 when REST is off).
  int rest_port() const;
  const ServiceMetrics& metrics() const;
  // The same calls the REST API makes; thread-safe.
  ServiceControl& control();
  // Asks the consume thread to flush at its next iteration (thread-safe).
  void RequestFlush();

  class Impl;

 private:
  explicit AuditService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaperone::service
