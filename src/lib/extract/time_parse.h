// Numbers and date-times as event times (docs/event-time.md, "Values").
// Internal to libchaperone; the public helpers are in chaperone/event_time.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace chaperone::extract {

// A decimal number kept exactly as written, to its first 19 significant
// digits: value = (negative ? -1 : 1) * mantissa * 10^exp10. `digits` is the
// number of decimal digits of `mantissa` (0 when the value is zero).
struct Decimal {
  uint64_t mantissa = 0;
  int32_t exp10 = 0;
  int32_t digits = 0;
  bool negative = false;
};

// Parses a number in JSON grammar (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)
// at the start of [p, end). Returns the first byte after it, or nullptr when
// [p, end) does not start with a JSON number (such as "01", "1.", "+1", ".5").
// Significant digits past the 19th are dropped (the value is truncated).
const char* ParseJsonNumber(const char* p, const char* end, Decimal* out);

// Milliseconds since the epoch for a positive number of seconds, ms, µs or ns
// told apart by magnitude (< 1e11 s, < 1e14 ms, < 1e17 µs, < 1e20 ns),
// truncated. nullopt for values <= 0, >= 1e20, or under 1 ms.
std::optional<int64_t> EpochMsFromDecimal(const Decimal& d);

// An event time written as text (a JSON string value, a header value): a
// number in JSON grammar filling the whole text (magnitude rule above), or an
// ISO-8601 date-time. nullopt when unusable, including times <= 0.
std::optional<int64_t> EpochMsFromText(std::string_view s);

}  // namespace chaperone::extract
