#include "read/multiset_diff.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <tuple>
#include <type_traits>
#include <utility>

// How memory stays within Options::memory_budget_bytes, whatever the data
// (a single digest a million times over is just a million entries):
//
// - Add keeps fixed-size entries in one vector. It grows by doubling only
//   while the old and the new buffer together fit the budget (a reallocation
//   holds both for a moment); past that the buffer is sorted and written as a
//   run file, freed, and the whole budget taken at once. So a diff of more
//   than about half the budget may spill once although it would fit.
// - Finish without runs sorts the vector in place and groups it: no disk.
// - Finish with runs writes the remainder as one more run and frees the
//   vector, since the vector (up to the whole budget) beside the merge's read
//   buffers would exceed the budget; it costs one write of at most the budget.
//   It then merges the runs in passes of at most `fan_in` runs, each read
//   through a small buffer (64 KiB, less for small budgets), until `fan_in`
//   are left, and merges those into the groups. `fan_in` is what the budget
//   holds of buffers (and at most kMaxFanIn, for file descriptors), so every
//   pass stays within the budget too; realistic budgets hold millions of
//   entries a run and merge in one pass.
//
// Outside the budget: the group being built (at most 2 * max_locations
// locations) and the runs' names.
namespace chaperone::read {
namespace {

// One copy, in memory and in run files. Run files hold the raw bytes in this
// process's byte order: a run file lives no longer than the diff that wrote it.
struct Entry {
  uint64_t digest;
  int64_t offset;
  int32_t partition;
  uint16_t cluster;
  uint8_t side;
  uint8_t unused;  // zero: no uninitialised byte is written to a run file
};
static_assert(sizeof(Entry) == 24 && std::is_trivially_copyable_v<Entry>);
constexpr size_t kEntry = sizeof(Entry);

// Runs and the merge are in this order: by digest first, so a digest's copies
// meet; then by side and location, so each side's copies arrive in Location
// order and the max_locations kept are the lowest.
struct EntryOrder {
  bool operator()(const Entry& a, const Entry& b) const {
    return std::tie(a.digest, a.side, a.cluster, a.partition, a.offset) <
           std::tie(b.digest, b.side, b.cluster, b.partition, b.offset);
  }
};

constexpr size_t kMinBudget = size_t{1} << 10;      // a few entries for each buffer of a merge
constexpr size_t kFirstEntries = 4096;               // the vector's first size (96 KiB), then doubling
constexpr size_t kMaxReadBuffer = size_t{64} << 10;  // a merge's buffer per run
constexpr size_t kMaxFanIn = 256;  // runs open at once: the process's file descriptors are shared

Status IoError(const char* what, const std::string& path, int err) {
  return Status::Unavailable(fmt::format("multiset diff: {} {}: {}", what, path, std::strerror(err)));
}

// Moves `n` bytes with `io(done, left)` (read(2) or write(2) of the bytes
// from `done` on), through short transfers and interrupted calls.
template <typename Io>
Status Transfer(const char* what, const std::string& path, size_t n, Io&& io) {
  for (size_t done = 0; done < n;) {
    const ssize_t r = io(done, n - done);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return IoError(what, path, errno);
    // Only read(2) returns 0, at the end of the file: the diff wrote the file
    // and knows its length, so a shorter one was truncated under its feet.
    if (r == 0) return Status::Corruption(fmt::format("multiset diff: {} {}: the file ends early", what, path));
    done += static_cast<size_t>(r);
  }
  return Status::Ok();
}

// Deletes a run file. A file that cannot be deleted (its directory gone) has
// nothing more to tell the diff, whose result does not depend on it.
void RemoveFile(const std::string& path) { ::unlink(path.c_str()); }

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Close(); }
  int get() const { return fd_; }
  // 0, or close(2)'s errno: after writes it can be the first to report a
  // failed one (NFS, quotas).
  int Close() {
    if (fd_ < 0) return 0;
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_ = -1;
};

// A run file, written in full and sorted.
struct Run {
  std::string path;
  int64_t entries = 0;
};

// Writes one run file. The writer owns the file until Close() hands it over
// as a Run; a file it still owns when destroyed (a failed write) is deleted.
class RunWriter {
 public:
  explicit RunWriter(MultisetDiffStats& stats) : stats_(stats) {}
  ~RunWriter() {
    fd_.Close();
    if (!path_.empty()) RemoveFile(path_);
  }
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  Status Open(const std::string& dir) {
    const std::string pattern = dir + "/chaperone-diff-XXXXXX";
    std::string name = pattern;  // mkostemp fills in the Xs, even when it fails
    const int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) return IoError("cannot create a run file", pattern, errno);
    fd_ = Fd(fd);
    path_ = std::move(name);
    return Status::Ok();
  }

