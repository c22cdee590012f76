// ParseJsonNumber reads the integer part eight digits at a time; it must give
// exactly what reading one digit at a time gives.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "lib/extract/time_parse.h"

namespace chaperone::extract {
namespace {

// The digit-at-a-time reading of an integer part: the first 19 digits kept,
// further ones counted in the exponent.
Decimal Reference(const std::string& digits) {
  Decimal d;
  for (char c : digits) {
    if (d.digits < 19) {
      d.mantissa = d.mantissa * 10 + static_cast<unsigned>(c - '0');
      d.digits++;
    } else {
      d.exp10++;
    }
  }
  return d;
}

TEST(JsonNumber, IntegerPartsOfEveryLengthMatchTheDigitByDigitReading) {
  std::mt19937_64 rng(42);
  for (int len = 1; len <= 40; ++len) {
    for (int trial = 0; trial < 200; ++trial) {
      std::string digits(1, static_cast<char>('1' + rng() % 9));
      while (static_cast<int>(digits.size()) < len) digits += static_cast<char>('0' + rng() % 10);
      for (const std::string& tail : {std::string(), std::string(","), std::string("}"), std::string(".5"),
                                      std::string("e3"), std::string("x1234567")}) {
        const std::string text = digits + tail;
        Decimal d;
        const char* end = ParseJsonNumber(text.data(), text.data() + text.size(), &d);
        Decimal want = Reference(digits);
        if (tail == ".5") {
          if (want.digits < 19) {
            want.mantissa = want.mantissa * 10 + 5;
            want.digits++;
            want.exp10--;
          }
        } else if (tail == "e3") {
          want.exp10 += 3;
        }
        ASSERT_NE(end, nullptr) << text;
        const size_t consumed = static_cast<size_t>(end - text.data());
        const size_t expected_len = digits.size() + (tail == ".5" || tail == "e3" ? tail.size() : 0);
        ASSERT_EQ(consumed, expected_len) << text;
        ASSERT_EQ(d.mantissa, want.mantissa) << text;
        ASSERT_EQ(d.digits, want.digits) << text;
        ASSERT_EQ(d.exp10, want.exp10) << text;
      }
    }
  }
}

TEST(JsonNumber, ANonDigitInsideAnEightByteBlockEndsTheNumber) {
  for (int at = 1; at < 12; ++at) {
    std::string text = "123456789012";
    text[at] = ':';
    Decimal d;
    const char* end = ParseJsonNumber(text.data(), text.data() + text.size(), &d);
    ASSERT_NE(end, nullptr);
    EXPECT_EQ(end - text.data(), at) << text;
    EXPECT_EQ(d.mantissa, std::stoull(text.substr(0, at))) << text;
  }
  // Bytes just outside '0'..'9' ('/' and ':') and high bytes are not digits.
  for (char c : {'/', ':', '\x80', '\xB0', '\xF0', ' '}) {
    std::string text = "1700000000000";
    text[9] = c;
    Decimal d;
    const char* end = ParseJsonNumber(text.data(), text.data() + text.size(), &d);
    EXPECT_EQ(end - text.data(), 9);
  }
}

// The digits after the first eight are read as one block when eight bytes
// can be: every byte value after them must end the number, also one that
// carries into the bytes after it (0xFA and up) followed by digits.
TEST(JsonNumber, EveryByteAfterTheDigitsOfABlockIsJudgedAlone) {
  for (int len = 9; len <= 19; ++len) {
    const std::string digits = std::string("1234567890123456789").substr(0, static_cast<size_t>(len));
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      if ((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E') continue;  // digits, fraction, exponent
      for (const std::string& after : {std::string("99999999"), std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF")}) {
        const std::string text = digits + c + after;
        Decimal d;
        const char* end = ParseJsonNumber(text.data(), text.data() + text.size(), &d);
        ASSERT_NE(end, nullptr) << len << " " << b;
        ASSERT_EQ(end - text.data(), len) << len << " " << b;
        ASSERT_EQ(d.mantissa, std::stoull(digits)) << len << " " << b;
        ASSERT_EQ(d.exp10, 0);
      }
    }
  }
}

}  // namespace
}  // namespace chaperone::extract
