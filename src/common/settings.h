// The one settings mechanism of every component: a component declares one
// table of settings (YAML key, flag, type, default, description, how to apply
// a value), and that table drives
//   - the keys of its section in the project YAML file,
//   - its command-line flags (the key with '_' and '.' turned into '-', unless
//     the table names another flag),
//   - its `--config-reference` output and the generated section of its docs
//     page (a drift test keeps the two equal),
//   - `chaperone config check`, which reports every error of every section.
//
// A structured setting (a map of its own keys, or a list of such maps: the
// detector's rules and receivers) is read by a nested table: its apply calls
// the nested table's `ApplyNested` on the map (each item of a list), which
// checks its keys like a section's and names them by their path
// ("detect.rules[2].loss.min_ratio"); the nested table's `Rows()` join the
// section's reference (`Reference(rows)`).
//
// A table can instead be driven by flat properties ("name=value" strings, the
// names being the section, a '.', and the key): the interceptor's `chaperone.*`
// librdkafka properties. `ApplyProperty` and `ResetProperty` take one property
// at a time; a key ending in '.' declares a family of properties
// ("timestamp." covers "chaperone.timestamp.<topic-regex>"), whose apply
// receives the rest of the name in `Value::suffix`; `PropertyReference` renders
// the table without a flag column.
//
// This header has no YAML dependency: values arrive as a `Node` tree, which
// src/config builds from the YAML file (with line numbers) and the CLI builds
// from flags. The interceptor plugin, which has no YAML, uses the validators.
//
// Thread safety: tables are immutable after construction and may be used from
// any thread; a Draft and its Errors belong to one parse.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chaperone/status.h"

