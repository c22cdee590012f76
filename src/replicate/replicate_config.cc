#include "replicate/replicate_config.h"

#include "replicate/checkpoint.h"

namespace chaperone::replicate {
namespace {

using config::Errors;
using config::Value;
using std::chrono::milliseconds;

struct Draft {
  ReplicateOptions opts;
  config::ClusterChoice source;       // replicate.source.cluster, --source-bootstrap-servers
  config::ClusterChoice destination;  // replicate.destination.cluster, --destination-bootstrap-servers
  config::ClusterChoice audit;        // replicate.audit.cluster
  bool include_set = false, exclude_set = false;
};


const config::Table<Draft>& Settings() {
  static const config::Table<Draft> kTable(
      "replicate",
      config::Concat(
          config::Concat(
              config::Concat(
                  config::ClusterSettings<Draft, &Draft::source>(
                      {"source.cluster",
                       "Name (in `clusters:`) of the cluster replicated from. Written into the provenance headers "
                       "and checkpoints: unique and stable across the deployment.",
                       "source-bootstrap-servers", "Flag only: bootstrap servers of the source cluster.", "", "", ""}),
                  config::ClusterSettings<Draft, &Draft::destination>(
                      {"destination.cluster", "Name (in `clusters:`) of the cluster replicated to.",
                       "destination-bootstrap-servers", "Flag only: bootstrap servers of the destination cluster.",
                       "", "", ""})),
              {
                  {{"topics.include", "include", "regex list", "`[\".*\"]`",
                    "Replicate source topics whose whole name matches one of these ECMAScript regexes (a flag "
                    "value replaces the file's list; repeat the flag for several).",
                    true},
                   +[](const Value& v, Draft& d) -> Status { return config::ApplyRegexList(v, d.opts.include, d.include_set); }},
                  {{"topics.exclude", "exclude", "regex list", "`[\"__.*\", \"chaperone-.*\"]`",
                    "Never replicate topics whose whole name matches one of these (wins over `include`).", true},
                   +[](const Value& v, Draft& d) -> Status { return config::ApplyRegexList(v, d.opts.exclude, d.exclude_set); }},
                  {{"rename", "-", "map", "`{}`",
                    "Source topic → destination topic, e.g. `{orders: dc1.orders}`; other topics keep their name. "
                    "Two regional topics may be renamed into one aggregate topic."},
                   +[](const Value& v, Draft& d) -> Status {
                     SETTING_VALUE(p, config::AsProperties(v));
                     d.opts.rename.clear();
                     for (const auto& [from, to] : p) d.opts.rename[from] = to;
                     return Status::Ok();
                   }},
                  {{"partitioning", "", "string", "`identity`",
                    "`identity`: source partition N goes to destination partition N (the destination needs at "
                    "least as many partitions); `key_hash`: by Kafka's default partitioner on the key."},
                   +[](const Value& v, Draft& d) -> Status {
                     SETTING_VALUE(s, config::AsString(v));
                     std::string name = s == "key_hash" ? "key-hash" : s;
                     auto st = ParsePartitionStrategy(name);
                     if (!st.ok() || s == "key-hash")
                       return Status::InvalidArgument(v.where + ": must be identity or key_hash, not " +
                                                      config::Quote(s));
                     d.opts.partitioning = *st;
                     return Status::Ok();
                   }},
                  {{"group_id", "", "string", "`chaperone-replicate-<source>-<destination>`",
                    "Consumer group on the source. Processes with the same group split the source partitions "
                    "(cooperative-sticky)."},
                   &config::ApplyName<Draft, &Draft::opts, &ReplicateOptions::group_id>},
                  {{"discovery_interval_ms", "", "duration (ms)", "`5000`",
                    "How often both clusters' topic lists are read to find new topics and partitions and to "
                    "check destination topics (100 ms to 1 h)."},
                   +[](const Value& v, Draft& d) -> Status {
                     SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(100), milliseconds(3'600'000)));
                     d.opts.discovery_interval = x;
                     return Status::Ok();
                   }},
                  {{"flush_interval_ms", "", "duration (ms)", "`1000`",
                    "How often the producer's acknowledgements are awaited, the audit reported and source offsets "
                    "committed (10 ms to 1 h)."},
                   +[](const Value& v, Draft& d) -> Status {
                     SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(10), milliseconds(3'600'000)));
                     d.opts.flush_interval = x;
                     return Status::Ok();
                   }},
                  {{"listen", "", "host:port", "`127.0.0.1:9300`",
                    "REST and `/metrics` listen address; port 0 picks a free port; `\"\"` turns it off."},
                   &config::ApplyListen<Draft, &Draft::opts, &ReplicateOptions::listen>},
                  {{"tier", "", "string", "`replicator`",
                    "The tier the replicator's audit records carry. Letters, digits and `._-:`."},
                   &config::ApplyName<Draft, &Draft::opts, &ReplicateOptions::tier>},
                  {{"datacenter", "", "string", "the source cluster's name", "Datacenter written into every audit record."},
                   &config::ApplyName<Draft, &Draft::opts, &ReplicateOptions::datacenter>},
                  {{"audit.topic", "", "string", "`chaperone-audit`", "Topic the audit records are written to."},
                   &config::ApplyTopic<Draft, &Draft::opts, &ReplicateOptions::audit_topic>},
                  {config::kWindowSecDoc,
                   +[](const Value& v, Draft& d) -> Status { return config::ApplyWindowSec(v, d.opts.window_sec); }},
                  {config::kTimestampsDoc,
                   +[](const Value& v, Draft& d) -> Status { return config::ApplyTimestampRules(v, d.opts.timestamps); }},
                  {{"producer", "-", "map", "`{}`",
                    "librdkafka properties of the producer to the destination (`enable.idempotence` and `acks` "
                    "are not overridable)."},
                   &config::ApplyProperties<Draft, &Draft::opts, &ReplicateOptions::producer_properties>},
                  {{"consumer", "-", "map", "`{}`",
                    "librdkafka properties of the source consumer (`group.id`, `enable.auto.commit` and the "
                    "assignment strategy are not overridable)."},
                   &config::ApplyProperties<Draft, &Draft::opts, &ReplicateOptions::consumer_properties>},
              }),
          config::ClusterSettings<Draft, &Draft::audit>(
              {"audit.cluster", "Name (in `clusters:`) of the cluster holding the audit topic.", "audit-bootstrap-servers",
               "Flag only: bootstrap servers of the cluster holding the audit topic.", "", "", "",
               "the destination cluster"})));
  return kTable;
}

