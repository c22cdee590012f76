#include "config/project_file.h"

#include "chaperone/audit_record.h"

#include "chaperone/event_time.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include <algorithm>

namespace chaperone::config {
namespace {

int LineOf(const YAML::Node& n) { return n.Mark().line >= 0 ? n.Mark().line + 1 : 0; }

Node Convert(const YAML::Node& y, std::string_view source, const std::string& path, Errors& errors) {
  Node n;
  n.line = LineOf(y);
  switch (y.Type()) {
    case YAML::NodeType::Scalar:
      n.kind = Node::Kind::kScalar;
      n.scalar = y.Scalar();
      break;
    case YAML::NodeType::Sequence:
      n.kind = Node::Kind::kList;
      for (const auto& item : y)
        n.items.push_back(Convert(item, source, path + "[" + std::to_string(n.items.size()) + "]", errors));
      break;
    case YAML::NodeType::Map:
      n.kind = Node::Kind::kMap;
      for (const auto& kv : y) {
        Node::Entry e;
        e.key_line = LineOf(kv.first);
        if (!kv.first.IsScalar()) {
          errors.Add(std::string(source) + ":" + std::to_string(e.key_line) + ": " + path + ": keys must be strings");
          continue;
        }
        e.key = kv.first.Scalar();
        std::string key_path = path.empty() ? Printable(e.key) : path + "." + Printable(e.key);
        if (const Node* first = n.Find(e.key)) {
          (void)first;
          int first_line = 0;
          for (const auto& prev : n.entries)
            if (prev.key == e.key) first_line = prev.key_line;
          errors.Add(std::string(source) + ":" + std::to_string(e.key_line) + ": " + key_path +
                     ": duplicate key (first at line " + std::to_string(first_line) + ")");
          continue;
        }
        e.value = Convert(kv.second, source, key_path, errors);
        n.entries.push_back(std::move(e));
      }
      break;
    default:
      break;  // null or undefined
  }
  return n;
}

const Node& NullNode() {
  static const Node kNull;
  return kNull;
}

struct StoreDraft {
  StoreSection store;
};

const Table<StoreDraft>& StoreSettings() {
  static const Table<StoreDraft> kTable(
      "store",
      {
          {{"url", "-", "URL", "`sqlite:./chaperone-data/chaperone.db`",
            "The store every component uses unless its own section names one: `sqlite:PATH` or "
            "`postgresql://user:password@host:port/db`. The password is never printed back."},
           +[](const Value& v, StoreDraft& d) -> Status {
             auto s = AsStoreUrl(v);
             if (!s.ok()) return s.status();
             d.store.url = *s;
             return Status::Ok();
           }},
      });
  return kTable;
}

}  // namespace

const Node& ProjectFile::Section(std::string_view name) const {
  const Node* n = root.Find(name);
  return n ? *n : NullNode();
}

int ProjectFile::SectionLine(std::string_view name) const {
  for (const auto& e : root.entries)
    if (e.key == name) return e.key_line;
  return 0;
}

const std::vector<std::string>& KnownSections() {
  static const std::vector<std::string> kSections = {"clusters", "store",     "service", "collector", "web",
                                                     "up",       "replicate", "detect",  "read"};
  return kSections;
}

Result<ProjectFile> ParseProject(std::string_view yaml_text, std::string_view source) {
  ProjectFile file;
  file.source = std::string(source);
  YAML::Node y;
  try {
    y = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string(source) + ":" + std::to_string(e.mark.line + 1) +
                                   ": not valid YAML: " + e.msg);
  }
  if (y.IsNull() || !y.IsDefined()) return file;
  if (!y.IsMap())
    return Status::InvalidArgument(std::string(source) + ":" + std::to_string(LineOf(y)) +
                                   ": the top level must be a map of sections (" + "clusters, store, service, ...)");
  Errors errors;
  file.root = Convert(y, source, "", errors);
  for (const auto& e : file.root.entries) {
    const auto& known = KnownSections();
    if (std::find(known.begin(), known.end(), e.key) != known.end()) continue;
    std::string hint = ClosestMatch(e.key, known);
    errors.Add(std::string(source) + ":" + std::to_string(e.key_line) + ": " + Printable(e.key) + ": unknown section" +
               (hint.empty() ? " (sections: clusters, store, service, collector, web, up, replicate, detect, read)"
                             : " (did you mean " + hint + "?)"));
  }
  if (!errors.empty()) return errors.ToStatus();
  return file;
}

Result<ProjectFile> LoadProject(const std::string& path) {
  if (path.empty()) {
    ProjectFile empty;
    empty.source = "flags";
    return empty;
  }
  std::ifstream f(path);
  if (!f) return Status::InvalidArgument(path + ": cannot read the config file");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    return Status::InvalidArgument(path + ": the config file is empty");
  return ParseProject(text, path);
}

