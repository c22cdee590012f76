#include "lib/util/base64.h"

#include <gtest/gtest.h>

#include <random>

#include "lib/util/varint.h"

namespace chaperone::util {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\xfb\xff\xbf", 3)), "+/+/");
}

TEST(Base64, DecodesPaddedAndUnpaddedInput) {
  for (const auto& [text, plain] : std::vector<std::pair<std::string, std::string>>{
           {"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
           {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}, {"Zg", "f"}, {"Zm8", "fo"}, {"Zm9vYmE", "fooba"}}) {
    Result<std::string> r = Base64Decode(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().ToString();
    EXPECT_EQ(*r, plain) << text;
  }
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::mt19937 rng(7);
  for (size_t len = 0; len < 300; ++len) {
    std::string bytes(len, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() & 0xff);
    std::string text = Base64Encode(bytes);
    EXPECT_EQ(text.size() % 4, 0u);
    Result<std::string> back = Base64Decode(text);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, bytes);
  }
}

TEST(Base64, RejectsMalformedInputWithAReason) {
  struct Case {
    std::string text;
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"Zm9v!", "invalid character '!' at position 4"},
           {"Zm 9v", "invalid character byte 0x20 at position 2"},
           {"Zm9v\n", "invalid character byte 0x0a at position 4"},
           {"Zm-_", "invalid character '-' at position 2"},
           {"Zg=", "not a multiple of 4"},
           {"Z", "impossible length"},
           {"Zm9vY", "impossible length"},
           {"Zh==", "non-zero trailing bits"},
           {"Zm9=", "non-zero trailing bits"},
           {"Zg==Zg==", "invalid character '=' at position 2"},
           {"====", "invalid character '=' at position 0"},
           {"Zm9v=", "not a multiple of 4"},
           {"Zm9v====", "invalid character '='"},
           {std::string("Zm\0v", 4), "invalid character byte 0x00 at position 2"},
       }) {
    Result<std::string> r = Base64Decode(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.reason), std::string::npos) << c.text << " -> " << r.status().message();
  }
}

TEST(Varint, RoundTripsAndRejectsTruncatedOrOverlongInput) {
  std::string buf;
  const std::vector<uint64_t> values = {0, 1, 127, 128, 300, 1ULL << 35, UINT64_MAX};
  for (uint64_t v : values) PutVarint64(&buf, v);
  ByteReader in(buf);
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(in.GetVarint64(&got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(in.done());

  uint64_t v = 0;
  const std::string truncated_bytes("\x80\x80", 2);
  ByteReader truncated(truncated_bytes);
  EXPECT_FALSE(truncated.GetVarint64(&v));
  const std::string overlong_bytes = std::string(11, '\x80') + '\x01';
  ByteReader overlong(overlong_bytes);
  EXPECT_FALSE(overlong.GetVarint64(&v));
  const std::string too_big_bytes = std::string(9, '\xff') + '\x02';  // 2^64 and more
  ByteReader too_big(too_big_bytes);
  EXPECT_FALSE(too_big.GetVarint64(&v));
  const std::string max_bytes = std::string(9, '\xff') + '\x01';  // 2^64 - 1
  ByteReader max(max_bytes);
  ASSERT_TRUE(max.GetVarint64(&v));
  EXPECT_EQ(v, UINT64_MAX);

  for (int64_t s : {int64_t{0}, int64_t{-1}, int64_t{1}, int64_t{-350}, INT64_MIN, INT64_MAX}) {
    EXPECT_EQ(ZigZagDecode(ZigZagEncode(s)), s);
  }
  EXPECT_EQ(ZigZagEncode(-1), 1u);
  EXPECT_EQ(ZigZagEncode(1), 2u);
}

}  // namespace
}  // namespace chaperone::util
