// WindowTracker: running sums per (topic, window) — or per (topic, partition,
// window) — of what one emitter observed since its last flush.
//
// Windows are tumbling windows of event time aligned to the Unix epoch
// (WindowStartSec in types.h). A message goes to the window of its event time,
// however late it arrives; a message with no usable event time goes to the
// window of its observation time and is counted in `no_time`. Drain() hands out
// everything accumulated since the previous Drain() as partial sums and starts
// afresh; records built from them are merged downstream by addition.
//
// Threads: not thread-safe. One owner calls every method: a single thread, or
// an owner that serialises its threads with its own lock.
//
// Memory bound (max_open_windows = C):
//   - NeedsFlush() turns true once C windows are held: the owner must Drain()
//     now (it normally drains on a timer long before).
//   - If the owner does not, the tracker keeps accepting messages up to 2C open
//     windows. When a message needs a new window beyond that, the oldest half of
//     the open windows (smallest window start) is closed and moved to a spill
//     list; windows_over_cap() counts them. Spilled windows are returned by the
//     next Drain(), merged with any window of the same key opened afterwards.
//   - The spill list holds at most C windows. Beyond that the oldest spilled
//     windows are discarded and counted in dropped_windows() and
//     dropped_messages(): never silently; the owner reports these counters.
//   So a tracker never holds more than 3C windows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/latency_sketch.h"
#include "chaperone/types.h"

namespace chaperone {

using TopicId = uint32_t;

// Latest usable event time, 9999-12-31T23:59:59.999Z (audit records reject
// windows after the year 9999). Event times beyond it count as no event time.
inline constexpr int64_t kMaxEventMs = 253'402'300'799'999;

struct TrackerOptions {
  int64_t window_sec = kDefaultWindowSec;  // 1 .. kMaxWindowSec (7 days); out-of-range values are clamped
  // Service tier: key windows by (topic, partition, window); every snapshot
  // then carries exactly one PartitionCount, for its partition (none when the
  // partition is unknown, < 0).
  bool by_partition = false;
  // Keep, inside each (topic, window), the count and first/last offset of every
  // partition seen (ignored when by_partition is set: it implies it).
  bool track_partitions = false;
  // Soft bound on the windows held; see the memory bound above (0 is taken as 1).
  size_t max_open_windows = 100000;
};

struct Observation {
  TopicId topic = 0;
  int32_t partition = -1;  // -1: unknown
  int64_t offset = -1;     // -1: unknown (not used for first/last offsets)
  // Event time, ms since the epoch. -1 (any value outside [0, kMaxEventMs]):
  // no usable event time; the message is counted in no_time, windowed by
  // observed_ms and gives no latency sample.
  int64_t event_ms = -1;
  // Wall clock when observed; clamped to [0, kMaxEventMs] for windowing.
  int64_t observed_ms = 0;
  uint32_t bytes = 0;       // key + value size
  uint64_t digest = 0;      // MessageDigest(key, value)
  bool malformed = false;   // the payload could not be scanned
};

// Partial sums for one (topic[, partition], window) since the previous Drain().
struct WindowSnapshot {
  std::string topic;
  int64_t window_begin_sec = 0;
  int64_t window_end_sec = 0;
  int64_t count = 0;
  int64_t bytes = 0;
  int64_t no_time = 0;
  int64_t malformed = 0;
  uint64_t digest = 0;  // sum mod 2^64 of the messages' digests
  // observed_ms - event_ms of every message with an event time.
  LatencySketch latency;
  // Sorted by partition; empty unless by_partition or track_partitions. The
  // counts add up to `count`: a window that counted a message of unknown
  // partition (< 0) has no partition detail at all. chunk_start is left -1 for
  // the owner to fill.
  std::vector<PartitionCount> partitions;
};

class WindowTracker {
 public:
  explicit WindowTracker(TrackerOptions opts);
  ~WindowTracker();
  // Movable; a moved-from tracker may only be destroyed or assigned to.
  WindowTracker(WindowTracker&&) noexcept;
  WindowTracker& operator=(WindowTracker&&) noexcept;
  WindowTracker(const WindowTracker&) = delete;
  WindowTracker& operator=(const WindowTracker&) = delete;

  const TrackerOptions& options() const;

  // A stable small id for a topic name (the same name always gets the same id).
  // Callers look it up once per topic and cache it.
  TopicId InternTopic(std::string_view name);
  // The name of an id returned by InternTopic. The reference stays valid for
  // the tracker's lifetime.
  const std::string& TopicName(TopicId id) const;
  size_t topic_count() const;

  // Counts one message. `o.topic` must come from InternTopic.
  void Add(const Observation& o);

  // Everything accumulated since the last Drain(), sorted by topic name, window
  // and partition, one snapshot per key; the tracker is empty afterwards.
  std::vector<WindowSnapshot> Drain();

  // Windows held: open windows plus spilled ones awaiting Drain().
  size_t open_windows() const;
  // True once open_windows() >= max_open_windows: the owner must Drain() now.
  bool NeedsFlush() const;
  // Since construction: windows closed early because the owner let open
  // windows reach 2 * max_open_windows (they are still reported by Drain()).
  int64_t windows_over_cap() const;
  // Since construction: windows discarded because the spill list was full too,
  // and the messages they counted.
  int64_t dropped_windows() const;
  int64_t dropped_messages() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Fills the observation fields of an audit record from a snapshot: topic,
// window, count, total_bytes, no_time_count, malformed_count, digest,
// partitions, the encoded latency sketch and the latency figures derived from
// it (mean, p50, p95, p99, max; all 0 when the window has no latency sample).
// Identity fields (tier, uuid, seq, flush id ...) are the Emitter's.
void FillAuditRecord(const WindowSnapshot& s, AuditRecord* r);

}  // namespace chaperone
