#include "service/service_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "chaperone/event_time.h"
#include "common/listen_address.h"
#include "common/topic_name.h"

namespace chaperone::service {
namespace {

constexpr std::string_view kBegin = "<!-- BEGIN GENERATED: service settings -->";
constexpr std::string_view kEnd = "<!-- END GENERATED: service settings -->";

// What the settings write into before the cross-setting rules are applied.
struct Draft {
  ServiceOptions opts;
  std::string cluster;        // service.cluster
  std::string audit_cluster;  // service.audit.cluster
  // clusters: name → properties, in file order.
  std::vector<std::pair<std::string, KafkaProperties>> clusters;
  std::string cli_bootstrap;           // --bootstrap-servers
  KafkaProperties cli_properties;      // -X / --property
  std::string cli_audit_bootstrap;     // --audit-bootstrap-servers
  bool include_set = false;            // the first --include replaces the file's list
  bool exclude_set = false;
};

// A value to apply: a YAML node plus where it came from, for messages.
struct Value {
  const YAML::Node& node;
  std::string where;  // "file:12: service.window_sec" or "--window-sec"
};

Status Bad(const Value& v, const std::string& why) { return Status::InvalidArgument(v.where + ": " + why); }

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out + "\"";
}

Result<std::string> AsString(const Value& v) {
  if (!v.node.IsScalar()) return Bad(v, "must be a string");
  return v.node.Scalar();
}

Result<int64_t> AsInt(const Value& v, int64_t min, int64_t max) {
  if (!v.node.IsScalar()) return Bad(v, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  const std::string& s = v.node.Scalar();
  int64_t x = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (ec != std::errc() || p != s.data() + s.size() || x < min || x > max)
    return Bad(v, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                      Quote(s));
  return x;
}

Result<bool> AsBool(const Value& v) {
  if (v.node.IsScalar()) {
    std::string s = v.node.Scalar();
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  return Bad(v, "must be true or false");
}

Result<std::vector<std::string>> AsStringList(const Value& v) {
  std::vector<std::string> out;
  if (v.node.IsScalar()) {
    out.push_back(v.node.Scalar());
    return out;
  }
  if (!v.node.IsSequence()) return Bad(v, "must be a string or a list of strings");
  for (const auto& item : v.node) {
    if (!item.IsScalar()) return Bad(v, "must be a list of strings");
    out.push_back(item.Scalar());
  }
  return out;
}

Result<std::vector<std::string>> AsRegexList(const Value& v) {
  auto list = AsStringList(v);
  if (!list.ok()) return list;
  for (const auto& re : *list) {
    if (re.empty()) return Bad(v, "empty regex");
    try {
      std::regex compiled(re, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Bad(v, "bad regex " + Quote(re) + ": " + e.what());
    }
  }
  return list;
}

Result<std::string> AsName(const Value& v, std::string_view extra_chars) {
  auto s = AsString(v);
  if (!s.ok()) return s;
  if (s->empty()) return Bad(v, "must not be empty");
  if (s->size() > 249) return Bad(v, "longer than 249 characters");
  for (char c : *s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
          extra_chars.find(c) != std::string_view::npos))
      return Bad(v, "use only letters, digits and ._-" + std::string(extra_chars) + ", got " + Quote(*s));
  }
  return s;
}

// A map of librdkafka properties; scalar values only.
Result<KafkaProperties> AsProperties(const Value& v) {
  if (v.node.IsNull()) return KafkaProperties{};
  if (!v.node.IsMap()) return Bad(v, "must be a map of librdkafka properties");
  KafkaProperties out;
  for (const auto& kv : v.node) {
    const std::string key = kv.first.Scalar();
    if (!kv.second.IsScalar()) return Bad(v, "property '" + key + "' must have a scalar value");
    out.emplace_back(key, kv.second.Scalar());
  }
  return out;
}

#define CHECKED(var, expr)             \
  auto var##_r = (expr);               \
  if (!var##_r.ok()) return var##_r.status(); \
  auto& var = *var##_r

struct Setting {
  std::string_view key;  // below "service."; "" for flag-only settings
  std::string_view flag;  // without "--"; "" when there is no flag
  std::string_view type;
  std::string_view default_text;
  std::string_view description;
  bool repeatable_flag;
  Status (*apply)(const Value& v, Draft& d);
};

const std::vector<Setting>& Settings() {
  static const std::vector<Setting> kSettings = {
      {"cluster", "cluster", "string", "the only entry of `clusters`",
       "Name of the audited cluster in `clusters:`. Also the `cluster` field of every audit record.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsName(v, ""));
         d.cluster = s;
         return Status::Ok();
       }},
      {"", "bootstrap-servers", "string", "",
       "Flag only: bootstrap servers of the audited cluster (overrides or replaces `clusters.<cluster>`).", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsString(v));
         if (s.empty()) return Bad(v, "must not be empty");
         d.cli_bootstrap = s;
         return Status::Ok();
       }},
      {"", "property", "KEY=VALUE", "",
       "Flag only (repeatable, also `-X`): a librdkafka property of the audited cluster, e.g. "
       "`-X security.protocol=SSL`.",
       true,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsString(v));
         auto eq = s.find('=');
         if (eq == std::string::npos || eq == 0) return Bad(v, "must be KEY=VALUE, got " + Quote(s));
         d.cli_properties.emplace_back(s.substr(0, eq), s.substr(eq + 1));
         return Status::Ok();
       }},
      {"tier", "tier", "string", "`regional`",
       "The tier this service audits as (`regional`, `aggregate`, ...). Letters, digits and `._-:`.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsName(v, ":"));
         d.opts.tier = s;
         return Status::Ok();
       }},
      {"datacenter", "datacenter", "string", "`local`", "Datacenter written into every audit record.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsName(v, ":"));
         d.opts.datacenter = s;
         return Status::Ok();
       }},
      {"topics.include", "include", "regex list", "`[\".*\"]`",
       "Audit topics whose whole name matches one of these ECMAScript regexes. A flag value replaces the "
       "file's list (repeat the flag for several).",
       true,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(list, AsRegexList(v));
         if (v.where.starts_with("--")) {
           if (!d.include_set) d.opts.include.clear();
           d.include_set = true;
           d.opts.include.insert(d.opts.include.end(), list.begin(), list.end());
         } else {
           d.opts.include = list;
         }
         return Status::Ok();
       }},
      {"topics.exclude", "exclude", "regex list", "`[\"__.*\"]`",
       "Never audit topics whose whole name matches one of these (wins over `include`).", true,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(list, AsRegexList(v));
         if (v.where.starts_with("--")) {
           if (!d.exclude_set) d.opts.exclude.clear();
           d.exclude_set = true;
           d.opts.exclude.insert(d.opts.exclude.end(), list.begin(), list.end());
         } else {
           d.opts.exclude = list;
         }
         return Status::Ok();
       }},
      {"topics.exclude_audit_topic", "", "bool", "`true`", "Never audit the audit topic itself.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(b, AsBool(v));
         d.opts.exclude_audit_topic = b;
         return Status::Ok();
       }},
      {"timestamps", "", "list of {topic, chain}", "`[]` (the default chain)",
       "Event-time chain per topic: `- {topic: \"orders\\\\..*\", chain: \"json:eventTime,record\"}`. The first "
       "rule whose regex matches the whole topic name wins; other topics use `json:ts,json:timestamp,record`.",
       false,
       +[](const Value& v, Draft& d) -> Status {
         if (v.node.IsNull()) return Status::Ok();
         if (!v.node.IsSequence()) return Bad(v, "must be a list of {topic: REGEX, chain: SPEC}");
         TimestampRules rules;
         d.opts.timestamps.clear();
         for (const auto& item : v.node) {
           if (!item.IsMap() || !item["topic"] || !item["chain"] || item.size() != 2 || !item["topic"].IsScalar() ||
               !item["chain"].IsScalar())
             return Bad(v, "each rule must be {topic: REGEX, chain: SPEC} (line " +
                               std::to_string(item.Mark().line + 1) + ")");
           TimestampRule r{item["topic"].Scalar(), item["chain"].Scalar()};
           if (Status s = rules.Add(r.topic_regex, r.chain); !s.ok()) return Bad(v, s.message());
           d.opts.timestamps.push_back(std::move(r));
         }
         return Status::Ok();
       }},
      {"window_sec", "window-sec", "integer", "`600`",
       "Window size in seconds (1 to 604800). Every tier of a pipeline must use the same size.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(x, AsInt(v, 1, kMaxWindowSec));
         d.opts.window_sec = x;
         return Status::Ok();
       }},
      {"flush_interval_ms", "flush-interval-ms", "integer", "`10000`",
       "How often counts are reported and offsets committed (100 to 3600000 ms).", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(x, AsInt(v, 100, 3'600'000));
         d.opts.flush_interval = std::chrono::milliseconds(x);
         return Status::Ok();
       }},
      {"discovery_interval_ms", "discovery-interval-ms", "integer", "`10000`",
       "How often the cluster's topic list is read to find new topics and partitions (100 to 3600000 ms).", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(x, AsInt(v, 100, 3'600'000));
         d.opts.discovery_interval = std::chrono::milliseconds(x);
         return Status::Ok();
       }},
      {"send_timeout_ms", "", "integer", "`30000`",
       "How long a flush waits for its audit records to be acknowledged before it rewinds (1000 to 600000 ms).",
       false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(x, AsInt(v, 1000, 600'000));
         d.opts.send_timeout = std::chrono::milliseconds(x);
         return Status::Ok();
       }},
      {"group_id", "group-id", "string", "`chaperone-service-<tier>`",
       "Consumer group. Processes with the same group split the partitions between them.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsName(v, ":"));
         d.opts.group_id = s;
         return Status::Ok();
       }},
      {"audit.topic", "audit-topic", "string", "`chaperone-audit`", "Topic the audit records are written to.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsString(v));
         if (Status st = common::ValidateTopicName(s); !st.ok()) return Bad(v, st.message());
         d.opts.audit_topic = s;
         return Status::Ok();
       }},
      {"audit.cluster", "audit-cluster", "string", "the audited cluster",
       "Name (in `clusters:`) of the cluster holding the audit topic.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsName(v, ""));
         d.audit_cluster = s;
         return Status::Ok();
       }},
      {"", "audit-bootstrap-servers", "string", "",
       "Flag only: bootstrap servers of the cluster holding the audit topic.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(s, AsString(v));
         if (s.empty()) return Bad(v, "must not be empty");
         d.cli_audit_bootstrap = s;
         return Status::Ok();
       }},
      {"listen", "listen", "host:port", "`127.0.0.1:9000`",
       "REST and `/metrics` listen address; port 0 picks a free port; `\"\"` turns the REST API off.", false,
       +[](const Value& v, Draft& d) -> Status {
         if (v.node.IsNull()) {
           d.opts.listen.clear();
           return Status::Ok();
         }
         CHECKED(s, AsString(v));
         Status st = common::ValidateListenAddress(s, common::EmptyListen::kOff);
         if (!st.ok()) return Bad(v, st.message());
         d.opts.listen = s;
         return Status::Ok();
       }},
      {"consumer", "", "map", "`{}`",
       "librdkafka properties for the consumer only, applied over Chaperone's tuned defaults "
       "(`enable.auto.commit`, `group.id` and the assignment strategy are not overridable).",
       false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(p, AsProperties(v));
         d.opts.consumer_properties = p;
         return Status::Ok();
       }},
      {"producer", "", "map", "`{}`", "librdkafka properties for the audit-record producer only.", false,
       +[](const Value& v, Draft& d) -> Status {
         CHECKED(p, AsProperties(v));
         d.opts.producer_properties = p;
         return Status::Ok();
       }},
  };
  return kSettings;
}

