#include "chaperone/audit_record.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace chaperone {
namespace {

using nlohmann::json;

AuditRecord SampleCount() {
  AuditRecord r;
  r.version = 1;
  r.kind = RecordKind::kCount;
  r.topic = "orders.v2";
  r.window_begin_sec = 1'795'303'800;
  r.window_end_sec = 1'795'304'400;
  r.count = 7;
  r.total_bytes = 2048;
  r.no_time_count = 1;
  r.malformed_count = 0;
  r.mean_latency_ms = 12.5;
  r.latency50_ms = 10;
  r.latency95_ms = 30.25;
  r.latency99_ms = 41;
  r.max_latency_ms = 48.125;
  r.latency_sketch = "AQIDBA==";
  r.digest = 0xfedcba9876543210ull;
  r.tier = "regional";
  r.hostname = "audit-worker-07";
  r.datacenter = "dc1";
  r.cluster = "regional-dc1";
  r.uuid = "6f1c2d34-9b1e-4f7a-8c55-0d2e6b9a1f10";
  r.emitter_id = "audit-worker-07-4242-1795303000123-0badf00d";
  r.seq = 41;
  r.flush_id = "0e9b6f7e-1a2b-4c3d-9e8f-001122334455";
  r.partitions = {{0, 3, 100, 102, 90}, {3, 4, 7, 20, 7}};
  return r;
}

AuditRecord SampleHeartbeat() {
  AuditRecord r;
  r.version = 1;
  r.kind = RecordKind::kHeartbeat;
  r.tier = "producer";
  r.hostname = "api-host-3";
  r.datacenter = "dc1";
  r.cluster = "regional-dc1";
  r.uuid = "8a2f1c34-9b1e-4f7a-8c55-0d2e6b9a1f11";
  r.emitter_id = "api-host-3-17-1795303000000-01020304";
  r.seq = 99;
  r.flush_id = "flush-9";
  r.watermark_ms = 1'795'304'460'123;
  r.window_sec = 600;
  r.dropped_records = 2;
  r.failed_deliveries = 5;
  return r;
}

std::string ReadText(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Decodes and expects a rejection whose message contains `needle`.
void ExpectRejected(const std::string& text, const std::string& needle) {
  auto r = DecodeAuditRecord(text);
  ASSERT_FALSE(r.ok()) << "accepted: " << text.substr(0, 300);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << "error '" << r.status().message() << "' lacks '" << needle << "' for " << text.substr(0, 300);
}

json SampleJson() { return json::parse(EncodeAuditRecord(SampleCount())); }

TEST(AuditRecord, VersionOneCountRecordRoundTrips) {
  AuditRecord r = SampleCount();
  auto d = DecodeAuditRecord(EncodeAuditRecord(r));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, r);
}

TEST(AuditRecord, HeartbeatRoundTrips) {
  AuditRecord r = SampleHeartbeat();
  std::string text = EncodeAuditRecord(r);
  auto d = DecodeAuditRecord(text);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, r);
  // A heartbeat carries no window counts.
  EXPECT_EQ(text.find("topicName"), std::string::npos);
  EXPECT_EQ(text.find("\"count\""), std::string::npos);
  EXPECT_EQ(text.find("skippedOffsets"), std::string::npos);  // optional: absent when 0
}

TEST(AuditRecord, AConsumerTiersSkippedOffsetsRoundTripAndACountRecordIgnoresThem) {
  AuditRecord r = SampleHeartbeat();
  r.skipped_offsets = 1234;
  std::string text = EncodeAuditRecord(r);
  EXPECT_NE(text.find(R"("skippedOffsets":1234)"), std::string::npos) << text;
  auto d = DecodeAuditRecord(text);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, r);
  json count = json::parse(EncodeAuditRecord(SampleCount()));
  count["skippedOffsets"] = 9;
  auto c = DecodeAuditRecord(count.dump());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->skipped_offsets, 0);
}

