// Fuzzes event-time extraction: the input is a message value (and a header
// value, a date-time, a chain spec). Beyond "never crash, never read out of
// bounds" (libFuzzer hands over a buffer of exactly `size` bytes, so ASan sees
// any over-read), it checks the scanner against nlohmann::json: a payload that
// nlohmann parses as an object is never malformed, and a single top-level "ts"
// holding an integer gives exactly the time the magnitude rule says.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "chaperone/event_time.h"

namespace {

using chaperone::EventTime;
using chaperone::MessageView;
using chaperone::TimestampChain;

constexpr int64_t kRecordMs = 5;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "event_time_fuzz: %s\n", what);
    std::abort();
  }
}

const TimestampChain& ChainOf(const char* spec) {
  auto* chain = new TimestampChain(TimestampChain::Parse(spec).value());
  return *chain;
}

bool InputAsHeader(const void* ctx, std::string_view name, std::string_view* value) {
  if (name != "x") return false;
  *value = *static_cast<const std::string_view*>(ctx);
  return true;
}

// The magnitude rule, written independently of the library.
std::optional<int64_t> ExpectedMs(uint64_t v) {
  if (v == 0) return std::nullopt;
  if (v < 100'000'000'000ULL) return static_cast<int64_t>(v * 1000);
  if (v < 100'000'000'000'000ULL) return static_cast<int64_t>(v);
  if (v < 100'000'000'000'000'000ULL) return static_cast<int64_t>(v / 1000);
  return static_cast<int64_t>(v / 1'000'000);
}

std::string LowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

void CompareWithNlohmann(std::string_view input, const TimestampChain& ts_only) {
  // Past ~1000 bytes the input could nest deeper than the scanner's limit;
  // nlohmann reads a NUL byte outside strings as the end of the input.
  if (input.size() > 1000 || input.find('\0') != std::string_view::npos) return;
  int ts_keys = 0;
  nlohmann::json::parser_callback_t count_ts = [&](int depth, nlohmann::json::parse_event_t event,
                                                   nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string() &&
        LowerAscii(parsed.get<std::string>()) == "ts") {
      ++ts_keys;
    }
    return true;
  };
  const nlohmann::json doc = nlohmann::json::parse(input.begin(), input.end(), count_ts, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return;

  MessageView m;
  m.value = input;
  m.value_null = false;
  const EventTime t = ts_only.Extract(m);
  Check(!t.malformed, "a valid JSON object was reported malformed");
  if (ts_keys == 0) Check(!t.found, "found a ts field that is not at the top level");
  if (ts_keys != 1) return;
  for (const auto& [key, value] : doc.items()) {
    if (LowerAscii(key) != "ts") continue;
    if (value.is_number_unsigned()) {
      const std::optional<int64_t> expected = ExpectedMs(value.get<uint64_t>());
      Check(t.found == expected.has_value(), "integer ts: found differs from the magnitude rule");
      Check(!t.found || t.ms == *expected, "integer ts: wrong milliseconds");
    } else if (value.is_number_integer() || value.is_null() || value.is_boolean() || value.is_object() ||
               value.is_array()) {
      Check(!t.found, "a non-positive, null, boolean, object or array ts was used");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const TimestampChain& kDefault = TimestampChain::Default();
  static const TimestampChain& kTsOnly = ChainOf("json:ts");
  static const TimestampChain& kPaths = ChainOf("json:meta.created_at,json:a.b.c,json:A,header:x,record");
  static const TimestampChain& kOverlapping = ChainOf("json:a.a.a,json:a.a,json:a,json:\xc3\xa9t\xc3\xa9");

  const std::string_view input(reinterpret_cast<const char*>(data), size);
  MessageView m;
  m.value = input;
  m.value_null = false;
  m.record_timestamp_ms = kRecordMs;
  m.headers_ctx = &input;
  m.find_header = &InputAsHeader;

  for (const TimestampChain* chain : {&kDefault, &kTsOnly, &kPaths, &kOverlapping}) {
    const EventTime t = chain->Extract(m);
    Check(!t.found || t.ms > 0, "found a non-positive event time");
    const EventTime again = chain->Extract(m);
    Check(t.found == again.found && t.ms == again.ms && t.malformed == again.malformed, "not deterministic");
  }
  // Header and date-time parsing of the same bytes.
  if (std::optional<int64_t> ms = chaperone::ParseIso8601Ms(input)) {
    Check(*ms > -62'200'000'000'000 && *ms < 253'500'000'000'000, "date-time out of the years 0000-9999");
  }
  // The input as a chain spec: a parsed chain round-trips through ToString().
  if (size < 512) {
    chaperone::Result<TimestampChain> chain = TimestampChain::Parse(input);
    if (chain.ok()) {
      chaperone::Result<TimestampChain> again = TimestampChain::Parse(chain->ToString());
      Check(again.ok() && again->ToString() == chain->ToString(), "chain spec does not round-trip");
      chain->Extract(m);
    }
  }
  CompareWithNlohmann(input, kTsOnly);
  return 0;
}
