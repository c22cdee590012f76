// ServiceOptions: everything `chaperone service` needs to run, already
// validated. Built from YAML + flags by service_config.h, or filled in by
// hand when another component (`chaperone up`, tests) runs the service
// in-process.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/clock.h"
#include "chaperone/kafka_config.h"
#include "config/project_file.h"

namespace chaperone {
class Reporter;
}

namespace chaperone::service {

// One `topic regex → timestamp chain` rule; the first matching rule wins.
using TimestampRule = config::TimestampRule;

struct ServiceOptions {
  // Identity written into every audit record.
  std::string tier = "regional";
  std::string datacenter = "local";
  std::string cluster_name = "default";

  // The audited cluster: bootstrap.servers and any other librdkafka property
  // (security.protocol, ssl.*, sasl.* ...). Applied to the consumer and, when
  // no audit cluster is given, to the audit producer.
  KafkaProperties cluster_properties;
  // Overrides for the consumer only (after Chaperone's tuned defaults).
  KafkaProperties consumer_properties;

  // Topic selection: a topic is audited when its whole name matches one of
  // `include` and none of `exclude` (ECMAScript regexes), or when it was added
  // through POST /topics. The audit topic is excluded when exclude_audit_topic.
  std::vector<std::string> include = {".*"};
  std::vector<std::string> exclude = {"__.*"};
  bool exclude_audit_topic = true;

  std::vector<TimestampRule> timestamps;  // empty: the default chain everywhere

  int64_t window_sec = 600;
  std::chrono::milliseconds flush_interval{10'000};
  std::chrono::milliseconds discovery_interval{10'000};
  // How long one flush may wait for the audit records to be acknowledged.
  std::chrono::milliseconds send_timeout{30'000};

  std::string group_id;  // empty: "chaperone-service-<tier>"

  std::string audit_topic = kDefaultAuditTopic;
  std::string audit_cluster_name;     // empty: the audited cluster
  KafkaProperties audit_properties;   // empty: cluster_properties
  KafkaProperties producer_properties;  // overrides for the audit producer only

  // REST listen address "host:port" (port 0 picks a free port); empty: no REST.
  std::string listen = "127.0.0.1:9000";

  // Injected for tests; the default is the system clock.
  const Clock* clock = &SystemClock::Instance();
  // Where records go. Null: a Kafka reporter on the audit cluster (the normal
  // case). Tests inject fault-injecting reporters here.
  std::shared_ptr<Reporter> reporter;

  std::string EffectiveGroupId() const { return group_id.empty() ? "chaperone-service-" + tier : group_id; }
};

}  // namespace chaperone::service
