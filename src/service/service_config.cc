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

// A regex list from the file replaces the default; the first flag replaces the
// file's list and later flags add to it.
Status ApplyRegexList(const Value& v, std::vector<std::string>& target, bool& flag_seen) {
  SETTING_VALUE(list, config::AsRegexList(v));
  if (v.from_flag) {
    if (!flag_seen) target.clear();
    flag_seen = true;
    target.insert(target.end(), list.begin(), list.end());
  } else {
    target = list;
  }
  return Status::Ok();
}

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
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsName(v, ":"));
             d.opts.tier = s;
             return Status::Ok();
           }},
          {{"datacenter", "", "string", "`local`", "Datacenter written into every audit record."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsName(v, ":"));
             d.opts.datacenter = s;
             return Status::Ok();
           }},
          {{"topics.include", "include", "regex list", "`[\".*\"]`",
            "Audit topics whose whole name matches one of these ECMAScript regexes. A flag value replaces the "
            "file's list (repeat the flag for several).",
            true},
           +[](const Value& v, Draft& d) -> Status { return ApplyRegexList(v, d.opts.include, d.include_set); }},
          {{"topics.exclude", "exclude", "regex list", "`[\"__.*\"]`",
            "Never audit topics whose whole name matches one of these (wins over `include`).", true},
           +[](const Value& v, Draft& d) -> Status { return ApplyRegexList(v, d.opts.exclude, d.exclude_set); }},
          {{"topics.exclude_audit_topic", "-", "bool", "`true`", "Never audit the audit topic itself."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(b, config::AsBool(v));
             d.opts.exclude_audit_topic = b;
             return Status::Ok();
           }},
          {{"timestamps", "-", "list of {topic, chain}", "`[]` (the default chain)",
            "Event-time chain per topic: `- {topic: \"orders\\\\..*\", chain: \"json:eventTime,record\"}`. The "
            "first rule whose regex matches the whole topic name wins; other topics use "
            "`json:ts,json:timestamp,record`."},
           +[](const Value& v, Draft& d) -> Status {
             if (v.node.IsNull()) return Status::Ok();
             if (!v.node.IsList()) return Status::InvalidArgument(v.where + ": must be a list of {topic: REGEX, chain: SPEC}");
             TimestampRules rules;
             d.opts.timestamps.clear();
             for (const auto& item : v.node.items) {
               const config::Node* topic = item.Find("topic");
               const config::Node* chain = item.Find("chain");
               if (!item.IsMap() || !topic || !chain || item.entries.size() != 2 || !topic->IsScalar() ||
                   !chain->IsScalar())
                 return Status::InvalidArgument(v.where + ": each rule must be {topic: REGEX, chain: SPEC} (line " +
                                                std::to_string(item.line) + ")");
               TimestampRule r{topic->scalar, chain->scalar};
               if (Status s = rules.Add(r.topic_regex, r.chain); !s.ok())
                 return Status::InvalidArgument(v.where + ": " + s.message());
               d.opts.timestamps.push_back(std::move(r));
             }
             return Status::Ok();
           }},
          {{"window_sec", "", "duration (s)", "`600`",
            "Window size (1 s to 7 d, whole seconds). Every tier of a pipeline must use the same size."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsDuration(v, std::chrono::seconds(1), std::chrono::seconds(1),
                                           std::chrono::seconds(kMaxWindowSec)));
             if (x.count() % 1000 != 0) return Status::InvalidArgument(v.where + ": must be whole seconds");
             d.opts.window_sec = x.count() / 1000;
             return Status::Ok();
           }},
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
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsName(v, ":"));
             d.opts.group_id = s;
             return Status::Ok();
           }},
          {{"audit.topic", "", "string", "`chaperone-audit`", "Topic the audit records are written to."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsTopic(v));
             d.opts.audit_topic = s;
             return Status::Ok();
           }},
          {{"listen", "", "host:port", "`127.0.0.1:9000`",
            "REST and `/metrics` listen address; port 0 picks a free port; `\"\"` turns the REST API off."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsListen(v, true));
             d.opts.listen = s;
             return Status::Ok();
           }},
          {{"consumer", "-", "map", "`{}`",
            "librdkafka properties for the consumer only, applied over Chaperone's tuned defaults "
            "(`enable.auto.commit`, `group.id` and the assignment strategy are not overridable)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(p, config::AsProperties(v));
             d.opts.consumer_properties = p;
             return Status::Ok();
           }},
          {{"producer", "-", "map", "`{}`", "librdkafka properties for the audit-record producer only."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(p, config::AsProperties(v));
             d.opts.producer_properties = p;
             return Status::Ok();
           }},
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
  if (!d.audit_cluster.name.empty() && d.audit_cluster.name != o.cluster_name) {
    auto audit = config::ResolveCluster(clusters, d.audit_cluster, "service.audit.cluster");
    if (!audit.ok()) {
      errors.Add(audit.status());
    } else {
      o.audit_cluster_name = audit->name;
      o.audit_properties = audit->properties;
    }
  } else if (!d.audit_cluster.bootstrap_flag.empty()) {
    o.audit_properties = o.cluster_properties;
    config::SetProperty(o.audit_properties, "bootstrap.servers", d.audit_cluster.bootstrap_flag);
    o.audit_cluster_name = d.audit_cluster.name.empty() ? "audit" : d.audit_cluster.name;
  }
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
