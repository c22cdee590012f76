// json::AppendString and json::IsValidUtf8 (lib/record/json_writer.h) skip
// plain ASCII eight bytes at a time; they must agree with a byte-at-a-time
// reading of the same rules on every byte, wherever it falls in a word.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "lib/record/json_writer.h"

namespace chaperone::json {
namespace {

// The rules, one byte at a time: the length of the valid UTF-8 sequence at
// s[i] (0: invalid), ...
size_t RefSequenceLength(const std::string& s, size_t i) {
  auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0x00; };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2) || (c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) >= 0xA0)) return 0;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3) || (c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) >= 0x90)) return 0;
    return 4;
  }
  return 0;
}

bool RefValid(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = RefSequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// ... and the JSON string literal of s.
std::string RefString(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = RefSequenceLength(s, i);
      out += n ? s.substr(i, n) : "\\ufffd";
      i += n ? n : 1;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char esc[8];
          std::snprintf(esc, sizeof esc, "\\u%04x", c);
          out += esc;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  return out + "\"";
}

void ExpectAgrees(const std::string& s) {
  std::string got;
  AppendString(got, s);
  EXPECT_EQ(got, RefString(s)) << "input of " << s.size() << " bytes";
  EXPECT_EQ(IsValidUtf8(s), RefValid(s)) << "input of " << s.size() << " bytes";
}

TEST(RecordJsonWriter, EveryByteAtEveryPositionOfAWord) {
  const std::string base = "abcdefghijklmnopqrstuvwx";  // three words
  for (size_t pos = 0; pos < base.size(); ++pos) {
    for (int c = 0; c < 256; ++c) {
      std::string s = base;
      s[pos] = static_cast<char>(c);
      ExpectAgrees(s);
      ExpectAgrees(s.substr(0, pos + 1));
    }
  }
}

TEST(RecordJsonWriter, RandomMixesOfAsciiEscapesAndUtf8) {
  // Bytes next to every boundary the word tests draw, and whole sequences.
  const std::vector<std::string> pieces = {
      "a", "Z", " ", "!", "#", "[", "]", "~", "\x7f", "\x1f", std::string(1, '\0'), "\n", "\t", "\"", "\\",
      "\x80", "\xbf", "\xc0", "\xc1", "\xc2", "\xff", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
      "\xed\xa0\x80", "\xe0\x80\x80", "\xf4\x90\x80\x80", "abcdefgh", "0123456789abcdef"};
  std::mt19937_64 rng(18);
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    const size_t parts = rng() % 24;
    for (size_t k = 0; k < parts; ++k) s += pieces[rng() % pieces.size()];
    ExpectAgrees(s);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace chaperone::json
