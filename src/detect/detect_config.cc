#include "detect/detect_config.h"

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>

#include "analysis/names.h"
#include "analysis/settings.h"
#include "analysis/tier_order.h"
#include "chaperone/event_time.h"
#include "detect/http_post.h"

namespace chaperone::detect {

// ---- The rules' pure functions ----

namespace {

// `messages` over `source_count` reach `min_messages` and the ratio
// `min_ratio` (a source count of 0 with a difference passes any ratio).
bool Reaches(int64_t messages, int64_t source_count, int64_t min_messages, double min_ratio) {
  if (messages < min_messages) return false;
  if (min_ratio <= 0) return true;
  if (source_count <= 0) return messages > 0;
  return static_cast<double>(messages) / static_cast<double>(source_count) >= min_ratio;
}

}  // namespace

bool Threshold::Reached(int64_t difference, int64_t source_count) const {
  return Reaches(difference, source_count, min_messages, min_ratio);
}

bool PairSelector::Matches(std::string_view source_tier, std::string_view target_tier) const {
  return analysis::MatchesTierPattern(source, source_tier) && analysis::MatchesTierPattern(target, target_tier);
}

Severity Rule::SeverityOf(int64_t messages, int64_t source_count) const {
  Severity out = Severity::kInfo;
  for (const auto& level : severity) {
    if (Reaches(messages, source_count, level.min_messages, level.min_ratio)) out = std::max(out, level.severity);
  }
  return out;
}

bool Rule::Muted(int64_t window_begin_sec) const {
  return std::any_of(mute.begin(), mute.end(), [&](const MuteWindow& m) {
    return m.from_sec <= window_begin_sec && window_begin_sec < m.to_sec;
  });
}

bool Rule::Judges(std::string_view source_tier, std::string_view target_tier) const {
  return pairs.empty() || std::any_of(pairs.begin(), pairs.end(), [&](const PairSelector& p) {
           return p.Matches(source_tier, target_tier);
         });
}

const Rule& DetectOptions::RuleFor(std::string_view topic) const {
  const std::string name(topic);
  for (size_t i = 0; i < rules.size(); ++i) {
    if (i < compiled_.size() && compiled_from_[i] == rules[i].topic_regex) {
      if (std::regex_match(name, compiled_[i])) return rules[i];
      continue;
    }
    try {  // a rule set after parsing
      if (std::regex_match(name, std::regex(rules[i].topic_regex, std::regex::ECMAScript))) return rules[i];
    } catch (const std::regex_error&) {
      // Never matches: ParseDetectConfig refuses such a rule.
    }
  }
  return default_rule;
}

// ---- The `detect:` section ----

namespace {

using config::Errors;
using config::Node;
using config::Value;
using std::chrono::milliseconds;

constexpr int64_t kMaxMessages = 1'000'000'000'000'000;  // 10^15: any count a window can hold

// "<source>:<line>: <path>", as the settings tables name a key.
std::string Where(std::string_view source, int line, std::string_view path) {
  return config::TableBase::Where(source, line, path);
}

Status Bad(const Value& v, std::string_view why) { return Status::InvalidArgument(v.where + ": " + std::string(why)); }

// The line of `dotted_key` ("timeouts.connect_ms") in `map`, nested or
// written flat; 0 when absent.
int LineOfKey(const Node& map, std::string_view dotted_key) {
  for (const auto& e : map.entries) {
    if (e.key == dotted_key) return e.key_line;
    if (dotted_key.starts_with(e.key) && dotted_key.size() > e.key.size() && dotted_key[e.key.size()] == '.' &&
        e.value.IsMap()) {
      if (int line = LineOfKey(e.value, dotted_key.substr(e.key.size() + 1)); line > 0) return line;
    }
  }
  return 0;
}

// Applies `table` to each map of the list `v` (null: an empty list), each
// into a fresh draft named "<path>[i]" in messages, and passes the drafts
// whose keys had no error to `done(item, item_path, draft)`. A draft with `source` and
// `path` members learns them (for the lists nested in it).
template <typename ItemDraft, typename Done>
void ApplyEachMap(const Value& v, std::string_view source, const std::string& path,
                  const config::Table<ItemDraft>& table, Errors& errors, Done&& done) {
  if (v.node.IsNull()) return;
  if (!v.node.IsList()) {
    errors.Add(v, "must be a list of maps " + table.KeyList());
    return;
  }
  for (size_t i = 0; i < v.node.items.size(); ++i) {
    const Node& n = v.node.items[i];
    const std::string item_path = path + "[" + std::to_string(i) + "]";
    const Value item{n, Where(source, n.line, item_path)};
    ItemDraft draft;
    if constexpr (requires { draft.path; }) {
      draft.source = std::string(source);
      draft.path = item_path;
    }
    const size_t before = errors.lines().size();
    table.ApplyNested(item, source, item_path, draft, errors);
    if (errors.lines().size() == before) done(item, item_path, std::move(draft));
  }
}

// A map of string → string (labels, headers). Values are never quoted in
// errors: a header may carry an API key.
Status AsStringMap(const Value& v, std::map<std::string, std::string>& out) {
  out.clear();
  if (v.node.IsNull()) return Status::Ok();
  if (!v.node.IsMap()) return Bad(v, "must be a map of names to strings");
  for (const auto& e : v.node.entries) {
    if (!e.value.IsScalar())
      return Status::InvalidArgument(v.where + "." + config::Printable(e.key) + ": must be a string");
    out[e.key] = e.value.scalar;
  }
  return Status::Ok();
}

// The first line of the file named by `v`, trimmed: a secret kept out of the
// project file. The content never appears in an error.
Result<std::string> ReadFirstLine(const Value& v) {
  SETTING_VALUE(path, config::AsNonEmptyString(v));
  constexpr size_t kMaxBytes = 64 * 1024;
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return Bad(v, "cannot read " + config::Quote(path) + ": no such file");
  if (!std::filesystem::is_regular_file(status))
    return Bad(v, "cannot read " + config::Quote(path) + ": not a regular file");
  std::ifstream f(path, std::ios::binary);
  std::string text(kMaxBytes, '\0');
  if (!f || (f.read(text.data(), static_cast<std::streamsize>(text.size())), f.bad()))
    return Bad(v, "cannot read " + config::Quote(path));
  text.resize(static_cast<size_t>(f.gcount()));
  size_t nl = text.find('\n');
  if (nl == std::string::npos && text.size() == kMaxBytes)
    return Bad(v, config::Quote(path) + ": the first line is longer than 64 KiB");
  std::string line = text.substr(0, nl);
  const char* space = " \t\r\v\f";
  size_t b = line.find_first_not_of(space);
  if (b == std::string::npos) return Bad(v, config::Quote(path) + ": the first line is empty");
  return line.substr(b, line.find_last_not_of(space) - b + 1);
}

// A time with its zone (RFC 3339), in whole Unix seconds.
Result<int64_t> AsTime(const Value& v) {
  SETTING_VALUE(s, config::AsNonEmptyString(v));
  const std::string want = "must be an RFC 3339 time with its zone, e.g. 2026-12-24T00:00:00Z, got " + config::Quote(s);
  const bool has_time = s.size() > 10 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ');
  const bool has_zone = s.back() == 'Z' || s.back() == 'z' ||
                        (s.size() > 16 && (s[s.size() - 6] == '+' || s[s.size() - 6] == '-') && s[s.size() - 3] == ':');
  std::optional<int64_t> ms = ParseIso8601Ms(s);
  if (!has_time || !has_zone || !ms) return Bad(v, want);
  if (*ms % 1000 != 0) return Bad(v, "must be whole seconds, got " + config::Quote(s));
  return *ms / 1000;
}

// "source>target": each side a tier, a prefix ending in '*', or '*'.
Result<PairSelector> ParsePair(const Value& v, std::string_view text) {
  auto bad = [&] {
    return Bad(v, config::Quote(text) +
                      ": want \"source>target\", each side a tier, a prefix ending in '*', or '*' (e.g. "
                      "\"regional>aggregate\")");
  };
  size_t gt = text.find('>');
  if (gt == std::string_view::npos || text.find('>', gt + 1) != std::string_view::npos) return bad();
  auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return std::string(s);
  };
  PairSelector p{trim(text.substr(0, gt)), trim(text.substr(gt + 1))};
  for (const std::string& side : {p.source, p.target}) {
    std::string_view name = side;
    if (name.ends_with('*')) name.remove_suffix(1);
    if (side.empty() || (!name.empty() && !analysis::IsValidTierName(name))) return bad();
  }
  return p;
}

// ---- Receivers: alertmanager, webhooks[], slack[] ----

template <typename Options>
struct ReceiverDraft {
  Options o;
};

template <typename D, milliseconds HttpTimeouts::*Field>
Status ApplyTimeout(const Value& v, D& d) {
  // The range is HttpTimeouts::Validate()'s, checked with the receiver.
  SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(0), milliseconds(86'400'000)));
  d.o.timeouts.*Field = x;
  return Status::Ok();
}

