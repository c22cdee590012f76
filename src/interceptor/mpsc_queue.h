// A bounded multi-producer single-consumer queue of small trivially copyable
// values, for the interceptor's hot path.
//
// Producers are librdkafka threads (broker threads run on_acknowledgement,
// application threads run on_consume) and must never block: TryPush either
// claims a cell with one compare-and-swap or reports that the queue is full,
// and the caller drops and counts. One consumer thread (the auditor's drain
// thread) pops in batches.
//
// Each cell carries a sequence number (D. Vyukov's bounded queue): a producer
// may write cell i when its sequence equals the position it claimed; the
// consumer may read it when the sequence is position + 1. The sequence store
// is the release that publishes the value to the consumer.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

namespace chaperone::interceptor {

template <typename T>
class MpscQueue {
  static_assert(std::is_trivially_copyable_v<T>, "cells are copied without constructors");

 public:
  // Capacity is rounded up to a power of two (at least 2).
  explicit MpscQueue(size_t capacity) : mask_(RoundUp(capacity) - 1), cells_(new Cell[mask_ + 1]) {
    for (size_t i = 0; i <= mask_; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  MpscQueue(const MpscQueue&) = delete;
  MpscQueue& operator=(const MpscQueue&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // Any thread. Returns false (and leaves the queue unchanged) when full.
  bool TryPush(const T& value) {
    uint64_t pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[pos & mask_];
      uint64_t seq = cell.seq.load(std::memory_order_acquire);
      auto diff = static_cast<int64_t>(seq - pos);
      if (diff == 0) {
        if (tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          cell.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
        // `pos` was reloaded by the failed exchange.
      } else if (diff < 0) {
        return false;  // the consumer has not freed this cell yet: full
      } else {
        pos = tail_.load(std::memory_order_relaxed);  // another producer took it
      }
    }
  }

  // Consumer thread only. Pops up to `max` values into `out`; returns how many.
  size_t PopBatch(T* out, size_t max) {
    size_t n = 0;
    uint64_t head = head_.load(std::memory_order_relaxed);
    while (n < max) {
      Cell& cell = cells_[head & mask_];
      if (cell.seq.load(std::memory_order_acquire) != head + 1) break;  // empty (or a producer mid-write)
      out[n++] = cell.value;
      cell.seq.store(head + mask_ + 1, std::memory_order_release);
      ++head;
    }
    head_.store(head, std::memory_order_relaxed);
    return n;
  }

  // Approximate (exact when no producer is active). Any thread.
  size_t SizeApprox() const {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    uint64_t head = head_.load(std::memory_order_relaxed);
    return tail >= head ? static_cast<size_t>(tail - head) : 0;
  }

  // Consumer thread only: true when nothing is ready to pop.
  bool EmptyForConsumer() const {
    uint64_t head = head_.load(std::memory_order_relaxed);
    return cells_[head & mask_].seq.load(std::memory_order_acquire) != head + 1;
  }

 private:
  struct Cell {
    std::atomic<uint64_t> seq;
    T value;
  };

  static size_t RoundUp(size_t n) {
    size_t c = 2;
    while (c < n) c <<= 1;
    return c;
  }

  const size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  // Producers contend on tail_; keep it off the consumer's line.
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the consumer only; read by SizeApprox
};

}  // namespace chaperone::interceptor
