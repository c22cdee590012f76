#include "chaperone/event_time.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace chaperone {
namespace {

constexpr int64_t kMs = 1'700'000'000'123;        // 2023-11-14T22:13:20.123Z
constexpr int64_t kOtherMs = 1'600'000'000'000;   // 2020-09-13T12:26:40Z
constexpr int64_t kNov22 = 1'795'341'600'000;     // 2026-11-22T10:00:00Z
constexpr int64_t kRecordMs = 1'234'567'890'000;  // the record timestamp used below

using Headers = std::map<std::string, std::string, std::less<>>;

bool FindHeader(const void* ctx, std::string_view name, std::string_view* value) {
  const auto& headers = *static_cast<const Headers*>(ctx);
  auto it = headers.find(name);
  if (it == headers.end()) return false;
  *value = it->second;
  return true;
}

MessageView Message(std::string_view value, int64_t record_ms = -1) {
  MessageView m;
  m.value = value;
  m.value_null = false;
  m.record_timestamp_ms = record_ms;
  return m;
}

TimestampChain Chain(std::string_view spec) {
  Result<TimestampChain> chain = TimestampChain::Parse(spec);
  EXPECT_TRUE(chain.ok()) << spec << ": " << chain.status().ToString();
  return chain.ok() ? *chain : TimestampChain::Default();
}

// The default chain on a payload, no record timestamp.
EventTime Default(std::string_view payload) { return TimestampChain::Default().Extract(Message(payload)); }

EventTime With(std::string_view spec, std::string_view payload, int64_t record_ms = -1) {
  return Chain(spec).Extract(Message(payload, record_ms));
}

void ExpectFound(const EventTime& t, int64_t ms, bool malformed = false) {
  EXPECT_TRUE(t.found);
  EXPECT_EQ(t.ms, ms);
  EXPECT_EQ(t.malformed, malformed);
}

void ExpectNotFound(const EventTime& t, bool malformed) {
  EXPECT_FALSE(t.found);
  EXPECT_EQ(t.malformed, malformed);
}

// ---------------------------------------------------------------- chain specs

TEST(TimestampChainSpec, DefaultIsJsonTsThenJsonTimestampThenRecord) {
  EXPECT_EQ(TimestampChain::Default().ToString(), "json:ts,json:timestamp,record");
  EXPECT_EQ(TimestampChain().ToString(), "json:ts,json:timestamp,record");
}

TEST(TimestampChainSpec, ParseTrimsWhitespaceAndRoundTripsThroughToString) {
  EXPECT_EQ(Chain(" json:meta.created_at , header:event-time,\trecord ").ToString(),
            "json:meta.created_at,header:event-time,record");
  EXPECT_EQ(Chain("record").ToString(), "record");
  EXPECT_EQ(Chain("json:Created At").ToString(), "json:Created At");
}

TEST(TimestampChainSpec, ParsedDefaultSpecBehavesLikeTheDefault) {
  const TimestampChain parsed = Chain("json:ts,json:timestamp,record");
  for (std::string_view payload : {R"({"TS":1700000000123})", R"({"TimeStamp":1700000000123})", R"({"x":1})", "nope"}) {
    const EventTime a = parsed.Extract(Message(payload, kRecordMs));
    const EventTime b = TimestampChain::Default().Extract(Message(payload, kRecordMs));
    EXPECT_EQ(a.found, b.found) << payload;
    EXPECT_EQ(a.ms, b.ms) << payload;
    EXPECT_EQ(a.malformed, b.malformed) << payload;
  }
}

void ExpectBadSpec(std::string_view spec, std::string_view message_part) {
  Result<TimestampChain> chain = TimestampChain::Parse(spec);
  ASSERT_FALSE(chain.ok()) << spec;
  EXPECT_EQ(chain.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(chain.status().message().find(message_part), std::string::npos)
      << spec << " -> " << chain.status().message();
}

TEST(TimestampChainSpec, EmptySpecsAreRejected) {
  ExpectBadSpec("", "empty");
  ExpectBadSpec("  ", "empty");
  ExpectBadSpec("json:ts,,record", "source 2 (\"\") is empty");
  ExpectBadSpec("json:ts,", "source 2 (\"\") is empty");
}

TEST(TimestampChainSpec, UnknownSourceKindsAreRejectedWithTheValidForms) {
  ExpectBadSpec("xml:ts", "expected json:<field>, json:<a.b.c>, header:<name> or record");
  ExpectBadSpec("JSON:ts", "source 1 (\"JSON:ts\")");
  ExpectBadSpec("json", "is not a source");
  ExpectBadSpec("json:ts,kafka", "source 2 (\"kafka\")");
  ExpectBadSpec("record:ts", "\"record\" takes no argument");
}

TEST(TimestampChainSpec, BadFieldAndHeaderNamesAreRejected) {
  ExpectBadSpec("json:", "empty field name");
  ExpectBadSpec("json:a..b", "empty field name in its path");
  ExpectBadSpec("json:.a", "empty field name in its path");
  ExpectBadSpec("json:a.", "empty field name in its path");
  ExpectBadSpec("json: ts", "leading or trailing whitespace");
  ExpectBadSpec("header:", "empty header name");
  ExpectBadSpec("header: x", "leading or trailing whitespace");
  ExpectBadSpec("json:" + std::string(TimestampChain::kMaxNameBytes + 1, 'a'), "longer than 256 bytes");
  ExpectBadSpec("json:a.b.c.d.e.f.g.h.i", "deeper than 8 fields");
}

TEST(TimestampChainSpec, MoreThanSixteenSourcesAreRejected) {
  std::string spec = "record";
  for (size_t i = 1; i < TimestampChain::kMaxSources; ++i) spec += ",json:f" + std::to_string(i);
  EXPECT_TRUE(TimestampChain::Parse(spec).ok());
  ExpectBadSpec(spec + ",record", "more than 16 sources");
}

// ------------------------------------------------------------ numeric values

TEST(JsonEventTime, TopLevelMillisecondsAreFound) { ExpectFound(Default(R"({"ts":1700000000123})"), kMs); }

TEST(JsonEventTime, SecondsMillisMicrosAndNanosAreToldApartByMagnitude) {
  ExpectFound(Default(R"({"ts":1700000000})"), 1'700'000'000'000);
  ExpectFound(Default(R"({"ts":1700000000123})"), kMs);
  ExpectFound(Default(R"({"ts":1700000000123456})"), kMs);
  ExpectFound(Default(R"({"ts":1700000000123456789})"), kMs);
}

TEST(JsonEventTime, MagnitudeThresholdsAreTenToTheElevenFourteenAndSeventeen) {
  ExpectFound(Default(R"({"ts":99999999999})"), 99'999'999'999'000);  // seconds
  ExpectFound(Default(R"({"ts":100000000000})"), 100'000'000'000);    // ms
  ExpectFound(Default(R"({"ts":99999999999999})"), 99'999'999'999'999);
  ExpectFound(Default(R"({"ts":100000000000000})"), 100'000'000'000);  // µs
  ExpectFound(Default(R"({"ts":99999999999999999})"), 99'999'999'999'999);
  ExpectFound(Default(R"({"ts":100000000000000000})"), 100'000'000'000);  // ns
  ExpectFound(Default(R"({"ts":99999999999999999999})"), 99'999'999'999'999);
  ExpectNotFound(Default(R"({"ts":100000000000000000000})"), false);  // 1e20: beyond ns
}

TEST(JsonEventTime, FractionsAndExponentsAreExactAndTruncatedToMilliseconds) {
  ExpectFound(Default(R"({"ts":1700000000.123})"), kMs);
  ExpectFound(Default(R"({"ts":1700000000.1239})"), kMs);
  ExpectFound(Default(R"({"ts":1.700000000123e9})"), kMs);
  ExpectFound(Default(R"({"ts":1.700000000123E+12})"), kMs);
  ExpectFound(Default(R"({"ts":1700000000123.9})"), kMs);
  ExpectFound(Default(R"({"ts":17000000001239e-1})"), kMs);
  ExpectFound(Default(R"({"ts":1.7e9})"), 1'700'000'000'000);
  ExpectFound(Default(R"({"ts":1700000000123456789012e-3})"), kMs);  // more than 19 digits
}

TEST(JsonEventTime, NonPositiveTinyAndAbsurdNumbersAreUnusable) {
  for (std::string_view payload :
       {R"({"ts":0})", R"({"ts":-1700000000})", R"({"ts":-0.0})", R"({"ts":0.0001})", R"({"ts":1e30})",
        R"({"ts":1e-30})", R"({"ts":123456789012345678901234567890})"}) {
    ExpectNotFound(Default(payload), false);
    ExpectFound(TimestampChain::Default().Extract(Message(payload, kRecordMs)), kRecordMs);
  }
}

TEST(JsonEventTime, NumbersAsStringsAreParsed) {
  ExpectFound(Default(R"({"ts":"1700000000123"})"), kMs);
  ExpectFound(Default(R"({"ts":"1700000000"})"), 1'700'000'000'000);
  ExpectFound(Default(R"({"ts":"1700000000.123"})"), kMs);
  ExpectNotFound(Default(R"({"ts":" 1700000000123"})"), false);
  ExpectNotFound(Default(R"({"ts":"1700000000123ms"})"), false);
  ExpectNotFound(Default(R"({"ts":""})"), false);
}

TEST(JsonEventTime, Iso8601StringsAreParsed) {
  ExpectFound(Default(R"({"ts":"2026-11-22T10:00:00Z"})"), kNov22);
  ExpectFound(Default(R"({"ts":"2026-11-22T15:30:00.250+05:30"})"), kNov22 + 250);
  ExpectFound(Default(R"({"timestamp":"2023-11-14T22:13:20.123456Z"})"), kMs);
}

TEST(JsonEventTime, InvalidNumbersMakeThePayloadMalformed) {
  for (std::string_view payload : {R"({"ts":01})", R"({"ts":1.})", R"({"ts":1e})", R"({"ts":-})", R"({"ts":+1})",
                                   R"({"ts":.5})", R"({"ts":17x})"}) {
    ExpectNotFound(Default(payload), true);
  }
}

// --------------------------------------------------------------- field names

TEST(JsonEventTime, DefaultFieldNamesMatchCaseInsensitively) {
  ExpectFound(Default(R"({"TS":1700000000123})"), kMs);
  ExpectFound(Default(R"({"Ts":1700000000123})"), kMs);
  ExpectFound(Default(R"({"TimeStamp":1700000000123})"), kMs);
  ExpectFound(Default(R"({"TIMESTAMP":1700000000123})"), kMs);
}

TEST(JsonEventTime, ExplicitFieldNamesAlsoMatchCaseInsensitively) {
  ExpectFound(With("json:createdAt", R"({"CREATEDAT":1700000000123})"), kMs);
  ExpectFound(With("json:CreatedAt", R"({"createdat":1700000000123})"), kMs);
}

TEST(JsonEventTime, TsWinsOverTimestampWhateverTheirOrderInThePayload) {
  ExpectFound(Default(R"({"timestamp":1600000000000,"ts":1700000000123})"), kMs);
  ExpectFound(Default(R"({"ts":1700000000123,"timestamp":1600000000000})"), kMs);
}

TEST(JsonEventTime, UnusableTsFallsBackToTimestamp) {
  for (std::string_view ts : {R"("soon")", "null", "true", "-5", "0", R"({"ts":1})", "[1700000000123]", R"("")"}) {
    const std::string payload = std::string(R"({"ts":)") + std::string(ts) + R"(,"timestamp":1600000000000})";
    ExpectFound(Default(payload), kOtherMs);
  }
}

TEST(JsonEventTime, OnlyTheFirstOccurrenceOfAFieldIsRead) {
  ExpectFound(Default(R"({"ts":1700000000123,"ts":1600000000000})"), kMs);
  // "bad" is the ts field; the second one is never read, so the record timestamp (0) is used.
  ExpectFound(TimestampChain::Default().Extract(Message(R"({"ts":"bad","TS":1600000000000})", 0)), 0);
  ExpectNotFound(With("json:ts", R"({"ts":"bad","ts":1600000000000})"), false);
}

TEST(JsonEventTime, PrefixesAndExtensionsOfTheFieldNameDoNotMatch) {
  ExpectFound(Default(R"({"t":1,"tsx":2,"xts":3,"":4,"ts":1700000000123})"), kMs);
}

TEST(JsonEventTime, KeyInsideAStringValueIsNotMatched) {
  ExpectFound(Default(R"({"msg":"{\"ts\":1600000000000}","timestamp":1700000000123})"), kMs);
  ExpectFound(Default(R"({"msg":"\"ts\":1600000000000, ts","timestamp":1700000000123})"), kMs);
  ExpectNotFound(Default(R"({"msg":"\"ts\":1600000000000"})"), false);
}

TEST(JsonEventTime, KeyInsideNestedObjectOrArrayIsNotMatchedAtTopLevel) {
  ExpectFound(Default(R"({"meta":{"ts":1600000000000},"timestamp":1700000000123})"), kMs);
  ExpectFound(Default(R"({"items":[{"ts":1600000000000},{"ts":2}],"ts":1700000000123})"), kMs);
  ExpectNotFound(Default(R"({"meta":{"ts":1600000000000},"list":["ts",{"ts":1}]})"), false);
}

TEST(JsonEventTime, ArraysAndObjectsBeforeTheFieldAreSkipped) {
  ExpectFound(
      Default(R"({"a":[1,"]",{"b":"}"},[[],{}]],"c":{"d":[[{"e":"[{"}]],"f":{}},"g":[],"h":{},"ts":1700000000123})"),
      kMs);
}

TEST(JsonEventTime, EscapedStringsBeforeTheFieldAreSkipped) {
  ExpectFound(Default(R"({"a":"say \"ts\": 1","b":"back\\","c":"\\\"","d":"\u0022","ts":1700000000123})"), kMs);
  ExpectFound(Default(R"({"a\"ts":1,"b\\":2,"ts":1700000000123})"), kMs);
}

TEST(JsonEventTime, EscapedKeysAreDecodedBeforeMatching) {
  ExpectFound(Default(R"({"t\u0073":1700000000123})"), kMs);
  ExpectFound(Default(R"({"\u0054\u0053":1700000000123})"), kMs);
  ExpectFound(With("json:caf\xc3\xa9", R"({"caf\u00e9":1700000000123})"), kMs);
  ExpectFound(With("json:\xf0\x9f\x95\x90", R"({"\ud83d\udd50":1700000000123})"), kMs);  // a surrogate pair
  ExpectFound(With("json:a/b", R"({"a\/b":1700000000123})"), kMs);
  ExpectFound(Default(R"({"t\u0073x":1,"t\\s":2,"ts":1700000000123})"), kMs);
}

TEST(JsonEventTime, InvalidEscapeInAKeyMakesThePayloadMalformed) {
  ExpectNotFound(Default(R"({"t\x":1700000000123})"), true);
  ExpectNotFound(Default(R"({"t\u00g1":1700000000123})"), true);
}

TEST(JsonEventTime, EscapedStringValueIsDecodedBeforeParsing) {
  ExpectFound(Default(R"({"ts":"2026-11-22T10:00:00\u005a"})"), kNov22);
  ExpectFound(Default(R"({"ts":"\u0031700000000123"})"), kMs);
  ExpectNotFound(Default(R"({"ts":"17\q"})"), true);
}

TEST(JsonEventTime, WhitespaceAroundEveryTokenIsAccepted) {
  ExpectFound(Default(" \r\n\t{ \n\"a\" :\t[ 1 , 2 ] ,\r\n \"ts\" \t:\r\n 1700000000123 \n} \n"), kMs);
  ExpectFound(Default("{\"ts\":1700000000123\t}"), kMs);
}

TEST(JsonEventTime, ByteOrderMarkIsSkipped) {
  ExpectFound(Default("\xEF\xBB\xBF{\"ts\":1700000000123}"), kMs);
  ExpectNotFound(Default("\xEF\xBB{\"ts\":1700000000123}"), true);
}

TEST(JsonEventTime, LiteralsBeforeTheFieldAreSkipped) {
  ExpectFound(Default(R"({"a":true,"b":false,"c":null,"d":-1.5e3,"ts":1700000000123})"), kMs);
  ExpectNotFound(Default(R"({"a":tru,"ts":1700000000123})"), true);
  ExpectNotFound(Default(R"({"a":nulls,"ts":1700000000123})"), true);
}

// ---------------------------------------------------------------- dotted paths

TEST(JsonEventTime, DottedPathFindsTheFieldInNestedObjects) {
  ExpectFound(With("json:meta.created_at", R"({"id":7,"meta":{"x":[1,{"created_at":1}],"created_at":"2026-11-22T10:00:00Z"}})"),
              kNov22);
  ExpectFound(With("json:a.b.c", R"({"a":{"b":{"c":1700000000123}}})"), kMs);
  ExpectFound(With("json:A.B", R"({"a":{"b":1700000000123}})"), kMs);
}

TEST(JsonEventTime, DottedPathDoesNotMatchTheSameNamesElsewhere) {
  ExpectNotFound(With("json:meta.created_at", R"({"created_at":1700000000123,"other":{"created_at":1}})"), false);
  ExpectNotFound(With("json:meta.created_at", R"({"meta.created_at":1700000000123})"), false);
  ExpectNotFound(With("json:a.b.c", R"({"a":{"c":1,"b":{"x":{"c":1}}},"b":{"c":1}})"), false);
}

TEST(JsonEventTime, DottedPathThroughAValueThatIsNoObjectIsUnusable) {
  ExpectNotFound(With("json:meta.created_at", R"({"meta":1700000000123})"), false);
  ExpectNotFound(With("json:meta.created_at", R"({"meta":[{"created_at":1700000000123}]})"), false);
  ExpectNotFound(With("json:meta.created_at", R"({"meta":"{\"created_at\":1700000000123}"})"), false);
}

TEST(JsonEventTime, DottedPathFollowsOnlyTheFirstOccurrenceOfEachField) {
  ExpectNotFound(With("json:meta.ts", R"({"meta":{"x":1},"meta":{"ts":1700000000123}})"), false);
}

TEST(JsonEventTime, SourcesKeepChainOrderWhenScannedTogether) {
  const std::string_view payload = R"({"ts":1600000000000,"meta":{"a":1,"ts":1700000000123},"z":0})";
  ExpectFound(With("json:meta.ts,json:ts", payload), kMs);
  ExpectFound(With("json:ts,json:meta.ts", payload), kOtherMs);
  ExpectFound(With("json:meta,json:meta.ts", payload), kMs);  // an object is no event time
  ExpectFound(With("json:meta.nope,json:ts", payload), kOtherMs);
}

TEST(JsonEventTime, SameFieldAtTwoDepthsIsReadForEachSource) {
  ExpectFound(With("json:a.a.a,json:a", R"({"a":{"a":{"a":1700000000123}}})"), kMs);
  ExpectFound(With("json:a,json:a.a", R"({"a":{"a":1700000000123}})"), kMs);
}

// ------------------------------------------------------- malformed payloads

TEST(JsonEventTime, NonJsonPayloadsAreMalformedAndFallBackToTheRecordTimestamp) {
  for (std::string_view payload :
       {std::string_view("hello"), std::string_view("\0\0\0\0\x01\x02", 6), std::string_view("[1,2]"),
        std::string_view("\"ts\""), std::string_view("42"), std::string_view(""), std::string_view("   "),
        std::string_view("{ts:1700000000123}"), std::string_view("{'ts':1700000000123}")}) {
    ExpectNotFound(Default(payload), true);
    ExpectFound(TimestampChain::Default().Extract(Message(payload, kRecordMs)), kRecordMs, /*malformed=*/true);
  }
}

TEST(JsonEventTime, TruncatedPayloadsAreMalformed) {
  const std::string full = R"({"a":[1,{"b":"x\"y"}],"c":"str","d":true,"ts":1700000000123})";
  // Every proper prefix ends before the scan can decide.
  for (size_t n = 0; n < full.size(); ++n) {
    ExpectNotFound(Default(std::string_view(full.data(), n)), true);
  }
  ExpectFound(Default(full), kMs);
}

TEST(JsonEventTime, NumberAtTheVeryEndIsTreatedAsCutShort) {
  ExpectNotFound(Default(R"({"ts":1700000000123)"), true);
  ExpectNotFound(Default(R"({"ts":"2026-11-22T10:00:00Z)"), true);
}

TEST(JsonEventTime, ScanStopsAtTheFieldSoATruncatedTailIsNotSeen) {
  ExpectFound(Default(R"({"ts":1700000000123,"a":"tru)"), kMs);
}

TEST(JsonEventTime, SyntaxErrorAfterALowerPrioritySourceKeepsItsValueButMarksMalformed) {
  ExpectFound(Default(R"({"timestamp":1700000000123,"a":x})"), kMs, /*malformed=*/true);
  ExpectFound(Default(R"({"timestamp":1700000000123,"a":1)"), kMs, /*malformed=*/true);
}

TEST(JsonEventTime, GarbageAfterTheObjectIsMalformed) {
  ExpectNotFound(Default(R"({"a":1}x)"), true);
  ExpectNotFound(Default(R"({"a":1}{"ts":1700000000123})"), true);
  ExpectNotFound(Default("{\"a\":1} \n"), false);
}

TEST(JsonEventTime, StructuralErrorsAreMalformed) {
  for (std::string_view payload :
       {R"({"a":[1,2},"ts":1700000000123})", R"({"a":{"b":1]],"ts":1700000000123})", R"({"a" 1,"ts":1700000000123})",
        R"({"a":1 "ts":1700000000123})", R"({"a":1,,"ts":1700000000123})", R"({,"ts":1700000000123})",
        R"({"a":1,})", R"({"a":})", R"({1:2})", R"({"a":1]})"}) {
    ExpectNotFound(Default(payload), true);
  }
}

TEST(JsonEventTime, EmptyObjectHasNoEventTime) {
  ExpectNotFound(Default("{}"), false);
  ExpectNotFound(Default(" { } "), false);
}

TEST(JsonEventTime, NestingUpToTheLimitIsSkippedAndBeyondItIsMalformed) {
  auto nested = [](int depth) {
    return "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + ",\"ts\":1700000000123}";
  };
  ExpectFound(Default(nested(1024)), kMs);
  ExpectNotFound(Default(nested(1025)), true);
  ExpectFound(Default(nested(100)), kMs);
}

TEST(JsonEventTime, StringsAndEscapesInSkippedContainersAreHandledAtEveryAlignment) {
  // Skipped containers are read in 64-byte blocks: move every escape, quote
  // and bracket through every position of a block, and across two blocks.
  for (size_t pad = 0; pad < 140; ++pad) {
    const std::string filler(pad, ' ');
    const std::string payload = R"({"a":[)" + filler + R"("x\"]}","y\\",{"k":"\\\\\"[{"},"\\\\",")" +
                                std::string(pad, 'z') + R"("],"ts":1700000000123})";
    ExpectFound(Default(payload), kMs);
    // "x\\" ends at its second quote, so the array ends at the first ] and
    // the object at the }: what follows it is garbage.
    const std::string escaped_backslash = R"({"a":[)" + filler + R"("x\\"]}"],"ts":1700000000123})";
    ExpectNotFound(Default(escaped_backslash), true);
    // "x\"]}" is one string: the array and the object continue.
    const std::string escaped_quote = R"({"a":[)" + filler + R"("x\"]}"],"ts":1700000000123})";
    ExpectFound(Default(escaped_quote), kMs);
  }
}