template <typename D>
std::vector<typename config::Table<D>::Setting> TimeoutSettings() {
  return {
      {{"timeouts.connect_ms", "-", "duration (ms)", "`5000`", "Connect timeout of each request (1 ms to 10 min)."},
       &ApplyTimeout<D, &HttpTimeouts::connect>},
      {{"timeouts.read_ms", "-", "duration (ms)", "`10000`",
        "How long a request waits for the answer (1 ms to 10 min)."},
       &ApplyTimeout<D, &HttpTimeouts::read>},
      {{"timeouts.write_ms", "-", "duration (ms)", "`10000`",
        "How long a request may take to send its body (1 ms to 10 min)."},
       &ApplyTimeout<D, &HttpTimeouts::write>},
  };
}

template <typename D>
Status ApplyUrl(const Value& v, D& d) {
  SETTING_VALUE(s, config::AsNonEmptyString(v));
  d.o.url = s;
  return Status::Ok();
}

template <typename D>
Status ApplyUrlFile(const Value& v, D& d) {
  SETTING_VALUE(s, ReadFirstLine(v));
  d.o.url = s;
  return Status::Ok();
}

using AlertmanagerDraft = ReceiverDraft<AlertmanagerOptions>;
using WebhookDraft = ReceiverDraft<WebhookOptions>;
using SlackDraft = ReceiverDraft<SlackOptions>;

