// An alert of the loss detector, as the notifiers send it: a plain value.
//
// Identity: (topic, source tier, target tier, kind, datacenter). One alert per
// identity opens, updates as windows accumulate, and resolves; its
// Fingerprint() is stable across processes, restarts and versions, so the
// store, the notifiers and the receivers can all name it the same way.
//
// Threads and memory: an Alert owns all its strings; it is copied freely and
// shared read-only between threads like any value. Nothing here does I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chaperone::detect {

// What was found between the two tiers. Names are the words on the wire
// (AlertKindName): "loss", "duplicate", "digest_mismatch", "silent".
enum class AlertKind {
  kLoss,            // the target tier saw fewer messages than the source
  kDuplicate,       // the target tier saw more
  kDigestMismatch,  // equal counts, different content (loss hidden by duplicates, or corruption)
  kSilent,          // a topic that normally flows had nothing at all in a tier
};

enum class AlertState { kFiring, kResolved };  // "firing", "resolved"

// "info", "warning", "critical": the word receivers route on.
enum class Severity { kInfo, kWarning, kCritical };

std::string_view AlertKindName(AlertKind kind);
std::string_view AlertStateName(AlertState state);
std::string_view SeverityName(Severity severity);
// "loss" -> kLoss, ...; nullopt for an unknown word.
std::optional<AlertKind> ParseAlertKind(std::string_view name);
std::optional<Severity> ParseSeverity(std::string_view name);

struct Alert {
  // ---- identity ----
  std::string topic;
  std::string source_tier;  // e.g. "producer"
  std::string target_tier;  // e.g. "regional"
  AlertKind kind = AlertKind::kLoss;
  std::string datacenter;  // empty: the pair is judged over every datacenter

  // ---- state ----
  AlertState state = AlertState::kFiring;
  Severity severity = Severity::kWarning;
  int64_t starts_at_ms = 0;  // wall clock, ms since the Unix epoch: when it first fired
  int64_t ends_at_ms = 0;    // when it resolved; 0 while firing

  // ---- figures, over the final windows judged so far ----
  int64_t messages_lost = 0;
  int64_t messages_duplicated = 0;
  int64_t windows_affected = 0;
  int64_t first_window_s = 0;  // start of the first affected window, Unix seconds
  int64_t last_window_s = 0;   // start of the last affected window, Unix seconds

  std::string dashboard_url;  // where a person sees it; may be empty

  // 16 lowercase hex digits: the first 64 bits of SHA-256 over the identity
  // (length-prefixed fields, so no two identities collide by concatenation).
  // Depends on the identity only, never on state, severity or figures.
  std::string Fingerprint() const;

  // One readable line, no trailing newline, e.g.
  // "FIRING loss on orders: producer → regional (dc1): 42 messages lost in 3 windows
  //  (2024-05-01T10:00:00Z .. 2024-05-01T10:20:00Z)".
  // The Alertmanager summary, the Slack line and the webhook "summary" field.
  std::string Summary() const;
};

// Wall-clock milliseconds as RFC 3339 in UTC: "2024-05-01T10:00:00.123Z"
// (the ".123" only when the milliseconds are not zero).
std::string FormatRfc3339(int64_t unix_ms);

}  // namespace chaperone::detect
