// Wall-clock times as text: RFC 3339 in UTC, the format every API response
// and notification of Chaperone writes.
#pragma once

#include <cstdint>
#include <string>

namespace chaperone::common {

// Milliseconds since the Unix epoch as RFC 3339 in UTC: "2024-05-01T10:00:00Z",
// or "2024-05-01T10:00:00.123Z" when the milliseconds are not zero.
std::string FormatRfc3339(int64_t unix_ms);

}  // namespace chaperone::common
