#include <map>

#include "collector/collector.h"
#include "common/listen_address.h"
#include "common/store_url.h"
#include "common/topic_name.h"

namespace chaperone::collector {

Status CollectorOptions::Validate() const {
  if (bootstrap_servers.empty())
    return Status::InvalidArgument("no cluster: give --bootstrap-servers, or `clusters:` and collector.cluster");
  if (Status s = common::ValidateTopicName(audit_topic); !s.ok()) {
    return Status::InvalidArgument("collector.audit_topic: '" + audit_topic + "' is not a valid Kafka topic name (" +
                                   s.message() + ")");
  }
  if (group.empty()) return Status::InvalidArgument("collector.group_id: must not be empty");
  if (auto u = common::ParseStoreUrl(store_url); !u.ok())
    return Status::InvalidArgument("collector.store: " + u.status().message());
  Status listen = common::ValidateListenAddress(metrics_listen, common::EmptyListen::kOff, "collector.listen");
  if (!listen.ok()) return listen;
  if (retention_days < 0) return Status::InvalidArgument("collector.retention_days: must be >= 0 (0 keeps everything)");
  if (batch_records < 1 || batch_records > 100000) {
    return Status::InvalidArgument("collector.batch_records: must be in [1, 100000]");
  }
  if (batch_ms < 1 || batch_ms > 60000) return Status::InvalidArgument("collector.batch_ms: must be in [1, 60000]");
  // Properties the exactly-once design depends on, or that have their own option.
  static const std::map<std::string, std::string> kOwned = {
      {"enable.auto.commit", "the collector stores positions in the store and must not auto-commit"},
      {"enable.auto.offset.store", "the collector manages offsets itself"},
      {"isolation.level", "the collector reads with read_committed"},
      {"group.id", "use collector.group_id"},
      {"bootstrap.servers", "use `clusters:` or --bootstrap-servers"},
      {"metadata.broker.list", "use `clusters:` or --bootstrap-servers"},
  };
  for (const auto& [k, v] : kafka) {
    if (auto it = kOwned.find(k); it != kOwned.end()) {
      return Status::InvalidArgument("collector.consumer." + k + ": not settable (" + it->second + ")");
    }
  }
  return Status::Ok();
}

}  // namespace chaperone::collector
