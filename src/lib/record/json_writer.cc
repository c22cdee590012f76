#include "lib/record/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace chaperone::json {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Eight bytes at a time (SWAR): values and documents are mostly long runs of
// plain ASCII, which these let through a word at a time. Each test is exact
// for the word as a whole (not for which byte): a word that fails one is then
// read byte by byte.
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;

uint64_t Load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof w);
  return w;
}
bool AnyNonAscii(uint64_t w) { return (w & kHighBits) != 0; }
bool AnyZeroByte(uint64_t w) { return ((w - kOnes) & ~w & kHighBits) != 0; }
// Some byte is below 0x20, '"' or '\\' (escaped), or not ASCII (checked as UTF-8).
bool AnyToEscape(uint64_t w) {
  return AnyNonAscii(w) || ((w - kOnes * 0x20) & ~w & kHighBits) != 0 || AnyZeroByte(w ^ (kOnes * '"')) ||
         AnyZeroByte(w ^ (kOnes * '\\'));
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is invalid
// (truncated, overlong, surrogate, above U+10FFFF, stray continuation byte).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (i + 8 <= s.size() && !AnyNonAscii(Load8(s.data() + i))) {
      i += 8;
      continue;
    }
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

void AppendString(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // Copy the longest run that needs no escaping in one go: found eight
    // bytes at a time, then byte by byte.
    size_t run = i;
    while (run + 8 <= s.size() && !AnyToEscape(Load8(s.data() + run))) run += 8;
    while (run < s.size()) {
      auto c = static_cast<unsigned char>(s[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out.append("\\ufffd");
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(esc, sizeof esc);
      }
    }
    ++i;
  }
  out.push_back('"');
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always suffice for an int64
  out.append(buf, static_cast<size_t>(end - buf));
}

void AppendDouble(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[40];
  // `general` without a precision is the shortest round-trip form, and it
  // switches to an exponent before an integer part could overflow int64.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf - 2, v, std::chars_format::general);
  (void)ec;  // 38 bytes always suffice for a double
  size_t n = static_cast<size_t>(end - buf);
  if (std::memchr(buf, '.', n) == nullptr && std::memchr(buf, 'e', n) == nullptr) {
    buf[n++] = '.';
    buf[n++] = '0';
  }
  out.append(buf, n);
}

}  // namespace chaperone::json