const Setting* FindByKey(std::string_view key) {
  for (const auto& s : Settings())
    if (!s.key.empty() && s.key == key) return &s;
  return nullptr;
}

const Setting* FindByFlag(std::string_view flag) {
  for (const auto& s : Settings())
    if (!s.flag.empty() && s.flag == flag) return &s;
  return nullptr;
}

// True if some setting lives below `prefix.` (so `prefix` is a section).
bool IsSection(std::string_view prefix) {
  for (const auto& s : Settings()) {
    if (s.key.size() > prefix.size() && s.key.starts_with(prefix) && s.key[prefix.size()] == '.') return true;
  }
  return false;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string Suggestion(std::string_view key) {
  std::string best;
  size_t best_d = 4;
  for (const auto& s : Settings()) {
    if (s.key.empty()) continue;
    size_t d = EditDistance(key, s.key);
    if (d < best_d) {
      best_d = d;
      best = std::string(s.key);
    }
  }
  return best.empty() ? "" : " (did you mean service." + best + "?)";
}

std::string Where(std::string_view source, const YAML::Node& node, std::string_view key) {
  std::string w(source);
  if (node.Mark().line >= 0) w += ":" + std::to_string(node.Mark().line + 1);
  return w + ": " + std::string(key);
}

Status ApplySection(const YAML::Node& map, const std::string& prefix, std::string_view source, Draft& d) {
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) return Status::InvalidArgument(Where(source, kv.first, "service") + ": keys must be strings");
    std::string key = prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar();
    const YAML::Node& value = kv.second;
    if (const Setting* s = FindByKey(key)) {
      if (Status st = s->apply(Value{value, Where(source, kv.first, "service." + key)}, d); !st.ok()) return st;
    } else if (IsSection(key)) {
      if (!value.IsMap() && !value.IsNull())
        return Status::InvalidArgument(Where(source, kv.first, "service." + key) + ": must be a map");
      if (value.IsMap()) {
        if (Status st = ApplySection(value, key, source, d); !st.ok()) return st;
      }
    } else {
      return Status::InvalidArgument(Where(source, kv.first, "service." + key) + ": unknown setting" +
                                     Suggestion(key));
    }
  }
  return Status::Ok();
}

