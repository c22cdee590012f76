// The configuration of `chaperone detect`: the `detect:` section of the
// project YAML file, read through one settings table (common/settings.h) that
// also gives the flags, `--config-reference` and the generated reference in
// docs/configuration.md. Defaults need no configuration at all: every
// consecutive pair of tiers of every topic is judged, and one lost message on
// a final window is an alert.
//
//   store:
//     url: postgresql://chaperone:secret@db/chaperone   # shared
//   detect:
//     listen: 127.0.0.1:9095          # /metrics and /health
//     interval_sec: 60
//     lookback_sec: 86400
//     dashboard_url: http://chaperone.example:8080
//     alertmanager: {url: http://127.0.0.1:9093, labels: {env: prod}}
//     webhooks: [{url: https://hooks.example/chaperone, secret_file: /etc/chaperone/hook.key}]
//     slack: [{url_file: /etc/chaperone/slack.url}]
//     default_rule: {severity: [{min_messages: 1, severity: warning}, {min_ratio: 0.01, severity: critical}]}
//     rules:
//       - topic: "logs\\..*"                  # whole-name regex; the first matching rule wins
//         loss: {min_messages: 100, min_ratio: 0.001}
//         pairs: ["regional>aggregate"]
//         mute: [{from: "2026-12-24T00:00:00Z", to: "2026-12-27T00:00:00Z", reason: "migration"}]
//       - topic: "tmp\\..*"
//         enabled: false
//
// A rule's unset fields come from `default_rule`, whose unset fields have the
// built-in defaults below.
//
// Thread safety: a DetectOptions is an immutable value once parsed; RuleFor
// and the other functions here are pure and may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/analysis.h"
#include "chaperone/status.h"
#include "common/settings.h"
#include "config/project_file.h"
#include "detect/alert.h"
#include "detect/notifier.h"

namespace chaperone::detect {

// A window counts for an alert of its kind only when its difference reaches
// both bounds: `min_messages` messages, and `min_ratio` of the source count
// (0 = no relative bound). A window with source count 0 and a difference
// passes any ratio.
struct Threshold {
  int64_t min_messages = 1;  // >= 1
  double min_ratio = 0;      // in [0, 1]
  // Whether `difference` messages over `source_count` reach both bounds.
  bool Reached(int64_t difference, int64_t source_count) const;
};

// The severity of an alert is the highest level whose bounds its figures
// reach (messages lost or duplicated over its windows; the ratio over the
// source count of those windows). Levels are checked in order; an alert that
// reaches none is `info`.
struct SeverityLevel {
  int64_t min_messages = 1;
  double min_ratio = 0;
  Severity severity = Severity::kWarning;
};

// Windows beginning in [from_sec, to_sec) (Unix seconds, UTC) raise nothing
// and the alerts they would open stay closed; findings are still counted in
// the metrics.
struct MuteWindow {
  int64_t from_sec = 0;
  int64_t to_sec = 0;
  std::string reason;
};

// "source>target": a pair of tiers to judge. Either side may end in '*'
// (prefix match, as tier_order's patterns) or be "*" (any tier).
struct PairSelector {
  std::string source;
  std::string target;
  bool Matches(std::string_view source_tier, std::string_view target_tier) const;
};

struct Rule {
  std::string topic_regex;  // "" for the default rule (matches every topic)
  bool enabled = true;      // false: the topic is judged (metrics) but never alerted on
  // Pairs judged; empty = every pair of consecutive tiers in pipeline order.
  std::vector<PairSelector> pairs;
  Threshold loss;                       // default {1, 0}: one lost message
  Threshold duplicate;                  // default {1, 0}
  bool digest_mismatch = true;          // alert on equal counts with different digests
  // `silent`: a tier of a pair that had nothing for this many consecutive
  // final windows while the other tier of the pair flowed (0 = never).
  int64_t silent_windows = 3;
  std::vector<SeverityLevel> severity = {{1, 0, Severity::kWarning}, {1, 0.01, Severity::kCritical}};
  // Grace added to the finality rule for this topic (heartbeat watermark +
  // grace); nullopt: detect.grace_sec.
  std::optional<int64_t> grace_sec;
  std::vector<MuteWindow> mute;

  // The severity of figures `messages` over `source_count`.
  Severity SeverityOf(int64_t messages, int64_t source_count) const;
  bool Muted(int64_t window_begin_sec) const;
  bool Judges(std::string_view source_tier, std::string_view target_tier) const;  // `pairs` empty = all
};

struct DetectOptions {
  std::string store_url;           // detect.store, else store.url; required
  std::string listen = "127.0.0.1:9095";  // /metrics and /health; port 0 picks a free port
  int64_t interval_sec = 60;       // one evaluation cycle every interval (1 s to 1 h)
  int64_t lookback_sec = 86400;    // windows judged each cycle: those beginning in [now - lookback, now)
  std::vector<std::string> tier_order;    // as web.tier_order; empty = the default order
  analysis::FinalityOptions finality;     // grace_sec, stale_emitter_sec (as web)
  std::string dashboard_url;       // base URL of `chaperone web` for links in alerts; "" = none
  // Several detect processes may share one store: each cycle runs only in the
  // one holding the lease (renewed every cycle, taken over after lease_sec).
  int64_t lease_sec = 180;
  // /metrics: per-topic series (loss, duplicates) for at most this many
  // (topic, pair) at a time, the largest first; the rest are summed under
  // topic="_other".
  int64_t max_topic_series = 500;

  std::optional<AlertmanagerOptions> alertmanager;
  std::vector<WebhookOptions> webhooks;
  std::vector<SlackOptions> slack;

  Rule default_rule;        // topic_regex ""
  std::vector<Rule> rules;  // in file order

  // The rule for `topic`: the first of `rules` whose regex matches the whole
  // name, else `default_rule`.
  const Rule& RuleFor(std::string_view topic) const;

 private:
  friend Result<DetectOptions> ParseDetectConfig(const config::ProjectFile&, const std::vector<config::FlagValue>&);
  std::vector<std::regex> compiled_;  // one per rule
  // The regex each of compiled_ was compiled from: a rule added or changed
  // after parsing (a test's, or a caller's) is matched by compiling its own.
  std::vector<std::string> compiled_from_;
};

// The `detect:` and `store:` sections, then `flags` (flags win). Errors are
// InvalidArgument, one line each: "<file>:<line>: detect.<key>: <why>"; every
// regex, URL, threshold, severity word, time and secret file is checked here.
// `secret_file` / `url_file` are read (first line, trimmed) at parse time.
Result<DetectOptions> ParseDetectConfig(const config::ProjectFile& file,
                                        const std::vector<config::FlagValue>& flags = {});
Result<DetectOptions> ParseDetectConfig(std::string_view yaml, std::string_view source,
                                        const std::vector<config::FlagValue>& flags = {});
// Reads `path` ("" = flags only) and parses it as above.
Result<DetectOptions> LoadDetectConfig(const std::string& path, const std::vector<config::FlagValue>& flags = {});

const config::TableBase& DetectSettingsTable();
std::string DetectConfigReference();

}  // namespace chaperone::detect
