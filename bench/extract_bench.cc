// Event-time extraction, per message: Chaperone's scanner (TimestampChain)
// next to simdjson On-Demand, a full DOM parse (nlohmann::json) and a raw
// memchr pass over the same bytes. Messages of 200 B and 2 KB, with the
// timestamp field first or last. Figures: docs/performance.md.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "chaperone/event_time.h"

namespace {

using chaperone::MessageView;
using chaperone::TimestampChain;

constexpr std::string_view kTsField = R"("ts":1700000000123)";

// A typical event without its timestamp, grown to about `size` bytes: nested
// objects, arrays of objects, strings with escapes, numbers and literals.
std::string EventBody(size_t size) {
  std::string body =
      R"("event":"page_view","user_id":"u-1234567","session":"9f1c2a7e-5b3d-4c8e-a1f0-6d2e9b7c4a31",)"
      R"("device":{"os":"android","version":"14.2","model":"Pixel 8"},"ok":true,"score":0.875)";
  int i = 0;
  while (body.size() + 160 < size) {
    body += ",\"item" + std::to_string(i++) +
            R"(":{"sku":"SKU-000123","qty":2,"price":19.99,"tags":["red","sale"],"note":"says \"hi\" \\ ok"})";
  }
  body += R"(,"url":")";
  while (body.size() + 2 + kTsField.size() + 2 < size) body += 'x';
  body += '"';
  return body;
}

std::string Message(size_t size, bool field_first) {
  const std::string body = EventBody(size);
  return field_first ? "{" + std::string(kTsField) + "," + body + "}" : "{" + body + "," + std::string(kTsField) + "}";
}

void SetCounters(benchmark::State& state, size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["msg_bytes"] = static_cast<double>(bytes);
}

void BM_Chaperone(benchmark::State& state, std::string msg, const char* spec) {
  const TimestampChain chain = TimestampChain::Parse(spec).value();
  MessageView m;
  m.value = msg;
  m.value_null = false;
  if (!chain.Extract(m).found) state.SkipWithError("no event time found");
  for (auto _ : state) {
    benchmark::DoNotOptimize(m.value.data());
    const chaperone::EventTime t = chain.Extract(m);
    benchmark::DoNotOptimize(t);
  }
  SetCounters(state, msg.size());
}

// simdjson On-Demand needs SIMDJSON_PADDING readable bytes after the input;
// a Kafka payload has none, so each message is copied into a padded buffer.
void BM_SimdjsonOnDemand(benchmark::State& state, std::string msg, bool copy) {
  simdjson::ondemand::parser parser;
  std::vector<char> buf(msg.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buf.data(), msg.data(), msg.size());
  auto extract = [&]() -> uint64_t {
    if (copy) std::memcpy(buf.data(), msg.data(), msg.size());
    simdjson::ondemand::document doc;
    if (parser.iterate(buf.data(), msg.size(), buf.size()).get(doc) != simdjson::SUCCESS) return 0;
    uint64_t ts = 0;
    if (doc.find_field_unordered("ts").get_uint64().get(ts) != simdjson::SUCCESS) return 0;
    return ts;
  };
  if (extract() != 1700000000123) state.SkipWithError("simdjson did not find ts");
  for (auto _ : state) {
    benchmark::DoNotOptimize(msg.data());
    benchmark::DoNotOptimize(extract());
  }
  SetCounters(state, msg.size());
}

void BM_NlohmannDom(benchmark::State& state, std::string msg) {
  auto extract = [&]() -> uint64_t {
    const nlohmann::json doc = nlohmann::json::parse(msg, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return 0;
    auto it = doc.find("ts");
    return it != doc.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
  };
  if (extract() != 1700000000123) state.SkipWithError("nlohmann did not find ts");
  for (auto _ : state) benchmark::DoNotOptimize(extract());
  SetCounters(state, msg.size());
}

void BM_Memchr(benchmark::State& state, std::string msg) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(msg.data());
    benchmark::DoNotOptimize(std::memchr(msg.data(), '\x01', msg.size()));
  }
  SetCounters(state, msg.size());
}

void RegisterAll() {
  benchmark::AddCustomContext("simdjson_implementation", simdjson::get_active_implementation()->name());
  for (size_t size : {size_t{200}, size_t{2048}}) {
    for (bool first : {true, false}) {
      const std::string msg = Message(size, first);
      const std::string tag = std::to_string(size) + "B/" + (first ? "first" : "last");
      benchmark::RegisterBenchmark(("chaperone_default_chain/" + tag).c_str(), BM_Chaperone, msg,
                                   "json:ts,json:timestamp,record");
      benchmark::RegisterBenchmark(("simdjson_ondemand_copy/" + tag).c_str(), BM_SimdjsonOnDemand, msg, true);
      benchmark::RegisterBenchmark(("simdjson_ondemand_prepadded/" + tag).c_str(), BM_SimdjsonOnDemand, msg, false);
      benchmark::RegisterBenchmark(("nlohmann_dom/" + tag).c_str(), BM_NlohmannDom, msg);
      benchmark::RegisterBenchmark(("memchr/" + tag).c_str(), BM_Memchr, msg);
    }
  }
  // Other value forms and chains on the 2 KB message.
  const std::string body = EventBody(2048);
  benchmark::RegisterBenchmark("chaperone_iso8601_first/2048B", BM_Chaperone,
                               "{\"ts\":\"2026-11-22T10:00:00.123+05:30\"," + body + "}", "json:ts,record");
  benchmark::RegisterBenchmark("chaperone_timestamp_only/2048B", BM_Chaperone,
                               "{\"timestamp\":1700000000123," + body + "}", "json:ts,json:timestamp,record");
  benchmark::RegisterBenchmark("chaperone_dotted_path_last/2048B", BM_Chaperone,
                               "{" + body + ",\"meta\":{\"id\":7,\"created_at\":1700000000123}}",
                               "json:meta.created_at,record");
}

}  // namespace

int main(int argc, char** argv) {
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
