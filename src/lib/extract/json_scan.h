// A single-pass, DOM-free scan of a JSON object for event-time fields.
// Internal to libchaperone (used by TimestampChain::Extract).
//
// The scanner walks the top-level object key by key. Values of keys that are
// not wanted are skipped structurally (strings end at their closing quote,
// arrays and objects at their matching bracket); a wanted value is parsed as
// an event time. It stops as soon as the answer is known, so a field near the
// start of a large payload costs only the bytes before it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chaperone::extract {

// Maximum number of paths one scan looks for (bits of a uint32_t mask).
inline constexpr size_t kMaxScanPaths = 16;
// Arrays and objects nested deeper than this make a payload malformed.
inline constexpr int kMaxNesting = 1024;

// One json: source: a dotted path of field names, each already ASCII-lowercased
// (keys are compared ASCII case-insensitively).
struct JsonPath {
  std::vector<std::string> fields;  // 1 .. TimestampChain::kMaxPathDepth
};

struct JsonScanResult {
  int path = -1;           // index of the first path, in order, with a usable event time; -1 if none
  int64_t ms = 0;          // its event time when path >= 0
  bool malformed = false;  // the payload could not be scanned as a JSON object as far as needed
};

// Looks for `paths` (at most kMaxScanPaths) in `payload` in one pass. The
// result is what evaluating the paths one after the other would give: path i
// is used only when every path before it has no usable value, each path
// looks at the first occurrence of each of its fields, and a syntax error
// reached before the answer is known sets `malformed`.
JsonScanResult ScanJsonForEventTime(std::string_view payload, const JsonPath* paths, size_t count);

// The general scanner alone, without the fast path ScanJsonForEventTime takes
// for payloads that start with the first path's field ({"ts":<number>...).
// Both give the same result for every payload (tests compare them).
JsonScanResult ScanJsonForEventTimeGeneral(std::string_view payload, const JsonPath* paths, size_t count);

// Decodes the body of a JSON string (without its quotes) into out[0, cap).
// Returns the decoded length, kDecodeTooLong when it does not fit, or
// kDecodeInvalid for a bad escape. Unpaired surrogates decode as WTF-8.
inline constexpr ptrdiff_t kDecodeTooLong = -1;
inline constexpr ptrdiff_t kDecodeInvalid = -2;
ptrdiff_t DecodeJsonString(std::string_view raw, char* out, size_t cap);

}  // namespace chaperone::extract