void Resolve(Draft& d, const config::Clusters& clusters, Errors& errors) {
  ReplicateOptions& o = d.opts;
  auto source = config::ResolveCluster(clusters, d.source, "replicate.source.cluster", "source");
  if (!source.ok()) {
    errors.Add(source.status());
  } else {
    o.source_cluster = source->name;
    o.source_properties = source->properties;
  }
  auto destination = config::ResolveCluster(clusters, d.destination, "replicate.destination.cluster", "destination");
  if (!destination.ok()) {
    errors.Add(destination.status());
  } else {
    o.destination_cluster = destination->name;
    o.destination_properties = destination->properties;
  }
  if (source.ok() && destination.ok() && o.source_cluster == o.destination_cluster)
    errors.Add("replicate.destination.cluster: must differ from replicate.source.cluster (" + o.source_cluster + ")");
  config::ResolveSecondCluster(clusters, d.audit, o.destination_cluster, o.destination_properties,
                               "replicate.audit.cluster", o.audit_cluster, o.audit_properties, errors);
  if (o.include.empty()) errors.Add("replicate.topics.include: must not be empty");
  for (const auto& [k, v] : o.consumer_properties) {
    if (k == "group.id" || k == "enable.auto.commit" || k == "partition.assignment.strategy" ||
        k == "enable.auto.offset.store" || k == "isolation.level")
      errors.Add("replicate.consumer." + k + ": cannot be overridden (the replicator relies on it)");
  }
  for (const auto& [k, v] : o.producer_properties) {
    if (k == "enable.idempotence" || k == "acks" || k == "request.required.acks" || k == "transactional.id")
      errors.Add("replicate.producer." + k + ": cannot be overridden (exactly-once relies on it)");
  }
  if (errors.empty()) {
    auto map = PartitionMap::Create(o.MapConfig());
    if (!map.ok()) errors.Add("replicate: " + map.status().message());
  }
}

}  // namespace

PartitionMapConfig ReplicateOptions::MapConfig() const {
  PartitionMapConfig c;
  c.source_cluster = source_cluster;
  c.destination_cluster = destination_cluster;
  c.include = include;
  c.exclude = exclude;
  c.rename = rename;
  c.always_excluded = {audit_topic, std::string(kCheckpointTopic)};
  c.strategy = partitioning;
  return c;
}

const config::TableBase& ReplicateSettingsTable() { return Settings(); }

Result<ReplicateOptions> ParseReplicateConfig(const config::ProjectFile& file, const std::vector<config::FlagValue>& flags) {
  Errors errors;
  Draft d;
  config::Clusters clusters = config::ParseClusters(file, errors);
  Settings().ApplySection(file.Section("replicate"), file.source, d, errors);
  Settings().ApplyFlags(flags, d, errors);
  if (errors.empty()) Resolve(d, clusters, errors);
  if (!errors.empty()) return errors.ToStatus();
  return std::move(d.opts);
}

Result<ReplicateOptions> ParseReplicateConfig(std::string_view yaml_text, std::string_view source,
                                              const std::vector<config::FlagValue>& flags) {
  auto file = config::ParseProject(yaml_text, source);
  if (!file.ok()) return file.status();
  return ParseReplicateConfig(*file, flags);
}

Result<ReplicateOptions> LoadReplicateConfig(const std::string& path, const std::vector<config::FlagValue>& flags) {
  auto file = config::LoadProject(path);
  if (!file.ok()) return file.status();
  return ParseReplicateConfig(*file, flags);
}

std::string ReplicateConfigReference() { return Settings().Reference(); }

}  // namespace chaperone::replicate
