// The alert lifecycle: from one evaluation cycle's findings (evaluate.h) to
// the changes of the stored alerts (store.h, AlertRow).
//
//   findings ──Summarize(rules)──▶ Found (figures per alert identity)
//   Found + firing alerts ──Advance──▶ AlertChange (open, update, resolve; receivers to tell)
//
// One alert per identity (topic, source tier, target tier, kind): it opens
// when a cycle finds windows of that kind over the rule's threshold, its
// figures follow the windows as they accumulate, and it resolves by itself
// when a later cycle finds none (late data closed the gap, or the windows left
// the lookback range). Receivers are told when it opens, when its severity
// changes and when it resolves; a change of figures alone is stored (and
// re-sent to Alertmanager with every firing alert) but tells nobody.
//
// Pure functions of their arguments: no I/O, no clock, no state. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "detect/alert.h"
#include "detect/detect_config.h"
#include "detect/evaluate.h"
#include "store/store.h"

namespace chaperone::detect {

struct AlertKey {
  std::string topic, source_tier, target_tier;
  AlertKind kind = AlertKind::kLoss;
  auto operator<=>(const AlertKey&) const = default;
};

// An identity's figures over the final windows of one cycle that count for it.
struct Figures {
  int64_t lost = 0, duplicated = 0, windows = 0, source_messages = 0;
  int64_t first_window_sec = 0, last_window_sec = 0;
  auto operator<=>(const Figures&) const = default;
};

using Found = std::map<AlertKey, Figures>;

// The windows of `findings` (ordered by topic, pair, window, as Evaluate gives
// them) that count for an alert under each topic's rule: pairs the rule
// judges, not muted, over its threshold (loss, duplicate), digest mismatches
// where the rule wants them. A run of at least `silent_windows` consecutive
// windows in which one tier of the pair saw nothing while the other flowed is
// `silent` instead of loss or duplicate. `unknown` windows never count.
Found Summarize(const std::vector<Finding>& findings, const DetectOptions& opts);

// The changes that bring the `firing` alerts (as stored) to what `found`
// says, at wall clock now_ms. Each change names the receivers to tell
// (`receivers`: every configured one) or none. Alerts not in `firing` and not
// in `found` do not change.
std::vector<store::AlertChange> Advance(const std::vector<store::AlertRow>& firing, const Found& found,
                                        const DetectOptions& opts, const std::vector<std::string>& receivers,
                                        int64_t now_ms);

// The fingerprint of an identity (Alert::Fingerprint, no datacenter).
std::string FingerprintOf(const AlertKey& key);

// A stored alert as the notifiers send it; `dashboard_url` is the base URL of
// `chaperone web` ("" = no link): the link opens the topic at the alert's
// first window.
Alert ToAlert(const store::AlertRow& row, std::string_view dashboard_url);

// The messages that judge an alert's severity: lost (loss), duplicated
// (duplicate), the source's messages (digest_mismatch), both (silent).
int64_t SeverityMessages(AlertKind kind, const Figures& f);

}  // namespace chaperone::detect
