// Provenance headers: round trip, header preservation, garbage in, and the
// loop-prevention rule.
#include <gtest/gtest.h>

#include <random>

#include "replicate/provenance.h"

namespace chaperone::replicate {
namespace {

Provenance Sample() { return Provenance{{"dc1", "orders", PartitionId(7)}, Offset(123456789012)}; }

std::vector<HeaderView> Views(const std::vector<Header>& hs) {
  std::vector<HeaderView> out;
  for (const auto& h : hs) out.push_back({h.name, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt});
  return out;
}

TEST(Provenance, RoundTripsThroughItsHeaders) {
  auto hs = EncodeProvenance(Sample());
  ASSERT_TRUE(hs.ok());
  ASSERT_EQ(hs->size(), 5u);
  EXPECT_EQ((*hs)[3].value->size(), 4u);  // partition: int32 big-endian
  EXPECT_EQ((*hs)[4].value->size(), 8u);  // offset: int64 big-endian
  auto p = DecodeProvenance(Views(*hs));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p, Sample());
}

TEST(Provenance, EncodingRefusesWhatCouldNotBeDecoded) {
  Provenance p = Sample();
  p.origin.cluster = "";
  EXPECT_FALSE(EncodeProvenance(p).ok());
  p = Sample();
  p.origin.topic = "bad topic";
  EXPECT_FALSE(EncodeProvenance(p).ok());
  p = Sample();
  p.offset = Offset(-1);
  EXPECT_FALSE(EncodeProvenance(p).ok());
}

TEST(Provenance, WithProvenanceKeepsOtherHeadersAndReplacesAnEarlierHop) {
  std::string binary("\x00\xff", 2);
  auto first = EncodeProvenance({{"dc0", "x", PartitionId(1)}, Offset(5)});
  ASSERT_TRUE(first.ok());
  std::vector<Header> in = {{"trace", std::string("abc")}, {"nullh", std::nullopt}, {"bin", binary}};
  for (auto& h : *first) in.push_back(h);
  in.push_back({"trace", std::string("again")});  // repeated names are kept, in order
  auto out = WithProvenance(Views(in), Sample());
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 4u + 5u);
  EXPECT_EQ((*out)[0], (Header{"trace", std::string("abc")}));
  EXPECT_EQ((*out)[1], (Header{"nullh", std::nullopt}));
  EXPECT_EQ((*out)[2], (Header{"bin", binary}));
  EXPECT_EQ((*out)[3], (Header{"trace", std::string("again")}));
  auto p = DecodeProvenance(Views(*out));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, Sample());
}

TEST(Provenance, ARecordWithoutProvenanceIsForeign) {
  std::vector<HeaderView> hs = {{"trace", std::string_view("x")}};
  EXPECT_EQ(DecodeProvenance(hs).status().code(), Status::Code::kNotFound);
  EXPECT_EQ(DecodeProvenance({}).status().code(), Status::Code::kNotFound);
}

TEST(Provenance, MalformedHeadersAreCorruptionNeverACrash) {
  auto good = *EncodeProvenance(Sample());
  auto expect_corrupt = [](std::vector<Header> hs, const char* why) {
    auto p = DecodeProvenance(Views(hs));
    EXPECT_EQ(p.status().code(), Status::Code::kCorruption) << why << ": " << p.status().ToString();
  };
  for (size_t i = 0; i < good.size(); ++i) {
    auto hs = good;
    hs.erase(hs.begin() + static_cast<long>(i));
    expect_corrupt(hs, "missing");
    hs = good;
    hs.push_back(good[i]);
    expect_corrupt(hs, "repeated");
    hs = good;
    hs[i].value = std::nullopt;
    expect_corrupt(hs, "null");
    hs = good;
    hs[i].value->push_back('x');
    if (i != 1 && i != 2) expect_corrupt(hs, "one byte too long");
  }
  auto hs = good;
  (*hs[0].value)[0] = 2;
  expect_corrupt(hs, "version 2");
  hs = good;
  hs[2].value = "bad/topic";
  expect_corrupt(hs, "bad topic");
  hs = good;
  *hs[4].value = std::string("\xff\xff\xff\xff\xff\xff\xff\xff", 8);
  expect_corrupt(hs, "negative offset");
  hs = good;
  hs[1].value = "";
  expect_corrupt(hs, "empty cluster");
  // Unknown chaperone.origin.* names are ignored (later versions may add some).
  hs = good;
  hs.push_back({"chaperone.origin.future", std::string("1")});
  EXPECT_TRUE(DecodeProvenance(Views(hs)).ok());
}

TEST(Provenance, RandomHeadersNeverCrashTheDecoder) {
  std::mt19937 rng(42);
  auto good = *EncodeProvenance(Sample());
  for (int round = 0; round < 20000; ++round) {
    auto hs = good;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      auto& h = hs[rng() % hs.size()];
      if (!h.value) h.value = "";
      std::string& v = *h.value;
      switch (rng() % 3) {
        case 0: if (!v.empty()) v[rng() % v.size()] = static_cast<char>(rng()); break;
        case 1: v.push_back(static_cast<char>(rng())); break;
        default: if (!v.empty()) v.pop_back(); break;
      }
    }
    auto p = DecodeProvenance(Views(hs));
    if (p.ok()) {
      EXPECT_FALSE(p->origin.cluster.empty());
      EXPECT_GE(p->offset.value(), 0);
      EXPECT_GE(p->origin.partition.value(), 0);
    }
  }
}

TEST(Provenance, ARecordFromTheDestinationClusterIsNotCopiedBack) {
  auto hs = *EncodeProvenance(Sample());  // origin dc1
  EXPECT_EQ(DecideCopy(Views(hs), "dc1"), CopyDecision::kSkipOriginIsDestination);
  EXPECT_EQ(DecideCopy(Views(hs), "aggregate"), CopyDecision::kCopy);
  EXPECT_EQ(DecideCopy({}, "dc1"), CopyDecision::kCopy);
  hs[4].value = "short";
  EXPECT_EQ(DecideCopy(Views(hs), "dc1"), CopyDecision::kCopyMalformedProvenance);
}

}  // namespace
}  // namespace chaperone::replicate
