#include "chaperone/window_tracker.h"

#include <algorithm>
#include <bit>
#include <deque>
#include <numeric>
#include <tuple>
#include <unordered_map>

namespace chaperone {
namespace {

constexpr size_t kMinTableSlots = 64;
constexpr uint32_t kNoPartitionKey = 0xffff'ffff;

uint64_t HashKey(uint64_t hi, int64_t window) {
  uint64_t h = hi * 0x9e37'79b9'7f4a'7c15ULL ^ static_cast<uint64_t>(window) * 0xc2b2'ae3d'27d4'eb4fULL;
  h ^= h >> 29;
  h *= 0xbf58'476d'1ce4'e5b9ULL;
  h ^= h >> 32;
  return h;
}

// Count and offsets of one partition inside one window.
struct PartAcc {
  int32_t partition;
  int64_t count;
  int64_t first_offset;  // -1 until an offset is seen
  int64_t last_offset;
};

void NoteOffset(int64_t offset, int64_t* first, int64_t* last) {
  if (offset < 0) return;
  if (*first < 0 || offset < *first) *first = offset;
  if (offset > *last) *last = offset;
}

}  // namespace

class WindowTracker::Impl {
 public:
  explicit Impl(TrackerOptions opts) : opts_(opts) {
    opts_.window_sec = std::clamp<int64_t>(opts_.window_sec, 1, kMaxWindowSec);
    opts_.max_open_windows = std::max<size_t>(opts_.max_open_windows, 1);
    if (opts_.by_partition) opts_.track_partitions = false;
    window_ms_ = opts_.window_sec * 1000;
    cached_window_ = -1;  // matches no time >= 0
    cached_begin_ms_ = -window_ms_;
    ResetTable(kMinTableSlots);
  }

  const TrackerOptions& options() const { return opts_; }

  TopicId InternTopic(std::string_view name) {
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
    auto id = static_cast<TopicId>(names_.size());
    names_.emplace_back(name);
    ids_.emplace(names_.back(), id);
    return id;
  }

  const std::string& TopicName(TopicId id) const {
    static const std::string kUnknown;
    return id < names_.size() ? names_[id] : kUnknown;
  }
  size_t topic_count() const { return names_.size(); }

  void Add(const Observation& o) {
    const bool has_time = o.event_ms >= 0 && o.event_ms <= kMaxEventMs;
    // A wall clock before 1970 (or after 9999) is broken: clamp it.
    const int64_t t = has_time ? o.event_ms : std::clamp<int64_t>(o.observed_ms, 0, kMaxEventMs);
    // Most messages fall in the window of the previous one: skip the division.
    if (static_cast<uint64_t>(t) - static_cast<uint64_t>(cached_begin_ms_) >= static_cast<uint64_t>(window_ms_)) {
      cached_window_ = t / window_ms_;  // t >= 0
      cached_begin_ms_ = cached_window_ * window_ms_;
    }
    const uint64_t hi = (uint64_t{o.topic} << 32) |
                        (opts_.by_partition ? static_cast<uint32_t>(o.partition) : kNoPartitionKey);
    Acc& a = FindOrInsert(hi, cached_window_);
    a.count += 1;
    a.bytes += o.bytes;
    a.digest += o.digest;
    a.malformed += o.malformed ? 1 : 0;
    if (has_time) {
      a.latency.Add(static_cast<double>(o.observed_ms) - static_cast<double>(o.event_ms));
    } else {
      a.no_time += 1;
    }
    if (opts_.by_partition) {
      NoteOffset(o.offset, &a.first_offset, &a.last_offset);
    } else if (opts_.track_partitions) {
      TrackPartition(a, o);
    }
  }

  std::vector<WindowSnapshot> Drain() {
    // Spilled windows join the open ones; sort so that equal keys are adjacent
    // and the output is ordered by topic name, window, partition.
    std::vector<Acc> all = std::move(entries_);
    all.reserve(all.size() + spill_.size());
    for (Acc& s : spill_) all.push_back(std::move(s));
    spill_.clear();
    entries_ = {};

    std::vector<uint32_t> rank(names_.size());
    {
      std::vector<TopicId> by_name(names_.size());
      std::iota(by_name.begin(), by_name.end(), 0);
      std::sort(by_name.begin(), by_name.end(), [&](TopicId a, TopicId b) { return names_[a] < names_[b]; });
      for (size_t r = 0; r < by_name.size(); ++r) rank[by_name[r]] = static_cast<uint32_t>(r);
    }
    auto sort_key = [&](const Acc& a) {
      auto topic = static_cast<TopicId>(a.key_hi >> 32);
      uint32_t r = topic < rank.size() ? rank[topic] : UINT32_MAX;
      auto partition = static_cast<int32_t>(static_cast<uint32_t>(a.key_hi));
      return std::tuple(r, a.window, partition);
    };
    std::sort(all.begin(), all.end(), [&](const Acc& a, const Acc& b) { return sort_key(a) < sort_key(b); });

    std::vector<WindowSnapshot> out;
    for (size_t i = 0; i < all.size();) {
      Acc& a = all[i];
      size_t j = i + 1;
      for (; j < all.size() && all[j].key_hi == a.key_hi && all[j].window == a.window; ++j) MergeAcc(a, all[j]);
      out.push_back(ToSnapshot(a));
      i = j;
    }
    ResetTable(std::max(kMinTableSlots, std::bit_ceil(all.size() * 2)));
    return out;
  }

