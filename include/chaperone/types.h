// Strong types for the Kafka coordinates Chaperone talks about.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace chaperone {

template <typename T, typename Tag>
class StrongInt {
 public:
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const StrongInt&) const = default;

 private:
  T v_{};
};

using PartitionId = StrongInt<int32_t, struct PartitionIdTag>;
using Offset = StrongInt<int64_t, struct OffsetTag>;

// Milliseconds since the Unix epoch.
using TimestampMs = int64_t;

inline constexpr int64_t kDefaultWindowSec = 600;

// Start of the epoch-aligned tumbling window holding `t_ms`, in seconds.
constexpr int64_t WindowStartSec(TimestampMs t_ms, int64_t window_sec) {
  int64_t s = t_ms >= 0 ? t_ms / 1000 : -((-t_ms + 999) / 1000);
  int64_t r = s % window_sec;
  return r >= 0 ? s - r : s - r - window_sec;
}

}  // namespace chaperone

template <typename T, typename Tag>
struct std::hash<chaperone::StrongInt<T, Tag>> {
  size_t operator()(const chaperone::StrongInt<T, Tag>& v) const noexcept { return std::hash<T>{}(v.value()); }
};