const config::Table<AlertmanagerDraft>& AlertmanagerTable() {
  static const config::Table<AlertmanagerDraft> kTable(
      "detect.alertmanager",
      config::Concat<config::Table<AlertmanagerDraft>::Setting>(
          {
              {{"url", "-", "URL", "(required)",
                "Base URL of Alertmanager (`http://` or `https://`); alerts are POSTed to `{url}/api/v2/alerts`."},
               &ApplyUrl<AlertmanagerDraft>},
              {{"labels", "-", "map", "`{}`",
                "Labels added to every alert, e.g. `{env: prod}`: names `[a-zA-Z_][a-zA-Z0-9_]*`, not one of the "
                "alert's own labels."},
               +[](const Value& v, AlertmanagerDraft& d) { return AsStringMap(v, d.o.extra_labels); }},
              {{"resend_horizon_sec", "-", "duration (s)", "`240`",
                "A firing alert is sent with `endsAt` = now + this, and re-sent every cycle: if the detector "
                "stops, Alertmanager resolves it after this long (10 s to 24 h)."},
               +[](const Value& v, AlertmanagerDraft& d) -> Status {
                 SETTING_VALUE(x, config::AsSeconds(v, 0, 30 * 86400));  // the range is Validate()'s
                 d.o.resend_horizon = std::chrono::seconds(x);
                 return Status::Ok();
               }},
          },
          TimeoutSettings<AlertmanagerDraft>()));
  return kTable;
}

const config::Table<WebhookDraft>& WebhookTable() {
  static const config::Table<WebhookDraft> kTable(
      "detect.webhooks[]",
      config::Concat<config::Table<WebhookDraft>::Setting>(
          {
              {{"url", "-", "URL", "(required)", "Where the JSON body is POSTed (`http://` or `https://`)."},
               &ApplyUrl<WebhookDraft>},
              {{"secret", "-", "string", "none: unsigned",
                "Signing secret, at least 16 bytes: each request carries `X-Chaperone-Signature` "
                "(docs/detect.md). Or `secret_file`.",
                false, true},
               +[](const Value& v, WebhookDraft& d) -> Status {
                 SETTING_VALUE(s, config::AsNonEmptyString(v));
                 d.o.secret = s;
                 return Status::Ok();
               }},
              {{"secret_file", "-", "path", "",
                "A file whose first line (trimmed) is the signing secret, read at start."},
               +[](const Value& v, WebhookDraft& d) -> Status {
                 SETTING_VALUE(s, ReadFirstLine(v));
                 d.o.secret = s;
                 return Status::Ok();
               }},
              {{"headers", "-", "map", "`{}`",
                "Extra request headers, e.g. an API key; their values are never printed back."},
               +[](const Value& v, WebhookDraft& d) { return AsStringMap(v, d.o.headers); }},
          },
          TimeoutSettings<WebhookDraft>()));
  return kTable;
}

const config::Table<SlackDraft>& SlackTable() {
  static const config::Table<SlackDraft> kTable(
      "detect.slack[]",
      config::Concat<config::Table<SlackDraft>::Setting>(
          {
              {{"url", "-", "URL", "(required, or `url_file`)",
                "The incoming-webhook URL (errors show only its host).", false, true},
               &ApplyUrl<SlackDraft>},
              {{"url_file", "-", "path", "", "A file whose first line (trimmed) is the URL, read at start."},
               &ApplyUrlFile<SlackDraft>},
              {{"blocks", "-", "bool", "`false`", "Also send Block Kit blocks, one section per alert."},
               +[](const Value& v, SlackDraft& d) -> Status {
                 SETTING_VALUE(b, config::AsBool(v));
                 d.o.blocks = b;
                 return Status::Ok();
               }},
              {{"username", "-", "string", "`\"\"`", "Display name of the messages, when the workspace allows it."},
               +[](const Value& v, SlackDraft& d) -> Status {
                 SETTING_VALUE(s, config::AsString(v));
                 d.o.username = s;
                 return Status::Ok();
               }},
          },
          TimeoutSettings<SlackDraft>()));
  return kTable;
}