  size_t open_windows() const { return entries_.size() + spill_.size(); }
  bool NeedsFlush() const { return open_windows() >= opts_.max_open_windows; }
  int64_t windows_over_cap() const { return windows_over_cap_; }
  int64_t dropped_windows() const { return dropped_windows_; }
  int64_t dropped_messages() const { return dropped_messages_; }

 private:
  struct Acc {
    uint64_t key_hi = 0;  // topic << 32 | partition (kNoPartitionKey unless by_partition)
    int64_t window = 0;   // window index: start / window size
    int64_t count = 0;
    int64_t bytes = 0;
    int64_t no_time = 0;
    int64_t malformed = 0;
    uint64_t digest = 0;
    int64_t first_offset = -1;  // by_partition
    int64_t last_offset = -1;
    uint32_t part_hint = 0;       // track_partitions: index of the last partition touched
    bool unknown_partition = false;  // track_partitions: a message had partition < 0
    std::vector<PartAcc> parts;   // track_partitions, in order of first appearance
    LatencySketch latency;
  };

  // Open addressing, linear probing, load factor <= 1/2. A slot holds the top
  // 32 bits of the key's hash and 1 + the entry's index (0: empty), so a probe
  // touches an entry only when the hash tags match.
  Acc& FindOrInsert(uint64_t hi, int64_t window) {
    // Messages come in runs of one partition and window: try the last entry
    // first. (An index made stale by a spill or drain fails the key check.)
    if (last_ < entries_.size()) {
      Acc& a = entries_[last_];
      if (a.key_hi == hi && a.window == window) return a;
    }
    const uint64_t h = HashKey(hi, window);
    const auto tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) break;
      if (static_cast<uint32_t>(s >> 32) == tag) {
        last_ = static_cast<uint32_t>(s) - 1;
        Acc& a = entries_[last_];
        if (a.key_hi == hi && a.window == window) return a;
      }
    }
    Acc& a = Insert(hi, window);
    last_ = entries_.size() - 1;
    return a;
  }

  Acc& Insert(uint64_t hi, int64_t window) {
    if (entries_.size() >= 2 * opts_.max_open_windows) SpillOldest();
    if ((entries_.size() + 1) * 2 > slots_.size()) ResetTable(slots_.size() * 2);
    entries_.push_back(Acc{});
    Acc& a = entries_.back();
    a.key_hi = hi;
    a.window = window;
    Place(entries_.size() - 1);
    return a;
  }

  void Place(size_t index) {
    const Acc& a = entries_[index];
    const uint64_t h = HashKey(a.key_hi, a.window);
    size_t i = h & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = (h >> 32 << 32) | (index + 1);
  }

  // Resizes the table to `slots` (a power of two) and re-inserts every entry.
  void ResetTable(size_t slots) {
    slots_.assign(slots, 0);
    mask_ = slots - 1;
    for (size_t i = 0; i < entries_.size(); ++i) Place(i);
  }

  // The owner let open windows reach twice the bound: close the oldest half.
  void SpillOldest() {
    size_t n = entries_.size();
    size_t k = std::max<size_t>(1, n / 2);
    auto older = [](const Acc& a, const Acc& b) {
      return std::tie(a.window, a.key_hi) < std::tie(b.window, b.key_hi);
    };
    std::nth_element(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(k - 1), entries_.end(), older);
    // nth_element leaves the k oldest in front (in no particular order).
    for (size_t i = 0; i < k; ++i) spill_.push_back(std::move(entries_[i]));
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(k));
    windows_over_cap_ += static_cast<int64_t>(k);

    if (spill_.size() > opts_.max_open_windows) {
      size_t drop = spill_.size() - opts_.max_open_windows;
      std::nth_element(spill_.begin(), spill_.begin() + static_cast<ptrdiff_t>(drop - 1), spill_.end(), older);
      for (size_t i = 0; i < drop; ++i) {
        dropped_windows_ += 1;
        dropped_messages_ += spill_[i].count;
      }
      spill_.erase(spill_.begin(), spill_.begin() + static_cast<ptrdiff_t>(drop));
    }
    ResetTable(slots_.size());
  }

  static void TrackPartition(Acc& a, const Observation& o) {
    if (o.partition < 0) {
      a.unknown_partition = true;
      return;
    }
    PartAcc* p = nullptr;
    if (a.part_hint < a.parts.size() && a.parts[a.part_hint].partition == o.partition) {
      p = &a.parts[a.part_hint];
    } else {
      // Consumers and producers handle messages in per-partition batches, so
      // the hint above nearly always hits; the scan runs on a partition switch.
      auto it = std::find_if(a.parts.begin(), a.parts.end(), [&](const PartAcc& x) { return x.partition == o.partition; });
      if (it == a.parts.end()) {
        a.parts.push_back(PartAcc{o.partition, 0, -1, -1});
        it = a.parts.end() - 1;
      }
      a.part_hint = static_cast<uint32_t>(it - a.parts.begin());
      p = &*it;
    }
    p->count += 1;
    NoteOffset(o.offset, &p->first_offset, &p->last_offset);
  }

  static void MergeOffsets(int64_t first, int64_t last, int64_t* dst_first, int64_t* dst_last) {
    NoteOffset(first, dst_first, dst_last);
    NoteOffset(last, dst_first, dst_last);
  }

  // Adds `src` (same key) into `dst`.
  static void MergeAcc(Acc& dst, const Acc& src) {
    dst.count += src.count;
    dst.bytes += src.bytes;
    dst.no_time += src.no_time;
    dst.malformed += src.malformed;
    dst.digest += src.digest;
    dst.unknown_partition = dst.unknown_partition || src.unknown_partition;
    MergeOffsets(src.first_offset, src.last_offset, &dst.first_offset, &dst.last_offset);
    for (const PartAcc& sp : src.parts) {
      auto it = std::find_if(dst.parts.begin(), dst.parts.end(), [&](const PartAcc& x) { return x.partition == sp.partition; });
      if (it == dst.parts.end()) {
        dst.parts.push_back(sp);
      } else {
        it->count += sp.count;
        MergeOffsets(sp.first_offset, sp.last_offset, &it->first_offset, &it->last_offset);
      }
    }
    dst.latency.Merge(src.latency);
  }

  WindowSnapshot ToSnapshot(Acc& a) const {
    WindowSnapshot s;
    s.topic = TopicName(static_cast<TopicId>(a.key_hi >> 32));
    s.window_begin_sec = a.window * opts_.window_sec;
    s.window_end_sec = s.window_begin_sec + opts_.window_sec;
    s.count = a.count;
    s.bytes = a.bytes;
    s.no_time = a.no_time;
    s.malformed = a.malformed;
    s.digest = a.digest;
    s.latency = std::move(a.latency);
    if (opts_.by_partition && static_cast<int32_t>(static_cast<uint32_t>(a.key_hi)) >= 0) {
      PartitionCount pc;
      pc.partition = static_cast<int32_t>(static_cast<uint32_t>(a.key_hi));
      pc.count = a.count;
      pc.first_offset = a.first_offset;
      pc.last_offset = a.last_offset;
      pc.chunk_start = -1;
      s.partitions.push_back(pc);
    } else if (opts_.track_partitions && !a.unknown_partition) {
      std::sort(a.parts.begin(), a.parts.end(), [](const PartAcc& x, const PartAcc& y) { return x.partition < y.partition; });
      s.partitions.reserve(a.parts.size());
      for (const PartAcc& p : a.parts) {
        PartitionCount pc;
        pc.partition = p.partition;
        pc.count = p.count;
        pc.first_offset = p.first_offset;
        pc.last_offset = p.last_offset;
        pc.chunk_start = -1;
        s.partitions.push_back(pc);
      }
    }
    return s;
  }

  TrackerOptions opts_;
  int64_t window_ms_ = 0;
  int64_t cached_window_ = 0;  // window index of the last message, starting at cached_begin_ms_
  int64_t cached_begin_ms_ = 0;

  std::deque<std::string> names_;  // by TopicId; a deque keeps references stable
  std::unordered_map<std::string_view, TopicId> ids_;  // views into names_

  std::vector<Acc> entries_;    // open windows
  size_t last_ = SIZE_MAX;       // index in entries_ of the last entry found (may be stale)
  std::vector<uint64_t> slots_;  // hash table over entries_
  size_t mask_ = 0;
  std::vector<Acc> spill_;      // closed early (over the cap), awaiting Drain

  int64_t windows_over_cap_ = 0;
  int64_t dropped_windows_ = 0;
  int64_t dropped_messages_ = 0;
};