Status ApplyClusters(const YAML::Node& node, std::string_view source, Draft& d) {
  if (node.IsNull()) return Status::Ok();
  if (!node.IsMap()) return Status::InvalidArgument(Where(source, node, "clusters") + ": must be a map of cluster name → properties");
  for (const auto& kv : node) {
    std::string name = kv.first.Scalar();
    Value nv{kv.first, Where(source, kv.first, "clusters." + name)};
    if (auto n = AsName(nv, ""); !n.ok()) return n.status();
    CHECKED(props, AsProperties(Value{kv.second, Where(source, kv.first, "clusters." + name)}));
    if (!FindKafkaProperty(props, "bootstrap.servers"))
      return Status::InvalidArgument(Where(source, kv.first, "clusters." + name) + ": bootstrap.servers is required");
    for (const auto& [k, v] : props) {
      if (IsPluginProperty(k))
        return Status::InvalidArgument(Where(source, kv.first, "clusters." + name + "." + k) +
                                       ": plugin properties are not allowed in Chaperone's own clients");
    }
    d.clusters.emplace_back(name, std::move(props));
  }
  return Status::Ok();
}

const KafkaProperties* FindCluster(const Draft& d, const std::string& name) {
  for (const auto& [n, p] : d.clusters)
    if (n == name) return &p;
  return nullptr;
}

