// Rate-limited logging: at most one line per interval for each kind of
// message, so that a fault repeating thousands of times a second (an
// unreachable broker, a failing store) costs one line and a count.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "chaperone/clock.h"

namespace chaperone::common {

inline constexpr int64_t kDefaultLogIntervalNs = 10'000'000'000;

// Decides whether one line of a kind may be written now. Thread-safe; the
// caller supplies monotonic time, so a fake clock drives it in tests.
class LogRateLimiter {
 public:
  explicit LogRateLimiter(int64_t interval_ns = kDefaultLogIntervalNs) : interval_ns_(interval_ns) {}
  LogRateLimiter(const LogRateLimiter&) = delete;
  LogRateLimiter& operator=(const LogRateLimiter&) = delete;

  // The first call, and the first after `interval_ns` since the last admitted
  // one, are admitted: the result is how many lines were suppressed in
  // between. Any other call is counted and answers nullopt.
  std::optional<int64_t> Admit(int64_t now_ns);

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
  const int64_t interval_ns_;
  std::atomic<int64_t> last_ns_{kNever};
  std::atomic<int64_t> suppressed_{0};
};

// spdlog warnings "<prefix>: <message>" through a LogRateLimiter; an admitted
// line ends with " (N similar messages suppressed)" when some were.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::string prefix, int64_t interval_ns = kDefaultLogIntervalNs)
      : prefix_(std::move(prefix)), limiter_(interval_ns) {}

  // Reads `clock`'s monotonic time.
  template <typename... Args>
  void Warn(const Clock& clock, fmt::format_string<Args...> f, Args&&... args) {
    std::optional<int64_t> suppressed = limiter_.Admit(clock.MonotonicNs());
    if (suppressed) Write(fmt::format(f, std::forward<Args>(args)...), *suppressed);
  }

 private:
  void Write(const std::string& message, int64_t suppressed) const;

  const std::string prefix_;
  LogRateLimiter limiter_;
};

}  // namespace chaperone::common
