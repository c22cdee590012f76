#include "web/params.h"

#include <fmt/format.h>

#include <algorithm>

#include "chaperone/event_time.h"

namespace chaperone::web {
namespace {

// Quotes a user-supplied value for an error message: at most 64 bytes, control
// characters shown as '?'. (The JSON writer escapes the rest.)
std::string Quote(std::string_view s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c < 0x20 || c == 0x7F ? '?' : static_cast<char>(c));
  }
  if (s.size() > 64) out += "...";
  out += "'";
  return out;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A time that is not all digits: ISO-8601 (the event-time parser's dialect),
// in milliseconds. `numbers` names the numeric forms the caller also accepts.
Result<int64_t> ParseIsoTimeMs(std::string_view s, std::string_view numbers) {
  if (s[0] == '-' && s.size() > 1 && std::all_of(s.begin() + 1, s.end(), IsDigit)) {
    return Status::InvalidArgument(fmt::format("time {} is before 1970", Quote(s)));
  }
  std::optional<int64_t> ms = ParseIso8601Ms(s);  // one ISO-8601 dialect everywhere
  if (!ms) {
    return Status::InvalidArgument(
        fmt::format("malformed time {}: expected {} or ISO-8601 (2026-11-22T10:00:00Z)", Quote(s), numbers));
  }
  if (*ms < 0) return Status::InvalidArgument(fmt::format("time {} is before 1970", Quote(s)));
  if (*ms / 1000 > kMaxEpochSec) return Status::InvalidArgument(fmt::format("time {} is out of range", Quote(s)));
  return *ms;
}

}  // namespace

Result<int64_t> ParseTimeSec(std::string_view s) {
  if (s.empty()) return Status::InvalidArgument("empty time");
  if (std::all_of(s.begin(), s.end(), IsDigit)) {
    if (s.size() > 12) {
      return Status::InvalidArgument(
          fmt::format("time {} is out of range: epoch seconds expected (milliseconds?)", Quote(s)));
    }
    int64_t v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    if (v > kMaxEpochSec) {
      return Status::InvalidArgument(
          fmt::format("time {} is out of range: epoch seconds expected (milliseconds?)", Quote(s)));
    }
    return v;
  }
  auto ms = ParseIsoTimeMs(s, "epoch seconds");
  if (!ms.ok()) return ms.status();
  return *ms / 1000;
}

Result<int64_t> ParseTimeMs(std::string_view s) {
  if (s.empty()) return Status::InvalidArgument("empty time");
  if (std::all_of(s.begin(), s.end(), IsDigit)) {
    constexpr int64_t kSecondsBelow = 100'000'000'000;  // 1e11 s is the year 5138; 1e11 ms, 1973
    auto v = ParseInt(s, 0, kMaxEpochSec * 1000 + 999);
    if (!v.ok()) {
      return Status::InvalidArgument(
          fmt::format("time {} is out of range: epoch seconds or milliseconds expected", Quote(s)));
    }
    return *v < kSecondsBelow ? *v * 1000 : *v;
  }
  return ParseIsoTimeMs(s, "epoch seconds, epoch milliseconds");
}

Result<int64_t> ParseInt(std::string_view s, int64_t min, int64_t max) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && digits[0] == '-' && min < 0) {
    negative = true;
    digits.remove_prefix(1);
  }
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), IsDigit)) {
    return Status::InvalidArgument(fmt::format("{} is not an integer", Quote(s)));
  }
  // Leading zeros are harmless; anything longer than 18 significant digits is out of range.
  size_t first = digits.find_first_not_of('0');
  std::string_view sig = first == std::string_view::npos ? std::string_view() : digits.substr(first);
  bool in_range = sig.size() <= 18;
  int64_t v = 0;
  if (in_range) {
    for (char c : sig) v = v * 10 + (c - '0');
    if (negative) v = -v;
    in_range = v >= min && v <= max;
  }
  if (!in_range) return Status::InvalidArgument(fmt::format("{} is out of range [{}, {}]", Quote(s), min, max));
  return v;
}

Status QueryParams::OnlyAllow(std::initializer_list<std::string_view> known) const {
  for (const auto& [name, value] : params_) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return Status::InvalidArgument(
          fmt::format("unknown parameter {}{}", Quote(name),
                      list.empty() ? " (this endpoint takes none)" : fmt::format(" (expected one of: {})", list)));
    }
  }
  return Status::Ok();
}

Result<std::optional<std::string>> QueryParams::Get(const std::string& name) const {
  auto [lo, hi] = params_.equal_range(name);
  if (lo == hi) return std::optional<std::string>();
  if (std::next(lo) != hi) return Status::InvalidArgument(fmt::format("parameter '{}' given more than once", name));
  return std::optional<std::string>(lo->second);
}

std::vector<std::string> QueryParams::GetAll(const std::string& name) const {
  std::vector<std::string> out;
  auto [lo, hi] = params_.equal_range(name);
  for (auto it = lo; it != hi; ++it) out.push_back(it->second);
  return out;
}

Result<TimeRange> ParseTimeRange(const QueryParams& q, int64_t now_sec) {
  auto from_s = q.Get("from");
  if (!from_s.ok()) return from_s.status();
  auto to_s = q.Get("to");
  if (!to_s.ok()) return to_s.status();
  TimeRange r;
  if (to_s->has_value()) {
    auto t = ParseTimeSec(**to_s);
    if (!t.ok()) return Status::InvalidArgument("to: " + t.status().message());
    r.to_sec = *t;
  } else {
    r.to_sec = now_sec;
  }
  if (from_s->has_value()) {
    auto f = ParseTimeSec(**from_s);
    if (!f.ok()) return Status::InvalidArgument("from: " + f.status().message());
    r.from_sec = *f;
  } else {
    r.from_sec = std::max<int64_t>(0, r.to_sec - kDefaultRangeSec);
  }
  if (r.from_sec >= r.to_sec) {
    return Status::InvalidArgument(fmt::format("empty range: from ({}) must be before to ({})", r.from_sec, r.to_sec));
  }
  if (r.to_sec - r.from_sec > kMaxRangeSec) {
    return Status::InvalidArgument(
        fmt::format("range of {} s is longer than the maximum of 90 days ({} s)", r.to_sec - r.from_sec, kMaxRangeSec));
  }
  return r;
}

Result<int64_t> ParseIntParam(const QueryParams& q, const std::string& name, int64_t dflt, int64_t min, int64_t max) {
  auto s = q.Get(name);
  if (!s.ok()) return s.status();
  if (!s->has_value()) return dflt;
  auto v = ParseInt(**s, min, max);
  if (!v.ok()) return Status::InvalidArgument(name + ": " + v.status().message());
  return v;
}

}  // namespace chaperone::web