  Status Write(const Entry* entries, size_t n) {
    const char* bytes = reinterpret_cast<const char*>(entries);
    Status s = Transfer("write", path_, n * kEntry, [&](size_t done, size_t left) {
      const ssize_t w = ::write(fd_.get(), bytes + done, left);
      if (w > 0) stats_.bytes_spilled += w;
      return w;
    });
    if (s.ok()) entries_ += static_cast<int64_t>(n);
    return s;
  }

  Result<Run> Close() {
    if (const int err = fd_.Close(); err != 0) return IoError("write", path_, err);
    ++stats_.runs_spilled;
    return Run{std::exchange(path_, std::string()), entries_};
  }

 private:
  MultisetDiffStats& stats_;
  Fd fd_;
  std::string path_;
  int64_t entries_ = 0;
};

// Reads one run file through a buffer of `capacity` entries.
class RunReader {
 public:
  Status Open(const Run& run, size_t capacity) {
    path_ = run.path;
    left_ = run.entries;
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return IoError("open", path_, errno);
    fd_ = Fd(fd);
    buffer_.reset(new Entry[capacity]);
    capacity_ = capacity;
    return Refill();
  }
  bool done() const { return pos_ == end_; }
  const Entry& head() const { return *pos_; }
  Status Advance() {
    if (++pos_ == end_ && left_ > 0) return Refill();
    return Status::Ok();
  }

 private:
  Status Refill() {
    const size_t n = static_cast<size_t>(std::min<int64_t>(left_, static_cast<int64_t>(capacity_)));
    char* bytes = reinterpret_cast<char*>(buffer_.get());
    Status s = Transfer("read", path_, n * kEntry,
                        [&](size_t done, size_t left) { return ::read(fd_.get(), bytes + done, left); });
    if (!s.ok()) return s;
    left_ -= static_cast<int64_t>(n);
    pos_ = buffer_.get();
    end_ = pos_ + n;
    return Status::Ok();
  }

  std::string path_;
  Fd fd_;
  int64_t left_ = 0;  // entries of the file not read yet
  std::unique_ptr<Entry[]> buffer_;
  size_t capacity_ = 0;
  const Entry* pos_ = nullptr;
  const Entry* end_ = nullptr;
};

// Hands the readers' entries to `sink` (bool(const Entry&), false to stop)
// in EntryOrder, through a heap of the readers by their next entry.
template <typename Sink>
Status Merge(std::vector<RunReader>& readers, Sink&& sink) {
  auto after = [](const RunReader* a, const RunReader* b) { return EntryOrder()(b->head(), a->head()); };
  std::vector<RunReader*> heap;
  heap.reserve(readers.size());
  for (RunReader& r : readers) {
    if (!r.done()) heap.push_back(&r);
  }
  std::make_heap(heap.begin(), heap.end(), after);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), after);
    RunReader* r = heap.back();
    if (!sink(r->head())) return Status::Ok();
    if (Status s = r->Advance(); !s.ok()) return s;
    if (r->done()) {
      heap.pop_back();
    } else {
      std::push_heap(heap.begin(), heap.end(), after);
    }
  }
  return Status::Ok();
}

// Gathers one digest's copies at a time, in EntryOrder, and hands on those
// whose counts differ.
class Grouper {
 public:
  Grouper(size_t max_locations, const std::function<bool(const DiffGroup&)>& on_group, int64_t& differing)
      : max_locations_(max_locations), on_group_(on_group), differing_(differing) {}

