// The audit service's consumer tuning, in one table: the service applies it
// before the cluster's and the user's properties, and the benchmark baseline
// (bench/plain_consumer_tool.cc) uses the same table, so the two are tuned
// alike by construction. docs/service.md and docs/performance.md explain each
// figure.
#ifndef CHAPERONE_SERVICE_CONSUMER_DEFAULTS_H_
#define CHAPERONE_SERVICE_CONSUMER_DEFAULTS_H_

#include <string>
#include <utility>
#include <vector>

namespace chaperone::service {

// Properties only; group.id, offsets and assignment are set by the service.
inline std::vector<std::pair<std::string, std::string>> ConsumerTuningDefaults() {
  return {
      {"auto.offset.reset", "earliest"},
      // Prefetch is bounded by bytes, never by count, and kept small: memory
      // stays flat whatever the backlog (queue + one fetch response per
      // broker). A full queue makes librdkafka 2.0.2 stop fetching until
      // something wakes its broker threads; service/fetch_waker.h does.
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "2048"},
      {"fetch.max.bytes", "1048576"},
      {"max.partition.fetch.bytes", "1048576"},
      {"fetch.wait.max.ms", "100"},
  };
}

}  // namespace chaperone::service

#endif  // CHAPERONE_SERVICE_CONSUMER_DEFAULTS_H_
