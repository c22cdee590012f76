#include "common/settings.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <regex>

#include <fmt/format.h>

#include "common/listen_address.h"
#include "common/secrets.h"
#include "common/store_url.h"
#include "common/topic_name.h"

namespace chaperone::config {
namespace {

Status Bad(const Value& v, std::string_view why) { return Status::InvalidArgument(v.where + ": " + std::string(why)); }

std::string Range(int64_t min, int64_t max) { return "from " + std::to_string(min) + " to " + std::to_string(max); }

// A non-negative decimal number (digits, optional fraction) followed by a unit.
bool SplitNumber(std::string_view s, double& number, std::string_view& unit) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return false;
  std::string digits(s.substr(0, i));
  char* end = nullptr;
  number = std::strtod(digits.c_str(), &end);
  if (end != digits.c_str() + digits.size() || !std::isfinite(number)) return false;
  unit = s.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return true;
}

bool IsPluginKey(std::string_view k) {
  return k == "plugin.library.paths" || k.starts_with("interceptor.") || k.starts_with("chaperone.");
}

}  // namespace

const Node* Node::Find(std::string_view key) const {
  for (const auto& e : entries)
    if (e.key == key) return &e.value;
  return nullptr;
}

Node Node::Scalar(std::string value, int line) {
  Node n;
  n.kind = Kind::kScalar;
  n.scalar = std::move(value);
  n.line = line;
  return n;
}

void Errors::Add(const Status& s) {
  const std::string& m = s.message();
  size_t start = 0;
  while (start <= m.size()) {
    size_t nl = m.find('\n', start);
    std::string line = m.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!line.empty()) lines_.push_back(line);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
}

Status Errors::ToStatus() const {
  if (lines_.empty()) return Status::Ok();
  std::string msg;
  for (const auto& l : lines_) msg += (msg.empty() ? "" : "\n") + l;
  return Status::InvalidArgument(msg);
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > 80) out += "...";
  return out;
}

std::string Quote(std::string_view s) { return "\"" + Printable(s) + "\""; }

Result<std::string> AsString(const Value& v) {
  if (v.node.IsNull()) return std::string();
  if (!v.node.IsScalar()) return Bad(v, "must be a string");
  return v.node.scalar;
}

Result<std::string> AsNonEmptyString(const Value& v) {
  auto s = AsString(v);
  if (s.ok() && s->empty()) return Bad(v, "must not be empty");
  return s;
}

Result<int64_t> AsInt(const Value& v, int64_t min, int64_t max) {
  if (!v.node.IsScalar()) return Bad(v, "must be an integer " + Range(min, max));
  const std::string& s = v.node.scalar;
  int64_t x = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (ec != std::errc() || p != s.data() + s.size() || x < min || x > max)
    return Bad(v, "must be an integer " + Range(min, max) + ", got " + Quote(s));
  return x;
}

Result<bool> AsBool(const Value& v) {
  if (v.node.IsScalar()) {
    std::string s = v.node.scalar;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    if (s == "true" || s == "yes" || s == "on") return true;
    if (s == "false" || s == "no" || s == "off") return false;
  }
  return Bad(v, "must be true or false");
}

