#include <yaml-cpp/yaml.h>

#include <set>

#include "collector/collector.h"
#include "common/listen_address.h"
#include "common/topic_name.h"

namespace chaperone::collector {

Status ParseKafkaProperty(const std::string& kv, std::map<std::string, std::string>* out) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("-X: want key=value (a librdkafka property), got '" + kv + "'");
  }
  (*out)[kv.substr(0, eq)] = kv.substr(eq + 1);
  return Status::Ok();
}

Status CollectorOptions::Validate() const {
  if (bootstrap_servers.empty()) return Status::InvalidArgument("--bootstrap-servers is required");
  if (Status s = common::ValidateTopicName(audit_topic); !s.ok()) {
    return Status::InvalidArgument("--audit-topic: '" + audit_topic + "' is not a valid Kafka topic name (" +
                                   s.message() + ")");
  }
  if (group.empty()) return Status::InvalidArgument("--group: must not be empty");
  if (store_url.empty()) return Status::InvalidArgument("--store: must not be empty");
  size_t scheme = store_url.find("://");
  if (scheme != std::string::npos && store_url.rfind("postgresql://", 0) != 0 &&
      store_url.rfind("postgres://", 0) != 0 && store_url.rfind("sqlite://", 0) != 0) {
    return Status::InvalidArgument("--store: unsupported URL scheme in '" + store_url +
                                   "' (want sqlite:PATH or postgresql://...)");
  }
  Status listen = common::ValidateListenAddress(metrics_listen, common::EmptyListen::kOff, "--metrics-listen");
  if (!listen.ok()) return listen;
  if (retention_days < 0) return Status::InvalidArgument("--retention-days: must be >= 0 (0 keeps everything)");
  if (batch_records < 1 || batch_records > 100000) {
    return Status::InvalidArgument("--batch-records: must be in [1, 100000]");
  }
  if (batch_ms < 1 || batch_ms > 60000) return Status::InvalidArgument("--batch-ms: must be in [1, 60000]");
  // Properties the exactly-once design depends on, or that have their own option.
  static const std::map<std::string, std::string> kOwned = {
      {"enable.auto.commit", "the collector stores positions in the store and must not auto-commit"},
      {"enable.auto.offset.store", "the collector manages offsets itself"},
      {"isolation.level", "the collector reads with read_committed"},
      {"group.id", "use --group"},
      {"bootstrap.servers", "use --bootstrap-servers"},
      {"metadata.broker.list", "use --bootstrap-servers"},
  };
  for (const auto& [k, v] : kafka) {
    if (auto it = kOwned.find(k); it != kOwned.end()) {
      return Status::InvalidArgument("-X " + k + ": not settable (" + it->second + ")");
    }
  }
  return Status::Ok();
}

Result<CollectorOptions> LoadCollectorConfig(const std::string& path, CollectorOptions base) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status::InvalidArgument("--config: cannot read " + path);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("--config " + path + ": " + e.what());
  }
  if (root.IsNull()) return base;
  if (!root.IsMap()) return Status::InvalidArgument("--config " + path + ": expected a mapping at the top level");
  const bool in_section = static_cast<bool>(root["collector"]);
  YAML::Node node = in_section ? root["collector"] : root;
  if (!node.IsMap()) return Status::InvalidArgument("--config " + path + ": 'collector' must be a mapping");
  CollectorOptions o = std::move(base);
  try {
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      const YAML::Node& v = kv.second;
      if (key == "bootstrap-servers") {
        o.bootstrap_servers = v.as<std::string>();
      } else if (key == "audit-topic") {
        o.audit_topic = v.as<std::string>();
      } else if (key == "group") {
        o.group = v.as<std::string>();
      } else if (key == "store") {
        o.store_url = v.as<std::string>();
      } else if (key == "metrics-listen") {
        o.metrics_listen = v.as<std::string>();
      } else if (key == "retention-days") {
        o.retention_days = v.as<int>();
      } else if (key == "batch-records") {
        o.batch_records = v.as<int>();
      } else if (key == "batch-ms") {
        o.batch_ms = v.as<int>();
      } else if (key == "kafka") {
        if (!v.IsMap()) return Status::InvalidArgument("--config " + path + ": 'kafka' must map properties to values");
        for (const auto& p : v) o.kafka[p.first.as<std::string>()] = p.second.as<std::string>();
      } else {
        return Status::InvalidArgument("--config " + path + ": unknown key '" + (in_section ? "collector." : "") +
                                       key + "'");
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("--config " + path + ": " + e.what());
  }
  return o;
}

}  // namespace chaperone::collector