  // False once on_group has asked to stop.
  bool Add(const Entry& e) {
    if (open_ && e.digest != group_.digest) Close();
    if (stopped_) return false;
    if (!open_) {
      // The group is reused: its vectors keep their capacity.
      group_.digest = e.digest;
      group_.source_copies = group_.target_copies = 0;
      group_.source.clear();
      group_.target.clear();
      open_ = true;
    }
    const bool source = e.side == static_cast<uint8_t>(Side::kSource);
    ++(source ? group_.source_copies : group_.target_copies);
    std::vector<Location>& where = source ? group_.source : group_.target;
    if (where.size() < max_locations_) where.push_back(Location{e.cluster, e.partition, e.offset});
    return true;
  }

  // Ends the group being gathered (after the last entry).
  void Close() {
    if (!open_ || stopped_) return;
    open_ = false;
    if (group_.source_copies == group_.target_copies) return;
    ++differing_;
    if (!on_group_(group_)) stopped_ = true;
  }

 private:
  const size_t max_locations_;
  const std::function<bool(const DiffGroup&)>& on_group_;
  int64_t& differing_;
  DiffGroup group_;
  bool open_ = false;
  bool stopped_ = false;
};

}  // namespace

struct MultisetDiff::Impl {
  explicit Impl(const Options& options)
      : max_locations(options.max_locations),
        budget(options.memory_budget_bytes),
        max_entries(options.memory_budget_bytes / kEntry),
        read_entries(std::max<size_t>(1, std::min(kMaxReadBuffer, options.memory_budget_bytes / 8) / kEntry)) {
    const size_t per_input = read_entries * kEntry + sizeof(RunReader) + sizeof(RunReader*);
    fan_in = std::clamp<size_t>((budget - read_entries * kEntry) / per_input, 2, kMaxFanIn);
    dir = options.spill_dir;
    if (dir.empty()) {
      const char* tmp = std::getenv("TMPDIR");
      dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    }
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  }
  ~Impl() { RemoveRuns(); }

  void Hold(size_t bytes) { stats.peak_memory_bytes = std::max(stats.peak_memory_bytes, static_cast<int64_t>(bytes)); }

  void RemoveRuns() {
    for (const Run& run : runs) RemoveFile(run.path);
    runs.clear();
  }

  void FreeEntries() { std::vector<Entry>().swap(entries); }

  // Makes room for one more entry in the full vector.
  Status MakeRoom() {
    const size_t capacity = entries.capacity();
    const size_t room = capacity < max_entries ? max_entries - capacity : 0;  // for a new buffer beside the old
    const size_t grown = std::min(std::max(2 * capacity, kFirstEntries), room);
    if (grown > capacity) {
      Hold((capacity + grown) * kEntry);  // both, while reserve() moves the entries
      entries.reserve(grown);
      return Status::Ok();
    }
    if (Status s = Spill(); !s.ok()) return s;
    if (capacity < max_entries) {
      FreeEntries();
      entries.reserve(max_entries);
      Hold(max_entries * kEntry);
    }
    return Status::Ok();
  }

  // Sorts the vector and writes it as a run; the vector is left empty.
  Status Spill() {
    std::sort(entries.begin(), entries.end(), EntryOrder());
    RunWriter out(stats);
    if (Status s = out.Open(dir); !s.ok()) return s;
    if (Status s = out.Write(entries.data(), entries.size()); !s.ok()) return s;
    Result<Run> run = out.Close();
    if (!run.ok()) return run.status();
    runs.push_back(std::move(*run));
    entries.clear();
    return Status::Ok();
  }

