// The consume loop's consumer tuning, in one table: the audit service and the
// replicator apply it before the cluster's and the user's properties, and the
// benchmark baselines (bench/plain_consumer_tool.cc) use the same table, so
// they are tuned alike by construction. docs/service.md and docs/performance.md explain each
// figure.
#ifndef CHAPERONE_PIPELINE_CONSUMER_DEFAULTS_H_
#define CHAPERONE_PIPELINE_CONSUMER_DEFAULTS_H_

#include <string>
#include <utility>
#include <vector>

namespace chaperone::pipeline {

// Properties only; group.id, offsets and assignment are set by the component.
inline std::vector<std::pair<std::string, std::string>> ConsumerTuningDefaults() {
  return {
      {"auto.offset.reset", "earliest"},
      // Prefetch is bounded by bytes, never by count, and kept small: memory
      // stays flat whatever the backlog (queue + one fetch response per
      // broker). A full queue makes librdkafka 2.0.2 stop fetching until
      // something wakes its broker threads; lib/kafka/fetch_waker.h does.
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "2048"},
      {"fetch.max.bytes", "1048576"},
      {"max.partition.fetch.bytes", "1048576"},
      {"fetch.wait.max.ms", "100"},
  };
}

}  // namespace chaperone::pipeline

#endif  // CHAPERONE_PIPELINE_CONSUMER_DEFAULTS_H_
