#include "detect/detector.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <set>

#include "chaperone/emitter.h"
#include "detect/lifecycle.h"

namespace chaperone::detect {
namespace {

constexpr const char* kLease = "detect";
constexpr int kNoticesPerRound = 500;
constexpr int64_t kMaxRetryMs = 3'600'000;

// The wait before retry `attempts` of a notice: the interval doubled per
// failed attempt, at most an hour.
int64_t RetryDelayMs(int64_t interval_ms, int64_t attempts) {
  int64_t d = interval_ms;
  for (int64_t i = 1; i < attempts && d < kMaxRetryMs; ++i) d *= 2;
  return std::min(d, kMaxRetryMs);
}

// The smallest grace of the configuration: cycles evaluate with it, and a
// rule with a larger grace holds its topic's windows back (extra_grace_sec).
int64_t SmallestGrace(const DetectOptions& o) {
  int64_t g = o.finality.grace_sec;
  for (const Rule& r : o.rules) g = std::min(g, r.grace_sec.value_or(o.finality.grace_sec));
  if (o.default_rule.grace_sec) g = std::min(g, *o.default_rule.grace_sec);
  return g;
}

// Prometheus label value: backslash, double quote and newline escaped.
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace

Result<std::vector<Receiver>> MakeReceivers(const DetectOptions& opts, const NotifierEnv& env) {
  std::vector<Receiver> out;
  if (opts.alertmanager) {
    auto n = MakeAlertmanagerNotifier(*opts.alertmanager, env);
    if (!n.ok()) return n.status();
    out.push_back({"alertmanager", std::move(*n)});
  }
  for (size_t i = 0; i < opts.webhooks.size(); ++i) {
    auto n = MakeWebhookNotifier(opts.webhooks[i], env);
    if (!n.ok()) return n.status();
    out.push_back({"webhook:" + std::to_string(i), std::move(*n)});
  }
  for (size_t i = 0; i < opts.slack.size(); ++i) {
    auto n = MakeSlackNotifier(opts.slack[i], env);
    if (!n.ok()) return n.status();
    out.push_back({"slack:" + std::to_string(i), std::move(*n)});
  }
  return out;
}

Detector::Detector(DetectOptions opts, store::Store& store, Clock& clock, std::vector<Receiver> receivers,
                   std::string owner, std::vector<store::Store*> readers)
    : opts_(std::move(opts)), store_(store), clock_(clock), receivers_(std::move(receivers)), owner_(std::move(owner)) {
  eval_.readers = std::move(readers);
  for (const Receiver& r : receivers_) {
    receiver_names_.push_back(r.name);
    for (const char* result : {"delivered", "retry", "refused"}) {  // every series from the start, at 0
      metrics_.notifications[{std::string(r.notifier->kind()), result}] = 0;
    }
  }
  eval_.tier_order = analysis::TierOrder(opts_.tier_order);
  eval_.finality = opts_.finality;
  const int64_t smallest = SmallestGrace(opts_);
  eval_.finality.grace_sec = smallest;
  if (smallest != opts_.finality.grace_sec || !opts_.rules.empty() || opts_.default_rule.grace_sec) {
    eval_.extra_grace_sec = [this, smallest](std::string_view topic) {
      return opts_.RuleFor(topic).grace_sec.value_or(opts_.finality.grace_sec) - smallest;
    };
  }
}

Detector::~Detector() { Stop(); }

std::string Detector::DefaultOwner() {
  return MakeEmitterIdentity("detect", "", "", SystemClock::Instance()).emitter_id;
}

Result<std::vector<store::AlertRow>> Detector::FiringAlerts() {
  std::vector<store::AlertRow> out;
  store::AlertQuery q{.state = "firing", .limit = 1000};
  while (true) {
    auto page = store_.QueryAlerts(q);
    if (!page.ok()) return page.status();
    out.insert(out.end(), page->begin(), page->end());
    if (page->size() < static_cast<size_t>(q.limit)) return out;
    q.before_id = page->back().id;
  }
}

Result<CycleReport> Detector::RunCycle() {
  const int64_t started_ns = clock_.MonotonicNs();
  auto r = Cycle(clock_.NowMs());
  std::lock_guard lock(mu_);
  if (!r.ok()) {
    ++metrics_.cycle_errors;
    metrics_.last_error = r.status().ToString();
    return r;
  }
  r->duration_ms = (clock_.MonotonicNs() - started_ns) / 1'000'000;
  metrics_.leader = r->leader;
  metrics_.last_error.clear();
  if (r->leader) {
    ++metrics_.cycles;
    metrics_.cycle_seconds = static_cast<double>(clock_.MonotonicNs() - started_ns) / 1e9;
    metrics_.last_cycle_ms = clock_.NowMs();
  }
  return r;
}

Result<CycleReport> Detector::Cycle(int64_t now_ms) {
  CycleReport report;
  auto held = store_.TakeLease(kLease, owner_, now_ms, opts_.lease_sec * 1000);
  if (!held.ok()) return held.status();
  if (!*held) return report;  // another process runs the cycles
  report.leader = true;

  const int64_t now_sec = now_ms / 1000;
  auto evaluation = Evaluate(store_, now_sec - opts_.lookback_sec, now_sec + 1, now_ms, eval_);
  if (!evaluation.ok()) return evaluation.status();
  report.topics = evaluation->topics;
  report.windows = evaluation->windows;
  report.by_verdict = evaluation->by_verdict;

  auto firing = FiringAlerts();
  if (!firing.ok()) return firing.status();
  const Found found = Summarize(evaluation->findings, opts_);
  std::vector<store::AlertChange> changes = Advance(*firing, found, opts_, receiver_names_, now_ms);
  if (!changes.empty()) {
    if (Status s = store_.SaveAlerts(changes, kLease, owner_, now_ms); !s.ok()) return s;
  }
  std::set<int64_t> was_firing;
  for (const store::AlertRow& a : *firing) was_firing.insert(a.id);
  for (const store::AlertChange& c : changes) {
    if (c.alert.state == "resolved") {
      ++report.resolved;
      spdlog::info("detect: {}", ToAlert(c.alert, "").Summary());
    } else if (was_firing.count(c.alert.id) == 0) {
      ++report.opened;
      spdlog::warn("detect: {}", ToAlert(c.alert, "").Summary());
    } else {
      ++report.updated;
    }
  }
  // The firing alerts after the changes.
  std::vector<store::AlertRow> now_firing;
  for (const store::AlertChange& c : changes) {
    if (c.alert.state == "firing") now_firing.push_back(c.alert);
  }
  for (const store::AlertRow& a : *firing) {
    if (std::none_of(changes.begin(), changes.end(), [&](const auto& c) { return c.alert.id == a.id; })) {
      now_firing.push_back(a);
    }
  }
  report.firing = static_cast<int64_t>(now_firing.size());

  // Metrics of the cycle (before delivery, which may take a while).
  {
    Metrics m;
    for (const Finding& f : evaluation->findings) {
      if (f.window.verdict != analysis::Verdict::kLoss && f.window.verdict != analysis::Verdict::kDuplicate) continue;
      PairFigures& p = m.pairs[{f.topic, f.source, f.target}];
      p.lost += f.window.lost;
      p.duplicated += f.window.duplicated;
    }
    for (const store::AlertRow& a : now_firing) ++m.firing[{a.kind, a.severity}];
    std::lock_guard lock(mu_);
    metrics_.windows = evaluation->by_verdict;
    metrics_.pairs = std::move(m.pairs);
    metrics_.firing = std::move(m.firing);
  }

  if (Status s = Deliver(now_ms, now_firing, report); !s.ok()) return s;
  return report;
}

void Detector::Count(const Receiver& r, std::string_view result, int64_t n) {
  if (n == 0) return;
  std::lock_guard lock(mu_);
  metrics_.notifications[{std::string(r.notifier->kind()), std::string(result)}] += n;
}

Status Detector::Deliver(int64_t now_ms, const std::vector<store::AlertRow>& firing, CycleReport& report) {
  auto due = store_.DueNotices(now_ms, kNoticesPerRound);
  if (!due.ok()) return due.status();
  // The alerts the notices name, as stored now.
  std::vector<int64_t> ids;
  for (const store::AlertNotice& n : *due) ids.push_back(n.alert_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::map<int64_t, store::AlertRow> alerts;
  for (size_t i = 0; i < ids.size(); i += 500) {
    store::AlertQuery q{.ids = std::vector<int64_t>(ids.begin() + static_cast<std::ptrdiff_t>(i),
                                                    ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), i + 500))),
                        .limit = 500};
    auto rows = store_.QueryAlerts(q);
    if (!rows.ok()) return rows.status();
    for (store::AlertRow& a : *rows) alerts.emplace(a.id, std::move(a));
  }

