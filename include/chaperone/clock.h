// The clock is injected everywhere: wall-clock time (observation time, window
// boundaries) and monotonic time (timers, flush intervals) are kept apart.
#pragma once

#include <atomic>
#include <cstdint>

namespace chaperone {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, milliseconds since the Unix epoch.
  virtual int64_t NowMs() const = 0;
  // Monotonic time in nanoseconds (arbitrary origin); for intervals only.
  virtual int64_t MonotonicNs() const = 0;
};

// The real clock (std::chrono::system_clock / steady_clock).
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  int64_t MonotonicNs() const override;
  static SystemClock& Instance();
};

// A clock that moves only when told to; for tests. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'700'000'000'000) : now_ms_(now_ms), mono_ns_(0) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  int64_t MonotonicNs() const override { return mono_ns_.load(); }
  void SetMs(int64_t now_ms) { now_ms_ = now_ms; }
  // Advances both clocks.
  void AdvanceMs(int64_t ms) {
    now_ms_ += ms;
    mono_ns_ += ms * 1'000'000;
  }

 private:
  std::atomic<int64_t> now_ms_;
  std::atomic<int64_t> mono_ns_;
};

}  // namespace chaperone