// An error of a receiver's Validate() ("webhook: the signing secret must
// ..."), named by the key it is about: the notifiers' checks stay the only
// ones, and the message still says where.
std::string ReceiverError(const Status& s, std::string_view kind, const Value& item, std::string_view source,
                          const std::string& path) {
  std::string_view m = s.message();
  const std::string prefix = std::string(kind) + ": ";
  if (m.starts_with(prefix)) m.remove_prefix(prefix.size());
  std::string key;
  if (const std::string url = std::string(kind) + " url: "; m.starts_with(url)) {
    key = "url";
    m.remove_prefix(url.size());
  } else if (m.starts_with("connect timeout")) {
    key = "timeouts.connect_ms";
  } else if (m.starts_with("read timeout")) {
    key = "timeouts.read_ms";
  } else if (m.starts_with("write timeout")) {
    key = "timeouts.write_ms";
  } else if (m.starts_with("resend horizon")) {
    key = "resend_horizon_sec";
  } else if (m.starts_with("extra label")) {
    key = "labels";
  } else if (m.starts_with("the signing secret")) {
    key = "secret";
  } else if (m.starts_with("header ") || m.ends_with("is not a valid header name")) {
    key = "headers";
  }
  // The key as written: `url` or `url_file`, `secret` or `secret_file`.
  for (const std::string& k : {key, key + "_file"}) {
    if (int line = key.empty() ? 0 : LineOfKey(item.node, k); line > 0)
      return Where(source, line, path + "." + k) + ": " + std::string(m);
  }
  return item.where + ": " + std::string(m);
}

// A receiver's options once its keys are applied, if its Validate() agrees.
template <typename Options>
std::optional<Options> Validated(ReceiverDraft<Options> d, std::string_view kind, const Value& item,
                                 std::string_view source, const std::string& path, Errors& errors) {
  if (Status s = d.o.Validate(); !s.ok()) {
    errors.Add(ReceiverError(s, kind, item, source, path));
    return std::nullopt;
  }
  return std::move(d.o);
}

// `a` and `b` (a value and the file holding it) may not both be given; one of
// them must be when `required`.
bool OneOf(const Value& item, std::string_view a, std::string_view b, bool required, Errors& errors) {
  if (!item.node.IsMap()) return true;  // ApplyNested says so
  const bool has_a = item.node.Find(a) != nullptr, has_b = item.node.Find(b) != nullptr;
  if (has_a && has_b) {
    errors.Add(item, "give " + std::string(a) + " or " + std::string(b) + ", not both");
    return false;
  }
  if (required && !has_a && !has_b) {
    errors.Add(item, std::string(a) + " or " + std::string(b) + " is required");
    return false;
  }
  return true;
}

// A list of receivers of one kind (webhooks, slack).
template <typename Options>
struct ReceiverList {
  const config::Table<ReceiverDraft<Options>>& (*table)();
  std::string_view kind;                 // how its Validate() names it: "webhook"
  std::string_view value_key, file_key;  // a secret and the file holding it: not both
  bool required;                         // one of the two is required
};

const ReceiverList<WebhookOptions> kWebhooks{&WebhookTable, "webhook", "secret", "secret_file", false};
const ReceiverList<SlackOptions> kSlack{&SlackTable, "slack", "url", "url_file", true};

template <typename Options>
Status ApplyReceivers(const Value& v, std::string_view source, const std::string& path,
                      const ReceiverList<Options>& list, std::vector<Options>& out) {
  Errors errors;
  out.clear();
  ApplyEachMap(v, source, path, list.table(), errors,
               [&](const Value& item, const std::string& item_path, ReceiverDraft<Options> d) {
                 if (!OneOf(item, list.value_key, list.file_key, list.required, errors)) return;
                 if (auto o = Validated(std::move(d), list.kind, item, source, item_path, errors))
                   out.push_back(std::move(*o));
               });
  return errors.ToStatus();
}

// ---- Rules: default_rule, rules[], their severity[] and mute[] ----

struct LevelDraft {
  SeverityLevel level;
  bool severity_set = false;
};

struct MuteDraft {
  std::optional<int64_t> from, to;
  std::string to_where;
  std::string reason;
};