TEST(JsonEventTime, MismatchedBracketsDeeperThanSixtyFourLevelsAreMalformed) {
  const std::string open = std::string(70, '[') + R"({"k":)" + std::string(30, '[');
  const std::string close = std::string(30, ']') + "}" + std::string(70, ']');
  ExpectFound(Default(R"({"a":)" + open + close + R"(,"ts":1700000000123})"), kMs);
  std::string mismatched = close;
  mismatched[30] = ']';  // closes the object at depth 71 with a ]
  ExpectNotFound(Default(R"({"a":)" + open + mismatched + R"(,"ts":1700000000123})"), true);
}

TEST(JsonEventTime, TombstoneIsNeitherMalformedNorFound) {
  MessageView m;  // value_null
  ExpectNotFound(TimestampChain::Default().Extract(m), false);
  m.record_timestamp_ms = kRecordMs;
  ExpectFound(TimestampChain::Default().Extract(m), kRecordMs);
}

TEST(JsonEventTime, LongPayloadsAreScannedAcrossVectorBoundaries) {
  // Strings and containers of every length around the 16-byte blocks.
  for (int n = 0; n < 70; ++n) {
    const std::string s(static_cast<size_t>(n), 'x');
    const std::string payload = R"({"s":")" + s + R"(","e":")" + s + R"(\\","o":{"k":")" + s + R"("},"ts":1700000000123})";
    ExpectFound(Default(payload), kMs);
    ExpectNotFound(Default(std::string_view(payload).substr(0, payload.size() - 20)), true);
  }
}