Clusters ParseClusters(const ProjectFile& file, Errors& errors) {
  Clusters out;
  const Node& node = file.Section("clusters");
  if (node.IsNull()) return out;
  const std::string src = file.source;
  if (!node.IsMap()) {
    errors.Add(src + ":" + std::to_string(file.SectionLine("clusters")) +
               ": clusters: must be a map of cluster name → librdkafka properties");
    return out;
  }
  for (const auto& e : node.entries) {
    std::string where = src + ":" + std::to_string(e.key_line) + ": clusters." + Printable(e.key);
    Node key = Node::Scalar(e.key, e.key_line);
    if (auto n = AsName(Value{key, where}, ""); !n.ok()) {
      errors.Add(n.status());
      continue;
    }
    auto props = AsProperties(Value{e.value, where});
    if (!props.ok()) {
      errors.Add(props.status());
      continue;
    }
    if (!FindKafkaProperty(*props, "bootstrap.servers")) {
      errors.Add(where + ": bootstrap.servers is required");
      continue;
    }
    out.emplace_back(e.key, std::move(*props));
  }
  return out;
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

Result<ResolvedCluster> ResolveCluster(const Clusters& clusters, const ClusterChoice& choice, std::string_view key,
                                       std::string_view fallback_name) {
  ResolvedCluster out;
  out.name = choice.name;
  if (out.name.empty()) {
    if (clusters.size() == 1) {
      out.name = clusters[0].first;
    } else if (clusters.empty()) {
      out.name = std::string(fallback_name);
    } else {
      std::string names;
      for (const auto& [n, p] : clusters) names += (names.empty() ? "" : ", ") + n;
      return Status::InvalidArgument(std::string(key) + ": required when `clusters` has several entries (" + names +
                                     ")");
    }
  }
  const KafkaProperties* found = nullptr;
  for (const auto& [n, p] : clusters)
    if (n == out.name) found = &p;
  if (found) {
    out.properties = *found;
  } else if (choice.bootstrap_flag.empty()) {
    if (clusters.empty())
      return Status::InvalidArgument("no cluster: give --bootstrap-servers, or a `clusters:` section in the config file");
    std::vector<std::string> names;
    for (const auto& [n, p] : clusters) names.push_back(n);
    std::string hint = ClosestMatch(out.name, names);
    const std::string where = choice.where.empty() ? std::string(key) : choice.where;
    return Status::InvalidArgument(where + ": no cluster named \"" + out.name + "\" in `clusters`" +
                                   (hint.empty() ? "" : " (did you mean " + hint + "?)"));
  }
  if (!choice.bootstrap_flag.empty()) SetProperty(out.properties, "bootstrap.servers", choice.bootstrap_flag);
  for (const auto& [k, v] : choice.property_flags) SetProperty(out.properties, k, v);
  return out;
}

StoreSection ParseStoreSection(const ProjectFile& file, Errors& errors) {
  StoreDraft d;
  StoreSettings().ApplySection(file.Section("store"), file.source, d, errors);
  return d.store;
}

const TableBase& StoreTable() { return StoreSettings(); }

std::string SharedSectionsReference() {
  std::string out = "<!-- BEGIN GENERATED: clusters settings -->\n";
  out += "| Key | Flag | Type | Default | Description |\n";
  out += "|---|---|---|---|---|\n";
  out += "| `clusters.<name>.bootstrap.servers` | | string | (required) | Bootstrap servers of cluster `<name>`. |\n";
  out += "| `clusters.<name>.<property>` | | string | | Any librdkafka property of that cluster (TLS, SASL ...), used "
         "by every client Chaperone opens on it. Secrets (`sasl.password`, `ssl.key.password`, ...) are never "
         "printed back. |\n";
  out += "<!-- END GENERATED: clusters settings -->\n";
  return out;
}

Status ApplyWindowSec(const Value& v, int64_t& window_sec) {
  SETTING_VALUE(x, AsSeconds(v, 1, kMaxWindowSec));
  window_sec = x;
  return Status::Ok();
}

Status ApplyTimestampRules(const Value& v, std::vector<TimestampRule>& rules) {
  if (v.node.IsNull()) return Status::Ok();
  if (!v.node.IsList()) return Status::InvalidArgument(v.where + ": must be a list of {topic: REGEX, chain: SPEC}");
  TimestampRules check;
  std::vector<TimestampRule> out;
  for (const auto& item : v.node.items) {
    const Node* topic = item.Find("topic");
    const Node* chain = item.Find("chain");
    if (!item.IsMap() || !topic || !chain || item.entries.size() != 2 || !topic->IsScalar() || !chain->IsScalar())
      return Status::InvalidArgument(v.where + ": each rule must be {topic: REGEX, chain: SPEC} (line " +
                                     std::to_string(item.line) + ")");
    TimestampRule r{topic->scalar, chain->scalar};
    if (Status s = check.Add(r.topic_regex, r.chain); !s.ok()) return Status::InvalidArgument(v.where + ": " + s.message());
    out.push_back(std::move(r));
  }
  rules = std::move(out);
  return Status::Ok();
}

Status ApplyRegexList(const Value& v, std::vector<std::string>& target, bool& flag_seen) {
  SETTING_VALUE(list, AsRegexList(v));
  if (v.from_flag) {
    if (!flag_seen) target.clear();
    flag_seen = true;
    target.insert(target.end(), list.begin(), list.end());
  } else {
    target = list;
  }
  return Status::Ok();
}

void ResolveSecondCluster(const Clusters& clusters, const ClusterChoice& choice, const std::string& main_name,
                          const KafkaProperties& main_properties, std::string_view key, std::string& name,
                          KafkaProperties& properties, Errors& errors) {
  if (!choice.name.empty() && choice.name != main_name) {
    auto c = ResolveCluster(clusters, choice, key);
    if (!c.ok()) {
      errors.Add(c.status());
    } else {
      name = c->name;
      properties = c->properties;
    }
  } else if (!choice.bootstrap_flag.empty()) {
    properties = main_properties;
    SetProperty(properties, "bootstrap.servers", choice.bootstrap_flag);
    name = choice.name.empty() ? "audit" : choice.name;
  }
}

}  // namespace chaperone::config