TEST(AuditRecord, EncodesChaperoneFieldNamesInDocumentedOrder) {
  EXPECT_EQ(EncodeAuditRecord(SampleCount()),
            R"({"version":1,"kind":"count","topicName":"orders.v2","timeBeginInSec":1795303800,)"
            R"("timeEndInSec":1795304400,"count":7,"totalBytes":2048,"noTimeCount":1,"malformedCount":0,)"
            R"("meanLatency":12.5,"latency50":10.0,"latency95":30.25,"latency99":41.0,"maxLatency":48.125,)"
            R"("latencySketch":"AQIDBA==","digest":"fedcba9876543210","tier":"regional",)"
            R"("hostname":"audit-worker-07","datacenter":"dc1","cluster":"regional-dc1",)"
            R"("uuid":"6f1c2d34-9b1e-4f7a-8c55-0d2e6b9a1f10",)"
            R"("emitterId":"audit-worker-07-4242-1795303000123-0badf00d","seq":41,)"
            R"("flushId":"0e9b6f7e-1a2b-4c3d-9e8f-001122334455","partitions":[)"
            R"({"partition":0,"count":3,"firstOffset":100,"lastOffset":102,"chunkStart":90},)"
            R"({"partition":3,"count":4,"firstOffset":7,"lastOffset":20,"chunkStart":7}]})");
  EXPECT_EQ(EncodeAuditRecord(SampleHeartbeat()),
            R"({"version":1,"kind":"heartbeat","tier":"producer","hostname":"api-host-3","datacenter":"dc1",)"
            R"("cluster":"regional-dc1","uuid":"8a2f1c34-9b1e-4f7a-8c55-0d2e6b9a1f11",)"
            R"("emitterId":"api-host-3-17-1795303000000-01020304","seq":99,"flushId":"flush-9",)"
            R"("watermarkMs":1795304460123,"windowSizeInSec":600,"droppedRecords":2,"failedDeliveries":5})");
}

TEST(AuditRecord, APartitionsFencingEpochRoundTripsAndIsOmittedWhenUnknown) {
  AuditRecord r = SampleCount();
  r.partitions[1].generation = 17;
  r.partitions[1].assigned_ms = 1795303000456;
  std::string text = EncodeAuditRecord(r);
  EXPECT_NE(text.find(R"("chunkStart":7,"generation":17,"assignedMs":1795303000456})"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("chunkStart":90},)"), std::string::npos) << text;  // unknown: not written
  auto back = DecodeAuditRecord(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, r);
  EXPECT_EQ(back->partitions[0].generation, -1);
  EXPECT_EQ(back->partitions[0].assigned_ms, -1);
}

TEST(AuditRecord, DigestKeepsAllSixtyFourBits) {
  for (uint64_t d : {uint64_t{0}, uint64_t{1}, uint64_t{0xffffffffffffffffull}, uint64_t{0x8000000000000001ull}}) {
    AuditRecord r = SampleCount();
    r.digest = d;
    std::string text = EncodeAuditRecord(r);
    EXPECT_NE(text.find("\"digest\":\"" + DigestToHex(d) + "\""), std::string::npos);
    auto back = DecodeAuditRecord(text);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->digest, d);
  }
  EXPECT_EQ(DigestToHex(0xabc), "0000000000000abc");
  EXPECT_EQ(DigestFromHex("ffffffffffffffff"), 0xffffffffffffffffull);
  EXPECT_FALSE(DigestFromHex("FFFFFFFFFFFFFFFF"));
  EXPECT_FALSE(DigestFromHex("fffffffffffffff"));
  EXPECT_FALSE(DigestFromHex("fffffffffffffffff"));
  EXPECT_FALSE(DigestFromHex("0x00000000000000"));
}

