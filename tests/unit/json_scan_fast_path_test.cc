// ScanJsonForEventTime answers payloads that start with the first path's
// field ({"ts":1795303800123,...) without the general scanner. For every
// payload it must give exactly the general scanner's answer.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "lib/extract/json_scan.h"

namespace chaperone::extract {
namespace {

std::vector<JsonPath> Paths(std::initializer_list<std::vector<std::string>> fields) {
  std::vector<JsonPath> out;
  for (const auto& f : fields) out.push_back(JsonPath{f});
  return out;
}

testing::AssertionResult SameAnswer(const std::string& payload, const std::vector<JsonPath>& paths) {
  JsonScanResult fast = ScanJsonForEventTime(payload, paths.data(), paths.size());
  JsonScanResult slow = ScanJsonForEventTimeGeneral(payload, paths.data(), paths.size());
  if (fast.path == slow.path && fast.malformed == slow.malformed && (fast.path < 0 || fast.ms == slow.ms)) {
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "payload " << payload << ": path " << fast.path << " vs " << slow.path
                                     << ", ms " << fast.ms << " vs " << slow.ms << ", malformed " << fast.malformed
                                     << " vs " << slow.malformed;
}

const std::vector<std::vector<JsonPath>>& PathSets() {
  static const std::vector<std::vector<JsonPath>> sets = {
      Paths({{"ts"}, {"timestamp"}}), Paths({{"timestamp"}, {"ts"}}), Paths({{"ts"}}),
      Paths({{"meta", "ts"}, {"ts"}}), Paths({{"t"}}),           Paths({{"ts"}, {"ts"}}),
  };
  return sets;
}

TEST(JsonScanFastPath, AgreesWithTheGeneralScannerOnTypicalShapes) {
  const std::vector<std::string> keys = {"ts", "TS", "Ts", "t", "tsx", "timestamp", "TimeStamp", "t\\u0073", "t\\\"s",
                                         "", "meta"};
  const std::vector<std::string> values = {"1795303800123", "1795303800", "1795303800123456", "1795303800123456789",
                                           "17953038001234567890123", "0", "00", "01", "1", "-1795303800123",
                                           "1795303800.5", "1.7953038e12", "1795303800123e0", "\"1795303800123\"",
                                           "\"2026-11-22T10:00:00Z\"", "null", "true", "{\"ts\":1795303800123}", "[1]"};
  const std::vector<std::string> tails = {"}", ",\"a\":1}", ",", " }", "\t}", "]", "x", "", "}}", ",\"timestamp\":1795303811111}",
                                          ".", "e", "\n}"};
  const std::vector<std::string> heads = {"{\"", "{ \"", " {\"", "\xEF\xBB\xBF{\"", "[\"", "{\"\"", "\""};
  int cases = 0;
  for (const auto& head : heads) {
    for (const auto& key : keys) {
      for (const auto& sep : {std::string("\":"), std::string("\" :"), std::string("\":  ")}) {
        for (const auto& value : values) {
          for (const auto& tail : tails) {
            std::string payload = head + key + sep + value + tail;
            for (const auto& paths : PathSets()) {
              ASSERT_TRUE(SameAnswer(payload, paths));
              ++cases;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(cases, 10000);
}

TEST(JsonScanFastPath, AgreesWithTheGeneralScannerOnMutatedPayloads) {
  std::mt19937_64 rng(7);
  const std::string alphabet = "{}[]\":,. -+eE0123456789tsTSab\\u\n";
  const std::vector<std::string> seeds = {"{\"ts\":1795303800123,\"id\":7,\"pad\":\"xxxx\"}",
                                          "{\"TS\":1795303800,\"timestamp\":1795303800999}",
                                          "{\"ts\":17953038001234567,\"x\":[1,2,{\"ts\":3}]}"};
  for (int i = 0; i < 200'000; ++i) {
    std::string p = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % (p.size() + 1);
      switch (rng() % 3) {
        case 0: if (at < p.size()) p[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: p.insert(p.begin() + static_cast<long>(at), alphabet[rng() % alphabet.size()]); break;
        default: if (at < p.size()) p.erase(at, 1); break;
      }
    }
    for (const auto& paths : PathSets()) ASSERT_TRUE(SameAnswer(p, paths));
    ASSERT_TRUE(SameAnswer(p.substr(0, rng() % (p.size() + 1)), PathSets()[0]));  // truncated
  }
}

}  // namespace
}  // namespace chaperone::extract
