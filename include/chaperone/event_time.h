// Event-time extraction: the per-message step of every audit tier.
//
// A TimestampChain is an ordered list of sources ("json:ts,json:timestamp,record");
// Extract() returns the event time given by the first source that yields a
// usable one. JSON payloads are scanned in place, without a DOM, and only as
// far as the field (docs/event-time.md has the exact rules).
//
// Thread safety: a TimestampChain is immutable once built; Extract() may be
// called concurrently from any number of threads. TimestampRules::Add() must
// not race with ForTopic(); ForTopic() itself may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"

namespace chaperone {

// A message as seen at any tier. Borrows everything; the caller keeps the
// bytes alive for the duration of Extract().
struct MessageView {
  std::string_view key;
  bool key_null = true;
  std::string_view value;
  bool value_null = true;            // a tombstone when value_null
  int64_t record_timestamp_ms = -1;  // Kafka record timestamp, -1 unknown
  const void* headers_ctx = nullptr;  // opaque (e.g. rd_kafka_headers_t*)
  // Looks up header `name` (case-sensitive; with repeated headers, the last
  // one) and stores its value in *value. Returns false when absent.
  bool (*find_header)(const void* ctx, std::string_view name, std::string_view* value) = nullptr;
};

struct EventTime {
  int64_t ms = 0;          // milliseconds since the Unix epoch; valid when found
  bool found = false;      // a usable event time was found by some source of the chain
  bool malformed = false;  // a json: source was tried and the payload could not be scanned as a JSON object
};

// An ordered chain of event-time sources. Grammar (docs/event-time.md):
//   chain  := source ("," source)*          at most kMaxSources sources
//   source := "json:" path | "header:" name | "record"
//   path   := field ("." field)*             at most kMaxPathDepth fields
// JSON field names match ASCII case-insensitively.
class TimestampChain {
 public:
  static constexpr size_t kMaxSources = 16;
  static constexpr size_t kMaxPathDepth = 8;
  static constexpr size_t kMaxNameBytes = 256;  // per JSON field or header name

  // The default chain; equal to Default().
  TimestampChain();

  // Parses a chain spec such as "header:event-time,record" or
  // "json:meta.created_at". Whitespace around sources is ignored. Returns
  // InvalidArgument with a message naming the offending source otherwise.
  static Result<TimestampChain> Parse(std::string_view spec);

  // json:ts, json:timestamp (both case-insensitive), then record.
  static const TimestampChain& Default();

  // The event time of `m`. Never allocates, never throws, never reads outside
  // m.key / m.value / the header values returned by m.find_header.
  EventTime Extract(const MessageView& m) const;

  // The canonical spec: Parse(chain.ToString()) gives an equal chain.
  std::string ToString() const;

 private:
  struct Impl;
  explicit TimestampChain(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Chains per topic: an ordered list of (regex, chain). The first rule whose
// regex matches the whole topic name wins; topics matching no rule get
// TimestampChain::Default(). Copies share their chains.
class TimestampRules {
 public:
  // Appends a rule. InvalidArgument for a bad regex (ECMAScript syntax) or a
  // bad chain spec; the rules are unchanged then.
  Status Add(std::string_view topic_regex, std::string_view chain_spec);

  // The chain for `topic`. The reference stays valid as long as this object
  // (or a copy of it) lives, including across later Add() calls. Matching a
  // regex is slow next to Extract(): callers cache the result per topic.
  const TimestampChain& ForTopic(std::string_view topic) const;

  size_t size() const { return rules_.size(); }

 private:
  struct Rule;
  std::vector<std::shared_ptr<const Rule>> rules_;
};

// A Unix epoch time in seconds, milliseconds, microseconds or nanoseconds,
// told apart by magnitude, in milliseconds (truncated):
//   v < 1e11 seconds, < 1e14 ms, < 1e17 µs, < 1e20 ns.
// nullopt for NaN, infinities, values <= 0, >= 1e20, or below 1 ms.
// The value is taken at its shortest decimal form, so 1700000000.123 gives
// exactly 1700000000123.
std::optional<int64_t> NormalizeEpochToMs(double v);

// An ISO-8601 / RFC 3339 date-time in extended format, in milliseconds since
// the Unix epoch (fractions beyond milliseconds are truncated):
//   2026-11-22T10:00:00Z   2026-11-22T10:00:00.123456+05:30   2026-11-22 10:00Z
//   2026-11-22T10:00:00 (no offset: UTC)   2026-11-22 (midnight UTC)
// Offsets: Z, +hh:mm, +hhmm, +hh. nullopt for anything else, including
// surrounding whitespace and out-of-range fields.
std::optional<int64_t> ParseIso8601Ms(std::string_view s);

}  // namespace chaperone