TEST(AuditRecord, StringsAreEscapedAndInvalidUtf8IsReplaced) {
  AuditRecord r = SampleCount();
  r.hostname = "a\"b\\c/d\te\nf\x01g\x7f";
  r.datacenter = "zürich-東京-😀";
  r.cluster = std::string("bad\xff\xc3(utf8\xed\xa0\x80");
  std::string text = EncodeAuditRecord(r);
  EXPECT_NE(text.find(R"("hostname":"a\"b\\c/d\te\nf\u0001g)"), std::string::npos) << text;
  EXPECT_TRUE(json::accept(text));
  // Control characters are rejected when decoding: hostnames never contain them.
  ExpectRejected(text, "field 'hostname': contains a control character");
  r.hostname = "host";
  auto d = DecodeAuditRecord(EncodeAuditRecord(r));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->datacenter, "zürich-東京-😀");
  EXPECT_EQ(d->cluster, "bad\xEF\xBF\xBD\xEF\xBF\xBD(utf8\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(AuditRecord, LatenciesRoundTripExactly) {
  for (double v : {0.0, -0.0, 0.1, 1.0 / 3, 30.0, 1e20, 1.2345678901234568e20, 123456789012345678.0, 5e-324,
                   std::numeric_limits<double>::max(), -17.5}) {
    AuditRecord r = SampleCount();
    r.max_latency_ms = v;
    r.latency50_ms = v;
    std::string text = EncodeAuditRecord(r);
    auto d = DecodeAuditRecord(text);
    ASSERT_TRUE(d.ok()) << v << ": " << d.status().ToString() << " in " << text;
    EXPECT_EQ(d->max_latency_ms, v) << text;
    EXPECT_EQ(*d->latency50_ms, v);
    // Always written as a floating-point number.
    auto pos = text.find("\"maxLatency\":") + 13;
    std::string num = text.substr(pos, text.find(',', pos) - pos);
    EXPECT_TRUE(num.find('.') != std::string::npos || num.find('e') != std::string::npos) << num;
  }
  AuditRecord r = SampleCount();
  r.mean_latency_ms = std::nan("");
  r.max_latency_ms = std::numeric_limits<double>::infinity();
  auto d = DecodeAuditRecord(EncodeAuditRecord(r));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->mean_latency_ms, 0);
  EXPECT_EQ(d->max_latency_ms, 0);
}