// A rule as written: what it leaves unset comes from default_rule.
struct RuleDraft {
  std::string source;  // names its nested lists in messages
  std::string path;    // "detect.rules[2]"
  struct Bounds {
    std::optional<int64_t> min_messages;
    std::optional<double> min_ratio;
  };
  std::optional<std::string> topic;
  std::string topic_where;
  std::optional<bool> enabled;
  std::optional<std::vector<PairSelector>> pairs;
  Bounds loss, duplicate;
  std::optional<bool> digest_mismatch;
  std::optional<int64_t> silent_windows;
  std::optional<std::vector<SeverityLevel>> severity;
  std::optional<int64_t> grace_sec;
  std::optional<std::vector<MuteWindow>> mute;
};

const config::Table<LevelDraft>& LevelTable() {
  static const config::Table<LevelDraft> kTable(
      "detect.rules[].severity[]",
      {
          {{"min_messages", "-", "integer", "`1`",
            "A level is reached by at least this many messages lost or duplicated over the alert's windows (0 to "
            "10^15)..."},
           +[](const Value& v, LevelDraft& d) -> Status {
             SETTING_VALUE(x, config::AsInt(v, 0, kMaxMessages));
             d.level.min_messages = x;
             return Status::Ok();
           }},
          {{"min_ratio", "-", "number", "`0`", "...that are at least this fraction of the source's count (0 to 1)."},
           +[](const Value& v, LevelDraft& d) -> Status {
             SETTING_VALUE(x, config::AsNumber(v, 0, 1));
             d.level.min_ratio = x;
             return Status::Ok();
           }},
          {{"severity", "-", "`info`, `warning` or `critical`", "(required)", "The severity of the level."},
           +[](const Value& v, LevelDraft& d) -> Status {
             SETTING_VALUE(s, config::AsNonEmptyString(v));
             std::optional<Severity> sev = ParseSeverity(s);
             if (!sev) {
               std::string hint = config::ClosestMatch(s, {"info", "warning", "critical"});
               return Bad(v, "unknown severity " + config::Quote(s) +
                                 (hint.empty() ? " (info, warning or critical)" : " (did you mean " + hint + "?)"));
             }
             d.level.severity = *sev;
             d.severity_set = true;
             return Status::Ok();
           }},
      });
  return kTable;
}

const config::Table<MuteDraft>& MuteTable() {
  static const config::Table<MuteDraft> kTable(
      "detect.rules[].mute[]",
      {
          {{"from", "-", "RFC 3339 time", "(required)",
            "Windows beginning at or after this raise nothing, e.g. `2026-12-24T00:00:00Z` (with its zone; whole "
            "seconds)..."},
           +[](const Value& v, MuteDraft& d) -> Status {
             SETTING_VALUE(t, AsTime(v));
             d.from = t;
             return Status::Ok();
           }},
          {{"to", "-", "RFC 3339 time", "(required)", "...and before this (after `from`)."},
           +[](const Value& v, MuteDraft& d) -> Status {
             SETTING_VALUE(t, AsTime(v));
             d.to = t;
             d.to_where = v.where;
             return Status::Ok();
           }},
          {{"reason", "-", "string", "`\"\"`", "Why, for people."},
           +[](const Value& v, MuteDraft& d) -> Status {
             SETTING_VALUE(s, config::AsString(v));
             d.reason = s;
             return Status::Ok();
           }},
      });
  return kTable;
}

template <RuleDraft::Bounds RuleDraft::*B>
Status ApplyMinMessages(const Value& v, RuleDraft& d) {
  SETTING_VALUE(x, config::AsInt(v, 1, kMaxMessages));
  (d.*B).min_messages = x;
  return Status::Ok();
}

template <RuleDraft::Bounds RuleDraft::*B>
Status ApplyMinRatio(const Value& v, RuleDraft& d) {
  SETTING_VALUE(x, config::AsNumber(v, 0, 1));
  (d.*B).min_ratio = x;
  return Status::Ok();
}

template <std::optional<bool> RuleDraft::*F>
Status ApplyBool(const Value& v, RuleDraft& d) {
  SETTING_VALUE(b, config::AsBool(v));
  d.*F = b;
  return Status::Ok();
}

