#include "common/time_format.h"

#include <fmt/format.h>

#include <ctime>

namespace chaperone::common {

std::string FormatRfc3339(int64_t unix_ms) {
  int64_t s = unix_ms / 1000;
  int64_t ms = unix_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    s -= 1;
  }
  std::time_t t = static_cast<std::time_t>(s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (ms != 0) out += fmt::format(".{:03}", ms);
  return out + "Z";
}

}  // namespace chaperone::common
