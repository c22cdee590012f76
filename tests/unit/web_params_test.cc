// Parameter parsing of the web API, and its JSON writer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "web/json_writer.h"
#include "web/params.h"

namespace chaperone::web {
namespace {

TEST(ParseTimeSec, AcceptsEpochSeconds) {
  EXPECT_EQ(*ParseTimeSec("1795303800"), 1795303800);
  EXPECT_EQ(*ParseTimeSec("0"), 0);
  EXPECT_EQ(*ParseTimeSec("253402300799"), 253402300799);
}

TEST(ParseTimeSec, AcceptsIso8601InItsCommonForms) {
  EXPECT_EQ(*ParseTimeSec("2026-11-22T10:00:00Z"), 1795341600);
  EXPECT_EQ(*ParseTimeSec("2026-11-22t10:00:00z"), 1795341600);
  EXPECT_EQ(*ParseTimeSec("2026-11-22T10:00Z"), 1795341600);
  EXPECT_EQ(*ParseTimeSec("2026-11-22T10:00:00"), 1795341600);  // no zone: UTC
  EXPECT_EQ(*ParseTimeSec("2026-11-22 10:00:00Z"), 1795341600);
  EXPECT_EQ(*ParseTimeSec("2026-11-22T11:30:00+01:30"), 1795341600);
  EXPECT_EQ(*ParseTimeSec("2026-11-22T08:00:00-0200"), 1795341600);
  EXPECT_EQ(*ParseTimeSec("2026-11-22T10:00:00.999Z"), 1795341600);  // fractions floored
  EXPECT_EQ(*ParseTimeSec("2026-11-22"), 1795305600);
  EXPECT_EQ(*ParseTimeSec("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*ParseTimeSec("2024-02-29T00:00:00Z"), 1709164800);  // leap day
  // ISO-8601 allows these; they name the next second / midnight.
  EXPECT_EQ(*ParseTimeSec("2026-11-22T09:59:60Z"), 1795341600);
  EXPECT_EQ(*ParseTimeSec("2026-11-21T24:00:00Z"), 1795305600);
  EXPECT_EQ(*ParseTimeSec("2026-11-22T10:00:00.1234567890Z"), 1795341600);
}

TEST(ParseTimeSec, RejectsMalformedAndOutOfRangeTimes) {
  for (const char* bad : {"",
                          "now",
                          "yesterday",
                          "2026-13-01",
                          "2026-02-29",
                          "2023-02-29T00:00:00Z",
                          "2026-11-31",
                          "2026-11-22T25:00:00Z",
                          "2026-11-22T10:60:00Z",
                          "2026-11-22T10:00:61Z",
                          "2026-11-22T10:00:00+25:00",
                          "2026-11-22T10:00:00ZZ",
                          "2026-11-22T10",
                          "2026-11-22T",
                          "2026-11-22T10:00:00.Z",
                          "26-11-22",
                          "2026/11/22",
                          "1795303800.5",
                          "+1795303800",
                          " 1795303800",
                          "1795303800 ",
                          "0x10",
                          "1e9",
                          "-1",
                          "-1795303800",
                          "1795303800000",  // milliseconds, not seconds
                          "99999999999999999999999999",
                          "1969-12-31T23:59:59Z",
                          "10000-01-01",
                          "2026-11-22T10:00:00Z'; DROP TABLE windows; --"}) {
    auto r = ParseTimeSec(bad);
    EXPECT_FALSE(r.ok()) << bad << " parsed as " << (r.ok() ? *r : 0);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    }
  }
}

TEST(ParseTimeSec, ErrorMessagesSayWhatIsWrong) {
  EXPECT_NE(ParseTimeSec("1795303800000").status().message().find("milliseconds"), std::string::npos);
  EXPECT_NE(ParseTimeSec("2026-13-01").status().message().find("ISO-8601"), std::string::npos);
  EXPECT_NE(ParseTimeSec("-5").status().message().find("1970"), std::string::npos);
}

// `since` of /api/v1/alerts: epoch seconds or milliseconds by magnitude, or ISO-8601 to the millisecond.
TEST(ParseTimeMs, TellsSecondsFromMillisecondsAndKeepsMilliseconds) {
  EXPECT_EQ(*ParseTimeMs("1795303800"), 1795303800000);
  EXPECT_EQ(*ParseTimeMs("1795303800123"), 1795303800123);
  EXPECT_EQ(*ParseTimeMs("0"), 0);
  EXPECT_EQ(*ParseTimeMs("99999999999"), 99999999999000);      // below 1e11: seconds
  EXPECT_EQ(*ParseTimeMs("100000000000"), 100000000000);       // from 1e11: milliseconds (1973)
  EXPECT_EQ(*ParseTimeMs("253402300799999"), 253402300799999);  // 9999-12-31T23:59:59.999Z
  EXPECT_EQ(*ParseTimeMs("2026-11-22T10:00:00Z"), 1795341600000);
  EXPECT_EQ(*ParseTimeMs("2026-11-22T10:00:00.25Z"), 1795341600250);
  EXPECT_EQ(*ParseTimeMs("2026-11-22T11:30:00.999+01:30"), 1795341600999);
  for (const char* bad : {"", "now", "-1", "1e12", "1795303800.5", " 0", "253402300800000", "2026-13-01",
                          "99999999999999999999"}) {
    auto r = ParseTimeMs(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << bad;
    }
  }
  EXPECT_NE(ParseTimeMs("253402300800000").status().message().find("out of range"), std::string::npos);
  EXPECT_NE(ParseTimeMs("-5").status().message().find("1970"), std::string::npos);
  EXPECT_NE(ParseTimeMs("soon").status().message().find("epoch seconds, epoch milliseconds or ISO-8601"),
            std::string::npos);
}

TEST(ParseInt, AcceptsOnlyPlainIntegersInRange) {
  EXPECT_EQ(*ParseInt("42", 0, 100), 42);
  EXPECT_EQ(*ParseInt("007", 0, 100), 7);
  EXPECT_EQ(*ParseInt("-3", -10, 10), -3);
  EXPECT_FALSE(ParseInt("-3", 0, 10).ok());
  EXPECT_FALSE(ParseInt("101", 0, 100).ok());
  EXPECT_FALSE(ParseInt("", 0, 100).ok());
  EXPECT_FALSE(ParseInt("+5", 0, 100).ok());
  EXPECT_FALSE(ParseInt("5 ", 0, 100).ok());
  EXPECT_FALSE(ParseInt("1.5", 0, 100).ok());
  EXPECT_FALSE(ParseInt("99999999999999999999999999999", 0, 100).ok());
  EXPECT_FALSE(ParseInt("9223372036854775808", 0, INT64_MAX).ok());
  EXPECT_EQ(*ParseInt("000000000000000000000000001", 0, 100), 1);
}

TEST(TierNames, AreFreeFormButBounded) {
  EXPECT_TRUE(IsValidTierName("consumer:billing"));
  EXPECT_TRUE(IsValidTierName("tier with spaces"));
  EXPECT_FALSE(IsValidTierName(""));
  EXPECT_FALSE(IsValidTierName("a,b"));
  EXPECT_FALSE(IsValidTierName(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidTierName("a\nb"));
  EXPECT_FALSE(IsValidTierName(std::string(256, 'x')));
}

TEST(SplitList, KeepsEmptyItemsForTheCallerToReject) {
  EXPECT_EQ(SplitList("a,b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(SplitList("a"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(SplitList("a,,b,"), (std::vector<std::string>{"a", "", "b", ""}));
}

QueryParams Q(std::initializer_list<std::pair<const std::string, std::string>> kv) {
  return QueryParams(std::multimap<std::string, std::string>(kv));
}

TEST(QueryParams, RejectsUnknownAndRepeatedParameters) {
  auto q = Q({{"from", "1"}, {"form", "2"}});
  Status s = q.OnlyAllow({"from", "to"});
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("'form'"), std::string::npos);
  EXPECT_TRUE(q.OnlyAllow({"from", "form"}).ok());
  auto r = Q({{"tier", "a"}, {"tier", "b"}});
  EXPECT_FALSE(r.Get("tier").ok());
  EXPECT_EQ(r.GetAll("tier"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(r.Get("missing")->has_value());
}

TEST(ParseTimeRange, DefaultsToTheLast24Hours) {
  auto r = ParseTimeRange(Q({}), 1795303800);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->to_sec, 1795303800);
  EXPECT_EQ(r->from_sec, 1795303800 - 86400);
  r = ParseTimeRange(Q({{"to", "1795000000"}}), 1795303800);
  EXPECT_EQ(r->from_sec, 1795000000 - 86400);
  r = ParseTimeRange(Q({{"from", "1795300000"}}), 1795303800);
  EXPECT_EQ(r->from_sec, 1795300000);
  EXPECT_EQ(r->to_sec, 1795303800);
  r = ParseTimeRange(Q({}), 100);  // near the epoch: from clamps at 0
  EXPECT_EQ(r->from_sec, 0);
}

TEST(ParseTimeRange, RejectsEmptyNegativeAndTooLongRanges) {
  EXPECT_FALSE(ParseTimeRange(Q({{"from", "200"}, {"to", "100"}}), 1000).ok());
  EXPECT_FALSE(ParseTimeRange(Q({{"from", "100"}, {"to", "100"}}), 1000).ok());
  EXPECT_TRUE(ParseTimeRange(Q({{"from", "0"}, {"to", std::to_string(90 * 86400)}}), 1000).ok());
  auto too_long = ParseTimeRange(Q({{"from", "0"}, {"to", std::to_string(90 * 86400 + 1)}}), 1000);
  EXPECT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("90 days"), std::string::npos);
  EXPECT_FALSE(ParseTimeRange(Q({{"from", "0"}, {"to", "253402300799"}}), 1000).ok());
  EXPECT_FALSE(ParseTimeRange(Q({{"from", "x"}}), 1000).ok());
  EXPECT_FALSE(ParseTimeRange(Q({{"from", "1"}, {"from", "2"}}), 1000).ok());
  // A future "from" with the default "to" (now) is an empty range.
  EXPECT_FALSE(ParseTimeRange(Q({{"from", "2000"}}), 1000).ok());
}

TEST(ParseIntParam, AppliesDefaultAndBounds) {
  EXPECT_EQ(*ParseIntParam(Q({}), "limit", 1000, 1, 10000), 1000);
  EXPECT_EQ(*ParseIntParam(Q({{"limit", "10000"}}), "limit", 1000, 1, 10000), 10000);
  EXPECT_FALSE(ParseIntParam(Q({{"limit", "10001"}}), "limit", 1000, 1, 10000).ok());
  EXPECT_FALSE(ParseIntParam(Q({{"limit", "0"}}), "limit", 1000, 1, 10000).ok());
  EXPECT_FALSE(ParseIntParam(Q({{"limit", "-1"}}), "limit", 1000, 1, 10000).ok());
}

// ---------------------------------------------------------------------------
// JsonWriter

TEST(JsonWriter, WritesNestedValuesWithCommas) {
  JsonWriter w;
  w.BeginObject()
      .Field("a", int64_t{1})
      .Key("b")
      .BeginArray()
      .Int(1)
      .Double(2.5)
      .Null()
      .Bool(true)
      .BeginObject()
      .EndObject()
      .EndArray()
      .Field("c", std::optional<int64_t>())
      .Field("d", "x")
      .EndObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":[1,2.5,null,true,{}],"c":null,"d":"x"})");
}

TEST(JsonWriter, NonFiniteDoublesBecomeNull) {
  JsonWriter w;
  w.BeginArray().Double(std::numeric_limits<double>::quiet_NaN()).Double(INFINITY).Double(41.0).EndArray();
  EXPECT_EQ(w.str(), "[null,null,41]");
}

TEST(JsonWriter, EscapesControlCharactersAndQuotes) {
  JsonWriter w;
  w.String(std::string("a\"b\\c\n\t\x01\x7f", 9));
  EXPECT_EQ(w.str(), "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\"");
  EXPECT_EQ(nlohmann::json::parse(w.str()).get<std::string>(), std::string("a\"b\\c\n\t\x01\x7f", 9));
}

TEST(JsonWriter, ReplacesInvalidUtf8SoTheOutputAlwaysParses) {
  const std::string inputs[] = {
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",  // valid: kept
      "\xff\xfe",                                   // invalid bytes
      "\xc3",                                       // truncated
      "\xe0\x80\xaf",                               // overlong
      "\xed\xa0\x80",                               // surrogate
      "\xf4\x90\x80\x80",                           // above U+10FFFF
      std::string("nul\0byte", 8),
  };
  for (const auto& in : inputs) {
    JsonWriter w;
    w.String(in);
    EXPECT_TRUE(nlohmann::json::accept(w.str())) << w.str();
  }
  JsonWriter w;
  w.String(inputs[0]);
  EXPECT_EQ(nlohmann::json::parse(w.str()).get<std::string>(), inputs[0]);
  JsonWriter bad;
  bad.String(
      "a\xff"
      "b");
  EXPECT_EQ(nlohmann::json::parse(bad.str()).get<std::string>(),
            "a\xef\xbf\xbd"
            "b");
}

}  // namespace
}  // namespace chaperone::web