const config::Table<RuleDraft>& RuleTable() {
  static const config::Table<RuleDraft> kTable(
      "detect.rules[]",
      {
          {{"topic", "-", "regex", "(required)",
            "The topics of the rule: an ECMAScript regex matched against the whole topic name (`order` does not "
            "match the topic `orders`)."},
           +[](const Value& v, RuleDraft& d) -> Status {
             SETTING_VALUE(re, config::AsRegex(v));
             d.topic = re;
             d.topic_where = v.where;
             return Status::Ok();
           }},
          {{"enabled", "-", "bool", "`true`", "`false`: the topics are judged (metrics) but never alerted on."},
           &ApplyBool<&RuleDraft::enabled>},
          {{"pairs", "-", "list of `source>target`", "every pair of consecutive tiers",
            "The pairs of consecutive tiers alerted on, e.g. `[\"regional>aggregate\"]`; a side may end in `*` (a "
            "prefix) or be `*` (any tier)."},
           +[](const Value& v, RuleDraft& d) -> Status {
             SETTING_VALUE(list, config::AsStringList(v));
             std::vector<PairSelector> pairs;
             for (const auto& text : list) {
               SETTING_VALUE(p, ParsePair(v, text));
               pairs.push_back(std::move(p));
             }
             d.pairs = std::move(pairs);
             return Status::Ok();
           }},
          {{"loss.min_messages", "-", "integer", "`1`",
            "A final window counts for a loss alert when at least this many messages are lost (1 to 10^15)..."},
           &ApplyMinMessages<&RuleDraft::loss>},
          {{"loss.min_ratio", "-", "number", "`0`",
            "...and they are at least this fraction of the source's count (0 to 1; 0: no relative bound; a "
            "window whose source count is 0 passes)."},
           &ApplyMinRatio<&RuleDraft::loss>},
          {{"duplicate.min_messages", "-", "integer", "`1`", "As `loss.min_messages`, for duplicated messages."},
           &ApplyMinMessages<&RuleDraft::duplicate>},
          {{"duplicate.min_ratio", "-", "number", "`0`", "As `loss.min_ratio`, for duplicated messages."},
           &ApplyMinRatio<&RuleDraft::duplicate>},
          {{"digest_mismatch", "-", "bool", "`true`", "Alert on windows with equal counts but different contents."},
           &ApplyBool<&RuleDraft::digest_mismatch>},
          {{"silent_windows", "-", "integer", "`3`",
            "Alert when a tier of a pair had nothing for this many consecutive final windows while the other "
            "flowed (0: never; at most 100000)."},
           +[](const Value& v, RuleDraft& d) -> Status {
             SETTING_VALUE(x, config::AsInt(v, 0, 100'000));
             d.silent_windows = x;
             return Status::Ok();
           }},
          {{"severity", "-", "list of levels",
            "`[{min_messages: 1, severity: warning}, {min_ratio: 0.01, severity: critical}]`",
            "An alert's severity is the highest of the levels (the `severity[]` keys) that its figures reach; "
            "none: `info`."},
           +[](const Value& v, RuleDraft& d) -> Status {
             Errors errors;
             std::vector<SeverityLevel> levels;
             ApplyEachMap(v, d.source, d.path + ".severity", LevelTable(), errors,
                          [&](const Value& item, const std::string&, LevelDraft l) {
                            if (!l.severity_set) return errors.Add(item, "severity is required");
                            levels.push_back(l.level);
                          });
             if (errors.empty()) d.severity = std::move(levels);
             return errors.ToStatus();
           }},
          {{"grace_sec", "-", "duration (s)", "`detect.grace_sec`",
            "The finality grace of these topics (0 to 1 d), instead of `detect.grace_sec`."},
           +[](const Value& v, RuleDraft& d) -> Status {
             int64_t x = 0;
             if (Status s = analysis::ApplyGraceSec(v, x); !s.ok()) return s;
             d.grace_sec = x;
             return Status::Ok();
           }},
          {{"mute", "-", "list of {from, to, reason}", "`[]`",
            "Windows beginning in `[from, to)` raise nothing and keep their alerts closed; they are still counted "
            "in the metrics (the `mute[]` keys)."},
           +[](const Value& v, RuleDraft& d) -> Status {
             Errors errors;
             std::vector<MuteWindow> mute;
             ApplyEachMap(v, d.source, d.path + ".mute", MuteTable(), errors,
                          [&](const Value& item, const std::string&, MuteDraft m) {
                            if (!m.from || !m.to) return errors.Add(item, "from and to are required");
                            if (*m.to <= *m.from) return errors.Add(m.to_where + ": must be after from");
                            mute.push_back(MuteWindow{*m.from, *m.to, m.reason});
                          });
             if (errors.empty()) d.mute = std::move(mute);
             return errors.ToStatus();
           }},
      });
  return kTable;
}

// `base` with what `d` sets.
Rule Resolve(const Rule& base, const RuleDraft& d) {
  Rule r = base;
  r.topic_regex = d.topic.value_or("");
  if (d.enabled) r.enabled = *d.enabled;
  if (d.pairs) r.pairs = *d.pairs;
  if (d.loss.min_messages) r.loss.min_messages = *d.loss.min_messages;
  if (d.loss.min_ratio) r.loss.min_ratio = *d.loss.min_ratio;
  if (d.duplicate.min_messages) r.duplicate.min_messages = *d.duplicate.min_messages;
  if (d.duplicate.min_ratio) r.duplicate.min_ratio = *d.duplicate.min_ratio;
  if (d.digest_mismatch) r.digest_mismatch = *d.digest_mismatch;
  if (d.silent_windows) r.silent_windows = *d.silent_windows;
  if (d.severity) r.severity = *d.severity;
  if (d.grace_sec) r.grace_sec = d.grace_sec;
  if (d.mute) r.mute = *d.mute;
  return r;
}

// ---- The section's own table ----

struct Draft {
  std::string source;  // the file, naming nested keys in messages
  DetectOptions opts;
  bool store_set = false;
  std::string interval_where, lease_where;  // for the rule that binds them
  RuleDraft default_rule;
  std::vector<RuleDraft> rules;
};

const config::Table<Draft>& Settings() {
  using std::chrono::seconds;
  static const config::Table<Draft> kTable(
      "detect",
      {
          {{"store", "", "URL", "`store.url`",
            "Store URL: `sqlite:PATH`, `PATH` or `postgresql://user:password@host:port/db` (the password is never "
            "printed back): the store whose windows are judged."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsStoreUrl(v));
             d.opts.store_url = s;
             d.store_set = true;
             return Status::Ok();
           }},
          {{"listen", "", "host:port", "`127.0.0.1:9095`",
            "Address of `/metrics` and `/health`; port 0 picks a free port."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsListen(v, false));
             d.opts.listen = s;
             return Status::Ok();
           }},
          {{"interval_sec", "", "duration (s)", "`60`", "One evaluation cycle every interval (1 s to 1 h)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsSeconds(v, 1, 3600));
             d.opts.interval_sec = x;
             d.interval_where = v.where;
             return Status::Ok();
           }},
          {{"lookback_sec", "", "duration (s)", "`86400`",
            "Each cycle judges the windows that began this long ago or later (1 min to 90 d)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsSeconds(v, 60, 90 * 86400));
             d.opts.lookback_sec = x;
             return Status::Ok();
           }},
          {analysis::kTierOrderDoc,
           +[](const Value& v, Draft& d) { return analysis::ApplyTierOrder(v, d.opts.tier_order); }},
          {analysis::kGraceSecDoc,
           +[](const Value& v, Draft& d) { return analysis::ApplyGraceSec(v, d.opts.finality.grace_sec); }},
          {analysis::kStaleEmitterSecDoc,
           +[](const Value& v, Draft& d) -> Status {
             int64_t sec = 0;
             if (Status s = analysis::ApplyStaleEmitterSec(v, sec); !s.ok()) return s;
             d.opts.finality.stale_after_ms = sec * 1000;
             return Status::Ok();
           }},
          {{"dashboard_url", "", "URL", "`\"\"` (no links)",
            "Base URL of `chaperone web` (`http://` or `https://`) for the links in alerts."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsString(v));
             if (!s.empty()) {
               if (auto u = internal::ParseHttpUrl(s, v.where); !u.ok()) return u.status();
             }
             d.opts.dashboard_url = s;
             return Status::Ok();
           }},
          {{"lease_sec", "", "duration (s)", "`180`",
            "Several detectors may share a store: the cycles run in the one holding the lease, renewed every cycle "
            "and taken over after this long (10 s to 1 d, longer than `interval_sec`)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsSeconds(v, 10, 86400));
             d.opts.lease_sec = x;
             d.lease_where = v.where;
             return Status::Ok();
           }},
          {{"max_topic_series", "", "integer", "`500`",
            "`/metrics`: loss and duplicate series for at most this many (topic, pair), the largest first; the rest "
            "are summed under `topic=\"_other\"` (0 to 100000)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsInt(v, 0, 100'000));
             d.opts.max_topic_series = x;
             return Status::Ok();
           }},
          {{"alertmanager", "-", "map", "none",
            "Prometheus Alertmanager receiving the alerts: the `detect.alertmanager.*` keys (docs/detect.md)."},
           +[](const Value& v, Draft& d) -> Status {
             d.opts.alertmanager.reset();
             if (v.node.IsNull()) return Status::Ok();
             Errors errors;
             const std::string path = "detect.alertmanager";
             AlertmanagerDraft am;
             AlertmanagerTable().ApplyNested(v, d.source, path, am, errors);
             if (errors.empty())
               d.opts.alertmanager = Validated(std::move(am), "alertmanager", v, d.source, path, errors);
             return errors.ToStatus();
           }},
          {{"webhooks", "-", "list of maps", "`[]`",
            "JSON webhooks, each `{url, secret or secret_file, headers, timeouts}` (the `detect.webhooks[].*` keys); "
            "a secret signs every request (docs/detect.md)."},
           +[](const Value& v, Draft& d) {
             return ApplyReceivers(v, d.source, "detect.webhooks", kWebhooks, d.opts.webhooks);
           }},
          {{"slack", "-", "list of maps", "`[]`",
            "Slack-compatible incoming webhooks, each `{url or url_file, blocks, username, timeouts}` (the "
            "`detect.slack[].*` keys). The URL is a secret: never printed back."},
           +[](const Value& v, Draft& d) { return ApplyReceivers(v, d.source, "detect.slack", kSlack, d.opts.slack); }},
          {{"default_rule", "-", "rule", "the `detect.rules[]` defaults",
            "The rule of every topic that no rule matches, and the value of every key a rule leaves unset: the "
            "keys of a rule (`detect.rules[].*`) but `topic`."},
           +[](const Value& v, Draft& d) -> Status {
             Errors errors;
             d.default_rule = RuleDraft{d.source, "detect.default_rule"};
             if (v.node.IsNull()) return Status::Ok();
             RuleTable().ApplyNested(v, d.source, d.default_rule.path, d.default_rule, errors);
             if (d.default_rule.topic) {
               errors.Add(d.default_rule.topic_where + ": the default rule is every other topic's: no topic");
               d.default_rule.topic.reset();
             }
             return errors.ToStatus();
           }},
          {{"rules", "-", "list of rules", "`[]`",
            "Rules by topic, each a map of the `detect.rules[].*` keys: the first whose `topic` matches the whole "
            "topic name wins; its unset keys come from `default_rule`."},
           +[](const Value& v, Draft& d) -> Status {
             Errors errors;
             d.rules.clear();
             ApplyEachMap(v, d.source, "detect.rules", RuleTable(), errors,
                          [&](const Value& item, const std::string&, RuleDraft r) {
                            if (!r.topic) return errors.Add(item, "topic is required (a regex over the topic name)");
                            for (const auto& earlier : d.rules) {
                              if (earlier.topic == r.topic) {
                                return errors.Add(r.topic_where + ": the same topic as " + earlier.path +
                                                  ", which always wins: this rule is never used");
                              }
                            }
                            d.rules.push_back(std::move(r));
                          });
             return errors.ToStatus();
           }},
      });
  return kTable;
}

}  // namespace