void SetProperty(KafkaProperties& props, const std::string& key, const std::string& value) {
  for (auto& [k, v] : props) {
    if (k == key) {
      v = value;
      return;
    }
  }
  props.emplace_back(key, value);
}

// The rules that involve several settings.
Result<ServiceOptions> Resolve(Draft d) {
  ServiceOptions& o = d.opts;
  // The audited cluster.
  if (d.cluster.empty()) {
    if (d.clusters.size() == 1) {
      d.cluster = d.clusters[0].first;
    } else if (d.clusters.empty()) {
      d.cluster = "default";
    } else {
      return Status::InvalidArgument("service.cluster: required when `clusters` has several entries");
    }
  }
  o.cluster_name = d.cluster;
  if (const KafkaProperties* p = FindCluster(d, d.cluster)) {
    o.cluster_properties = *p;
  } else if (d.cli_bootstrap.empty()) {
    if (d.clusters.empty())
      return Status::InvalidArgument(
          "no cluster to audit: give --bootstrap-servers, or a `clusters:` section in the config file");
    return Status::InvalidArgument("service.cluster: no cluster named \"" + d.cluster + "\" in `clusters`");
  }
  if (!d.cli_bootstrap.empty()) SetProperty(o.cluster_properties, "bootstrap.servers", d.cli_bootstrap);
  for (const auto& [k, v] : d.cli_properties) {
    if (IsPluginProperty(k))
      return Status::InvalidArgument("--property " + k + ": plugin properties are not allowed in Chaperone's own clients");
    SetProperty(o.cluster_properties, k, v);
  }
  // The audit cluster.
  if (!d.audit_cluster.empty() && d.audit_cluster != d.cluster) {
    const KafkaProperties* p = FindCluster(d, d.audit_cluster);
    if (!p && d.cli_audit_bootstrap.empty())
      return Status::InvalidArgument("service.audit.cluster: no cluster named \"" + d.audit_cluster + "\" in `clusters`");
    if (p) o.audit_properties = *p;
    o.audit_cluster_name = d.audit_cluster;
  }
  if (!d.cli_audit_bootstrap.empty()) {
    if (o.audit_properties.empty()) o.audit_properties = o.cluster_properties;
    SetProperty(o.audit_properties, "bootstrap.servers", d.cli_audit_bootstrap);
    if (o.audit_cluster_name.empty()) o.audit_cluster_name = "audit";
  }
  if (o.include.empty()) return Status::InvalidArgument("service.topics.include: must not be empty");
  for (const auto& [k, v] : o.consumer_properties) {
    if (k == "group.id" || k == "enable.auto.commit" || k == "partition.assignment.strategy" ||
        k == "enable.auto.offset.store" || IsPluginProperty(k))
      return Status::InvalidArgument("service.consumer." + k + ": cannot be overridden (the service relies on it)");
  }
  for (const auto& [k, v] : o.producer_properties) {
    if (IsPluginProperty(k))
      return Status::InvalidArgument("service.producer." + k + ": plugin properties are not allowed");
  }
  return std::move(d.opts);
}

