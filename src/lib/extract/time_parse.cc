#include "lib/extract/time_parse.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

#include "chaperone/event_time.h"

namespace chaperone::extract {

namespace {

constexpr uint64_t kPow10[20] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};

constexpr int kMaxSignificantDigits = 19;  // 10^19 - 1 fits in uint64_t
constexpr int64_t kMaxExponent = 100000;   // far past any usable magnitude

inline bool IsDigit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

// SWAR on eight bytes loaded little-endian: true when all eight are ASCII
// digits (each byte's high nibble is 3, and adding 6 does not carry past 9).
inline bool AreEightDigits(uint64_t v) {
  return ((v & 0xF0F0F0F0F0F0F0F0ULL) | (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) ==
         0x3333333333333333ULL;
}

// The value of eight ASCII digits (first digit most significant): pairs, then
// quads, then the whole, each step one multiply.
inline uint64_t EightDigitsValue(uint64_t v) {
  v -= 0x3030303030303030ULL;
  v = v * 10 + (v >> 8);  // each 16-bit lane: two digits
  v = (((v & 0x000000FF000000FFULL) * (100 + (1000000ULL << 32))) +
       (((v >> 16) & 0x000000FF000000FFULL) * (1 + (10000ULL << 32)))) >>
      32;
  return v & 0xFFFFFFFFULL;
}

// How many of eight bytes loaded little-endian are ASCII digits before the
// first byte that is not. A byte is a digit when its high nibble is 3 and
// adding 6 keeps it 3. A byte of 0xFA or more carries into the byte after it,
// which is then misjudged; but that byte follows a non-digit and is not counted.
inline int LeadingDigitCount(uint64_t v) {
  const uint64_t bad = ((v & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL) |
                       (((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL);
  // 0x80 in each byte where `bad` is not zero (no carry crosses bytes).
  const uint64_t nonzero = (((bad & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL) | bad) & 0x8080808080808080ULL;
  return nonzero ? std::countr_zero(nonzero) / 8 : 8;
}

// Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar.
// Counts in 400-year eras of 146097 days, with years starting on March 1st so
// that the leap day ends the year.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t year_of_era = y - era * 400;                              // [0, 399]
  const int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;  // 719468: days from 0000-03-01 to 1970-01-01
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

}  // namespace

const char* ParseJsonNumber(const char* p, const char* end, Decimal* out) {
  Decimal d;
  if (p < end && *p == '-') {
    d.negative = true;
    ++p;
  }
  if (p == end) return nullptr;
  uint64_t m = 0;
  int sig = 0;
  int64_t exp = 0;
  if (*p == '0') {
    ++p;
  } else if (IsDigit(*p)) {
    // Integer part: the first digit is significant. Epoch times have 10 to 19
    // digits: take them eight at a time while they are all kept.
    while (std::endian::native == std::endian::little && end - p >= 8 && sig + 8 <= kMaxSignificantDigits) {
      uint64_t chunk;
      std::memcpy(&chunk, p, 8);
      if (!AreEightDigits(chunk)) break;
      m = m * 100'000'000 + EightDigitsValue(chunk);
      sig += 8;
      p += 8;
    }
    // The last one to seven digits in one step too (a 13-digit millisecond
    // time is 8 + 5), when eight bytes can be read.
    if (std::endian::native == std::endian::little && end - p >= 8 && sig + 8 <= kMaxSignificantDigits) {
      uint64_t chunk;
      std::memcpy(&chunk, p, 8);
      const int n = LeadingDigitCount(chunk);  // below 8: the loop above took every whole chunk
      if (n > 0) {
        // Move the n digits to the end of the eight and fill the front with '0'.
        const uint64_t padded = (chunk << (8 * (8 - n))) | (0x3030303030303030ULL >> (8 * n));
        m = m * kPow10[n] + EightDigitsValue(padded);
        sig += n;
        p += n;
      }
    }
    for (; p < end && IsDigit(*p); ++p) {
      if (sig < kMaxSignificantDigits) {
        m = m * 10 + static_cast<unsigned>(*p - '0');
        ++sig;
      } else {
        ++exp;
      }
    }
  } else {
    return nullptr;
  }
  if (p < end && *p == '.') {
    ++p;
    const char* first = p;
    for (; p < end && IsDigit(*p); ++p) {
      const unsigned v = static_cast<unsigned>(*p - '0');
      if (sig == 0 && v == 0) {
        --exp;  // a leading zero of the fraction: 0.00123
      } else if (sig < kMaxSignificantDigits) {
        m = m * 10 + v;
        ++sig;
        --exp;
      }
    }
    if (p == first) return nullptr;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool negative_exp = false;
    if (p < end && (*p == '+' || *p == '-')) {
      negative_exp = *p == '-';
      ++p;
    }
    const char* first = p;
    int64_t e = 0;
    for (; p < end && IsDigit(*p); ++p) {
      if (e < kMaxExponent) e = e * 10 + (*p - '0');
    }
    if (p == first) return nullptr;
    exp += negative_exp ? -e : e;
  }
  if (exp > kMaxExponent) exp = kMaxExponent;
  if (exp < -kMaxExponent) exp = -kMaxExponent;
  d.mantissa = m;
  d.exp10 = static_cast<int32_t>(exp);
  d.digits = sig;
  *out = d;
  return p;
}

std::optional<int64_t> EpochMsFromDecimal(const Decimal& d) {
  if (d.negative || d.mantissa == 0) return std::nullopt;
  // 10^(order-1) <= value < 10^order.
  const int64_t order = int64_t{d.digits} + d.exp10;
  int shift;  // power of ten from the unit to milliseconds
  if (order <= 11) {
    shift = 3;  // seconds
  } else if (order <= 14) {
    shift = 0;  // milliseconds
  } else if (order <= 17) {
    shift = -3;  // microseconds
  } else if (order <= 20) {
    shift = -6;  // nanoseconds
  } else {
    return std::nullopt;
  }
  const int64_t e = int64_t{d.exp10} + shift;
  int64_t ms;
  if (e >= 0) {
    // value < 10^11 s, so the result is below 10^14 and e <= 13.
    ms = static_cast<int64_t>(d.mantissa * kPow10[e]);
  } else if (e >= -19) {
    ms = static_cast<int64_t>(d.mantissa / kPow10[-e]);
  } else {
    ms = 0;
  }
  if (ms <= 0) return std::nullopt;
  return ms;
}

std::optional<int64_t> EpochMsFromText(std::string_view s) {
  if (s.empty()) return std::nullopt;
  const char* end = s.data() + s.size();
  Decimal d;
  if (ParseJsonNumber(s.data(), end, &d) == end) return EpochMsFromDecimal(d);
  std::optional<int64_t> ms = ParseIso8601Ms(s);
  if (ms && *ms > 0) return ms;
  return std::nullopt;
}

}  // namespace chaperone::extract

namespace chaperone {

std::optional<int64_t> NormalizeEpochToMs(double v) {
  if (!std::isfinite(v) || v <= 0 || v >= 1e20) return std::nullopt;
  // The shortest decimal that reads back as v: what the value was written as.
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v);
  if (r.ec != std::errc()) return std::nullopt;
  extract::Decimal d;
  if (extract::ParseJsonNumber(buf, r.ptr, &d) != r.ptr) return std::nullopt;
  return extract::EpochMsFromDecimal(d);
}

std::optional<int64_t> ParseIso8601Ms(std::string_view s) {
  size_t i = 0;
  auto number = [&](size_t n, int* v) {
    if (s.size() - i < n) return false;
    int x = 0;
    for (size_t k = 0; k < n; ++k) {
      const char c = s[i + k];
      if (!extract::IsDigit(c)) return false;
      x = x * 10 + (c - '0');
    }
    i += n;
    *v = x;
    return true;
  };
  auto literal = [&](char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };

  int year, month, day;
  if (!number(4, &year) || !literal('-') || !number(2, &month) || !literal('-') || !number(2, &day)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > extract::DaysInMonth(year, month)) return std::nullopt;

  int hour = 0, minute = 0, second = 0;
  int64_t fraction_ms = 0;
  bool fraction_nonzero = false;
  int64_t offset_min = 0;
  if (i < s.size()) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return std::nullopt;
    ++i;
    if (!number(2, &hour) || !literal(':') || !number(2, &minute)) return std::nullopt;
    if (literal(':')) {
      if (!number(2, &second)) return std::nullopt;
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        int n = 0;
        for (; i < s.size() && extract::IsDigit(s[i]); ++i, ++n) {
          if (n < 3) fraction_ms = fraction_ms * 10 + (s[i] - '0');
          if (s[i] != '0') fraction_nonzero = true;
        }
        if (n == 0) return std::nullopt;
        for (; n < 3; ++n) fraction_ms *= 10;
      }
    }
    // 24:00:00 is the end of the day; 23:59:60 a leap second (it reads as the
    // next minute's first second, as in POSIX time).
    if (hour > 24 || minute > 59 || second > 60) return std::nullopt;
    if (hour == 24 && (minute != 0 || second != 0 || fraction_nonzero)) return std::nullopt;
    if (i < s.size()) {
      const char z = s[i++];
      if (z == '+' || z == '-') {
        int oh = 0, om = 0;
        if (!number(2, &oh)) return std::nullopt;
        if (literal(':')) {
          if (!number(2, &om)) return std::nullopt;
        } else if (i < s.size() && !number(2, &om)) {
          return std::nullopt;
        }
        if (oh > 23 || om > 59) return std::nullopt;
        offset_min = (oh * 60 + om) * (z == '-' ? -1 : 1);
      } else if (z != 'Z' && z != 'z') {
        return std::nullopt;
      }
    }
  }
  if (i != s.size()) return std::nullopt;

  const int64_t days = extract::DaysFromCivil(year, month, day);
  const int64_t seconds = ((days * 24 + hour) * 60 + minute) * 60 + second - offset_min * 60;
  return seconds * 1000 + fraction_ms;
}

}  // namespace chaperone
