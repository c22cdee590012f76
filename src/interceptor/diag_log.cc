#include "interceptor/diag_log.h"

#include <time.h>

#include <cstdio>

namespace chaperone::interceptor {
namespace {

int64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
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
  if (kind != kClose) {
    int64_t now = MonotonicMs();
    int64_t last = last_ms_[kind].load(std::memory_order_relaxed);
    if ((last != 0 && now - last < kIntervalMs) || !last_ms_[kind].compare_exchange_strong(last, now)) {
      suppressed_[kind].fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  int64_t skipped = suppressed_[kind].exchange(0, std::memory_order_relaxed);
  if (skipped > 0) {
    std::fprintf(stderr, "%% chaperone-interceptor %s: %s (%lld similar messages suppressed)\n", LevelName(level),
                 line, static_cast<long long>(skipped));
  } else {
    std::fprintf(stderr, "%% chaperone-interceptor %s: %s\n", LevelName(level), line);
  }
}

}  // namespace chaperone::interceptor