// ------------------------------------------------------ headers and record

TEST(HeaderEventTime, HeaderValueIsReadAsANumberOrIso8601) {
  const TimestampChain chain = Chain("header:event-time,record");
  Headers headers;
  MessageView m = Message("not json", kRecordMs);
  m.headers_ctx = &headers;
  m.find_header = &FindHeader;

  headers["event-time"] = "1700000000123";
  ExpectFound(chain.Extract(m), kMs);
  headers["event-time"] = "1700000000";
  ExpectFound(chain.Extract(m), 1'700'000'000'000);
  headers["event-time"] = "2026-11-22T10:00:00Z";
  ExpectFound(chain.Extract(m), kNov22);
}

TEST(HeaderEventTime, MissingOrUnusableHeaderFallsBackToTheRecordTimestamp) {
  const TimestampChain chain = Chain("header:event-time,record");
  Headers headers;
  MessageView m = Message("{}", kRecordMs);
  m.headers_ctx = &headers;
  m.find_header = &FindHeader;
  ExpectFound(chain.Extract(m), kRecordMs);  // absent
  headers["Event-Time"] = "1700000000123";  // header names are case-sensitive
  ExpectFound(chain.Extract(m), kRecordMs);
  headers["event-time"] = "yesterday";
  ExpectFound(chain.Extract(m), kRecordMs);
  headers["event-time"] = std::string("\0\0\x01\x8b\xcf\xe5\x68\x7b", 8);  // a binary long is not read
  ExpectFound(chain.Extract(m), kRecordMs);
  m.find_header = nullptr;  // a tier that cannot see headers
  ExpectFound(chain.Extract(m), kRecordMs);
}

