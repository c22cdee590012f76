#include "interceptor/diag_log.h"

#include <time.h>

#include <cstdio>
#include <optional>

namespace chaperone::interceptor {
namespace {

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

const char* LevelName(AuditLogLevel l) {
  switch (l) {
    case AuditLogLevel::kError: return "error";
    case AuditLogLevel::kWarning: return "warning";
    case AuditLogLevel::kInfo: return "info";
    case AuditLogLevel::kOff: break;
  }
  return "";
}

}  // namespace

void DiagLog::Log(AuditLogLevel level, Kind kind, const char* fmt, ...) {
  if (level == AuditLogLevel::kOff || static_cast<int>(level) > static_cast<int>(level_)) return;
  int64_t skipped = 0;
  if (kind != kClose) {
    std::optional<int64_t> admitted = limiters_[kind].Admit(MonotonicNs());
    if (!admitted) return;
    skipped = *admitted;
  }
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (skipped > 0) {
    std::fprintf(stderr, "%% chaperone-interceptor %s: %s (%lld similar messages suppressed)\n", LevelName(level),
                 line, static_cast<long long>(skipped));
  } else {
    std::fprintf(stderr, "%% chaperone-interceptor %s: %s\n", LevelName(level), line);
  }
}

}  // namespace chaperone::interceptor