Result<std::chrono::milliseconds> AsDuration(const Value& v, std::chrono::milliseconds unit,
                                             std::chrono::milliseconds min, std::chrono::milliseconds max) {
  auto describe = [&](std::chrono::milliseconds d) {
    int64_t ms = d.count();
    if (ms % 86'400'000 == 0 && ms >= 86'400'000) return std::to_string(ms / 86'400'000) + "d";
    if (ms % 3'600'000 == 0 && ms >= 3'600'000) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0 && ms >= 60'000) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0 && ms >= 1000) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
  };
  const std::string range = "from " + describe(min) + " to " + describe(max);
  const std::string want = "must be a duration " + range + " (a number of " + describe(unit).substr(1) +
                           ", or with a unit: 250ms, 10s, 5m, 2h, 7d)";
  if (!v.node.IsScalar()) return Bad(v, want);
  double number = 0;
  std::string_view suffix;
  if (!SplitNumber(v.node.scalar, number, suffix)) return Bad(v, want + ", got " + Quote(v.node.scalar));
  double ms_per = 0;
  if (suffix.empty()) {
    if (v.node.scalar.find('.') != std::string::npos) return Bad(v, want + ", got " + Quote(v.node.scalar));
    ms_per = static_cast<double>(unit.count());
  } else if (suffix == "ms") {
    ms_per = 1;
  } else if (suffix == "s") {
    ms_per = 1000;
  } else if (suffix == "m" || suffix == "min") {
    ms_per = 60'000;
  } else if (suffix == "h") {
    ms_per = 3'600'000;
  } else if (suffix == "d") {
    ms_per = 86'400'000;
  } else {
    return Bad(v, want + ", got " + Quote(v.node.scalar));
  }
  double ms = number * ms_per;
  if (ms != std::floor(ms) || ms < static_cast<double>(min.count()) || ms > static_cast<double>(max.count()))
    return Bad(v, want + ", got " + Quote(v.node.scalar));
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

Result<int64_t> AsSeconds(const Value& v, int64_t min_sec, int64_t max_sec) {
  using std::chrono::seconds;
  auto d = AsDuration(v, seconds(1), seconds(min_sec), seconds(max_sec));
  if (!d.ok()) return d.status();
  if (d->count() % 1000 != 0) return Bad(v, "must be whole seconds");
  return d->count() / 1000;
}

Result<double> AsNumber(const Value& v, double min, double max) {
  const std::string want = fmt::format("must be a number from {} to {}", min, max);
  if (!v.node.IsScalar()) return Bad(v, want);
  const std::string& s = v.node.scalar;
  double x = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(x) || x < min || x > max)
    return Bad(v, want + ", got " + Quote(s));
  return x;
}

