// Query-parameter parsing and validation for the web API. Every function
// returns InvalidArgument with a message fit for a 400 response body.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/names.h"
#include "chaperone/status.h"

namespace chaperone::web {

inline constexpr int64_t kMaxRangeSec = 90 * 86400;
inline constexpr int64_t kDefaultRangeSec = 86400;
// 9999-12-31T23:59:59Z: later instants are rejected (and catch milliseconds passed as seconds).
inline constexpr int64_t kMaxEpochSec = 253402300799;

// Epoch seconds ("1795303800") or ISO-8601 as chaperone::ParseIso8601Ms reads
// it ("2026-11-22T10:00:00Z", "2026-11-22", "...+01:00"; no zone means UTC);
// epoch seconds, fractions floored.
Result<int64_t> ParseTimeSec(std::string_view s);

// An instant in milliseconds (`since` of /api/v1/alerts): epoch seconds or
// milliseconds, told apart by magnitude as event times are (below 1e11:
// seconds, "1795303800"; else milliseconds, "1795303800123"), or ISO-8601 as
// ParseTimeSec reads it, keeping its milliseconds ("2026-11-22T10:00:00.250Z").
Result<int64_t> ParseTimeMs(std::string_view s);

// A decimal integer in [min, max], digits only (an optional leading '-' when min < 0).
Result<int64_t> ParseInt(std::string_view s, int64_t min, int64_t max);

// Tier and datacenter names, and comma lists of them: one rule (analysis/names.h).
using analysis::IsValidDatacenterName;
using analysis::IsValidTierName;
using analysis::SplitList;

// The query string of one request, with checks that every parameter is known
// and that single-valued parameters appear once.
class QueryParams {
 public:
  explicit QueryParams(std::multimap<std::string, std::string> params) : params_(std::move(params)) {}

  // 400 when a parameter is not in `known`.
  Status OnlyAllow(std::initializer_list<std::string_view> known) const;
  // The value of a single-valued parameter; 400 if it is given more than once.
  Result<std::optional<std::string>> Get(const std::string& name) const;
  // Every value of a repeatable parameter, in order.
  std::vector<std::string> GetAll(const std::string& name) const;

  const std::multimap<std::string, std::string>& raw() const { return params_; }

 private:
  std::multimap<std::string, std::string> params_;
};

struct TimeRange {
  int64_t from_sec = 0, to_sec = 0;  // [from, to) over window start times
};

// `from`/`to` with the defaults of docs/api.md: to = now, from = to - 24 h;
// at most kMaxRangeSec wide; from < to.
Result<TimeRange> ParseTimeRange(const QueryParams& q, int64_t now_sec);

// An integer parameter with a default and an inclusive range.
Result<int64_t> ParseIntParam(const QueryParams& q, const std::string& name, int64_t dflt, int64_t min, int64_t max);

}  // namespace chaperone::web
