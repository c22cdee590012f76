// The project YAML file: one file describes the clusters and every component
// (PRODUCT.md §1, docs/configuration.md).
//
//   clusters:          # shared: name → librdkafka properties
//     dc1-regional: {bootstrap.servers: "10.0.0.1:9092", sasl.password: ...}
//   store:             # shared: where the counts meet
//     url: postgresql://chaperone:secret@db:5432/chaperone
//   service: {...}     # one section per component, keys in snake_case
//   collector: {...}
//   web: {...}
//
// Each component parses its own section with its settings table
// (common/settings.h) and reads `clusters:` and `store:` through here, so the
// shared sections have one meaning everywhere.
//
// Thread safety: a ProjectFile is an immutable value once loaded.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chaperone/kafka_config.h"
#include "chaperone/status.h"
#include "common/settings.h"

namespace chaperone::config {

struct ProjectFile {
  std::string source;  // the file's name in messages; "flags" when there is no file
  Node root;           // the top-level map (null: no file)

  // The section `name`, or a null node when the file has none.
  const Node& Section(std::string_view name) const;
  bool Has(std::string_view name) const { return root.Find(name) != nullptr; }
  // The line of the section's key (0: absent).
  int SectionLine(std::string_view name) const;
};

// Every top-level section Chaperone knows.
const std::vector<std::string>& KnownSections();

// Parses YAML text. Syntax errors, a top level that is not a map, duplicate
// keys in any map, and unknown sections (with a "did you mean") are errors
// naming `source`:line; all of them are reported, one per line.
Result<ProjectFile> ParseProject(std::string_view yaml_text, std::string_view source);
// Reads and parses `path`; "" gives an empty project (flags only).
Result<ProjectFile> LoadProject(const std::string& path);

// `clusters:` — name → librdkafka properties, in file order.
using Clusters = std::vector<std::pair<std::string, KafkaProperties>>;
// Reads `clusters:`. Every cluster needs bootstrap.servers; plugin properties
// are refused. Errors go to `errors`.
Clusters ParseClusters(const ProjectFile& file, Errors& errors);

// How a component named the cluster it uses.
struct ClusterChoice {
  std::string name;            // its `cluster` setting; "" = the only entry of `clusters`
  std::string bootstrap_flag;  // --bootstrap-servers, overrides the cluster's
  KafkaProperties property_flags;  // -X KEY=VALUE, over the cluster's properties
  std::string where;               // where `name` was set ("file:12: service.cluster"); "" = use the key
};

struct ResolvedCluster {
  std::string name;
  KafkaProperties properties;  // includes bootstrap.servers
};

// Picks the cluster: by name, the only one, or from --bootstrap-servers alone
// (named `fallback_name`). `key` names the setting in errors ("service.cluster").
Result<ResolvedCluster> ResolveCluster(const Clusters& clusters, const ClusterChoice& choice, std::string_view key,
                                       std::string_view fallback_name = "default");

// `store:` — the store every component shares unless its own section names one.
struct StoreSection {
  std::string url;  // "" when the file has no store.url
};
StoreSection ParseStoreSection(const ProjectFile& file, Errors& errors);
// The reference of the shared sections (`clusters`, `store`) for docs/configuration.md.
std::string SharedSectionsReference();
const TableBase& StoreTable();

// The settings by which a component names a cluster it uses: a key naming an
// entry of `clusters:` (e.g. "cluster"), a flag-only override of its bootstrap
// servers and a repeatable flag-only librdkafka property. Every text is a
// literal (the table keeps views of them). Declared once here so that every
// component names its clusters the same way.
struct ClusterSettingsDoc {
  std::string_view key;               // "cluster", "audit.cluster", "source.cluster"
  std::string_view key_description;
  std::string_view bootstrap_flag;    // "bootstrap-servers"
  std::string_view bootstrap_description;
  std::string_view property_flag;     // "property" ("" for none)
  std::string_view property_short;    // "X"
  std::string_view property_description;
  std::string_view default_text = "the only entry of `clusters`";
};

template <typename Draft, ClusterChoice Draft::*Choice>
std::vector<typename Table<Draft>::Setting> ClusterSettings(const ClusterSettingsDoc& doc) {
  std::vector<typename Table<Draft>::Setting> out;
  out.push_back({{doc.key, "", "string", doc.default_text, doc.key_description},
                 +[](const Value& v, Draft& d) -> Status {
                   SETTING_VALUE(s, AsName(v));
                   (d.*Choice).name = s;
                   (d.*Choice).where = v.where;
                   return Status::Ok();
                 }});
  out.push_back({{"", doc.bootstrap_flag, "string", "", doc.bootstrap_description},
                 +[](const Value& v, Draft& d) -> Status {
                   SETTING_VALUE(s, AsNonEmptyString(v));
                   (d.*Choice).bootstrap_flag = s;
                   return Status::Ok();
                 }});
  if (!doc.property_flag.empty()) {
    out.push_back({{"", doc.property_flag, "KEY=VALUE", "", doc.property_description, true, false, doc.property_short},
                   +[](const Value& v, Draft& d) -> Status {
                     SETTING_VALUE(kv, AsKeyValue(v));
                     (d.*Choice).property_flags.push_back(kv);
                     return Status::Ok();
                   }});
  }
  return out;
}

// Concatenates lists of settings (a table built from shared groups and its own).
template <typename Setting>
std::vector<Setting> Concat(std::vector<Setting> a, const std::vector<Setting>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A regex-list setting (topics.include / topics.exclude): a list from the
// file replaces the default; the first flag replaces the file's list and
// later flags add to it (`flag_seen` remembers the first).
Status ApplyRegexList(const Value& v, std::vector<std::string>& target, bool& flag_seen);

// A second cluster a component names besides its main one (the audit
// cluster): another entry of `clusters`, or the main cluster with
// --<...>-bootstrap-servers, or (neither) nothing: `name` and `properties`
// stay empty, meaning "the main cluster". `key` names the setting in errors.
void ResolveSecondCluster(const Clusters& clusters, const ClusterChoice& choice, const std::string& main_name,
                          const KafkaProperties& main_properties, std::string_view key, std::string& name,
                          KafkaProperties& properties, Errors& errors);

// One `topic regex → timestamp chain` rule (the `timestamps` setting of the
// components that count event-time windows); the first matching rule wins.
struct TimestampRule {
  std::string topic_regex;
  std::string chain;
};

// The `timestamps` setting, declared once for every component that has it
// (service, replicate): its documentation and how a value is applied.
inline constexpr SettingDoc kTimestampsDoc{
    "timestamps", "-", "list of {topic, chain}", "`[]` (the default chain)",
    "Event-time chain per topic: `- {topic: \"orders\\\\..*\", chain: \"json:eventTime,record\"}`. The "
    "first rule whose regex matches the whole topic name wins; other topics use "
    "`json:ts,json:timestamp,record`."};
// Replaces `rules` with the list `v` (null: unchanged); every regex and chain is checked.
Status ApplyTimestampRules(const Value& v, std::vector<TimestampRule>& rules);

// The `window_sec` setting, declared once for every component that counts
// event-time windows (service, replicate): every tier of a pipeline must use
// the same size.
inline constexpr SettingDoc kWindowSecDoc{
    "window_sec", "", "duration (s)", "`600`",
    "Window size (1 s to 7 d, whole seconds). Every tier of a pipeline must use the same size."};
Status ApplyWindowSec(const Value& v, int64_t& window_sec);

// Sets `key` in `props` (replacing an earlier value) — for flag overrides.
void SetProperty(KafkaProperties& props, const std::string& key, const std::string& value);

}  // namespace chaperone::config