TEST(HeaderEventTime, HeaderChainNeverReadsThePayload) {
  const EventTime t = Chain("header:event-time,record").Extract(Message("\x01garbage", kRecordMs));
  ExpectFound(t, kRecordMs, /*malformed=*/false);
}

TEST(RecordEventTime, RecordTimestampIsUsedWhenKnown) {
  ExpectFound(With("record", "anything", kRecordMs), kRecordMs);
  ExpectFound(With("record", "anything", 0), 0);
  ExpectNotFound(With("record", "anything", -1), false);
}

TEST(RecordEventTime, SourcesAreTriedInOrder) {
  ExpectFound(With("record,json:ts", R"({"ts":1700000000123})", kRecordMs), kRecordMs);
  ExpectFound(With("json:x,record,json:ts", R"({"ts":1700000000123})", kRecordMs), kRecordMs);
  ExpectFound(With("json:x,header:h,json:ts", R"({"ts":1700000000123})", kRecordMs), kMs);
}

// ---------------------------------------------------------------- rules

TEST(TimestampRules, FirstMatchingRuleWins) {
  TimestampRules rules;
  ASSERT_TRUE(rules.Add("orders-.*", "json:order.created_at,record").ok());
  ASSERT_TRUE(rules.Add("orders-eu", "header:event-time").ok());
  ASSERT_TRUE(rules.Add("clicks|views", "json:when").ok());
  EXPECT_EQ(rules.ForTopic("orders-eu").ToString(), "json:order.created_at,record");
  EXPECT_EQ(rules.ForTopic("clicks").ToString(), "json:when");
  EXPECT_EQ(rules.ForTopic("views").ToString(), "json:when");
  EXPECT_EQ(rules.size(), 3u);
}