Status ApplyFlags(const std::vector<FlagValue>& flags, Draft& d) {
  for (const auto& f : flags) {
    const Setting* s = FindByFlag(f.flag);
    if (!s) return Status::InvalidArgument("--" + f.flag + ": unknown flag");
    YAML::Node node(f.value);
    if (Status st = s->apply(Value{node, "--" + f.flag}, d); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& OtherComponentSections() {
  static const std::vector<std::string> kSections = {"collector", "web",   "detect",      "replicate", "up",
                                                     "read",      "store", "interceptor", "producer",  "demo"};
  return kSections;
}

const std::vector<FlagSpec>& ServiceFlags() {
  static const std::vector<FlagSpec> kFlags = [] {
    std::vector<FlagSpec> out;
    for (const auto& s : Settings()) {
      if (s.flag.empty()) continue;
      std::string help(s.description);
      if (!s.key.empty()) help = "service." + std::string(s.key) + ": " + help;
      out.push_back(FlagSpec{std::string(s.flag), help, s.repeatable_flag});
    }
    return out;
  }();
  return kFlags;
}

Result<ServiceOptions> ParseServiceConfig(std::string_view yaml_text, std::string_view source,
                                          const std::vector<FlagValue>& flags) {
  Draft d;
  if (!yaml_text.empty()) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(std::string(source) + ":" + std::to_string(e.mark.line + 1) +
                                     ": not valid YAML: " + e.msg);
    }
    if (!root.IsNull()) {
      if (!root.IsMap()) return Status::InvalidArgument(std::string(source) + ": the top level must be a map of sections");
      for (const auto& kv : root) {
        const std::string section = kv.first.IsScalar() ? kv.first.Scalar() : "";
        if (section == "clusters") {
          if (Status s = ApplyClusters(kv.second, source, d); !s.ok()) return s;
        } else if (section == "service") {
          if (kv.second.IsNull()) continue;
          if (!kv.second.IsMap()) return Status::InvalidArgument(Where(source, kv.first, "service") + ": must be a map");
          if (Status s = ApplySection(kv.second, "", source, d); !s.ok()) return s;
        } else if (std::find(OtherComponentSections().begin(), OtherComponentSections().end(), section) ==
                   OtherComponentSections().end()) {
          return Status::InvalidArgument(Where(source, kv.first, section) + ": unknown section (expected clusters, service" +
                                         ", or another component's section)");
        }
      }
    }
  }
  if (Status s = ApplyFlags(flags, d); !s.ok()) return s;
  return Resolve(std::move(d));
}

Result<ServiceOptions> LoadServiceConfig(const std::string& path, const std::vector<FlagValue>& flags) {
  if (path.empty()) return ParseServiceConfig("", "flags", flags);
  std::ifstream f(path);
  if (!f) return Status::InvalidArgument(path + ": cannot read the config file");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    return Status::InvalidArgument(path + ": the config file is empty");
  return ParseServiceConfig(text, path, flags);
}

std::string ServiceConfigReference() {
  std::string out;
  out += std::string(kBegin) + "\n";
  out += "| Key | Flag | Type | Default | Description |\n";
  out += "|---|---|---|---|---|\n";
  out += "| `clusters.<name>.bootstrap.servers` | | string | (required) | Bootstrap servers of cluster `<name>`. |\n";
  out += "| `clusters.<name>.<property>` | | string | | Any librdkafka property of that cluster "
         "(TLS, SASL ...), used by every client Chaperone opens on it. |\n";
  for (const auto& s : Settings()) {
    std::string key = s.key.empty() ? "" : "`service." + std::string(s.key) + "`";
    std::string flag = s.flag.empty() ? "" : "`--" + std::string(s.flag) + "`";
    if (s.flag == "property") flag += ", `-X`";
    std::string desc(s.description);
    // Keep the table intact: a literal '|' would start a new cell.
    for (size_t i = 0; (i = desc.find('|', i)) != std::string::npos; i += 2) desc.replace(i, 1, "\\|");
    out += "| " + key + " | " + flag + " | " + std::string(s.type) + " | " + std::string(s.default_text) + " | " +
           desc + " |\n";
  }
  out += std::string(kEnd) + "\n";
  return out;
}

}  // namespace chaperone::service
