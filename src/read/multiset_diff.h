// MultisetDiff: compares two multisets of message digests (a window as the
// source tier saw it, and as the target tier saw it) and reports every digest
// whose number of copies differs, with where each copy was read. Used by
// `chaperone diff` and the web API's window diff (read/diff.h).
//
// Memory is bounded whatever the data: entries are kept in memory up to
// `memory_budget_bytes`; past it they are sorted and written to a run file in
// `spill_dir`, and Finish() merges the runs (k-way, a small buffer per run).
// Run files are deleted by Finish() and by the destructor.
//
// Threads: one thread uses an instance. Not copyable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chaperone/status.h"

namespace chaperone::read {

// Where one copy of a message was read: the caller's cluster index (into its
// own list of clusters), the partition and the offset.
struct Location {
  uint16_t cluster = 0;
  int32_t partition = 0;
  int64_t offset = 0;
};

enum class Side : uint8_t { kSource = 0, kTarget = 1 };

// One digest whose copies differ between the sides.
struct DiffGroup {
  uint64_t digest = 0;
  int64_t source_copies = 0;
  int64_t target_copies = 0;
  // The copies' locations, in (cluster, partition, offset) order, at most
  // Options::max_locations per side (the counts above are exact).
  std::vector<Location> source;
  std::vector<Location> target;
};

struct MultisetDiffStats {
  int64_t source_entries = 0, target_entries = 0;
  int64_t runs_spilled = 0;        // run files written (by merge passes too)
  int64_t bytes_spilled = 0;       // bytes written to run files
  int64_t peak_memory_bytes = 0;   // the most its buffers held at once (<= the budget)
  int64_t groups_differing = 0;    // digests reported by Finish
};

class MultisetDiff {
 public:
  struct Options {
    size_t memory_budget_bytes = size_t{256} << 20;  // at least 1 KiB (Create refuses less)
    std::string spill_dir;  // "" = $TMPDIR or /tmp
    size_t max_locations = 16;
  };
  static Result<std::unique_ptr<MultisetDiff>> Create(const Options& options);
  ~MultisetDiff();
  MultisetDiff(const MultisetDiff&) = delete;
  MultisetDiff& operator=(const MultisetDiff&) = delete;

  // Adds one copy. Fails only when a run cannot be written (disk full ...):
  // the diff is unusable then.
  Status Add(Side side, uint64_t digest, const Location& where);

  // Calls `on_group` for every digest whose copies differ, in digest order;
  // `on_group` returns false to stop early. May be called once.
  Status Finish(const std::function<bool(const DiffGroup&)>& on_group);

  const MultisetDiffStats& stats() const;

 private:
  struct Impl;
  explicit MultisetDiff(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace chaperone::read