TEST(TimestampRules, RegexMustMatchTheWholeTopicName) {
  TimestampRules rules;
  ASSERT_TRUE(rules.Add("orders", "record").ok());
  EXPECT_EQ(rules.ForTopic("orders").ToString(), "record");
  EXPECT_EQ(&rules.ForTopic("orders-eu"), &TimestampChain::Default());
  EXPECT_EQ(&rules.ForTopic("my-orders"), &TimestampChain::Default());
}

TEST(TimestampRules, TopicMatchingNoRuleGetsTheDefaultChain) {
  TimestampRules rules;
  EXPECT_EQ(&rules.ForTopic("anything"), &TimestampChain::Default());
}

TEST(TimestampRules, BadRegexOrChainIsRejectedAndLeavesTheRulesUnchanged) {
  TimestampRules rules;
  const Status bad_regex = rules.Add("orders-(", "record");
  EXPECT_EQ(bad_regex.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad_regex.message().find("orders-("), std::string::npos) << bad_regex.message();
  const Status bad_chain = rules.Add("orders", "json:");
  EXPECT_EQ(bad_chain.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad_chain.message().find("empty field name"), std::string::npos) << bad_chain.message();
  EXPECT_FALSE(rules.Add("", "record").ok());
  EXPECT_EQ(rules.size(), 0u);
}