  std::vector<store::AlertNotice> delivered, retry;
  std::vector<store::AlertChange> told;  // alerts whose new severity Alertmanager now has
  for (const Receiver& r : receivers_) {
    std::vector<store::AlertNotice> mine;
    std::vector<Alert> batch;
    std::set<int64_t> in_batch;
    for (const store::AlertNotice& n : *due) {
      if (n.receiver != r.name) continue;
      mine.push_back(n);
      auto it = alerts.find(n.alert_id);
      if (it == alerts.end()) continue;  // deleted by retention meanwhile: nothing to say
      if (in_batch.insert(n.alert_id).second) batch.push_back(ToAlert(it->second, opts_.dashboard_url));
    }
    const bool alertmanager = r.notifier->kind() == "alertmanager";
    std::vector<const store::AlertRow*> relabelled;
    if (alertmanager) {
      // Every firing alert again (Alertmanager ends an alert not re-sent
      // within its endsAt); one whose severity changed also ends under the
      // labels it was last sent with.
      for (const store::AlertRow& a : firing) {
        if (in_batch.insert(a.id).second) batch.push_back(ToAlert(a, opts_.dashboard_url));
        if (!a.sent_severity.empty() && a.sent_severity != a.severity) {
          store::AlertRow old = a;
          old.severity = a.sent_severity;
          old.state = "resolved";
          old.ends_ms = now_ms;
          batch.push_back(ToAlert(old, opts_.dashboard_url));
        }
        if (a.sent_severity != a.severity) relabelled.push_back(&a);
      }
    }
    if (batch.empty() && mine.empty()) continue;
    Status s = r.notifier->Deliver(batch);
    if (s.ok() || s.code() == Status::Code::kInvalidArgument) {
      if (!s.ok()) spdlog::error("detect: {} refused {} alerts: {}", r.notifier->target(), batch.size(), s.ToString());
      delivered.insert(delivered.end(), mine.begin(), mine.end());
      (s.ok() ? report.delivered : report.refused) += static_cast<int64_t>(batch.size());
      Count(r, s.ok() ? "delivered" : "refused", static_cast<int64_t>(batch.size()));
      for (const store::AlertRow* a : relabelled) {
        store::AlertRow updated = *a;
        updated.sent_severity = a->severity;
        told.push_back({std::move(updated), {}});
      }
    } else {
      spdlog::warn("detect: delivery to {} failed, retrying later: {}", r.notifier->target(), s.ToString());
      for (store::AlertNotice n : mine) {
        ++n.attempts;
        n.due_ms = now_ms + RetryDelayMs(opts_.interval_sec * 1000, n.attempts);
        n.last_error = s.message().substr(0, 500);
        retry.push_back(std::move(n));
      }
      report.retried += static_cast<int64_t>(batch.size());
      Count(r, "retry", static_cast<int64_t>(batch.size()));
    }
  }
  // Notices for receivers no longer configured are dropped.
  for (const store::AlertNotice& n : *due) {
    if (std::find(receiver_names_.begin(), receiver_names_.end(), n.receiver) == receiver_names_.end()) {
      spdlog::info("detect: dropping a notice for receiver {}, no longer configured", n.receiver);
      delivered.push_back(n);
    }
  }
  if (Status s = store_.SettleNotices(delivered, retry); !s.ok()) return s;
  if (!told.empty()) {
    if (Status s = store_.SaveAlerts(told, kLease, owner_, now_ms); !s.ok()) return s;
  }
  auto pending = store_.DueNotices(std::numeric_limits<int64_t>::max(), 100'000);
  if (!pending.ok()) return pending.status();
  std::lock_guard lock(mu_);
  metrics_.outbox_pending = static_cast<int64_t>(pending->size());
  return Status::Ok();
}

Status Detector::Start() {
  http_ = std::make_unique<http::Endpoint>(
      "detect.listen", http::EndpointOptions{.listen = opts_.listen, .threads = 2, .thread_name = "detect-http"});
  http_->SetHealth([this] { return Health(); });
  http_->SetMetrics([this] { return MetricsText(); });
  if (Status s = http_->Start(); !s.ok()) return s;
  loop_.Start("detect-cycle", std::chrono::seconds(opts_.interval_sec), [this] {
    auto r = RunCycle();
    if (!r.ok()) {
      spdlog::warn("detect: cycle failed: {}", r.status().ToString());
    } else if (r->leader) {
      spdlog::info("detect: cycle: {} topics, {} windows, {} alerts firing ({} opened, {} resolved), {} ms",
                   r->topics, r->windows, r->firing, r->opened, r->resolved, r->duration_ms);
    }
  });
  return Status::Ok();
}

void Detector::Stop() {
  loop_.Stop();
  ReleaseLease();
  if (http_) http_->Stop();
}

void Detector::ReleaseLease() {
  {
    std::lock_guard lock(mu_);
    if (!metrics_.leader) return;
    metrics_.leader = false;
  }
  // Renewed with no time left: free for the next taker from now on.
  auto r = store_.TakeLease(kLease, owner_, clock_.NowMs(), 0);
  if (!r.ok()) spdlog::warn("detect: could not release the lease: {}", r.status().ToString());
}

std::string Detector::url() const { return http_ ? http_->url() : std::string(); }

http::HealthVerdict Detector::Health() const {
  std::lock_guard lock(mu_);
  http::HealthVerdict v;
  v.details["leader"] = metrics_.leader;
  v.details["cycles"] = metrics_.cycles;
  v.details["last_cycle_ms"] = metrics_.last_cycle_ms;
  int64_t firing = 0;
  for (const auto& [k, n] : metrics_.firing) firing += n;
  v.details["alerts_firing"] = firing;
  v.details["outbox_pending"] = metrics_.outbox_pending;
  if (!metrics_.last_error.empty()) {
    v.state = http::HealthVerdict::State::kFailing;
    v.reasons.push_back("last cycle failed: " + metrics_.last_error);
  } else if (metrics_.outbox_pending > 0 && metrics_.leader) {
    v.state = http::HealthVerdict::State::kDegraded;
    v.reasons.push_back(std::to_string(metrics_.outbox_pending) + " notices not yet delivered");
  }
  return v;
}

std::string Detector::MetricsText() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto it = std::back_inserter(out);
  auto head = [&](std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(it, "# HELP {0} {1}\n# TYPE {0} {2}\n", name, help, type);
  };
  head("chaperone_detect_cycles_total", "counter", "Evaluation cycles completed.");
  fmt::format_to(it, "chaperone_detect_cycles_total {}\n", metrics_.cycles);
  head("chaperone_detect_cycle_errors_total", "counter", "Evaluation cycles that failed.");
  fmt::format_to(it, "chaperone_detect_cycle_errors_total {}\n", metrics_.cycle_errors);
  head("chaperone_detect_cycle_duration_seconds", "gauge", "Duration of the last completed cycle.");
  fmt::format_to(it, "chaperone_detect_cycle_duration_seconds {}\n", metrics_.cycle_seconds);
  head("chaperone_detect_last_cycle_timestamp_seconds", "gauge", "Unix time the last cycle completed (0: none yet).");
  fmt::format_to(it, "chaperone_detect_last_cycle_timestamp_seconds {}\n", metrics_.last_cycle_ms / 1000);
  head("chaperone_detect_leader", "gauge", "1 when this process holds the lease and runs the cycles.");
  fmt::format_to(it, "chaperone_detect_leader {}\n", metrics_.leader ? 1 : 0);
  head("chaperone_detect_windows", "gauge", "Windows of the lookback range per verdict, over every topic and pair.");
  for (size_t v = 0; v < metrics_.windows.size(); ++v) {
    fmt::format_to(it, "chaperone_detect_windows{{verdict=\"{}\"}} {}\n",
                   analysis::VerdictName(static_cast<analysis::Verdict>(v)), metrics_.windows[v]);
  }
  // Per pair, the largest first, at most max_topic_series; the rest under topic="_other".
  for (const bool lost : {true, false}) {
    const char* name = lost ? "chaperone_detect_lost_messages" : "chaperone_detect_duplicated_messages";
    head(name, "gauge",
         lost ? "Messages lost over the final windows of the lookback range, per topic and pair."
              : "Messages duplicated over the final windows of the lookback range, per topic and pair.");
    std::vector<std::pair<int64_t, const std::tuple<std::string, std::string, std::string>*>> series;
    for (const auto& [key, f] : metrics_.pairs) {
      const int64_t v = lost ? f.lost : f.duplicated;
      if (v > 0) series.emplace_back(v, &key);
    }
    std::stable_sort(series.begin(), series.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::map<std::pair<std::string, std::string>, int64_t> other;
    for (size_t i = 0; i < series.size(); ++i) {
      const auto& [topic, source, target] = *series[i].second;
      if (static_cast<int64_t>(i) < opts_.max_topic_series) {
        fmt::format_to(it, "{}{{topic=\"{}\",source_tier=\"{}\",target_tier=\"{}\"}} {}\n", name, Label(topic),
                       Label(source), Label(target), series[i].first);
      } else {
        other[{source, target}] += series[i].first;
      }
    }
    for (const auto& [pair, v] : other) {
      fmt::format_to(it, "{}{{topic=\"_other\",source_tier=\"{}\",target_tier=\"{}\"}} {}\n", name, Label(pair.first),
                     Label(pair.second), v);
    }
  }
  head("chaperone_detect_alerts_firing", "gauge", "Firing alerts by kind and severity.");
  for (AlertKind k : {AlertKind::kLoss, AlertKind::kDuplicate, AlertKind::kDigestMismatch, AlertKind::kSilent}) {
    for (Severity s : {Severity::kInfo, Severity::kWarning, Severity::kCritical}) {
      auto found = metrics_.firing.find({std::string(AlertKindName(k)), std::string(SeverityName(s))});
      fmt::format_to(it, "chaperone_detect_alerts_firing{{kind=\"{}\",severity=\"{}\"}} {}\n", AlertKindName(k),
                     SeverityName(s), found == metrics_.firing.end() ? 0 : found->second);
    }
  }
  head("chaperone_detect_notifications_total", "counter", "Alerts handed to receivers, by receiver kind and result.");
  for (const auto& [key, n] : metrics_.notifications) {
    fmt::format_to(it, "chaperone_detect_notifications_total{{receiver=\"{}\",result=\"{}\"}} {}\n", key.first,
                   key.second, n);
  }
  head("chaperone_detect_outbox_pending", "gauge", "Alert notices not yet delivered.");
  fmt::format_to(it, "chaperone_detect_outbox_pending {}\n", metrics_.outbox_pending);
  return out;
}

}  // namespace chaperone::detect