Result<int64_t> AsSize(const Value& v, int64_t min, int64_t max) {
  const std::string want = "must be a size in bytes " + Range(min, max) + " (or with a unit: 512KiB, 64MiB, 1GiB, 10MB)";
  if (!v.node.IsScalar()) return Bad(v, want);
  double number = 0;
  std::string_view suffix;
  if (!SplitNumber(v.node.scalar, number, suffix)) return Bad(v, want + ", got " + Quote(v.node.scalar));
  static const std::pair<std::string_view, double> kUnits[] = {
      {"", 1},          {"B", 1},           {"kB", 1e3},        {"KB", 1e3},           {"MB", 1e6},
      {"GB", 1e9},      {"KiB", 1024.0},    {"MiB", 1048576.0}, {"GiB", 1073741824.0}, {"k", 1e3},
      {"K", 1024.0},    {"M", 1048576.0},   {"G", 1073741824.0}};
  double factor = 0;
  for (const auto& [u, f] : kUnits)
    if (suffix == u) factor = f;
  if (factor == 0 || (suffix.empty() && v.node.scalar.find('.') != std::string::npos))
    return Bad(v, want + ", got " + Quote(v.node.scalar));
  double bytes = number * factor;
  if (bytes != std::floor(bytes) || bytes < static_cast<double>(min) || bytes > static_cast<double>(max))
    return Bad(v, want + ", got " + Quote(v.node.scalar));
  return static_cast<int64_t>(bytes);
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

Result<std::string> AsTopic(const Value& v) {
  auto s = AsString(v);
  if (!s.ok()) return s;
  if (Status st = common::ValidateTopicName(*s); !st.ok())
    return Bad(v, "not a valid Kafka topic name (" + st.message() + "), got " + Quote(*s));
  return s;
}

Result<std::string> AsListen(const Value& v, bool allow_off) {
  if (v.node.IsNull() && allow_off) return std::string();
  auto s = AsString(v);
  if (!s.ok()) return s;
  Status st = common::ValidateListenAddress(*s, allow_off ? common::EmptyListen::kOff : common::EmptyListen::kRejected,
                                            v.where);
  if (!st.ok()) return st;
  return s;
}

Result<std::string> AsStoreUrl(const Value& v) {
  auto s = AsString(v);
  if (!s.ok()) return s;
  if (auto u = common::ParseStoreUrl(*s); !u.ok()) return Bad(v, u.status().message());
  return s;
}

Result<std::vector<std::string>> AsStringList(const Value& v) {
  std::vector<std::string> out;
  if (v.node.IsScalar()) {
    out.push_back(v.node.scalar);
    return out;
  }
  if (v.node.IsNull()) return out;
  if (!v.node.IsList()) return Bad(v, "must be a string or a list of strings");
  for (const auto& item : v.node.items) {
    if (!item.IsScalar()) return Bad(v, "must be a list of strings");
    out.push_back(item.scalar);
  }
  return out;
}

namespace {

Status CheckRegex(const Value& v, const std::string& re) {
  if (re.empty()) return Bad(v, "empty regex");
  try {
    std::regex compiled(re, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Bad(v, "bad regex " + Quote(re) + ": " + e.what());
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> AsRegex(const Value& v) {
  if (!v.node.IsScalar()) return Bad(v, "must be a regex (a string)");
  if (Status s = CheckRegex(v, v.node.scalar); !s.ok()) return s;
  return v.node.scalar;
}

Result<std::vector<std::string>> AsRegexList(const Value& v) {
  auto list = AsStringList(v);
  if (!list.ok()) return list;
  for (const auto& re : *list) {
    if (Status s = CheckRegex(v, re); !s.ok()) return s;
  }
  return list;
}

Result<std::vector<std::pair<std::string, std::string>>> AsProperties(const Value& v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (v.node.IsNull()) return out;
  if (!v.node.IsMap()) return Bad(v, "must be a map of librdkafka properties");
  for (const auto& e : v.node.entries) {
    if (!e.value.IsScalar()) return Bad(v, "property '" + Printable(e.key) + "' must have a scalar value");
    if (IsPluginKey(e.key))
      return Status::InvalidArgument(v.where + "." + Printable(e.key) +
                                     ": plugin properties are not allowed in Chaperone's own clients");
    out.emplace_back(e.key, e.value.scalar);
  }
  return out;
}

Result<std::pair<std::string, std::string>> AsKeyValue(const Value& v) {
  auto s = AsString(v);
  if (!s.ok()) return s.status();
  size_t eq = s->find('=');
  if (eq == std::string::npos || eq == 0) return Bad(v, "must be KEY=VALUE (a librdkafka property)");
  std::string key = s->substr(0, eq);
  if (IsPluginKey(key))
    return Status::InvalidArgument(v.where + " " + key + ": plugin properties are not allowed in Chaperone's own clients");
  return std::make_pair(key, s->substr(eq + 1));
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
  auto distance = [](std::string_view a, std::string_view b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        char x = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i - 1])));
        char y = static_cast<char>(std::tolower(static_cast<unsigned char>(b[j - 1])));
        // '-' and '_' are the same mistake: another key style.
        bool same = x == y || ((x == '-' || x == '_') && (y == '-' || y == '_'));
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
      }
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = 4;
  for (const auto& c : candidates) {
    size_t d = distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

TableBase::TableBase(std::string section, std::vector<SettingDoc> docs, std::string extra_rows)
    : section_(std::move(section)), docs_(std::move(docs)), extra_rows_(std::move(extra_rows)) {}

std::string TableBase::FlagOf(size_t i) const {
  const SettingDoc& d = docs_[i];
  if (d.flag == "-" || IsFamily(i)) return "";
  if (!d.flag.empty()) return std::string(d.flag);
  std::string f(d.key);
  std::replace(f.begin(), f.end(), '_', '-');
  std::replace(f.begin(), f.end(), '.', '-');
  return f;
}

std::vector<FlagSpec> TableBase::Flags() const {
  std::vector<FlagSpec> out;
  for (size_t i = 0; i < docs_.size(); ++i) {
    std::string flag = FlagOf(i);
    if (flag.empty()) continue;
    std::string help(docs_[i].description);
    if (!docs_[i].key.empty()) help = section_ + "." + std::string(docs_[i].key) + ": " + help;
    out.push_back(FlagSpec{flag, std::string(docs_[i].short_flag), help, docs_[i].repeatable, docs_[i].type == "bool"});
  }
  return out;
}

std::string TableBase::BeginMarker() const { return "<!-- BEGIN GENERATED: " + section_ + " settings -->"; }
std::string TableBase::EndMarker() const { return "<!-- END GENERATED: " + section_ + " settings -->"; }

namespace {

// Keeps a Markdown table intact: a literal '|' would start a new cell.
std::string EscapeCell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string TableBase::PropertyName(size_t i) const {
  return section_ + "." + std::string(docs_[i].key) + (IsFamily(i) ? std::string(docs_[i].placeholder) : "");
}

std::string TableBase::Render(bool properties, std::string_view more_rows) const {
  std::string out = BeginMarker() + "\n";
  out += properties ? "| Property | Type | Default | Description |\n|---|---|---|---|\n"
                    : "| Key | Flag | Type | Default | Description |\n|---|---|---|---|---|\n";
  out += extra_rows_;
  out += RenderRows(properties);
  out += more_rows;
  out += EndMarker() + "\n";
  return out;
}

std::string TableBase::RenderRows(bool properties) const {
  std::string out;
  for (size_t i = 0; i < docs_.size(); ++i) {
    const SettingDoc& s = docs_[i];
    std::string row;
    if (properties) {
      row = "`" + EscapeCell(PropertyName(i)) + "`";
    } else {
      std::string key = s.key.empty() ? "" : "`" + section_ + "." + std::string(s.key) + "`";
      std::string flag = FlagOf(i);
      if (!flag.empty()) flag = "`--" + flag + "`";
      if (!s.short_flag.empty()) flag += ", `-" + std::string(s.short_flag) + "`";
      row = EscapeCell(key) + " | " + EscapeCell(flag);
    }
    std::string desc(s.description);
    if (s.secret) desc += " Secret: never printed back.";
    out += "| " + row + " | " + EscapeCell(s.type) + " | " + EscapeCell(s.default_text) + " | " +
           EscapeCell(desc) + " |\n";
  }
  return out;
}

std::string TableBase::Reference(std::string_view more_rows) const { return Render(false, more_rows); }
std::string TableBase::Rows() const { return RenderRows(false); }
std::string TableBase::PropertyReference() const { return Render(true, ""); }

int TableBase::FindProperty(std::string_view name, std::string& suffix) const {
  if (!name.starts_with(section_) || name.size() <= section_.size() || name[section_.size()] != '.') return -1;
  std::string_view key = name.substr(section_.size() + 1);
  if (int i = FindKey(key); i >= 0 && !IsFamily(static_cast<size_t>(i))) {
    suffix.clear();
    return i;
  }
  int best = -1;
  for (size_t i = 0; i < docs_.size(); ++i) {
    if (IsFamily(i) && key.starts_with(docs_[i].key) &&
        (best < 0 || docs_[i].key.size() > docs_[static_cast<size_t>(best)].key.size()))
      best = static_cast<int>(i);
  }
  if (best >= 0) suffix = std::string(key.substr(docs_[static_cast<size_t>(best)].key.size()));
  return best;
}

Status TableBase::UnknownProperty(std::string_view name) const {
  // Candidates: every plain name, and for each family its prefix followed by
  // each tail of `name` after a '.' ("chaperone.audit.produce.acks" is close
  // to "chaperone.audit.producer.acks").
  std::vector<std::string> candidates;
  for (size_t i = 0; i < docs_.size(); ++i) {
    std::string full = section_ + "." + std::string(docs_[i].key);
    if (!IsFamily(i)) {
      candidates.push_back(full);
      continue;
    }
    for (size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1))
      if (dot + 1 < name.size()) candidates.push_back(full + std::string(name.substr(dot + 1)));
  }
  std::string best = ClosestMatch(name, candidates);
  if (!best.empty()) return Status::InvalidArgument("unknown property " + Printable(name) + " (did you mean " + Printable(best) + "?)");
  std::string known;
  for (size_t i = 0; i < docs_.size(); ++i) known += (known.empty() ? "" : ", ") + PropertyName(i);
  return Status::InvalidArgument("unknown property " + Printable(name) + " (known: " + known + ")");
}

Status TableBase::RedactError(size_t i, std::string_view name, std::string_view value, const Status& error) const {
  // A family member is judged by its own name too ("ssl.key.pem" of "chaperone.audit.producer.ssl.key.pem").
  std::string_view member = name.size() > section_.size() + 1 + docs_[i].key.size()
                                ? name.substr(section_.size() + 1 + docs_[i].key.size())
                                : std::string_view();
  bool secret = docs_[i].secret || common::IsSecretProperty(name) || (IsFamily(i) && common::IsSecretProperty(member));
  if (value.empty() || !secret) return error;
  std::string msg = common::RedactText(error.message(), {std::string(value)});
  // RedactText leaves values shorter than 3 characters alone: past the name,
  // such a value must not appear either, so the reason goes.
  size_t after_name = msg.starts_with(name) ? name.size() : 0;
  if (msg.find(value, after_name) != std::string::npos)
    msg = std::string(name) + ": invalid value (not shown: the value is secret)";
  return Status::InvalidArgument(msg);
}

int TableBase::FindKey(std::string_view key) const {
  for (size_t i = 0; i < docs_.size(); ++i)
    if (!docs_[i].key.empty() && docs_[i].key == key) return static_cast<int>(i);
  return -1;
}

int TableBase::FindFlag(std::string_view flag) const {
  for (size_t i = 0; i < docs_.size(); ++i) {
    if (FlagOf(i) == flag || (!docs_[i].short_flag.empty() && docs_[i].short_flag == flag)) return static_cast<int>(i);
  }
  return -1;
}

bool TableBase::IsGroup(std::string_view prefix) const {
  for (const auto& s : docs_) {
    if (s.key.size() > prefix.size() && s.key.starts_with(prefix) && s.key[prefix.size()] == '.') return true;
  }
  return false;
}

std::string TableBase::Suggestion(std::string_view key, std::string_view name) const {
  // Every key, and every group ("loss" of "loss.min_ratio"): a typo in a
  // group's name is closer to it than to any of its keys.
  std::vector<std::string> keys;
  for (const auto& s : docs_) {
    if (s.key.empty()) continue;
    keys.emplace_back(s.key);
    for (size_t dot = s.key.find('.'); dot != std::string_view::npos; dot = s.key.find('.', dot + 1)) {
      std::string group(s.key.substr(0, dot));
      if (std::find(keys.begin(), keys.end(), group) == keys.end()) keys.push_back(std::move(group));
    }
  }
  std::string best = ClosestMatch(key, keys);
  return best.empty() ? "" : " (did you mean " + std::string(name) + "." + best + "?)";
}

std::string TableBase::KeyList() const {
  std::vector<std::string> tops;
  for (const auto& s : docs_) {
    if (s.key.empty()) continue;
    std::string top(s.key.substr(0, s.key.find('.')));
    if (std::find(tops.begin(), tops.end(), top) == tops.end()) tops.push_back(top);
  }
  std::string out;
  for (const auto& t : tops) out += (out.empty() ? "" : ", ") + t;
  return "{" + out + "}";
}

std::string TableBase::Where(std::string_view source, int line, std::string_view key) {
  std::string w(source);
  if (line > 0) w += ":" + std::to_string(line);
  return w + ": " + std::string(key);
}

}  // namespace chaperone::config