TEST(TimestampRules, CachedChainStaysValidAfterMoreRulesAndInCopies) {
  TimestampRules rules;
  ASSERT_TRUE(rules.Add("a", "json:when").ok());
  const TimestampChain& cached = rules.ForTopic("a");
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(rules.Add("t" + std::to_string(i), "record").ok());
  TimestampRules copy = rules;
  rules = TimestampRules();
  ExpectFound(cached.Extract(Message(R"({"when":1700000000123})")), kMs);
  EXPECT_EQ(&copy.ForTopic("a"), &cached);
}

// ---------------------------------------------------------------- helpers

TEST(NormalizeEpochToMs, SecondsMillisMicrosAndNanosAreRecognised) {
  EXPECT_EQ(NormalizeEpochToMs(1700000000), 1'700'000'000'000);
  EXPECT_EQ(NormalizeEpochToMs(1700000000.123), kMs);
  EXPECT_EQ(NormalizeEpochToMs(1700000000123.0), kMs);
  EXPECT_EQ(NormalizeEpochToMs(1700000000123456.0), kMs);
  EXPECT_EQ(NormalizeEpochToMs(1.7e18), 1'700'000'000'000);
  EXPECT_EQ(NormalizeEpochToMs(99999999999.0), 99'999'999'999'000);
  EXPECT_EQ(NormalizeEpochToMs(1e11), 100'000'000'000);
  EXPECT_EQ(NormalizeEpochToMs(1.5), 1500);
}

TEST(NormalizeEpochToMs, NonPositiveNonFiniteAndAbsurdValuesAreRejected) {
  EXPECT_EQ(NormalizeEpochToMs(0), std::nullopt);
  EXPECT_EQ(NormalizeEpochToMs(-1700000000), std::nullopt);
  EXPECT_EQ(NormalizeEpochToMs(0.0004), std::nullopt);
  EXPECT_EQ(NormalizeEpochToMs(1e20), std::nullopt);
  EXPECT_EQ(NormalizeEpochToMs(std::numeric_limits<double>::infinity()), std::nullopt);
  EXPECT_EQ(NormalizeEpochToMs(std::numeric_limits<double>::quiet_NaN()), std::nullopt);
  EXPECT_EQ(NormalizeEpochToMs(std::numeric_limits<double>::denorm_min()), std::nullopt);
}

TEST(ParseIso8601Ms, UtcAndOffsetsAreAccepted) {
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00Z"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22t10:00:00z"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22 10:00:00Z"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00+00:00"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00-00:00"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T15:30:00+05:30"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T02:00:00-0800"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T11:00:00+01"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00Z"), kNov22);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00"), kNov22);  // no offset: UTC
  EXPECT_EQ(ParseIso8601Ms("2026-11-22"), 1'795'305'600'000);
}

