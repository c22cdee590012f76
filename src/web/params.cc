#include "web/params.h"

#include <fmt/format.h>

#include <algorithm>

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

// Reads exactly `n` digits at s[pos]; advances pos.
bool ReadDigits(std::string_view s, size_t& pos, int n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

bool IsControlOrComma(unsigned char c) { return c < 0x20 || c == 0x7F || c == ','; }

bool IsValidName(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return IsControlOrComma(static_cast<unsigned char>(c)); });
}

}  // namespace

Result<int64_t> ParseIsoTimeMs(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("malformed time {}: {}", Quote(s), why));
  };
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ReadDigits(s, pos, 4, year) || pos >= s.size() || s[pos++] != '-' || !ReadDigits(s, pos, 2, month) ||
      pos >= s.size() || s[pos++] != '-' || !ReadDigits(s, pos, 2, day)) {
    return bad("expected epoch seconds or ISO-8601 (YYYY-MM-DDTHH:MM:SSZ)");
  }
  if (month < 1 || month > 12) return bad("month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return bad("day out of range");
  int64_t millis = 0;
  int64_t offset_sec = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return bad("expected 'T' after the date");
    ++pos;
    if (!ReadDigits(s, pos, 2, hour) || pos >= s.size() || s[pos++] != ':' || !ReadDigits(s, pos, 2, minute)) {
      return bad("expected HH:MM after 'T'");
    }
    if (pos < s.size() && s[pos] == ':') {
      ++pos;
      if (!ReadDigits(s, pos, 2, second)) return bad("expected two digits of seconds");
      if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
        ++pos;
        size_t start = pos;
        int64_t scale = 100;
        while (pos < s.size() && IsDigit(s[pos])) {
          millis += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return bad("expected digits after the decimal point");
        if (pos - start > 9) return bad("more than 9 fractional digits");
      }
    }
    if (hour > 23) return bad("hour out of range");
    if (minute > 59) return bad("minute out of range");
    if (second > 59) return bad("second out of range");
    if (pos < s.size()) {
      char z = s[pos];
      if (z == 'Z' || z == 'z') {
        ++pos;
      } else if (z == '+' || z == '-') {
        ++pos;
        int oh = 0, om = 0;
        if (!ReadDigits(s, pos, 2, oh)) return bad("expected a zone offset +HH:MM");
        if (pos < s.size() && s[pos] == ':') ++pos;
        if (pos < s.size() && !ReadDigits(s, pos, 2, om)) return bad("expected a zone offset +HH:MM");
        if (oh > 23 || om > 59) return bad("zone offset out of range");
        offset_sec = (oh * 3600 + om * 60) * (z == '+' ? 1 : -1);
      } else {
        return bad("expected 'Z' or a zone offset");
      }
    }
    if (pos != s.size()) return bad("trailing characters");
  }
  int64_t days = DaysFromCivil(year, month, day);
  int64_t sec = days * 86400 + hour * 3600 + minute * 60 + second - offset_sec;
  return sec * 1000 + millis;
}

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
  if (s[0] == '-' && s.size() > 1 && std::all_of(s.begin() + 1, s.end(), IsDigit)) {
    return Status::InvalidArgument(fmt::format("time {} is before 1970", Quote(s)));
  }
  auto ms = ParseIsoTimeMs(s);
  if (!ms.ok()) return ms.status();
  if (*ms < 0) return Status::InvalidArgument(fmt::format("time {} is before 1970", Quote(s)));
  int64_t sec = *ms / 1000;
  if (sec > kMaxEpochSec) return Status::InvalidArgument(fmt::format("time {} is out of range", Quote(s)));
  return sec;
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

bool IsValidTopicName(std::string_view s) {
  if (s.empty() || s.size() > 249) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '.' || c == '_' || c == '-';
  });
}

bool IsValidTierName(std::string_view s) { return IsValidName(s); }
bool IsValidDatacenterName(std::string_view s) { return IsValidName(s); }

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.emplace_back(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

Status QueryParams::OnlyAllow(std::initializer_list<std::string_view> known) const {
  for (const auto& [name, value] : params_) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return Status::InvalidArgument(fmt::format("unknown parameter {}{}", Quote(name),
                                                 list.empty() ? " (this endpoint takes none)"
                                                              : fmt::format(" (expected one of: {})", list)));
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

Result<int64_t> ParseIntParam(const QueryParams& q, const std::string& name, int64_t dflt, int64_t min,
                              int64_t max) {
  auto s = q.Get(name);
  if (!s.ok()) return s.status();
  if (!s->has_value()) return dflt;
  auto v = ParseInt(**s, min, max);
  if (!v.ok()) return Status::InvalidArgument(name + ": " + v.status().message());
  return v;
}

}  // namespace chaperone::web
