// PartitionLedger: the per-partition bookkeeping of exactly-once auditing by
// chunk replacement (docs/architecture.md, "Exactly once at the service tier").
//
// A *chunk* is what one partition contributed since its last commit: it starts
// at `chunk_start`, the first offset counted after the commit (or after the
// assignment, or after a rewind), and ends at `next_offset` - 1. Every audit
// record carries its chunk's start. A flush reports the chunk, then commits
// `next_offset`; a failure discards the chunk and rewinds the partition to its
// committed offset, so the replay starts at the same offset and the collector
// replaces the earlier report of the chunk with the new one.
//
// Owned by the consume thread of a ConsumeLoop (pipeline/consume_loop.h); no locking.
#pragma once

#include <cstdint>

namespace chaperone::pipeline {

inline constexpr int64_t kUnknownOffset = -1;

class PartitionLedger {
 public:
  enum class Verdict {
    kCount,      // count the message
    kStale,      // at or below an offset already counted (or below the rewind point): drop it
    kRewinding,  // the partition waits for its rewind: drop it, it will be read again
  };

  // `committed`: the group's committed offset when known (kUnknownOffset otherwise).
  explicit PartitionLedger(int64_t committed = kUnknownOffset) : committed_(committed) {}

  // Hot path: called for every message of the partition, in offset order.
  // The first message after the assignment or a rewind is always counted
  // (librdkafka starts there: the committed offset, or the reset position
  // when that is gone); later ones must move forward.
  Verdict OnMessage(int64_t offset) {
    if (rewinding_) return Verdict::kRewinding;
    if (offset < floor_) return Verdict::kStale;
    if (chunk_start_ < 0) chunk_start_ = offset;
    floor_ = offset + 1;
    started_ = true;
    ++pending_;
    return Verdict::kCount;
  }

  // True when the next OnMessage is the first since the assignment or the last
  // rewind: the caller checks it against the committed offset for retention loss.
  bool first_since_start() const { return !rewinding_ && !started_; }

  bool has_pending() const { return pending_ > 0; }
  int64_t pending() const { return pending_; }
  int64_t chunk_start() const { return chunk_start_; }
  // The offset to commit: one past the last counted message.
  int64_t commit_offset() const { return floor_; }
  int64_t committed() const { return committed_; }
  bool rewinding() const { return rewinding_; }
  // Where the partition stands: the next offset to count (kUnknownOffset when unknown).
  int64_t position() const { return started_ ? floor_ : committed_; }

  // The chunk was reported and `commit_offset()` committed: the next message
  // starts a new chunk.
  void OnCommitted() {
    committed_ = floor_;
    chunk_start_ = kUnknownOffset;
    pending_ = 0;
  }

  // The chunk's counts were discarded: drop messages until OnRewound().
  // Returns how many counted messages were discarded.
  int64_t Discard() {
    int64_t n = pending_;
    pending_ = 0;
    chunk_start_ = kUnknownOffset;
    rewinding_ = true;
    started_ = false;
    return n;
  }

  // The partition was seeked back to `committed` (kUnknownOffset: to the start
  // of the log, nothing being committed): count again from there.
  void OnRewound(int64_t committed) {
    rewinding_ = false;
    committed_ = committed;
    floor_ = kUnknownOffset;
    started_ = false;
  }

 private:
  int64_t committed_;
  int64_t floor_ = kUnknownOffset;        // lowest offset still to be counted (once started)
  int64_t chunk_start_ = kUnknownOffset;  // first offset counted since the last commit
  int64_t pending_ = 0;                   // messages counted since the last commit
  bool rewinding_ = false;
  bool started_ = false;
};

}  // namespace chaperone::pipeline