Result<DetectOptions> ParseDetectConfig(const config::ProjectFile& file, const std::vector<config::FlagValue>& flags) {
  Errors errors;
  Draft d;
  d.source = file.source;
  d.default_rule = RuleDraft{d.source, "detect.default_rule"};
  config::StoreSection store = config::ParseStoreSection(file, errors);
  Settings().ApplySection(file.Section("detect"), file.source, d, errors);
  Settings().ApplyFlags(flags, d, errors);
  if (!errors.empty()) return errors.ToStatus();
  if (!d.store_set && !store.url.empty()) d.opts.store_url = store.url;
  if (d.opts.store_url.empty())
    return Status::InvalidArgument("detect.store: no store: give --store, detect.store or store.url");
  if (d.opts.lease_sec <= d.opts.interval_sec) {
    const std::string& where = !d.lease_where.empty() ? d.lease_where : d.interval_where;
    return Status::InvalidArgument(where + ": the lease (" + std::to_string(d.opts.lease_sec) +
                                   " s) must be longer than the interval (" + std::to_string(d.opts.interval_sec) +
                                   " s): it is renewed once a cycle");
  }
  DetectOptions& o = d.opts;
  o.default_rule = Resolve(Rule{}, d.default_rule);
  for (const auto& r : d.rules) {
    o.rules.push_back(Resolve(o.default_rule, r));
    o.compiled_.emplace_back(o.rules.back().topic_regex, std::regex::ECMAScript | std::regex::optimize);
    o.compiled_from_.push_back(o.rules.back().topic_regex);
  }
  return std::move(d.opts);
}

Result<DetectOptions> ParseDetectConfig(std::string_view yaml, std::string_view source,
                                        const std::vector<config::FlagValue>& flags) {
  auto file = config::ParseProject(yaml, source);
  if (!file.ok()) return file.status();
  return ParseDetectConfig(*file, flags);
}

Result<DetectOptions> LoadDetectConfig(const std::string& path, const std::vector<config::FlagValue>& flags) {
  auto file = config::LoadProject(path);
  if (!file.ok()) return file.status();
  return ParseDetectConfig(*file, flags);
}

const config::TableBase& DetectSettingsTable() { return Settings(); }

std::string DetectConfigReference() {
  return Settings().Reference(AlertmanagerTable().Rows() + WebhookTable().Rows() + SlackTable().Rows() +
                              RuleTable().Rows() + LevelTable().Rows() + MuteTable().Rows());
}

}  // namespace chaperone::detect
