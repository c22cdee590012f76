#include "service/service_config.h"

#include "chaperone/event_time.h"

namespace chaperone::service {
namespace {

using config::Errors;
using config::Value;

// What the settings write into before the cross-setting rules are applied.
struct Draft {
  ServiceOptions opts;
  config::ClusterChoice cluster;       // service.cluster, --bootstrap-servers, -X
  config::ClusterChoice audit_cluster;  // service.audit.cluster, --audit-bootstrap-servers
  bool include_set = false;  // the first --include replaces the file's list
  bool exclude_set = false;
};


const config::Table<Draft>& Settings() {
  using std::chrono::milliseconds;
  static const config::Table<Draft> kTable(
      "service",
      config::Concat(config::Concat(
          config::ClusterSettings<Draft, &Draft::cluster>(
              {"cluster", "Name of the audited cluster in `clusters:`. Also the `cluster` field of every audit record.",
               "bootstrap-servers",
               "Flag only: bootstrap servers of the audited cluster (overrides or replaces `clusters.<cluster>`).",
               "property", "X",
               "Flag only (repeatable): a librdkafka property of the audited cluster, e.g. "
               "`-X security.protocol=SSL`."}),
      {
          {{"tier", "", "string", "`regional`",
            "The tier this service audits as (`regional`, `aggregate`, ...). Letters, digits and `._-:`."},
           &config::ApplyName<Draft, &Draft::opts, &ServiceOptions::tier>},
          {{"datacenter", "", "string", "`local`", "Datacenter written into every audit record."},
           &config::ApplyName<Draft, &Draft::opts, &ServiceOptions::datacenter>},
          {{"topics.include", "include", "regex list", "`[\".*\"]`",
            "Audit topics whose whole name matches one of these ECMAScript regexes. A flag value replaces the "
            "file's list (repeat the flag for several).",
            true},
           +[](const Value& v, Draft& d) -> Status { return config::ApplyRegexList(v, d.opts.include, d.include_set); }},
          {{"topics.exclude", "exclude", "regex list", "`[\"__.*\"]`",
            "Never audit topics whose whole name matches one of these (wins over `include`).", true},
           +[](const Value& v, Draft& d) -> Status { return config::ApplyRegexList(v, d.opts.exclude, d.exclude_set); }},
          {{"topics.exclude_audit_topic", "-", "bool", "`true`", "Never audit the audit topic itself."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(b, config::AsBool(v));
             d.opts.exclude_audit_topic = b;
             return Status::Ok();
           }},
          {config::kTimestampsDoc,
           +[](const Value& v, Draft& d) -> Status { return config::ApplyTimestampRules(v, d.opts.timestamps); }},
          {config::kWindowSecDoc,
           +[](const Value& v, Draft& d) -> Status { return config::ApplyWindowSec(v, d.opts.window_sec); }},
          {{"flush_interval_ms", "", "duration (ms)", "`10000`",
            "How often counts are reported and offsets committed (100 ms to 1 h)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(100), milliseconds(3'600'000)));
             d.opts.flush_interval = x;
             return Status::Ok();
           }},
          {{"discovery_interval_ms", "", "duration (ms)", "`10000`",
            "How often the cluster's topic list is read to find new topics and partitions (100 ms to 1 h)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(100), milliseconds(3'600'000)));
             d.opts.discovery_interval = x;
             return Status::Ok();
           }},
          {{"send_timeout_ms", "-", "duration (ms)", "`30000`",
            "How long a flush waits for its audit records to be acknowledged before it rewinds (1 s to 10 min)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(1000), milliseconds(600'000)));
             d.opts.send_timeout = x;
             return Status::Ok();
           }},
          {{"group_id", "", "string", "`chaperone-service-<tier>`",
            "Consumer group. Processes with the same group split the partitions between them."},
           &config::ApplyName<Draft, &Draft::opts, &ServiceOptions::group_id>},
          {{"audit.topic", "", "string", "`chaperone-audit`", "Topic the audit records are written to."},
           &config::ApplyTopic<Draft, &Draft::opts, &ServiceOptions::audit_topic>},
          {{"listen", "", "host:port", "`127.0.0.1:9000`",
            "REST and `/metrics` listen address; port 0 picks a free port; `\"\"` turns the REST API off."},
           &config::ApplyListen<Draft, &Draft::opts, &ServiceOptions::listen>},
          {{"consumer", "-", "map", "`{}`",
            "librdkafka properties for the consumer only, applied over Chaperone's tuned defaults "
            "(`enable.auto.commit`, `group.id` and the assignment strategy are not overridable)."},
           &config::ApplyProperties<Draft, &Draft::opts, &ServiceOptions::consumer_properties>},
          {{"producer", "-", "map", "`{}`", "librdkafka properties for the audit-record producer only."},
           &config::ApplyProperties<Draft, &Draft::opts, &ServiceOptions::producer_properties>},
      }),
      config::ClusterSettings<Draft, &Draft::audit_cluster>(
          {"audit.cluster", "Name (in `clusters:`) of the cluster holding the audit topic.", "audit-bootstrap-servers",
           "Flag only: bootstrap servers of the cluster holding the audit topic.", "", "", "",
           "the audited cluster"})));
  return kTable;
}

// The rules that involve several settings.
void Resolve(Draft& d, const config::Clusters& clusters, Errors& errors) {
  ServiceOptions& o = d.opts;
  auto cluster = config::ResolveCluster(clusters, d.cluster, "service.cluster");
  if (!cluster.ok()) {
    errors.Add(cluster.status());
  } else {
    o.cluster_name = cluster->name;
    o.cluster_properties = cluster->properties;
  }
  // The audit cluster: another entry of `clusters`, or --audit-bootstrap-servers.
  config::ResolveSecondCluster(clusters, d.audit_cluster, o.cluster_name, o.cluster_properties, "service.audit.cluster",
                               o.audit_cluster_name, o.audit_properties, errors);
  if (o.include.empty()) errors.Add("service.topics.include: must not be empty");
  for (const auto& [k, v] : o.consumer_properties) {
    if (k == "group.id" || k == "enable.auto.commit" || k == "partition.assignment.strategy" ||
        k == "enable.auto.offset.store")
      errors.Add("service.consumer." + k + ": cannot be overridden (the service relies on it)");
  }
}

}  // namespace

std::vector<FlagSpec> ServiceFlags() { return Settings().Flags(); }

const config::TableBase& ServiceSettingsTable() { return Settings(); }

Result<ServiceOptions> ParseServiceConfig(const config::ProjectFile& file, const std::vector<FlagValue>& flags) {
  Errors errors;
  Draft d;
  config::Clusters clusters = config::ParseClusters(file, errors);
  Settings().ApplySection(file.Section("service"), file.source, d, errors);
  Settings().ApplyFlags(flags, d, errors);
  if (errors.empty()) Resolve(d, clusters, errors);
  if (!errors.empty()) return errors.ToStatus();
  return std::move(d.opts);
}

Result<ServiceOptions> ParseServiceConfig(std::string_view yaml_text, std::string_view source,
                                          const std::vector<FlagValue>& flags) {
  auto file = config::ParseProject(yaml_text, source);
  if (!file.ok()) return file.status();
  return ParseServiceConfig(*file, flags);
}

Result<ServiceOptions> LoadServiceConfig(const std::string& path, const std::vector<FlagValue>& flags) {
  auto file = config::LoadProject(path);
  if (!file.ok()) return file.status();
  return ParseServiceConfig(*file, flags);
}

std::string ServiceConfigReference() { return Settings().Reference(); }

}  // namespace chaperone::service