TEST(ParseIso8601Ms, FractionsAreTruncatedToMilliseconds) {
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00.1Z"), kNov22 + 100);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00.12Z"), kNov22 + 120);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00.123Z"), kNov22 + 123);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00.123999Z"), kNov22 + 123);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00.123456789+00:00"), kNov22 + 123);
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T10:00:00,5Z"), kNov22 + 500);
}

TEST(ParseIso8601Ms, CalendarEdgesAreExact) {
  EXPECT_EQ(ParseIso8601Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIso8601Ms("1969-12-31T23:59:59Z"), -1000);
  EXPECT_EQ(ParseIso8601Ms("2000-03-01T00:00:00Z"), 951'868'800'000);
  EXPECT_EQ(ParseIso8601Ms("2024-02-29T12:00:00Z"), 1'709'208'000'000);
  EXPECT_EQ(ParseIso8601Ms("9999-12-31T23:59:59Z"), 253'402'300'799'000);
  EXPECT_EQ(ParseIso8601Ms("2026-11-21T24:00:00Z"), 1'795'305'600'000);  // end of day
  EXPECT_EQ(ParseIso8601Ms("2026-11-22T09:59:60Z"), kNov22);           // leap second
}

TEST(ParseIso8601Ms, MalformedOrOutOfRangeTextIsRejected) {
  for (std::string_view s :
       {"", "2026", "2026-11", "2026-1-22", "2026-11-22T", "2026-11-22T10", "2026-11-22T10:0", "2026-11-22T10:00:",
        "2026-11-22T10:00:00.", "2026-11-22T10:00:00.Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z",
        "2026-11-31T00:00:00Z", "2023-02-29T00:00:00Z", "2026-11-22T25:00:00Z", "2026-11-22T10:60:00Z",
        "2026-11-22T10:00:61Z", "2026-11-22T24:00:01Z", "2026-11-22T24:00:00.5Z", "2026-11-22T10:00:00+24:00",
        "2026-11-22T10:00:00+05:60", "2026-11-22T10:00:00+5", "2026-11-22T10:00:00+05:3", "2026-11-22T10:00:00ZZ",
        " 2026-11-22T10:00:00Z", "2026-11-22T10:00:00Z ", "2026-11-22X10:00:00Z", "2026-11-22T10:00:00 Z",
        "20261122T100000Z", "+2026-11-22T10:00:00Z", "2026-11-22Z"}) {
    EXPECT_EQ(ParseIso8601Ms(s), std::nullopt) << s;
  }
}

}  // namespace
}  // namespace chaperone
