// An emitter's incomplete spans (src/store/SCHEMA.md, `emitters.incomplete`):
// merging keeps every instant covered and the list bounded; what
// EncodeIncomplete writes DecodeIncomplete reads back with each span on its
// gap; a damaged value never loses a span it could read.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/engine.h"
#include "store/store.h"

namespace chaperone::store::internal {
namespace {

using Spans = std::vector<Span>;

TEST(MergeSpans, SortsAndMergesSpansThatOverlapOrTouch) {
  Spans s = {{50, 60}, {0, 10}, {10, 20}, {30, 40}, {35, 45}, {70, 69}};  // the last ends before it begins
  MergeSpans(s);
  EXPECT_EQ(s, (Spans{{0, 20}, {30, 45}, {50, 60}}));
}

TEST(MergeSpans, OverTheLimitTheOldestBecomeOneThatCoversThem) {
  Spans s;
  for (int64_t i = 0; i < 10; ++i) s.emplace_back(i * 100, i * 100 + 10);
  MergeSpans(s, 4);
  EXPECT_EQ(s, (Spans{{0, 610}, {700, 710}, {800, 810}, {900, 910}}));
  Spans unbounded;
  for (int64_t i = 0; i < 1000; ++i) unbounded.emplace_back(i * 100, i * 100 + 10);
  MergeSpans(unbounded, 0);
  EXPECT_EQ(unbounded.size(), 1000u);
  MergeSpans(unbounded);
  ASSERT_EQ(unbounded.size(), kMaxIncompleteSpans);
  EXPECT_EQ(unbounded.front(), (Span{0, (1000 - static_cast<int64_t>(kMaxIncompleteSpans)) * 100 + 10}));
  EXPECT_EQ(unbounded.back(), (Span{99'900, 99'910}));
}

EmitterState WithGaps(const std::string& gaps, const std::string& incomplete) {
  EmitterState e;
  e.gaps = DecodeGaps(gaps);
  DecodeIncomplete(incomplete, e);
  return e;
}

TEST(IncompleteSpans, EachGapGetsItsSpanBackAndTheRestAreSpansOfNoGap) {
  EmitterState e;
  e.gaps = {Gap{3, 4, Span{100, 200}}, Gap{6, 6, std::nullopt}, Gap{9, 12, Span{150, 400}}};
  e.spans = {{-5, 20}, {500, 600}};
  const std::string text = EncodeIncomplete(e);
  EXPECT_EQ(text, "-5-20,500-600,100-200@3,150-400@9");
  EXPECT_EQ(EncodeGaps(e.gaps), "3-4,6-6,9-12");
  EmitterState back = WithGaps(EncodeGaps(e.gaps), text);
  EXPECT_EQ(back.gaps, e.gaps);
  EXPECT_EQ(back.spans, e.spans);
  EXPECT_EQ(IncompleteSpans(back), (Spans{{-5, 20}, {100, 400}, {500, 600}}));
}

TEST(IncompleteSpans, ASpanWhoseGapIsNotOpenIsKeptAsASpanOfNoGap) {
  EmitterState e = WithGaps("3-4", "100-200@3,300-400@7,50-60@3");
  ASSERT_EQ(e.gaps.size(), 1u);
  EXPECT_EQ(e.gaps[0].span, (Span{50, 200}));  // two entries for one gap: the span covering both
  EXPECT_EQ(e.spans, (Spans{{300, 400}}));
}

TEST(IncompleteSpans, DecodingStopsAtADamagedEntryKeepingWhatCameBefore) {
  EXPECT_EQ(WithGaps("", "1-2,3-x,5-6").spans, (Spans{{1, 2}}));
  EXPECT_EQ(WithGaps("", "1-2,9-3,5-6").spans, (Spans{{1, 2}}));  // ends before it begins
  EXPECT_EQ(WithGaps("", "1-2,3-4@,5-6").spans, (Spans{{1, 2}, {3, 4}}));  // its gap unreadable: kept
  EXPECT_TRUE(WithGaps("", "garbage").spans.empty());
  EXPECT_TRUE(WithGaps("", "").spans.empty());
}

TEST(IncompleteSpans, ALongValueIsBoundedAsTheEngineKeepsIt) {
  std::string text;
  for (int64_t i = 0; i < 10'000; ++i) text += std::to_string(i * 10) + "-" + std::to_string(i * 10 + 1) + ",";
  EmitterState e = WithGaps("", text);
  ASSERT_EQ(e.spans.size(), kMaxIncompleteSpans);
  EXPECT_EQ(e.spans.front().first, 0);
  EXPECT_EQ(e.spans.back(), (Span{99'990, 99'991}));
}

}  // namespace
}  // namespace chaperone::store::internal
