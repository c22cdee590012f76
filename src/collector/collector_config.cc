#include "collector/collector_config.h"

namespace chaperone::collector {
namespace {

using config::Errors;
using config::Value;

struct Draft {
  CollectorOptions opts;
  config::ClusterChoice cluster;
  KafkaProperties consumer;
  bool store_set = false;
};

const config::Table<Draft>& Settings() {
  using std::chrono::milliseconds;
  static const config::Table<Draft> kTable(
      "collector",
      config::Concat(
          config::ClusterSettings<Draft, &Draft::cluster>(
              {"cluster", "Name (in `clusters:`) of the cluster holding the audit topic.", "bootstrap-servers",
               "Flag only: bootstrap servers of the cluster holding the audit topic (overrides or replaces "
               "`clusters.<cluster>`).",
               "property", "X",
               "Flag only (repeatable): a librdkafka property of that cluster, e.g. `-X security.protocol=SSL`."}),
      {
          {{"audit_topic", "", "string", "`chaperone-audit`", "The audit topic to consume."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsTopic(v));
             d.opts.audit_topic = s;
             return Status::Ok();
           }},
          {{"group_id", "", "string", "`chaperone-collector`",
            "Consumer group of the collectors; several processes in one group split the audit topic."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsName(v, ":"));
             d.opts.group = s;
             return Status::Ok();
           }},
          {{"store", "", "URL", "`store.url`, else `sqlite:./chaperone-data/chaperone.db`",
            "Store URL: `sqlite:PATH` or `postgresql://user:password@host:port/db` (the password is never "
            "printed back). The collector creates the store and its schema."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsStoreUrl(v));
             d.opts.store_url = s;
             d.store_set = true;
             return Status::Ok();
           }},
          {{"listen", "", "host:port", "`\"\"` (off)",
            "Address serving `/metrics` and `/health`; port 0 picks a free port; `\"\"` turns it off."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsListen(v, true));
             d.opts.metrics_listen = s;
             return Status::Ok();
           }},
          {{"retention_days", "", "integer", "`0`",
            "Delete windows older than this many days (0 keeps everything; at most 36500)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsInt(v, 0, 36500));
             d.opts.retention_days = static_cast<int>(x);
             return Status::Ok();
           }},
          {{"batch_records", "", "integer", "`2000`", "Apply a batch to the store at this many records (1 to 100000)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsInt(v, 1, 100000));
             d.opts.batch_records = static_cast<int>(x);
             return Status::Ok();
           }},
          {{"batch_ms", "", "duration (ms)", "`100`",
            "...or this long after the batch's first record (1 ms to 60 s)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(1), milliseconds(60000)));
             d.opts.batch_ms = static_cast<int>(x.count());
             return Status::Ok();
           }},
          {{"consumer", "-", "map", "`{}`",
            "librdkafka properties for the collector's consumer only, over the cluster's "
            "(`group.id`, `enable.auto.commit`, `enable.auto.offset.store` and `isolation.level` are the "
            "collector's own)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(p, config::AsProperties(v));
             d.consumer = p;
             return Status::Ok();
           }},
      }));
  return kTable;
}

}  // namespace

Result<CollectorOptions> ParseCollectorConfig(const config::ProjectFile& file,
                                              const std::vector<config::FlagValue>& flags) {
  Errors errors;
  Draft d;
  config::Clusters clusters = config::ParseClusters(file, errors);
  config::StoreSection store = config::ParseStoreSection(file, errors);
  Settings().ApplySection(file.Section("collector"), file.source, d, errors);
  Settings().ApplyFlags(flags, d, errors);
  if (!errors.empty()) return errors.ToStatus();
  if (!d.store_set && !store.url.empty()) d.opts.store_url = store.url;
  auto cluster = config::ResolveCluster(clusters, d.cluster, "collector.cluster", "audit");
  if (!cluster.ok()) return cluster.status();
  d.opts.cluster_name = cluster->name;
  for (const auto& [k, v] : cluster->properties) {
    if (k == "bootstrap.servers" || k == "metadata.broker.list") {
      d.opts.bootstrap_servers = v;
    } else {
      d.opts.kafka[k] = v;
    }
  }
  for (const auto& [k, v] : d.consumer) {
    if (k == "bootstrap.servers" || k == "metadata.broker.list") {
      errors.Add("collector.consumer." + k + ": set it in `clusters:` (or --bootstrap-servers)");
      continue;
    }
    d.opts.kafka[k] = v;
  }
  if (!errors.empty()) return errors.ToStatus();
  if (Status s = d.opts.Validate(); !s.ok()) return s;
  return std::move(d.opts);
}

Result<CollectorOptions> ParseCollectorConfig(std::string_view yaml_text, std::string_view source,
                                              const std::vector<config::FlagValue>& flags) {
  auto file = config::ParseProject(yaml_text, source);
  if (!file.ok()) return file.status();
  return ParseCollectorConfig(*file, flags);
}

Result<CollectorOptions> LoadCollectorConfig(const std::string& path, const std::vector<config::FlagValue>& flags) {
  auto file = config::LoadProject(path);
  if (!file.ok()) return file.status();
  return ParseCollectorConfig(*file, flags);
}

const config::TableBase& CollectorSettingsTable() { return Settings(); }

std::string CollectorConfigReference() { return Settings().Reference(); }

}  // namespace chaperone::collector
