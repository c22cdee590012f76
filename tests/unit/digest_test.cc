#include "chaperone/digest.h"

#include <gtest/gtest.h>
#include <xxhash.h>  // the shared library, to check the documented definition

#include <set>
#include <string>

namespace chaperone {
namespace {

// docs/digest.md, written out with libxxhash's own entry points.
uint64_t ReferenceDigest(std::string_view key, bool key_null, std::string_view value, bool value_null) {
  const uint64_t seed_base = 0x6368617065726f6cULL;  // "chaperol": "chaperon" with the two low bits cleared
  uint64_t flags = (key_null ? 0 : 1) | (value_null ? 0 : 2);
  if (key_null) key = {};
  if (value_null) value = {};
  uint64_t k = XXH3_64bits_withSeed(key.data(), key.size(), seed_base | flags);
  return XXH3_64bits_withSeed(value.data(), value.size(), k);
}

TEST(MessageDigest, MatchesTheDocumentedDefinition) {
  const std::vector<std::string> samples = {"", "a", "ab", "abc", std::string(15, 'x'), std::string(16, 'x'),
                                            std::string(17, 'x'), std::string(128, 'y'), std::string(129, 'y'),
                                            std::string(240, 'z'), std::string(241, 'z'), std::string(5000, 'q'),
                                            std::string("\0\xff\x01", 3)};
  for (const auto& k : samples) {
    for (const auto& v : samples) {
      for (int nulls = 0; nulls < 4; ++nulls) {
        bool kn = nulls & 1, vn = nulls & 2;
        ASSERT_EQ(MessageDigest(k, kn, v, vn), ReferenceDigest(k, kn, v, vn)) << k.size() << "/" << v.size();
      }
    }
  }
}

TEST(MessageDigest, IsStableAcrossReleases) {
  // Tiers running different builds must agree: these values never change.
  EXPECT_EQ(MessageDigest("", true, "", true), 0xe534d65233bb4472ULL);
  EXPECT_EQ(MessageDigest("", false, "", false), 0x28c83e12d56d9107ULL);
  EXPECT_EQ(MessageDigest("user-42", false, R"({"ts":1700000000000,"v":1})", false), 0x2892d308ef9c4e92ULL);
  EXPECT_EQ(MessageDigest("", true, "hello", false), 0xe55bb91eb94f1ea8ULL);
}

TEST(MessageDigest, KeyValueBoundaryMatters) {
  EXPECT_NE(MessageDigest("ab", false, "c", false), MessageDigest("a", false, "bc", false));
  EXPECT_NE(MessageDigest("abc", false, "", false), MessageDigest("", false, "abc", false));
  EXPECT_NE(MessageDigest("k", false, "v", false), MessageDigest("v", false, "k", false));
  EXPECT_EQ(MessageDigest("k", false, "v", false), MessageDigest("k", false, "v", false));
}

TEST(MessageDigest, NullDiffersFromEmpty) {
  std::set<uint64_t> seen;
  for (int nulls = 0; nulls < 4; ++nulls) seen.insert(MessageDigest("", nulls & 1, "", nulls & 2));
  EXPECT_EQ(seen.size(), 4u);
  // A null side's bytes do not matter.
  EXPECT_EQ(MessageDigest("ignored", true, "v", false), MessageDigest("", true, "v", false));
  EXPECT_EQ(MessageDigest("k", false, "ignored", true), MessageDigest("k", false, "", true));
}

TEST(MessageDigest, DistinctMessagesGetDistinctDigests) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 100'000; ++i) {
    std::string key = "key-" + std::to_string(i % 1000);
    std::string value = "{\"seq\":" + std::to_string(i) + "}";
    seen.insert(MessageDigest(key, false, value, false));
  }
  EXPECT_EQ(seen.size(), 100'000u);
}

TEST(WindowDigest, SumRevealsLossMaskedByDuplicates) {
  std::vector<uint64_t> d;
  for (int i = 0; i < 10; ++i) d.push_back(MessageDigest("k", false, "message " + std::to_string(i), false));
  uint64_t sent = 0, forward = 0, backward = 0;
  for (uint64_t x : d) sent = CombineDigests(sent, x);
  for (size_t i = 0; i < d.size(); ++i) forward += d[i];
  for (size_t i = d.size(); i-- > 0;) backward += d[i];
  EXPECT_EQ(sent, forward);
  EXPECT_EQ(forward, backward);  // order does not matter
  // Same count, one message lost and another duplicated: the digest differs.
  uint64_t received = sent - d[3] + d[7];
  EXPECT_NE(received, sent);
  // Partial sums from two flushes add up to the whole (mod 2^64).
  uint64_t first = 0, second = 0;
  for (size_t i = 0; i < 4; ++i) first += d[i];
  for (size_t i = 4; i < d.size(); ++i) second += d[i];
  EXPECT_EQ(CombineDigests(first, second), sent);
}

}  // namespace
}  // namespace chaperone
