#include "detect/lifecycle.h"

#include <algorithm>
#include <set>

#include "common/url_encode.h"

namespace chaperone::detect {
namespace {

using analysis::Verdict;

bool OverThreshold(const Threshold& t, int64_t messages, int64_t source_count) {
  if (messages < t.min_messages) return false;
  return source_count <= 0 || static_cast<double>(messages) >= t.min_ratio * static_cast<double>(source_count);
}

void Add(Figures& f, const analysis::JudgedWindow& w) {
  if (f.windows == 0 || w.window_begin_sec < f.first_window_sec) f.first_window_sec = w.window_begin_sec;
  f.last_window_sec = std::max(f.last_window_sec, w.window_begin_sec);
  ++f.windows;
  f.lost += w.lost;
  f.duplicated += w.duplicated;
  f.source_messages += w.source_count;
}

// The side of the pair that saw nothing in this window while the other
// flowed: a window of a silent run.
bool OneSideSilent(const analysis::JudgedWindow& w) {
  return (w.verdict == Verdict::kLoss && w.target_count == 0) ||
         (w.verdict == Verdict::kDuplicate && w.source_count == 0);
}

// An alert's figures as stored, and the other way round.
Figures FiguresOf(const store::AlertRow& a) {
  return Figures{a.lost, a.duplicated, a.windows, a.source_messages, a.first_window_sec, a.last_window_sec};
}
void SetFigures(store::AlertRow& a, const Figures& f) {
  a.lost = f.lost;
  a.duplicated = f.duplicated;
  a.windows = f.windows;
  a.source_messages = f.source_messages;
  a.first_window_sec = f.first_window_sec;
  a.last_window_sec = f.last_window_sec;
}

bool SamePair(const Finding& a, const Finding& b) {
  return a.topic == b.topic && a.source == b.source && a.target == b.target;
}

}  // namespace

Found Summarize(const std::vector<Finding>& findings, const DetectOptions& opts) {
  Found found;
  for (size_t i = 0; i < findings.size();) {
    // One pair of one topic at a time: its findings are consecutive.
    size_t end = i + 1;
    while (end < findings.size() && SamePair(findings[i], findings[end])) ++end;
    const Finding& first = findings[i];
    const Rule& rule = opts.RuleFor(first.topic);
    if (!rule.enabled || !rule.Judges(first.source, first.target)) {
      i = end;
      continue;
    }
    auto figures = [&](AlertKind kind) -> Figures& {
      return found[AlertKey{first.topic, first.source, first.target, kind}];
    };
    for (size_t j = i; j < end;) {
      // A run of consecutive windows where one side saw nothing.
      size_t run_end = j;
      while (run_end < end && OneSideSilent(findings[run_end].window) &&
             (run_end == j || findings[run_end - 1].window.window_end_sec == findings[run_end].window.window_begin_sec)) {
        ++run_end;
      }
      const bool silent = rule.silent_windows > 0 && static_cast<int64_t>(run_end - j) >= rule.silent_windows;
      const size_t stop = run_end > j ? run_end : j + 1;
      for (; j < stop; ++j) {
        const analysis::JudgedWindow& w = findings[j].window;
        if (rule.Muted(w.window_begin_sec)) continue;
        if (silent) {
          Add(figures(AlertKind::kSilent), w);
        } else if (w.verdict == Verdict::kLoss && OverThreshold(rule.loss, w.lost, w.source_count)) {
          Add(figures(AlertKind::kLoss), w);
        } else if (w.verdict == Verdict::kDuplicate && OverThreshold(rule.duplicate, w.duplicated, w.source_count)) {
          Add(figures(AlertKind::kDuplicate), w);
        } else if (w.verdict == Verdict::kDigestMismatch && rule.digest_mismatch) {
          Add(figures(AlertKind::kDigestMismatch), w);
        }
      }
    }
    i = end;
  }
  // A key looked up for a rule but given no window (all muted) is no finding.
  std::erase_if(found, [](const auto& kv) { return kv.second.windows == 0; });
  return found;
}

int64_t SeverityMessages(AlertKind kind, const Figures& f) {
  switch (kind) {
    case AlertKind::kLoss: return f.lost;
    case AlertKind::kDuplicate: return f.duplicated;
    case AlertKind::kDigestMismatch: return f.source_messages;
    case AlertKind::kSilent: return f.lost + f.duplicated;
  }
  return 0;
}

std::string FingerprintOf(const AlertKey& key) {
  Alert a;
  a.topic = key.topic;
  a.source_tier = key.source_tier;
  a.target_tier = key.target_tier;
  a.kind = key.kind;
  return a.Fingerprint();
}

std::vector<store::AlertChange> Advance(const std::vector<store::AlertRow>& firing, const Found& found,
                                        const DetectOptions& opts, const std::vector<std::string>& receivers,
                                        int64_t now_ms) {
  std::vector<store::AlertChange> changes;
  std::set<std::string> still;
  for (const auto& [key, f] : found) {
    const std::string fp = FingerprintOf(key);
    still.insert(fp);
    const Rule& rule = opts.RuleFor(key.topic);
    const std::string severity(SeverityName(rule.SeverityOf(SeverityMessages(key.kind, f), f.source_messages)));
    auto it = std::find_if(firing.begin(), firing.end(), [&](const store::AlertRow& a) { return a.fingerprint == fp; });
    store::AlertRow row;
    if (it != firing.end()) {
      row = *it;
    } else {
      row.fingerprint = fp;
      row.topic = key.topic;
      row.source_tier = key.source_tier;
      row.target_tier = key.target_tier;
      row.kind = std::string(AlertKindName(key.kind));
      row.state = std::string(AlertStateName(AlertState::kFiring));
      row.starts_ms = now_ms;
    }
    const bool opened = it == firing.end();
    const bool severity_changed = !opened && row.severity != severity;
    if (!opened && !severity_changed && FiguresOf(row) == f) continue;
    row.severity = severity;
    SetFigures(row, f);
    row.updated_ms = now_ms;
    changes.push_back({std::move(row), opened || severity_changed ? receivers : std::vector<std::string>{}});
  }
  for (const store::AlertRow& a : firing) {
    if (still.count(a.fingerprint) > 0) continue;
    store::AlertRow row = a;
    row.state = std::string(AlertStateName(AlertState::kResolved));
    row.ends_ms = now_ms;
    row.updated_ms = now_ms;
    changes.push_back({std::move(row), receivers});
  }
  return changes;
}

Alert ToAlert(const store::AlertRow& row, std::string_view dashboard_url) {
  Alert a;
  a.topic = row.topic;
  a.source_tier = row.source_tier;
  a.target_tier = row.target_tier;
  a.kind = ParseAlertKind(row.kind).value_or(AlertKind::kLoss);
  a.datacenter = row.datacenter;
  a.state = row.state == AlertStateName(AlertState::kResolved) ? AlertState::kResolved : AlertState::kFiring;
  a.severity = ParseSeverity(row.severity).value_or(Severity::kWarning);
  a.starts_at_ms = row.starts_ms;
  a.ends_at_ms = row.ends_ms;
  a.messages_lost = row.lost;
  a.messages_duplicated = row.duplicated;
  a.windows_affected = row.windows;
  a.first_window_s = row.first_window_sec;
  a.last_window_s = row.last_window_sec;
  if (!dashboard_url.empty()) {
    std::string base(dashboard_url);
    while (!base.empty() && base.back() == '/') base.pop_back();
    a.dashboard_url = base + "/#/topic/" + common::UrlEncode(row.topic) + "?range=24h&w=" +
                      std::to_string(row.first_window_sec) + "&pt=" + common::UrlEncode(row.target_tier);
  }
  return a;
}

}  // namespace chaperone::detect