void CheckServiceFixture(const std::string& path) {
  SCOPED_TRACE(path);
  std::string text = ReadText(path);
  ASSERT_FALSE(text.empty()) << "missing fixture";
  auto r = DecodeAuditRecord(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->is_legacy());
  EXPECT_EQ(r->kind, RecordKind::kCount);
  EXPECT_EQ(r->topic, "dummyTopic");
  EXPECT_EQ(r->window_begin_sec, 1'795'303'800);
  EXPECT_EQ(r->window_end_sec, 1'795'304'400);
  EXPECT_EQ(r->count, 100);
  EXPECT_EQ(r->total_bytes, 25600);
  EXPECT_EQ(r->no_time_count, 0);
  EXPECT_EQ(r->malformed_count, 0);
  EXPECT_EQ(r->mean_latency_ms, 1250.5);
  EXPECT_EQ(r->latency95_ms, 3100.0);
  EXPECT_EQ(r->latency99_ms, 4100.0);
  EXPECT_EQ(r->max_latency_ms, 4800.0);
  EXPECT_EQ(r->tier, "regional");
  EXPECT_EQ(r->hostname, "audit-worker-07");
  EXPECT_EQ(r->datacenter, "dc1");
  EXPECT_EQ(r->uuid, "regional_dc1_audit-worker-07_1795303000123_42");
  // What a legacy record lacks is unknown, not zero.
  EXPECT_FALSE(r->latency50_ms);
  EXPECT_FALSE(r->digest);
  EXPECT_TRUE(r->latency_sketch.empty());
  EXPECT_TRUE(r->partitions.empty());
  EXPECT_EQ(r->seq, -1);
  EXPECT_TRUE(r->emitter_id.empty());
  EXPECT_TRUE(r->cluster.empty());
}

void CheckClientFixture(const std::string& path) {
  SCOPED_TRACE(path);
  std::string text = ReadText(path);
  ASSERT_FALSE(text.empty()) << "missing fixture";
  auto r = DecodeAuditRecord(text);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->is_legacy());
  EXPECT_EQ(r->topic, "dummyTopic");
  EXPECT_EQ(r->window_begin_sec, 1'795'303'800);
  EXPECT_EQ(r->window_end_sec, 1'795'304'400);
  EXPECT_EQ(r->count, 100);
  EXPECT_FALSE(r->total_bytes);
  EXPECT_FALSE(r->no_time_count);
  EXPECT_FALSE(r->malformed_count);
  EXPECT_EQ(r->mean_latency_ms, 12.25);
  EXPECT_EQ(r->latency95_ms, 30.0);
  EXPECT_EQ(r->latency99_ms, 41.0);
  EXPECT_EQ(r->max_latency_ms, 48.0);
  EXPECT_EQ(r->tier, "proxy-client");
  EXPECT_EQ(r->hostname, "api-host-3");
  EXPECT_EQ(r->uuid, "6f1c2d34-9b1e-4f7a-8c55-0d2e6b9a1f10");
}

TEST(AuditRecord, DecodesLegacyFixturesInTheRepository) {
  const std::string dir = std::string(CHAPERONE_SOURCE_DIR) + "/tests/fixtures/legacy/";
  CheckServiceFixture(dir + "legacy-service-record.json");
  CheckClientFixture(dir + "legacy-client-record.json");
}

TEST(AuditRecord, DecodesSharedLegacyFixtures) {
  // The shared fixtures live beside the repository (../shared/fixtures).
  // A checkout has shared/ beside it; a worktree of it one level further up.
  std::string dir;
  for (const char* up : {"/../shared/fixtures/", "/../../shared/fixtures/"}) {
    std::string candidate = std::string(CHAPERONE_SOURCE_DIR) + up;
    if (std::filesystem::exists(candidate + "legacy-service-record.json")) {
      dir = candidate;
      break;
    }
  }
  if (dir.empty()) GTEST_SKIP() << "no shared/fixtures beside " << CHAPERONE_SOURCE_DIR;
  CheckServiceFixture(dir + "legacy-service-record.json");
  CheckClientFixture(dir + "legacy-client-record.json");
}

TEST(AuditRecord, LegacyRecordReencodesInLegacyShape) {
  std::string path = std::string(CHAPERONE_SOURCE_DIR) + "/tests/fixtures/legacy/legacy-client-record.json";
  auto r = DecodeAuditRecord(ReadText(path));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string text = EncodeAuditRecord(*r);
  EXPECT_EQ(text.find("version"), std::string::npos) << text;
  EXPECT_EQ(text.find("kind"), std::string::npos) << text;
  EXPECT_EQ(text.find("totalBytes"), std::string::npos) << text;
  auto again = DecodeAuditRecord(text);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *r);
}

TEST(AuditRecord, UnknownFieldsAreIgnored) {
  json j = SampleJson();
  j["futureField"] = {{"nested", {1, 2, 3}}};
  j["anotherOne"] = "x";
  j["partitions"][0]["leaderEpoch"] = 5;
  auto d = DecodeAuditRecord(j.dump());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, SampleCount());
}

TEST(AuditRecord, FieldsOfTheOtherKindAreIgnored) {
  json hb = json::parse(EncodeAuditRecord(SampleHeartbeat()));
  hb["meanLatency"] = "not even a number";
  hb["count"] = -3;
  hb["partitions"] = 5;
  auto d = DecodeAuditRecord(hb.dump());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, SampleHeartbeat());

  json count = SampleJson();
  count["watermarkMs"] = "soon";
  count["windowSizeInSec"] = -1;
  auto c = DecodeAuditRecord(count.dump());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, SampleCount());
}

TEST(AuditRecord, IntegralFloatsAreIntegersAndNullIsAbsent) {
  json j = SampleJson();
  j["count"] = 7.0;
  j["timeBeginInSec"] = 1795303800.0;
  j["partitions"][1]["lastOffset"] = 20.0;
  j["unknownNull"] = nullptr;
  auto d = DecodeAuditRecord(j.dump());
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, SampleCount());

  json legacy = json::parse(ReadText(std::string(CHAPERONE_SOURCE_DIR) +
                                     "/tests/fixtures/legacy/legacy-service-record.json"));
  legacy["totalBytes"] = nullptr;  // an optional field written as null by some JSON writers
  auto l = DecodeAuditRecord(legacy.dump());
  ASSERT_TRUE(l.ok()) << l.status().ToString();
  EXPECT_FALSE(l->total_bytes);
}

// One case per rule: (mutation of a valid v1 record, expected error text).
struct Mutation {
  const char* name;
  std::function<void(json&)> mutate;
  const char* error;
};

