#include "common/rate_limited_log.h"

#include <spdlog/spdlog.h>

namespace chaperone::common {

std::optional<int64_t> LogRateLimiter::Admit(int64_t now_ns) {
  int64_t last = last_ns_.load(std::memory_order_relaxed);
  if ((last != kNever && now_ns - last < interval_ns_) ||
      !last_ns_.compare_exchange_strong(last, now_ns, std::memory_order_relaxed)) {
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return suppressed_.exchange(0, std::memory_order_relaxed);
}

void RateLimitedLog::Write(const std::string& message, int64_t suppressed) const {
  if (suppressed > 0) {
    spdlog::warn("{}: {} ({} similar messages suppressed)", prefix_, message, suppressed);
  } else {
    spdlog::warn("{}: {}", prefix_, message);
  }
}

}  // namespace chaperone::common