// In a setting's apply function: declares `var` as the value of a validator
// call, or returns its error.
#define SETTING_VALUE(var, expr)              \
  auto var##_r = (expr);                      \
  if (!var##_r.ok()) return var##_r.status(); \
  auto& var = *var##_r

namespace chaperone::config {

// A configuration value: null, a scalar, a list or a map (keys in file order).
struct Node {
  enum class Kind { kNull, kScalar, kList, kMap };
  struct Entry;
  Kind kind = Kind::kNull;
  std::string scalar;
  std::vector<Node> items;     // kList
  std::vector<Entry> entries;  // kMap
  int line = 0;                // 1-based line in its file; 0: not from a file

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsList() const { return kind == Kind::kList; }
  bool IsMap() const { return kind == Kind::kMap; }
  // The value of `key` in a map, or nullptr.
  const Node* Find(std::string_view key) const;
  static Node Scalar(std::string value, int line = 0);
};

struct Node::Entry {
  std::string key;
  int key_line = 0;
  Node value;
};

// A value to apply, and how to name it in a message: "file.yaml:12: service.window_sec"
// or "--window-sec".
struct Value {
  const Node& node;
  std::string where;
  bool from_flag = false;
  // For a member of a family of properties: the part of its name after the
  // family's key ("orders-.*" of "chaperone.timestamp.orders-.*"); else "".
  std::string suffix = "";
};

// Every error of one parse, each one line: "<where>: <why>".
class Errors {
 public:
  void Add(std::string line) { lines_.push_back(std::move(line)); }
  void Add(const Value& v, std::string_view why) { lines_.push_back(v.where + ": " + std::string(why)); }
  // Adds the message of a failed status (a multi-line message adds each line).
  void Add(const Status& s);
  bool empty() const { return lines_.empty(); }
  const std::vector<std::string>& lines() const { return lines_; }
  // OK when empty, else InvalidArgument with one error per line.
  Status ToStatus() const;

 private:
  std::vector<std::string> lines_;
};

// ---- Validators: one rule each, shared by every component. ----
// Each returns InvalidArgument "<where>: <why>" on a bad value.

// Quotes a value for a message: at most 80 characters, control characters as '?'.
std::string Quote(std::string_view s);
// A key as it may appear in a one-line message: control characters (a YAML
// key may span lines) as '?', at most 80 characters.
std::string Printable(std::string_view s);
Result<std::string> AsString(const Value& v);
Result<std::string> AsNonEmptyString(const Value& v);
Result<int64_t> AsInt(const Value& v, int64_t min, int64_t max);
Result<bool> AsBool(const Value& v);
// A duration: an integer in `unit` (the unit the key's name says, e.g. _ms), or
// a number with its own unit: "250ms", "10s", "5m", "2h", "7d".
Result<std::chrono::milliseconds> AsDuration(const Value& v, std::chrono::milliseconds unit,
                                             std::chrono::milliseconds min, std::chrono::milliseconds max);
// As AsDuration with `unit` one second, in whole seconds from `min_sec` to `max_sec`.
Result<int64_t> AsSeconds(const Value& v, int64_t min_sec, int64_t max_sec);
// A decimal number ("0.01", "1", "1e-3") from `min` to `max`; not NaN or infinite.
Result<double> AsNumber(const Value& v, double min, double max);
// A size in bytes: an integer, or with a unit: "512KiB", "64MiB", "1GiB", "10MB", "1kB".
Result<int64_t> AsSize(const Value& v, int64_t min, int64_t max);
// A name: 1 to 249 characters of letters, digits, "._-" and `extra_chars`.
Result<std::string> AsName(const Value& v, std::string_view extra_chars = "");
// A Kafka topic name (common::ValidateTopicName).
Result<std::string> AsTopic(const Value& v);
// A listen address (common::ValidateListenAddress); "" or null is "off" when `allow_off`.
Result<std::string> AsListen(const Value& v, bool allow_off);
// A store URL (common::ValidateStoreUrl).
Result<std::string> AsStoreUrl(const Value& v);
// A string or a list of strings.
Result<std::vector<std::string>> AsStringList(const Value& v);
// One ECMAScript regex that compiles (not empty).
Result<std::string> AsRegex(const Value& v);
// As AsStringList, each an ECMAScript regex that compiles.
Result<std::vector<std::string>> AsRegexList(const Value& v);
// A map of librdkafka properties with scalar values, in file order; plugin
// properties (plugin.library.paths, interceptor.*, chaperone.*) are refused.
Result<std::vector<std::pair<std::string, std::string>>> AsProperties(const Value& v);
// "KEY=VALUE" (the -X flag).
Result<std::pair<std::string, std::string>> AsKeyValue(const Value& v);

// Apply functions for a setting kept in one field of a draft's options,
// `(d.*Opts).*Field`, so that tables share these instead of repeating them:
//   {{"tier", ...}, &config::ApplyName<Draft, &Draft::opts, &ServiceOptions::tier>}
template <typename Draft, auto Opts, auto Field>
Status ApplyName(const Value& v, Draft& d);  // AsName(v, ":")
template <typename Draft, auto Opts, auto Field>
Status ApplyTopic(const Value& v, Draft& d);  // AsTopic
template <typename Draft, auto Opts, auto Field>
Status ApplyListen(const Value& v, Draft& d);  // AsListen, "" is off
template <typename Draft, auto Opts, auto Field>
Status ApplyProperties(const Value& v, Draft& d);  // AsProperties

// The closest of `candidates` to `word` (at most 3 edits), or "".
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// ---- Tables ----

// What a setting is, for flags and documentation.
struct SettingDoc {
  std::string_view key;          // below the section ("topics.include"); "" for flag-only settings
  std::string_view flag;         // without "--"; "" derives it from the key; "-" for no flag
  std::string_view type;         // as documented: "integer", "duration (ms)", "host:port" ...
  std::string_view default_text; // as documented (Markdown)
  std::string_view description;  // Markdown, one paragraph
  bool repeatable = false;       // the flag may be given several times
  bool secret = false;           // never printed back (redacted in messages and listings)
  std::string_view short_flag = "";  // e.g. "X" for -X
  // Property tables: for a family (a key ending in '.'), how the rest of the
  // name is documented, e.g. "<topic-regex>".
  std::string_view placeholder = "";
};

// A command-line flag derived from a table.
struct FlagSpec {
  std::string name;   // without "--"
  std::string short_name;  // without "-", or ""
  std::string help;
  bool repeatable = false;
  bool is_switch = false;  // a bool setting: "--flag" alone means true
};

// One setting given on the command line: its flag name (without "--") and value.
struct FlagValue {
  std::string flag;
  std::string value;
};

// The part of a table that does not depend on the component's draft type.
class TableBase {
 public:
  // `section`: the YAML section ("service"); `extra_rows`: Markdown rows placed
  // before the table's own (settings outside the section, such as clusters).
  TableBase(std::string section, std::vector<SettingDoc> docs, std::string extra_rows = "");

  const std::string& section() const { return section_; }
  const std::vector<SettingDoc>& docs() const { return docs_; }
  // The flag of setting `i` without "--" ("" when it has none).
  std::string FlagOf(size_t i) const;
  // "{a, b, c}": the top-level keys (a group once), for "must be a map of ...".
  std::string KeyList() const;
  // How a key is named in messages: "<source>:<line>: <key>" (no line when 0).
  static std::string Where(std::string_view source, int line, std::string_view key);
  std::vector<FlagSpec> Flags() const;
  // The Markdown reference, between "<!-- BEGIN GENERATED: <section> settings -->"
  // and "<!-- END GENERATED: <section> settings -->" lines; `more_rows` (the
  // Rows() of nested tables) come after the table's own.
  std::string Reference(std::string_view more_rows = "") const;
  // The rows of Reference() alone: no header, no markers.
  std::string Rows() const;
  std::string BeginMarker() const;
  std::string EndMarker() const;
  // For property tables: the Markdown reference (Property | Type | Default |
  // Description) between the same markers.
  std::string PropertyReference() const;
  // The property name of setting `i`: "<section>.<key>", a family's with its
  // placeholder ("chaperone.timestamp.<topic-regex>").
  std::string PropertyName(size_t i) const;
  // True if setting `i` is a family of properties (its key ends in '.').
  bool IsFamily(size_t i) const { return docs_[i].key.ends_with('.'); }

 protected:
  // Index of the setting with `key`, or -1.
  int FindKey(std::string_view key) const;
  int FindFlag(std::string_view flag) const;
  // True if some key lies below `prefix.`.
  bool IsGroup(std::string_view prefix) const;
  // " (did you mean <name>.<key>?)" for the key closest to `key`, else "".
  std::string Suggestion(std::string_view key, std::string_view name) const;
  // Reference() (`properties` false) and PropertyReference() (true).
  std::string Render(bool properties, std::string_view more_rows) const;
  std::string RenderRows(bool properties) const;
  // The setting a property name stands for (an exact key first, then the
  // family with the longest key), with a family member's suffix; -1 if none.
  int FindProperty(std::string_view name, std::string& suffix) const;
  // "unknown property <name>" with a did-you-mean, else the known names.
  Status UnknownProperty(std::string_view name) const;
  // `error` of setting `i` for property `name` set to `value`, with the value
  // redacted when it is a secret (SettingDoc::secret, or a name, or a family
  // member's own name, that common::IsSecretProperty says is secret).
  Status RedactError(size_t i, std::string_view name, std::string_view value, const Status& error) const;

  std::string section_;
  std::vector<SettingDoc> docs_;
  std::string extra_rows_;
};

// A component's table over its draft type (what the settings write into
// before the rules that involve several settings run).
template <typename Draft>
class Table : public TableBase {
 public:
  using Apply = Status (*)(const Value& v, Draft& d);
  // Property tables: restores the default of a setting, or removes the family
  // member named by `suffix`.
  using Reset = void (*)(Draft& d, std::string_view suffix);
  struct Setting {
    SettingDoc doc;
    Apply apply;
    Reset reset = nullptr;
  };

  Table(std::string section, std::vector<Setting> settings, std::string extra_rows = "")
      : TableBase(std::move(section), DocsOf(settings), std::move(extra_rows)) {
    for (auto& s : settings) {
      applies_.push_back(s.apply);
      resets_.push_back(s.reset);
    }
  }

  // Applies one property ("<section>.<key>" = value). An unknown name is an
  // error with a did-you-mean; a secret value never appears in the error.
  Status ApplyProperty(std::string_view name, std::string_view value, Draft& d) const {
    std::string suffix;
    int i = FindProperty(name, suffix);
    if (i < 0) return UnknownProperty(name);
    Node node = Node::Scalar(std::string(value));
    Status s = applies_[i](Value{node, std::string(name), false, std::move(suffix)}, d);
    return s.ok() ? s : RedactError(static_cast<size_t>(i), name, value, s);
  }

  // Restores the default of one property, or removes a family member.
  Status ResetProperty(std::string_view name, Draft& d) const {
    std::string suffix;
    int i = FindProperty(name, suffix);
    if (i < 0) return UnknownProperty(name);
    if (resets_[i] == nullptr) return Status::InvalidArgument(std::string(name) + ": cannot be unset");
    resets_[i](d, suffix);
    return Status::Ok();
  }

  // Applies the section's map (null: nothing). Every error is added to
  // `errors`; the parse goes on past a bad setting so that all are reported.
  void ApplySection(const Node& section, std::string_view source, Draft& d, Errors& errors) const {
    if (section.IsNull()) return;
    if (!section.IsMap()) {
      errors.Add(Where(source, section.line, section_) + ": must be a map of settings");
      return;
    }
    ApplyMap(section, "", source, section_, d, errors);
  }

  // Applies one map of a structured setting: `v` is the map (a map-valued
  // setting's value, or an item of a list of maps), `path` names it in
  // messages ("detect.rules[2]": its keys are "detect.rules[2].loss" ...).
  // The table's own section only names it in the reference ("detect.rules[]").
  // A value that is not a map is an error at `v`.
  void ApplyNested(const Value& v, std::string_view source, std::string_view path, Draft& d, Errors& errors) const {
    if (!v.node.IsMap()) {
      errors.Add(v, "must be a map of " + KeyList());
      return;
    }
    ApplyMap(v.node, "", source, path, d, errors);
  }

  // Applies flags in order, after the file (flags win).
  void ApplyFlags(const std::vector<FlagValue>& flags, Draft& d, Errors& errors) const {
    for (const auto& f : flags) {
      int i = FindFlag(f.flag);
      if (i < 0) {
        errors.Add("--" + f.flag + ": unknown flag");
        continue;
      }
      Node node = Node::Scalar(f.value);
      std::string where = "--" + f.flag;
      if (docs_[i].secret) where += " (value hidden)";
      Status s = applies_[i](Value{node, where, true}, d);
      if (!s.ok()) errors.Add(s);
    }
  }

 private:
  static std::vector<SettingDoc> DocsOf(const std::vector<Setting>& settings) {
    std::vector<SettingDoc> out;
    for (const auto& s : settings) out.push_back(s.doc);
    return out;
  }

  // `name` prefixes every key in messages: the section, or a nested map's path.
  void ApplyMap(const Node& map, const std::string& prefix, std::string_view source, std::string_view name, Draft& d,
                Errors& errors) const {
    for (const auto& e : map.entries) {
      std::string key = prefix.empty() ? e.key : prefix + "." + e.key;
      std::string where = Where(source, e.key_line, std::string(name) + "." + Printable(key));
      if (int i = FindKey(key); i >= 0) {
        Status s = applies_[i](Value{e.value, where, false}, d);
        if (!s.ok()) errors.Add(s);
      } else if (IsGroup(key)) {
        if (e.value.IsMap()) {
          ApplyMap(e.value, key, source, name, d, errors);
        } else if (!e.value.IsNull()) {
          errors.Add(where + ": must be a map");
        }
      } else {
        errors.Add(where + ": unknown setting" + Suggestion(key, name));
      }
    }
  }

  std::vector<Apply> applies_;
  std::vector<Reset> resets_;
};

template <typename Draft, auto Opts, auto Field>
Status ApplyName(const Value& v, Draft& d) {
  SETTING_VALUE(s, AsName(v, ":"));
  (d.*Opts).*Field = s;
  return Status::Ok();
}

template <typename Draft, auto Opts, auto Field>
Status ApplyTopic(const Value& v, Draft& d) {
  SETTING_VALUE(s, AsTopic(v));
  (d.*Opts).*Field = s;
  return Status::Ok();
}

template <typename Draft, auto Opts, auto Field>
Status ApplyListen(const Value& v, Draft& d) {
  SETTING_VALUE(s, AsListen(v, true));
  (d.*Opts).*Field = s;
  return Status::Ok();
}

template <typename Draft, auto Opts, auto Field>
Status ApplyProperties(const Value& v, Draft& d) {
  SETTING_VALUE(p, AsProperties(v));
  (d.*Opts).*Field = p;
  return Status::Ok();
}

}  // namespace chaperone::config
