// Lets the drain thread sleep while the queue is idle, and lets producers wake
// it without a lock or a syscall on the common path.
//
// The consumer announces that it is going to sleep (PrepareWait), checks once
// more for work, then waits on a futex with a timeout. A producer that has just
// pushed reads one relaxed flag and makes a FUTEX_WAKE syscall only when the
// consumer is (about to be) asleep, i.e. at most once per sleep.
//
// There is deliberately no full fence between a producer's push and its read
// of the flag, so a push racing with PrepareWait may not wake the consumer;
// the next push will, and the consumer never sleeps past its timeout (the next
// flush, which drains the queue first). Nothing is lost, only delayed.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>

namespace chaperone::interceptor {

class Waker {
 public:
  // Producers (any thread).
  void Notify() {
    if (state_.load(std::memory_order_relaxed) == kSleeping) {
      if (state_.exchange(kAwake, std::memory_order_acq_rel) == kSleeping) Wake();
    }
  }
  // Other threads that need the consumer now (flush, close).
  void NotifyAlways() {
    state_.store(kAwake, std::memory_order_seq_cst);
    Wake();
  }

  // Consumer only: PrepareWait(), re-check for work, then Wait() or CancelWait().
  void PrepareWait() { state_.store(kSleeping, std::memory_order_seq_cst); }
  void CancelWait() { state_.store(kAwake, std::memory_order_relaxed); }
  void Wait(std::chrono::nanoseconds timeout) {
    if (timeout.count() > 0) {
      timespec ts{};
      ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
      ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
      // Returns at once if a producer already flipped the state to awake.
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, kSleeping, &ts, nullptr, 0);
    }
    state_.store(kAwake, std::memory_order_relaxed);
  }

 private:
  static constexpr uint32_t kAwake = 0;
  static constexpr uint32_t kSleeping = 1;
  void Wake() { syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0); }

  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free);
  alignas(64) std::atomic<uint32_t> state_{kAwake};
};

}  // namespace chaperone::interceptor