TEST(AuditRecord, RejectsEveryKindOfBadRecord) {
  std::vector<Mutation> cases = {
      {"count as string", [](json& j) { j["count"] = "7"; }, "field 'count': expected an integer, got a string"},
      {"fractional count", [](json& j) { j["count"] = 7.5; }, "field 'count': expected an integer, got a fractional"},
      {"count beyond int64", [](json& j) { j["count"] = 18446744073709551615ull; }, "field 'count': integer out of range"},
      {"negative count", [](json& j) { j["count"] = -1; }, "field 'count': must be >= 0"},
      {"negative totalBytes", [](json& j) { j["totalBytes"] = -5; }, "field 'totalBytes': must be >= 0"},
      {"negative noTimeCount", [](json& j) { j["noTimeCount"] = -1; }, "field 'noTimeCount'"},
      {"noTimeCount above count", [](json& j) { j["noTimeCount"] = 8; }, "field 'noTimeCount': larger than count"},
      {"malformedCount above count", [](json& j) { j["malformedCount"] = 9; }, "field 'malformedCount'"},
      {"missing topicName", [](json& j) { j.erase("topicName"); }, "field 'topicName': missing"},
      {"missing count", [](json& j) { j.erase("count"); }, "field 'count': missing"},
      {"null count", [](json& j) { j["count"] = nullptr; }, "field 'count': missing"},
      {"missing uuid", [](json& j) { j.erase("uuid"); }, "field 'uuid': missing"},
      {"missing emitterId", [](json& j) { j.erase("emitterId"); }, "field 'emitterId': missing"},
      {"missing seq", [](json& j) { j.erase("seq"); }, "field 'seq': missing"},
      {"missing digest", [](json& j) { j.erase("digest"); }, "field 'digest': missing"},
      {"missing latency50", [](json& j) { j.erase("latency50"); }, "field 'latency50': missing"},
      {"missing flushId", [](json& j) { j.erase("flushId"); }, "field 'flushId': missing"},
      {"empty flushId", [](json& j) { j["flushId"] = ""; }, "field 'flushId': must not be empty"},
      {"empty uuid", [](json& j) { j["uuid"] = ""; }, "field 'uuid': must not be empty"},
      {"empty tier", [](json& j) { j["tier"] = ""; }, "field 'tier': must not be empty"},
      {"long hostname", [](json& j) { j["hostname"] = std::string(300, 'h'); }, "field 'hostname': longer than 256"},
      {"negative seq", [](json& j) { j["seq"] = -2; }, "field 'seq': must be >= 0"},
      {"end equals begin", [](json& j) { j["timeEndInSec"] = j["timeBeginInSec"]; }, "field 'timeEndInSec': must be greater"},
      {"end before begin", [](json& j) { j["timeEndInSec"] = 1795303200; }, "field 'timeEndInSec': must be greater"},
      {"eight-day window", [](json& j) { j["timeEndInSec"] = 1795303800 + 8 * 86400; }, "longer than 7 days"},
      {"window in ms", [](json& j) { j["timeBeginInSec"] = 1795303800000; j["timeEndInSec"] = 1795304400000; }, "year 9999"},
      {"negative begin", [](json& j) { j["timeBeginInSec"] = -600; j["timeEndInSec"] = 0; }, "field 'timeBeginInSec': must be >= 0"},
      {"fractional begin", [](json& j) { j["timeBeginInSec"] = 1795303800.5; }, "field 'timeBeginInSec': expected an integer"},
      {"short digest", [](json& j) { j["digest"] = "abc"; }, "field 'digest': expected exactly 16 lowercase hex"},
      {"uppercase digest", [](json& j) { j["digest"] = "FEDCBA9876543210"; }, "field 'digest'"},
      {"non-hex digest", [](json& j) { j["digest"] = "fedcba987654321g"; }, "field 'digest'"},
      {"numeric digest", [](json& j) { j["digest"] = 12345; }, "field 'digest': expected a string of 16 hex digits, got an integer"},
      {"latency as string", [](json& j) { j["latency99"] = "41"; }, "field 'latency99': expected a number, got a string"},
      {"sketch as number", [](json& j) { j["latencySketch"] = 5; }, "field 'latencySketch': expected a string"},
      {"tier as object", [](json& j) { j["tier"] = json::object(); }, "field 'tier': expected a string, got an object"},
      {"bad kind", [](json& j) { j["kind"] = "gauge"; }, "field 'kind': expected \"count\" or \"heartbeat\""},
      {"version 2", [](json& j) { j["version"] = 2; }, "field 'version': unsupported version 2"},
      {"version 0", [](json& j) { j["version"] = 0; }, "field 'version': unsupported version 0"},
      {"version string", [](json& j) { j["version"] = "1"; }, "field 'version': expected an integer"},
      {"bad topic chars", [](json& j) { j["topicName"] = "orders/eu"; }, "field 'topicName': topic names use only"},
      {"empty topic", [](json& j) { j["topicName"] = ""; }, "field 'topicName': a topic name must not be empty"},
      {"long topic", [](json& j) { j["topicName"] = std::string(250, 't'); }, "field 'topicName': a topic name is at most 249"},
      {"partitions not array", [](json& j) { j["partitions"] = json::object(); }, "field 'partitions': expected an array"},
      {"partition entry not object", [](json& j) { j["partitions"][0] = 3; }, "field 'partitions[0]': expected an object"},
      {"partition missing id", [](json& j) { j["partitions"][1].erase("partition"); }, "field 'partitions[1].partition': missing"},
      {"partition missing count", [](json& j) { j["partitions"][0].erase("count"); }, "field 'partitions[0].count': missing"},
      {"negative partition", [](json& j) { j["partitions"][0]["partition"] = -1; }, "field 'partitions[0].partition'"},
      {"huge partition", [](json& j) { j["partitions"][0]["partition"] = 4294967296ll; }, "field 'partitions[0].partition'"},
      {"duplicate partition", [](json& j) { j["partitions"][1]["partition"] = 0; }, "appears more than once"},
      {"partition sum", [](json& j) { j["count"] = 8; }, "field 'partitions': partition counts add up to 7, but count is 8"},
      {"last before first", [](json& j) { j["partitions"][0]["lastOffset"] = 99; }, "field 'partitions[0].lastOffset': must be >= firstOffset"},
      {"count beyond offsets", [](json& j) { j["partitions"][0]["count"] = 4; j["count"] = 8; }, "field 'partitions[0].count': larger than the offset range"},
      {"half-known offsets", [](json& j) { j["partitions"][0]["firstOffset"] = -1; }, "both known or both -1"},
      {"bad chunkStart", [](json& j) { j["partitions"][0]["chunkStart"] = -7; }, "field 'partitions[0].chunkStart'"},
      {"bad generation", [](json& j) { j["partitions"][0]["generation"] = -2; }, "field 'partitions[0].generation'"},
      {"huge generation", [](json& j) { j["partitions"][1]["generation"] = 4294967296ll; }, "field 'partitions[1].generation'"},
      {"bad assignedMs", [](json& j) { j["partitions"][0]["assignedMs"] = -5; }, "field 'partitions[0].assignedMs'"},
      {"offset as string", [](json& j) { j["partitions"][0]["firstOffset"] = "100"; }, "field 'partitions[0].firstOffset': expected an integer"},
      {"legacy heartbeat", [](json& j) { j.erase("version"); j["kind"] = "heartbeat"; }, "field 'kind': a heartbeat needs version 1"},
      {"heartbeat without watermark", [](json& j) { j["kind"] = "heartbeat"; j["windowSizeInSec"] = 600; j["droppedRecords"] = 0; j["failedDeliveries"] = 0; }, "field 'watermarkMs': missing"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json j = SampleJson();
    c.mutate(j);
    ExpectRejected(j.dump(), c.error);
  }
}

TEST(AuditRecord, RejectsBadHeartbeats) {
  json base = json::parse(EncodeAuditRecord(SampleHeartbeat()));
  std::vector<Mutation> cases = {
      {"zero window", [](json& j) { j["windowSizeInSec"] = 0; }, "field 'windowSizeInSec': must be from 1 s to 7 days"},
      {"huge window", [](json& j) { j["windowSizeInSec"] = 700000; }, "field 'windowSizeInSec'"},
      {"negative watermark", [](json& j) { j["watermarkMs"] = -1; }, "field 'watermarkMs': must be >= 0"},
      {"negative dropped", [](json& j) { j["droppedRecords"] = -1; }, "field 'droppedRecords': must be >= 0"},
      {"negative failed", [](json& j) { j["failedDeliveries"] = -3; }, "field 'failedDeliveries': must be >= 0"},
      {"negative skipped", [](json& j) { j["skippedOffsets"] = -1; }, "field 'skippedOffsets': must be >= 0"},
      {"missing failed", [](json& j) { j.erase("failedDeliveries"); }, "field 'failedDeliveries': missing"},
      {"missing cluster", [](json& j) { j.erase("cluster"); }, "field 'cluster': missing"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json j = base;
    c.mutate(j);
    ExpectRejected(j.dump(), c.error);
  }
}

TEST(AuditRecord, RejectsLegacyRecordsMissingTheirFields) {
  json legacy = json::parse(
      ReadText(std::string(CHAPERONE_SOURCE_DIR) + "/tests/fixtures/legacy/legacy-client-record.json"));
  for (const char* field : {"topicName", "timeBeginInSec", "timeEndInSec", "count", "meanLatency", "latency95",
                            "latency99", "maxLatency", "tier", "hostname", "datacenter", "uuid"}) {
    json j = legacy;
    j.erase(field);
    ExpectRejected(j.dump(), std::string("field '") + field + "': missing (required in a legacy record)");
  }
}

TEST(AuditRecord, RejectsMalformedDocuments) {
  std::string good = EncodeAuditRecord(SampleCount());
  ExpectRejected("", "not valid JSON");
  ExpectRejected("   ", "not valid JSON");
  ExpectRejected("[1,2,3]", "expected a JSON object, got an array");
  ExpectRejected("\"text\"", "expected a JSON object, got a string");
  ExpectRejected("42", "expected a JSON object, got an integer");
  ExpectRejected("null", "expected a JSON object, got null");
  ExpectRejected(good + "x", "not valid JSON");
  ExpectRejected(good + good, "not valid JSON");
  ExpectRejected(good + ",{}", "not valid JSON");
  ExpectRejected(good.substr(0, good.size() - 1), "not valid JSON");
  ExpectRejected("{\"count\":1,}", "not valid JSON");
  ExpectRejected("{\"hostname\":\"\xff\"}", "not valid JSON");  // invalid UTF-8
  ExpectRejected("{\"count\":1e400}", "not valid JSON");
  // A known field twice: which one counts would be ambiguous.
  std::string dup = good;
  dup.insert(1, "\"count\":7,");
  ExpectRejected(dup, "field 'count': appears more than once");
  // Oversized: a valid record padded with a 1 MiB unknown field.
  json big = SampleJson();
  big["padding"] = std::string(kMaxAuditRecordBytes, 'x');
  ExpectRejected(big.dump(), "larger than the 1 MiB limit");
  // Deeply nested unknown fields cannot exhaust the stack.
  std::string deep = "{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  ExpectRejected(deep, "not valid JSON");
}

TEST(AuditRecord, TrailingWhitespaceIsFine) {
  auto d = DecodeAuditRecord(EncodeAuditRecord(SampleCount()) + "\r\n  ");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
}

TEST(AuditRecord, ValidateNamesMissingVersionOneFields) {
  AuditRecord r = SampleCount();
  EXPECT_TRUE(ValidateAuditRecord(r).ok());
  r.digest.reset();
  Status s = ValidateAuditRecord(r);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "field 'digest': required in a version 1 count record");
  r = SampleCount();
  r.total_bytes.reset();
  EXPECT_EQ(ValidateAuditRecord(r).message(), "field 'totalBytes': required in a version 1 count record");
  r = SampleCount();
  r.seq = -1;
  EXPECT_EQ(ValidateAuditRecord(r).message(), "field 'seq': must be >= 0 in a version 1 record");
  r = SampleCount();
  r.version = 3;
  EXPECT_FALSE(ValidateAuditRecord(r).ok());
  r = SampleCount();
  r.mean_latency_ms = std::nan("");
  EXPECT_EQ(ValidateAuditRecord(r).message(), "field 'meanLatency': must be a finite number");
  EXPECT_TRUE(ValidateAuditRecord(SampleHeartbeat()).ok());
}

TEST(AuditRecord, PartitionsWithUnknownOffsetsAreAccepted) {
  AuditRecord r = SampleCount();
  r.partitions = {{5, 7, -1, -1, -1}};
  auto d = DecodeAuditRecord(EncodeAuditRecord(r));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(*d, r);
}

}  // namespace
}  // namespace chaperone