WindowTracker::WindowTracker(TrackerOptions opts) : impl_(std::make_unique<Impl>(opts)) {}
WindowTracker::~WindowTracker() = default;
WindowTracker::WindowTracker(WindowTracker&&) noexcept = default;
WindowTracker& WindowTracker::operator=(WindowTracker&&) noexcept = default;

const TrackerOptions& WindowTracker::options() const { return impl_->options(); }
TopicId WindowTracker::InternTopic(std::string_view name) { return impl_->InternTopic(name); }
const std::string& WindowTracker::TopicName(TopicId id) const { return impl_->TopicName(id); }
size_t WindowTracker::topic_count() const { return impl_->topic_count(); }
void WindowTracker::Add(const Observation& o) { impl_->Add(o); }
std::vector<WindowSnapshot> WindowTracker::Drain() { return impl_->Drain(); }
size_t WindowTracker::open_windows() const { return impl_->open_windows(); }
bool WindowTracker::NeedsFlush() const { return impl_->NeedsFlush(); }
int64_t WindowTracker::windows_over_cap() const { return impl_->windows_over_cap(); }
int64_t WindowTracker::dropped_windows() const { return impl_->dropped_windows(); }
int64_t WindowTracker::dropped_messages() const { return impl_->dropped_messages(); }

}  // namespace chaperone