  // Opens the first `n` runs, and counts their buffers (and `extra` bytes
  // beside them) against the peak.
  Status OpenRuns(size_t n, size_t extra, std::vector<RunReader>& readers) {
    Hold(n * (read_entries * kEntry + sizeof(RunReader) + sizeof(RunReader*)) + extra);
    readers.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      readers.emplace_back();
      if (Status s = readers.back().Open(runs[i], read_entries); !s.ok()) return s;
    }
    return Status::Ok();
  }

  // Merges the oldest `fan_in` runs into one, until `fan_in` are left.
  Status MergeDown() {
    while (runs.size() > fan_in) {
      std::vector<RunReader> readers;
      if (Status s = OpenRuns(fan_in, read_entries * kEntry, readers); !s.ok()) return s;
      RunWriter out(stats);
      if (Status s = out.Open(dir); !s.ok()) return s;
      std::vector<Entry> pending;
      pending.reserve(read_entries);
      Status written;
      auto sink = [&](const Entry& e) {
        pending.push_back(e);
        if (pending.size() < read_entries) return true;
        written = out.Write(pending.data(), pending.size());
        pending.clear();
        return written.ok();
      };
      if (Status s = Merge(readers, sink); !s.ok()) return s;
      if (!written.ok()) return written;
      if (Status s = out.Write(pending.data(), pending.size()); !s.ok()) return s;
      Result<Run> merged = out.Close();
      if (!merged.ok()) return merged.status();
      for (size_t i = 0; i < fan_in; ++i) {
        RemoveFile(runs.front().path);
        runs.pop_front();
      }
      runs.push_back(std::move(*merged));
    }
    return Status::Ok();
  }

  Status GroupInMemory(Grouper& grouper) {
    std::sort(entries.begin(), entries.end(), EntryOrder());
    for (const Entry& e : entries) {
      if (!grouper.Add(e)) break;
    }
    grouper.Close();
    return Status::Ok();
  }

  Status GroupRuns(Grouper& grouper) {
    if (!entries.empty()) {
      if (Status s = Spill(); !s.ok()) return s;
    }
    FreeEntries();
    if (Status s = MergeDown(); !s.ok()) return s;
    std::vector<RunReader> readers;
    if (Status s = OpenRuns(runs.size(), 0, readers); !s.ok()) return s;
    if (Status s = Merge(readers, [&](const Entry& e) { return grouper.Add(e); }); !s.ok()) return s;
    grouper.Close();
    return Status::Ok();
  }

  const size_t max_locations;
  const size_t budget;
  const size_t max_entries;   // entries the budget holds
  const size_t read_entries;  // a merge's buffer per run, in entries
  size_t fan_in = 2;          // runs merged at once
  std::string dir;
  std::vector<Entry> entries;
  std::deque<Run> runs;  // deleted when merged away, by Finish, or by the destructor
  MultisetDiffStats stats;
  Status failed;  // a failed spill: the diff is unusable
  bool finished = false;
};

MultisetDiff::MultisetDiff(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MultisetDiff::~MultisetDiff() = default;

Result<std::unique_ptr<MultisetDiff>> MultisetDiff::Create(const Options& options) {
  if (options.memory_budget_bytes < kMinBudget) {
    return Status::InvalidArgument(fmt::format("multiset diff: a memory budget of {} bytes is below the minimum of {}",
                                               options.memory_budget_bytes, kMinBudget));
  }
  return std::unique_ptr<MultisetDiff>(new MultisetDiff(std::make_unique<Impl>(options)));
}

Status MultisetDiff::Add(Side side, uint64_t digest, const Location& where) {
  Impl& d = *impl_;
  if (!d.failed.ok()) return d.failed;
  if (d.finished) return Status::Internal("multiset diff: Add after Finish");
  if (d.entries.size() == d.entries.capacity()) {
    if (Status s = d.MakeRoom(); !s.ok()) {
      d.failed = s;
      return s;
    }
  }
  d.entries.push_back(Entry{digest, where.offset, where.partition, where.cluster, static_cast<uint8_t>(side), 0});
  ++(side == Side::kSource ? d.stats.source_entries : d.stats.target_entries);
  return Status::Ok();
}

Status MultisetDiff::Finish(const std::function<bool(const DiffGroup&)>& on_group) {
  Impl& d = *impl_;
  if (d.finished) return Status::Internal("multiset diff: Finish was already called");
  d.finished = true;
  Status s = d.failed;
  if (s.ok()) {
    Grouper grouper(d.max_locations, on_group, d.stats.groups_differing);
    s = d.runs.empty() ? d.GroupInMemory(grouper) : d.GroupRuns(grouper);
  }
  d.RemoveRuns();
  d.FreeEntries();
  return s;
}

const MultisetDiffStats& MultisetDiff::stats() const { return impl_->stats; }

}  // namespace chaperone::read
