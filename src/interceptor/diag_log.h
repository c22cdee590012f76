// Diagnostics of the auditing engine: one line on stderr, prefixed with
// "chaperone-interceptor", rate limited per message kind so that a broken
// audit path cannot flood the host application's log.
#pragma once

#include <cstdarg>
#include <cstdint>

#include "chaperone/audit_client.h"
#include "common/rate_limited_log.h"

namespace chaperone::interceptor {

class DiagLog {
 public:
  enum Kind { kSendFailed, kOutboxFull, kQueueFull, kReporter, kClose, kOther, kKindCount };

  explicit DiagLog(AuditLogLevel level) : level_(level) {}

  // Logs unless `level` is above the configured one or a line of the same
  // kind was logged less than kIntervalMs ago (those are counted, and the
  // next line says how many were suppressed). kClose lines are never
  // suppressed. Thread-safe.
  void Log(AuditLogLevel level, Kind kind, const char* fmt, ...) __attribute__((format(printf, 4, 5)));

  static constexpr int64_t kIntervalMs = common::kDefaultLogIntervalNs / 1'000'000;

 private:
  const AuditLogLevel level_;
  common::LogRateLimiter limiters_[kKindCount];  // one per kind, kIntervalMs each
};

}  // namespace chaperone::interceptor
