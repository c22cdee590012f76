#include "store/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <tuple>
#include <type_traits>
#include <unordered_set>

#include "store/latency.h"
#include "store/schema.h"
#include "lib/util/varint.h"

namespace chaperone::store::internal {

// ---------------------------------------------------------------------------
// Encodings of the chunk contributions, emitter gaps and incomplete spans (text columns).

std::string EncodeContributions(const std::map<int64_t, Contribution>& windows) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [begin, c] : windows) {
    a.push_back(nlohmann::json::array({begin, c.window_end_sec, c.count, c.bytes, c.no_time, c.malformed, c.digest,
                                       c.sketch, c.latency_sum_ms, c.latency_samples, c.records, c.partition_count,
                                       c.first_offset, c.last_offset}));
  }
  return a.dump();
}

Result<std::map<int64_t, Contribution>> DecodeContributions(const std::string& text) {
  std::map<int64_t, Contribution> out;
  if (text.empty()) return out;
  try {
    auto a = nlohmann::json::parse(text);
    for (const auto& e : a) {
      // 12 entries before the offsets were kept, 14 since.
      if (!e.is_array() || (e.size() != 12 && e.size() != 14)) return Status::Corruption("chunk contributions: bad entry");
      Contribution c;
      int64_t begin = e[0].get<int64_t>();
      c.window_end_sec = e[1].get<int64_t>();
      c.count = e[2].get<int64_t>();
      c.bytes = e[3].get<int64_t>();
      c.no_time = e[4].get<int64_t>();
      c.malformed = e[5].get<int64_t>();
      c.digest = e[6].get<uint64_t>();
      c.sketch = e[7].get<std::string>();
      c.latency_sum_ms = e[8].get<double>();
      c.latency_samples = e[9].get<int64_t>();
      c.records = e[10].get<int64_t>();
      c.partition_count = e[11].get<int64_t>();
      if (e.size() == 14) {
        c.first_offset = e[12].get<int64_t>();
        c.last_offset = e[13].get<int64_t>();
      }
      out.emplace(begin, std::move(c));
    }
  } catch (const std::exception& ex) {
    return Status::Corruption(std::string("chunk contributions: ") + ex.what());
  }
  return out;
}

namespace {

// "a-b" at p, advancing p past it; false when malformed.
bool ParseRange(const char*& p, const char* end, int64_t& a, int64_t& b) {
  auto r1 = std::from_chars(p, end, a);
  if (r1.ec != std::errc() || r1.ptr >= end || *r1.ptr != '-') return false;
  auto r2 = std::from_chars(r1.ptr + 1, end, b);
  if (r2.ec != std::errc()) return false;
  p = r2.ptr;
  return true;
}

void AppendRange(std::string& s, int64_t a, int64_t b) {
  if (!s.empty()) s += ',';
  s += std::to_string(a);
  s += '-';
  s += std::to_string(b);
}

}  // namespace

std::string EncodeGaps(const std::vector<Gap>& gaps) {
  std::string s;
  for (const Gap& g : gaps) AppendRange(s, g.first, g.last);
  return s;
}

std::vector<Gap> DecodeGaps(const std::string& text) {
  std::vector<Gap> out;
  const char* p = text.data();
  const char* end = p + text.size();
  int64_t a = 0, b = 0;
  while (p < end && ParseRange(p, end, a, b)) {
    out.push_back(Gap{a, b, std::nullopt});
    if (p < end && *p == ',') ++p;
  }
  return out;
}

std::string EncodeIncomplete(const EmitterState& e) {
  std::string s;
  for (const Span& span : e.spans) AppendRange(s, span.first, span.second);
  for (const Gap& g : e.gaps) {
    if (!g.span) continue;
    AppendRange(s, g.span->first, g.span->second);
    s += '@';
    s += std::to_string(g.first);
  }
  return s;
}

void DecodeIncomplete(const std::string& text, EmitterState& e) {
  e.spans.clear();
  std::vector<std::pair<int64_t, size_t>> by_first;  // (first seq, index) of each gap
  by_first.reserve(e.gaps.size());
  for (size_t i = 0; i < e.gaps.size(); ++i) by_first.emplace_back(e.gaps[i].first, i);
  std::sort(by_first.begin(), by_first.end());
  const char* p = text.data();
  const char* end = p + text.size();
  Span span;
  while (p < end && ParseRange(p, end, span.first, span.second) && span.first <= span.second) {
    bool placed = false;
    if (p < end && *p == '@') {
      int64_t first = 0;
      auto r = std::from_chars(p + 1, end, first);
      if (r.ec != std::errc()) {
        e.spans.push_back(span);
        break;
      }
      p = r.ptr;
      auto it = std::lower_bound(by_first.begin(), by_first.end(), std::pair<int64_t, size_t>{first, 0});
      if (it != by_first.end() && it->first == first) {
        std::optional<Span>& mine = e.gaps[it->second].span;
        mine = mine ? Span{std::min(mine->first, span.first), std::max(mine->second, span.second)} : span;
        placed = true;
      }
    }
    if (!placed) {
      e.spans.push_back(span);
      if (e.spans.size() >= 2 * kMaxIncompleteSpans) MergeSpans(e.spans);  // bounded whatever the text
    }
    if (p < end && *p == ',') ++p;
  }
  MergeSpans(e.spans);
}

std::vector<Span> IncompleteSpans(const EmitterState& e) {
  std::vector<Span> out = e.spans;
  for (const Gap& g : e.gaps) {
    if (g.span) out.push_back(*g.span);
  }
  MergeSpans(out);
  return out;
}

// EncodeTotals: a format byte (1), then per window: the varints of its begin
// minus the previous begin (the bucket's start for the first), its length,
// the count (zigzag), the rows, the rows without a digest and updated_ms
// (zigzag); the digest in 8 bytes, little-endian; the latency byte, and for
// Latency::kOne the p99 as an IEEE double in 8 bytes, little-endian.
namespace {
constexpr char kTotalsFormat = 1;
}  // namespace

std::string EncodeTotals(int64_t bucket_sec, const std::vector<WindowTotal>& windows) {
  using util::PutVarint64, util::ZigZagEncode;
  std::string out;
  out.reserve(1 + windows.size() * 32);
  out += kTotalsFormat;
  int64_t prev = bucket_sec;
  for (const WindowTotal& w : windows) {
    PutVarint64(&out, static_cast<uint64_t>(w.window_begin_sec - prev));
    PutVarint64(&out, ZigZagEncode(w.window_end_sec - w.window_begin_sec));
    PutVarint64(&out, ZigZagEncode(w.count));
    PutVarint64(&out, ZigZagEncode(w.rows));
    PutVarint64(&out, ZigZagEncode(w.unknown_digests));
    PutVarint64(&out, ZigZagEncode(w.updated_ms));
    util::PutFixed64LE(&out, w.digest);
    out += static_cast<char>(w.latency);
    if (w.latency == WindowTotal::Latency::kOne) util::PutDoubleLE(&out, w.p99);
    prev = w.window_begin_sec;
  }
  return out;
}

Status DecodeTotals(const TotalsKey& key, std::string_view bytes, std::vector<WindowTotal>& out) {
  if (bytes.empty()) return Status::Ok();  // a row created only to be locked
  auto damaged = [&](const char* what) {
    return Status::Internal("store: window_totals row (" + key.topic + ", " + key.tier + ", " +
                            std::to_string(key.bucket_sec) + ") is damaged: " + what);
  };
  util::ByteReader in(bytes);
  uint8_t format = 0;
  if (!in.GetByte(&format) || format != kTotalsFormat) return damaged("unknown format");
  int64_t prev = key.bucket_sec;
  const size_t first = out.size();
  while (!in.done()) {
    uint64_t step = 0, len = 0, count = 0, rows = 0, unknown = 0, updated = 0, digest = 0;
    uint8_t latency = 0;
    if (!in.GetVarint64(&step) || !in.GetVarint64(&len) || !in.GetVarint64(&count) || !in.GetVarint64(&rows) ||
        !in.GetVarint64(&unknown) || !in.GetVarint64(&updated) || !in.GetFixed64LE(&digest) ||
        !in.GetByte(&latency)) {
      return damaged("truncated");
    }
    if (step > static_cast<uint64_t>(kTotalsBucketSec) || (step == 0 && out.size() > first)) {
      return damaged("windows out of order");
    }
    if (latency > static_cast<uint8_t>(WindowTotal::Latency::kRows)) return damaged("unknown latency kind");
    double p99 = 0;
    if (latency == static_cast<uint8_t>(WindowTotal::Latency::kOne) && !in.GetDoubleLE(&p99)) {
      return damaged("truncated");
    }
    WindowTotal& w = out.emplace_back();
    w.window_begin_sec = prev + static_cast<int64_t>(step);
    if (w.window_begin_sec >= key.bucket_sec + kTotalsBucketSec) return damaged("a window beyond its bucket");
    w.window_end_sec = w.window_begin_sec + util::ZigZagDecode(len);
    w.count = util::ZigZagDecode(count);
    w.rows = util::ZigZagDecode(rows);
    w.unknown_digests = util::ZigZagDecode(unknown);
    w.updated_ms = util::ZigZagDecode(updated);
    w.digest = digest;
    w.latency = static_cast<WindowTotal::Latency>(latency);
    w.p99 = p99;
    prev = w.window_begin_sec;
  }
  return Status::Ok();
}

namespace {
// `load(key)` of each key in turn.
template <typename T, typename K, typename F>
Result<std::vector<std::optional<T>>> LoadEach(const std::vector<K>& keys, F load) {
  std::vector<std::optional<T>> out;
  out.reserve(keys.size());
  for (const K& k : keys) {
    Result<std::optional<T>> one = load(k);
    if (!one.ok()) return one.status();
    out.push_back(std::move(*one));
  }
  return out;
}
}  // namespace

Result<std::vector<std::optional<WindowState>>> Txn::LoadWindows(const std::vector<WindowKey>& keys) {
  return LoadEach<WindowState>(keys, [&](const WindowKey& k) { return LoadWindow(k, /*create=*/false); });
}
Result<std::vector<std::optional<PartitionState>>> Txn::LoadPartitions(const std::vector<PartitionKey>& keys) {
  return LoadEach<PartitionState>(keys, [&](const PartitionKey& k) { return LoadPartition(k, /*create=*/false); });
}
Result<std::vector<std::optional<ChunkState>>> Txn::LoadChunks(const std::vector<ChunkKey>& keys) {
  return LoadEach<ChunkState>(keys, [&](const ChunkKey& k) { return LoadChunk(k); });
}
Result<std::vector<std::optional<EmitterState>>> Txn::LoadEmitters(const std::vector<std::string>& ids) {
  return LoadEach<EmitterState>(ids, [&](const std::string& id) { return LoadEmitter(id); });
}

namespace {

// What one record adds to its window.
struct RecordContribution {
  int64_t count = 0, bytes = 0, no_time = 0, malformed = 0;
  bool bytes_known = true, digest_known = true;
  uint64_t digest = 0;
  const LatencyAccumulator* sketch = nullptr;  // null when the record has none
  double latency_sum_ms = 0;
  int64_t latency_samples = 0;
  bool max_merged = false;  // no sketch: percentiles can only be merged as max
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
};

struct EmitterEvent {
  const AuditRecord* record;
};

class Applier {
 public:
  Applier(Txn& txn, int64_t now_ms) : txn_(txn), now_ms_(now_ms) {}

  // Merges one count record. Returns a non-empty reason, and changes nothing,
  // when the record is fenced (a stale owner's chunk).
  Result<std::string> ApplyCount(const AuditRecord& r, const LatencyAccumulator* sketch, ApplyStats& stats);
  // Loads, in bulk, the chunks, windows and partitions that these count
  // records touch (what ApplyCount would load one by one).
  Status Prefetch(const std::vector<const AuditRecord*>& counts);
  template <typename K, typename Cached, typename L>
  static Status LoadInto(const std::set<K>& keys, L load, std::map<K, Cached>& cache, std::set<K>* missing);
  void NoteEmitter(const AuditRecord& r) { emitter_events_[r.emitter_id].push_back(&r); }
  Status Flush();

 private:
  struct CachedWindow {
    WindowState st;
    std::optional<LatencyAccumulator> sketch;  // decoded on first merge
    bool dirty = false;
    // As stored before this batch (the topic summary and the window totals
    // add the difference): whether the row existed, its count, records and digest.
    bool existed = false;
    int64_t stored_count = 0, stored_records = 0;
    uint64_t stored_digest = 0;
    bool stored_digest_known = true;
  };
  struct CachedPartition {
    PartitionState st;
    bool dirty = false;
  };
  struct CachedChunk {
    ChunkState st;
    std::map<int64_t, LatencyAccumulator> sketches;  // decoded contribution sketches, by window
    bool dirty = false;
  };

  // Remembers a loaded row as it was stored, for the topic summary. A row
  // created to be locked (LoadWindow with create) still ends where it begins;
  // a stored row never does.
  static void NoteStored(CachedWindow& w) {
    w.existed = w.st.row.window_end_sec > w.st.row.window_begin_sec;
    w.stored_count = w.st.row.count;
    w.stored_records = w.st.row.records;
    w.stored_digest = w.st.row.digest;
    w.stored_digest_known = w.st.row.digest_known;
  }
  Result<CachedWindow*> Window(const WindowKey& key, bool create, int64_t window_end_sec);
  Result<CachedPartition*> Partition(const PartitionKey& key, bool create);
  Result<CachedChunk*> Chunk(const ChunkKey& key);
  Result<LatencyAccumulator*> WindowSketch(CachedWindow& w);
  Status Subtract(const ChunkKey& key, CachedChunk& chunk);
  Status SubtractWindow(const ChunkKey& key, CachedChunk& chunk, int64_t begin, const Contribution& c);
  Status ResolveRetentionOverlap(const ChunkKey& key, CachedChunk& chunk, int64_t resumed_at, ApplyStats& stats);
  Status ApplyEmitter(EmitterState& e, const AuditRecord& r);
  Status FlushTotals();

  Txn& txn_;
  const int64_t now_ms_;
  std::map<WindowKey, CachedWindow> windows_;
  std::map<PartitionKey, CachedPartition> partitions_;
  std::map<ChunkKey, CachedChunk> chunks_;
  // Prefetched and not stored: not read again (created on first use).
  std::set<WindowKey> missing_windows_;
  std::set<PartitionKey> missing_partitions_;
  std::map<std::string, std::vector<const AuditRecord*>> emitter_events_;  // sorted: a fixed lock order
};

Status Applier::Prefetch(const std::vector<const AuditRecord*>& counts) {
  std::set<ChunkKey> chunk_keys;
  std::set<WindowKey> window_keys;
  std::set<PartitionKey> partition_keys;
  for (const AuditRecord* r : counts) {
    WindowKey wk{r->topic, r->tier, r->datacenter, r->cluster, r->window_begin_sec};
    for (const PartitionCount& p : r->partitions) {
      if (p.chunk_start >= 0) chunk_keys.insert(ChunkKey{r->tier, r->datacenter, r->cluster, r->topic, p.partition});
      partition_keys.insert(PartitionKey{wk, p.partition});
    }
    window_keys.insert(std::move(wk));
  }
  // As ApplyCount loads them: chunks first, then windows, then partitions.
  if (Status s = LoadInto(chunk_keys, [&](const auto& k) { return txn_.LoadChunks(k); }, chunks_,
                        static_cast<std::set<ChunkKey>*>(nullptr));
      !s.ok()) {
    return s;
  }
  if (Status s = LoadInto(window_keys, [&](const auto& k) { return txn_.LoadWindows(k); }, windows_, &missing_windows_);
      !s.ok()) {
    return s;
  }
  return LoadInto(partition_keys, [&](const auto& k) { return txn_.LoadPartitions(k); }, partitions_,
                  &missing_partitions_);
}

// Loads `keys` in bulk with `load` into `cache`; a key not stored goes to
// `missing`, or without one is cached as a new row.
template <typename K, typename Cached, typename L>
Status Applier::LoadInto(const std::set<K>& keys, L load, std::map<K, Cached>& cache, std::set<K>* missing) {
  std::vector<K> list(keys.begin(), keys.end());
  auto rows = load(list);
  if (!rows.ok()) return rows.status();
  for (size_t i = 0; i < list.size(); ++i) {
    if (!(*rows)[i] && missing != nullptr) {
      missing->insert(list[i]);
      continue;
    }
    Cached c;
    if ((*rows)[i]) c.st = std::move(*(*rows)[i]);
    if constexpr (std::is_same_v<Cached, CachedWindow>) {
      if ((*rows)[i]) NoteStored(c);
    }
    cache.emplace(list[i], std::move(c));
  }
  return Status::Ok();
}

Result<Applier::CachedWindow*> Applier::Window(const WindowKey& key, bool create, int64_t window_end_sec) {
  auto it = windows_.find(key);
  if (it == windows_.end()) {
    if (!create && missing_windows_.count(key)) return static_cast<CachedWindow*>(nullptr);
    auto loaded = txn_.LoadWindow(key, create);
    if (!loaded.ok()) return loaded.status();
    if (!loaded->has_value()) {
      if (!create) return static_cast<CachedWindow*>(nullptr);
      CachedWindow w;
      w.st.row.topic = key.topic;
      w.st.row.tier = key.tier;
      w.st.row.datacenter = key.datacenter;
      w.st.row.cluster = key.cluster;
      w.st.row.window_begin_sec = key.window_begin_sec;
      w.st.row.window_end_sec = window_end_sec;
      it = windows_.emplace(key, std::move(w)).first;
    } else {
      CachedWindow w;
      w.st = std::move(**loaded);
      NoteStored(w);
      it = windows_.emplace(key, std::move(w)).first;
    }
  }
  return &it->second;
}

Result<Applier::CachedPartition*> Applier::Partition(const PartitionKey& key, bool create) {
  auto it = partitions_.find(key);
  if (it == partitions_.end()) {
    if (!create && missing_partitions_.count(key)) return static_cast<CachedPartition*>(nullptr);
    auto loaded = txn_.LoadPartition(key, create);
    if (!loaded.ok()) return loaded.status();
    CachedPartition p;
    if (loaded->has_value()) {
      p.st = std::move(**loaded);
    } else {
      if (!create) return static_cast<CachedPartition*>(nullptr);
      p.st.row.topic = key.window.topic;
      p.st.row.tier = key.window.tier;
      p.st.row.datacenter = key.window.datacenter;
      p.st.row.cluster = key.window.cluster;
      p.st.row.window_begin_sec = key.window.window_begin_sec;
      p.st.row.partition = key.partition;
    }
    it = partitions_.emplace(key, std::move(p)).first;
  }
  return &it->second;
}

Result<Applier::CachedChunk*> Applier::Chunk(const ChunkKey& key) {
  auto it = chunks_.find(key);
  if (it == chunks_.end()) {
    auto loaded = txn_.LoadChunk(key);
    if (!loaded.ok()) return loaded.status();
    CachedChunk c;
    if (loaded->has_value()) c.st = std::move(**loaded);
    it = chunks_.emplace(key, std::move(c)).first;
  }
  return &it->second;
}

Result<LatencyAccumulator*> Applier::WindowSketch(CachedWindow& w) {
  if (!w.sketch) {
    auto s = LatencyAccumulator::Decode(w.st.row.latency_sketch);
    if (!s.ok()) {
      return Status::Corruption("stored sketch of " + w.st.row.topic + "/" + w.st.row.tier + "@" +
                                std::to_string(w.st.row.window_begin_sec) + ": " + s.status().message());
    }
    w.sketch = std::move(*s);
  }
  return &*w.sketch;
}

// Takes a replaced flush's contribution back out of the windows and partitions it touched.
Status Applier::Subtract(const ChunkKey& key, CachedChunk& chunk) {
  for (const auto& [begin, c] : chunk.st.windows) {
    if (Status s = SubtractWindow(key, chunk, begin, c); !s.ok()) return s;
  }
  return Status::Ok();
}

// Takes one window of a chunk's contribution back out.
Status Applier::SubtractWindow(const ChunkKey& key, CachedChunk& chunk, int64_t begin, const Contribution& c) {
  WindowKey wk{key.topic, key.tier, key.datacenter, key.cluster, begin};
  auto w = Window(wk, /*create=*/false, c.window_end_sec);
  if (!w.ok()) return w.status();
  if (*w != nullptr) {
    WindowState& st = (*w)->st;
    st.row.count -= c.count;
    st.row.bytes -= c.bytes;
    st.row.no_time -= c.no_time;
    st.row.malformed -= c.malformed;
    st.row.digest -= c.digest;  // mod 2^64
    st.latency_sum_ms -= c.latency_sum_ms;
    st.latency_samples -= c.latency_samples;
    st.row.records -= c.records;
    if (!c.sketch.empty()) {
      auto mine = chunk.sketches.find(begin);
      std::optional<LatencyAccumulator> decoded;
      const LatencyAccumulator* sub = nullptr;
      if (mine != chunk.sketches.end()) {
        sub = &mine->second;
      } else {
        auto d = LatencyAccumulator::Decode(c.sketch);
        if (!d.ok()) return Status::Corruption("chunk contribution sketch: " + d.status().message());
        decoded = std::move(*d);
        sub = &*decoded;
      }
      auto ws = WindowSketch(**w);
      if (!ws.ok()) return ws.status();
      if (!(*ws)->Subtract(*sub)) {
        spdlog::warn("store: replayed sketch of {}/{}@{} was not contained in the window's sketch", key.topic,
                     key.tier, begin);
      }
    }
    (*w)->dirty = true;
  }
  if (c.partition_count != 0) {
    auto p = Partition(PartitionKey{wk, key.partition}, /*create=*/false);
    if (!p.ok()) return p.status();
    if (*p != nullptr) {
      PartitionRow& row = (*p)->st.row;
      row.count -= c.partition_count;
      if (row.count <= 0) {
        row.count = 0;
        row.first_offset = row.last_offset = -1;
      }
      (*p)->dirty = true;
    }
  }
  return Status::Ok();
}

// Retention (docs/architecture.md, "Retention"). A chunk is committed only
// after it was reported, and the next chunk then starts past its last offset.
// A new chunk starting *inside* the kept one (after its start, at or before
// its last offset) therefore means the kept chunk was reported but never
// committed, and its replay could not start where it did: retention deleted
// the first offsets in between. The replay counts again everything of the kept
// chunk from `resumed_at` on, and nothing before it (those offsets are gone).
// Per window of the kept chunk: offsets all at or after `resumed_at` are taken
// back out (exact); all before it are kept (exact: only this report counted
// them); a window on both sides is kept, and the messages of it at or after
// `resumed_at` that may now be counted twice, at most min(count, last -
// resumed_at + 1), are recorded on its partition row as `overlap`.
Status Applier::ResolveRetentionOverlap(const ChunkKey& key, CachedChunk& chunk, int64_t resumed_at,
                                        ApplyStats& stats) {
  int64_t taken_back = 0, kept = 0, overlap = 0;
  for (const auto& [begin, c] : chunk.st.windows) {
    if (c.first_offset >= resumed_at) {
      if (Status s = SubtractWindow(key, chunk, begin, c); !s.ok()) return s;
      taken_back += c.partition_count;
      continue;
    }
    if (c.last_offset >= 0 && c.last_offset < resumed_at) {
      kept += c.partition_count;
      continue;
    }
    int64_t bound = c.last_offset < 0 ? c.partition_count
                                      : std::min(c.partition_count, c.last_offset - resumed_at + 1);
    if (bound <= 0) continue;
    WindowKey wk{key.topic, key.tier, key.datacenter, key.cluster, begin};
    auto p = Partition(PartitionKey{wk, key.partition}, /*create=*/false);
    if (!p.ok()) return p.status();
    if (*p != nullptr) {
      (*p)->st.row.overlap += bound;
      (*p)->dirty = true;
    }
    overlap += bound;
  }
  ++stats.retention_overlaps;
  stats.overlap_messages += overlap;
  spdlog::warn(
      "store: {} {} [{}]: the report of offsets {} on was never committed and its replay resumed at {} (retention "
      "deleted the offsets in between): {} messages taken back out, {} kept, up to {} may be counted twice "
      "(partition rows' overlap)",
      key.tier, key.topic, key.partition, chunk.st.chunk_start, resumed_at, taken_back, kept, overlap);
  return Status::Ok();
}

// Fencing (docs/architecture.md, "Zombies"). Ownership of a partition passes
// from member to member through group rebalances, and the generation under
// which a member was assigned the partition grows with every hand-over. A
// chunk whose owner was assigned in an older generation than the chunk already
// kept for the partition comes from a member that was cut off (paused,
// partitioned) while the newer owner counted the same offsets: it must neither
// replace nor follow the newer chunk. The one exception is a group that was
// deleted and created again (generations restart at 1): its members were
// assigned after the newer chunk's owner was, which a cut-off member never is.
std::string FenceVerdict(const ChunkState& kept, const PartitionCount& p, const std::string& topic) {
  if (p.generation < 0 || kept.generation < 0 || p.generation >= kept.generation) return {};
  if (p.assigned_ms >= 0 && kept.assigned_ms >= 0 && p.assigned_ms > kept.assigned_ms) return {};
  return fmt::format(
      "fenced: {} [{}] chunk at offset {} counted by a member assigned in group generation {} (at {} ms), but a "
      "member assigned in generation {} (at {} ms) already reported the partition",
      topic, p.partition, p.chunk_start, p.generation, p.assigned_ms, kept.generation, kept.assigned_ms);
}

Result<std::string> Applier::ApplyCount(const AuditRecord& r, const LatencyAccumulator* sketch, ApplyStats& stats) {
  // Fencing first, before anything changes.
  for (const PartitionCount& p : r.partitions) {
    if (p.chunk_start < 0) continue;
    auto chunk = Chunk(ChunkKey{r.tier, r.datacenter, r.cluster, r.topic, p.partition});
    if (!chunk.ok()) return chunk.status();
    if (std::string why = FenceVerdict((*chunk)->st, p, r.topic); !why.empty()) return why;
  }

  RecordContribution c;
  c.count = r.count;
  c.bytes = r.total_bytes.value_or(0);
  c.bytes_known = r.total_bytes.has_value();
  c.no_time = r.no_time_count.value_or(0);
  c.malformed = r.malformed_count.value_or(0);
  c.digest = r.digest.value_or(0);
  c.digest_known = r.digest.has_value();
  if (sketch != nullptr && !sketch->empty()) {
    c.sketch = sketch;
    c.latency_samples = static_cast<int64_t>(sketch->count());
  } else {
    c.latency_samples = std::max<int64_t>(0, c.count - c.no_time);
    c.max_merged = c.latency_samples > 0;
    c.p95 = r.latency95_ms;
    c.p99 = r.latency99_ms;
    c.max = r.max_latency_ms;
    // A legacy record has no median: its p95 is an upper bound of it.
    c.p50 = r.latency50_ms.value_or(r.latency95_ms);
  }
  c.latency_sum_ms = r.mean_latency_ms * static_cast<double>(c.latency_samples);

  const WindowKey wk{r.topic, r.tier, r.datacenter, r.cluster, r.window_begin_sec};

  // Chunk replacement (docs/architecture.md): decide, per partition that
  // carries a chunk start, whether this record continues the latest chunk,
  // starts a new one (the previous is final), or replays it (take it back out).
  CachedChunk* owner = nullptr;
  for (const PartitionCount& p : r.partitions) {
    if (p.chunk_start < 0) continue;
    ChunkKey ck{r.tier, r.datacenter, r.cluster, r.topic, p.partition};
    auto chunk = Chunk(ck);
    if (!chunk.ok()) return chunk.status();
    CachedChunk& ch = **chunk;
    if (ch.st.chunk_start >= 0 && p.chunk_start > ch.st.chunk_start && ch.st.flush_id != r.flush_id) {
      int64_t kept_last = -1;
      for (const auto& [begin, con] : ch.st.windows) kept_last = std::max(kept_last, con.last_offset);
      if (p.chunk_start <= kept_last) {
        if (Status s = ResolveRetentionOverlap(ck, ch, p.chunk_start, stats); !s.ok()) return s;
      }
    }
    if (ch.st.chunk_start == p.chunk_start && ch.st.flush_id != r.flush_id) {
      if (Status s = Subtract(ck, ch); !s.ok()) return s;
      ++stats.replayed;
    }
    if (ch.st.chunk_start != p.chunk_start || ch.st.flush_id != r.flush_id) {
      ch.st.chunk_start = p.chunk_start;
      ch.st.flush_id = r.flush_id;
      ch.st.windows.clear();
      ch.sketches.clear();
    }
    if (p.generation >= 0) {
      if (ch.st.generation >= 0 && p.generation < ch.st.generation) {
        spdlog::info("store: {} {} [{}]: the group generation went back from {} to {} with a later assignment; the "
                     "group was created again",
                     r.tier, r.topic, p.partition, ch.st.generation, p.generation);
      }
      ch.st.generation = p.generation;
      ch.st.assigned_ms = p.assigned_ms;
    }
    ch.st.updated_ms = now_ms_;
    ch.dirty = true;
    Contribution& con = ch.st.windows[r.window_begin_sec];
    con.window_end_sec = r.window_end_sec;
    con.partition_count += p.count;
    if (p.first_offset >= 0) {
      con.first_offset = con.first_offset < 0 ? p.first_offset : std::min(con.first_offset, p.first_offset);
      con.last_offset = std::max(con.last_offset, p.last_offset);
    }
    if (owner == nullptr) {
      // The record's window-level sums belong to its first chunk partition.
      owner = &ch;
      con.count += c.count;
      con.bytes += c.bytes;
      con.no_time += c.no_time;
      con.malformed += c.malformed;
      con.digest += c.digest;
      con.latency_sum_ms += c.latency_sum_ms;
      con.latency_samples += c.latency_samples;
      con.records += 1;
      if (c.sketch != nullptr) {
        auto it = ch.sketches.find(r.window_begin_sec);
        if (it == ch.sketches.end()) {
          auto d = LatencyAccumulator::Decode(con.sketch);
          if (!d.ok()) return Status::Corruption("chunk contribution sketch: " + d.status().message());
          it = ch.sketches.emplace(r.window_begin_sec, std::move(*d)).first;
        }
        it->second.Merge(*c.sketch);
        con.sketch = "*";  // re-encoded at flush
      }
    }
  }

  auto w = Window(wk, /*create=*/true, r.window_end_sec);
  if (!w.ok()) return w.status();
  WindowState& st = (*w)->st;
  st.row.window_end_sec = std::max(st.row.window_end_sec, r.window_end_sec);
  st.row.count += c.count;
  st.row.bytes += c.bytes;
  st.row.bytes_known = st.row.bytes_known && c.bytes_known;
  st.row.no_time += c.no_time;
  st.row.malformed += c.malformed;
  st.row.digest += c.digest;
  st.row.digest_known = st.row.digest_known && c.digest_known;
  st.latency_sum_ms += c.latency_sum_ms;
  st.latency_samples += c.latency_samples;
  if (c.sketch != nullptr) {
    auto ws = WindowSketch(**w);
    if (!ws.ok()) return ws.status();
    (*ws)->Merge(*c.sketch);
  }
  if (c.max_merged) {
    st.legacy_records += 1;
    st.legacy_p50 = std::max(st.legacy_p50, c.p50);
    st.legacy_p95 = std::max(st.legacy_p95, c.p95);
    st.legacy_p99 = std::max(st.legacy_p99, c.p99);
    st.legacy_max = std::max(st.legacy_max, c.max);
  }
  st.row.records += 1;
  (*w)->dirty = true;

  for (const PartitionCount& p : r.partitions) {
    auto part = Partition(PartitionKey{wk, p.partition}, /*create=*/true);
    if (!part.ok()) return part.status();
    PartitionRow& row = (*part)->st.row;
    row.count += p.count;
    if (p.first_offset >= 0) row.first_offset = row.first_offset < 0 ? p.first_offset : std::min(row.first_offset, p.first_offset);
    if (p.last_offset >= 0) row.last_offset = std::max(row.last_offset, p.last_offset);
    (*part)->dirty = true;
  }
  return std::string();
}

// Incomplete spans (SCHEMA.md, `emitters.incomplete`): what records of an
// emitter that the store will not see, sent before `r` (a sequence gap that
// `r` reveals) or dropped before it (`r` a heartbeat whose droppedRecords
// grew), can have counted. `row` is the emitter as known before `r`.
//
// - From: the emitter's watermark W (the latest heartbeat's) minus one
//   window. Its heartbeat promised that every observation before W is in its
//   earlier records, which arrived or are gaps with spans of their own, so
//   the lost records hold only observations made at or after W. Finality
//   assumes a message is observed by its window's end plus the grace, so
//   their windows end after W - grace; the collector does not know the
//   readers' grace and takes one window (600 s by default, the grace 60 s).
//   No heartbeat yet: 0, any window.
// - To: the latest of the collector's clock when `r` is applied and the time
//   `r` carries (a heartbeat's watermark, a count's window end). The lost
//   records were written before `r`, which the collector applies now, and a
//   message is observed after its event time: every window they touched
//   began by then. (`r`'s own time alone bounds nothing: a service's
//   heartbeat watermark lags the records of its flush by the slowest
//   partition's lag, and a flush reports windows in no particular order.)
Span IncompleteSpan(const EmitterRow& row, const AuditRecord& r, int64_t now_ms) {
  const bool heartbeat = r.kind == RecordKind::kHeartbeat;
  const int64_t window_sec = heartbeat && r.window_sec > 0 ? r.window_sec : row.window_sec;
  const int64_t from = std::max<int64_t>(0, row.watermark_ms - window_sec * 1000);
  const int64_t own = heartbeat ? r.watermark_ms : r.window_end_sec * 1000;
  return {from, std::max({from, own, now_ms})};
}

// Sequence accounting: a seq above the last opens a gap of the values skipped,
// with its incomplete span; a seq inside a gap fills it, and a gap filled
// whole takes its span with it. Heartbeats move the watermark forward, and
// add an incomplete span when the emitter dropped records since the last.
Status Applier::ApplyEmitter(EmitterState& e, const AuditRecord& r) {
  EmitterRow& row = e.row;
  row.tier = r.tier;
  row.datacenter = r.datacenter;
  row.cluster = r.cluster;
  row.hostname = r.hostname;
  row.last_seen_ms = now_ms_;
  if (r.seq >= 0) {
    if (r.seq > row.last_seq) {
      if (r.seq > row.last_seq + 1) {
        e.gaps.push_back(Gap{row.last_seq + 1, r.seq - 1, IncompleteSpan(row, r, now_ms_)});
        row.missing_records += r.seq - row.last_seq - 1;
        if (e.gaps.size() > kMaxGapRanges) {  // forgotten: stays counted as missing, and keeps its span
          if (e.gaps.front().span) {
            e.spans.push_back(*e.gaps.front().span);
            MergeSpans(e.spans);
          }
          e.gaps.erase(e.gaps.begin());
        }
      }
      row.last_seq = r.seq;
    } else {
      auto it = std::find_if(e.gaps.begin(), e.gaps.end(),
                             [&](const Gap& g) { return g.first <= r.seq && r.seq <= g.last; });
      if (it != e.gaps.end()) {
        --row.missing_records;
        const Gap g = *it;
        if (g.first == g.last) {
          e.gaps.erase(it);
        } else if (r.seq == g.first) {
          it->first = g.first + 1;
        } else if (r.seq == g.last) {
          it->last = g.last - 1;
        } else {
          it->last = r.seq - 1;
          e.gaps.insert(it + 1, Gap{r.seq + 1, g.last, g.span});
        }
      }
    }
  }
  if (r.kind == RecordKind::kHeartbeat) {
    if (r.dropped_records > row.dropped_records) {
      e.spans.push_back(IncompleteSpan(row, r, now_ms_));
      MergeSpans(e.spans);
    }
    row.watermark_ms = std::max(row.watermark_ms, r.watermark_ms);
    if (r.window_sec > 0) row.window_sec = r.window_sec;
    row.dropped_records = std::max(row.dropped_records, r.dropped_records);
    row.failed_deliveries = std::max(row.failed_deliveries, r.failed_deliveries);
    row.dropped_observations = std::max(row.dropped_observations, r.dropped_observations);
    row.skipped_offsets = std::max(row.skipped_offsets, r.skipped_offsets);
  }
  return Status::Ok();
}

Status Applier::Flush() {
  for (auto& [key, w] : windows_) {
    if (!w.dirty) continue;
    WindowState& st = w.st;
    if (w.sketch) st.row.latency_sketch = w.sketch->Encode();
    LatencySummary s;
    if (w.sketch) {
      s = w.sketch->Summary();
    } else if (!st.row.latency_sketch.empty()) {
      auto d = LatencyAccumulator::Decode(st.row.latency_sketch);
      if (d.ok()) s = d->Summary();
    }
    st.row.latency_p50 = s.p50;
    st.row.latency_p95 = s.p95;
    st.row.latency_p99 = s.p99;
    st.row.latency_max = s.max;
    st.row.latency_upper_bound = st.legacy_records > 0;
    if (st.legacy_records > 0) {
      st.row.latency_p50 = std::max(st.row.latency_p50, st.legacy_p50);
      st.row.latency_p95 = std::max(st.row.latency_p95, st.legacy_p95);
      st.row.latency_p99 = std::max(st.row.latency_p99, st.legacy_p99);
      st.row.latency_max = std::max(st.row.latency_max, st.legacy_max);
    }
    st.row.latency_mean = st.latency_samples > 0 ? st.latency_sum_ms / static_cast<double>(st.latency_samples) : 0;
    st.row.updated_ms = now_ms_;
    if (Status status = txn_.SaveWindow(st); !status.ok()) return status;
  }
  // The topic summary, in the same transaction: what the saved rows changed.
  std::map<std::tuple<std::string, std::string, int64_t>, TopicDay> summary;
  for (const auto& [key, w] : windows_) {
    if (!w.dirty) continue;
    const WindowRow& r = w.st.row;
    const int64_t day = DayOf(r.window_begin_sec);
    auto [it, fresh] = summary.try_emplace({r.topic, r.tier, day});
    TopicDay& d = it->second;
    if (fresh) d = TopicDay{r.topic, r.tier, day, 0, r.window_begin_sec, r.window_begin_sec, 0, 0, r.updated_ms, 1};
    d.windows += w.existed ? 0 : 1;
    d.first_window_sec = std::min(d.first_window_sec, r.window_begin_sec);
    d.last_window_sec = std::max(d.last_window_sec, r.window_begin_sec);
    d.count += r.count - w.stored_count;
    d.records += r.records - w.stored_records;
    d.last_updated_ms = std::max(d.last_updated_ms, r.updated_ms);
  }
  for (const auto& [key, d] : summary) {
    if (Status s = txn_.AddToSummary(d); !s.ok()) return s;
  }
  if (Status s = FlushTotals(); !s.ok()) return s;
  for (auto& [key, p] : partitions_) {
    if (!p.dirty) continue;
    if (Status s = txn_.SavePartition(p.st, now_ms_); !s.ok()) return s;
  }
  for (auto& [key, c] : chunks_) {
    if (!c.dirty) continue;
    for (auto& [begin, acc] : c.sketches) c.st.windows[begin].sketch = acc.Encode();
    if (Status s = txn_.SaveChunk(key, c.st); !s.ok()) return s;
  }
  // Emitters last and in id order: several collectors update the same
  // emitters (one emitter reports many topics), so a fixed order avoids deadlocks.
  std::vector<std::string> ids;
  ids.reserve(emitter_events_.size());
  for (const auto& [id, events] : emitter_events_) ids.push_back(id);
  auto loaded = txn_.LoadEmitters(ids);
  if (!loaded.ok()) return loaded.status();
  size_t i = 0;
  for (auto& [id, events] : emitter_events_) {
    EmitterState e;
    if ((*loaded)[i]) {
      e = std::move(*(*loaded)[i]);
    } else {
      e.row.emitter_id = id;
    }
    ++i;
    for (const AuditRecord* r : events) {
      if (Status s = ApplyEmitter(e, *r); !s.ok()) return s;
    }
    if (Status s = txn_.SaveEmitter(e); !s.ok()) return s;
  }
  return Status::Ok();
}

std::string Truncate(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n); }

// Valid UTF-8 without NUL: what every text column of both backends accepts.
bool IsCleanText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

// Makes any bytes storable as text: bad bytes become '?'.
std::string CleanText(std::string_view s) {
  if (IsCleanText(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (char ch : s) out += (static_cast<unsigned char>(ch) < 0x80 && ch != 0) ? ch : '?';
  return out;
}

// Basic sanity the codec may not enforce for every version.
std::string Invalid(const AuditRecord& r) {
  const std::pair<const char*, const std::string*> texts[] = {
      {"topicName", &r.topic},      {"tier", &r.tier},           {"datacenter", &r.datacenter},
      {"cluster", &r.cluster},      {"hostname", &r.hostname},   {"uuid", &r.uuid},
      {"emitterId", &r.emitter_id}, {"flushId", &r.flush_id},
  };
  for (const auto& [name, value] : texts) {
    if (!IsCleanText(*value)) return std::string(name) + ": not valid UTF-8 text (or contains NUL)";
    if (value->size() > kMaxNameBytes) {
      return std::string(name) + ": longer than " + std::to_string(kMaxNameBytes) + " bytes";
    }
  }
  if (r.uuid.empty()) return "uuid: missing";
  for (double v : {r.mean_latency_ms, r.latency95_ms, r.latency99_ms, r.max_latency_ms, r.latency50_ms.value_or(0)}) {
    if (!std::isfinite(v)) return "latency: not a finite number";
  }
  if (r.kind == RecordKind::kHeartbeat) {
    if (r.emitter_id.empty()) return "emitterId: missing in heartbeat";
    return {};
  }
  if (r.topic.empty()) return "topicName: missing";
  if (r.tier.empty()) return "tier: missing";
  if (r.window_end_sec <= r.window_begin_sec) return "timeEndInSec: not after timeBeginInSec";
  if (r.count < 0) return "count: negative";
  return {};
}

}  // namespace

// The window totals, in the same transaction: each saved row's difference
// from what was stored, added to its window's totals.
Status Applier::FlushTotals() {
  struct Change {
    WindowTotal add;             // what the saved rows changed
    const WindowRow* last = nullptr;  // a saved row (the window's only one when it ends with one row)
  };
  std::map<TotalsKey, std::map<int64_t, Change>> changes;
  for (const auto& [key, w] : windows_) {
    if (!w.dirty) continue;
    const WindowRow& r = w.st.row;
    Change& c = changes[TotalsKey{r.topic, r.tier, BucketOf(r.window_begin_sec)}][r.window_begin_sec];
    WindowTotal& d = c.add;
    d.window_begin_sec = r.window_begin_sec;
    d.window_end_sec = std::max(d.window_end_sec, r.window_end_sec);
    d.count += r.count - w.stored_count;
    d.digest += r.digest - w.stored_digest;  // modulo 2^64
    d.rows += w.existed ? 0 : 1;
    d.unknown_digests += (r.digest_known ? 0 : 1) - (w.existed && !w.stored_digest_known ? 1 : 0);
    d.updated_ms = std::max(d.updated_ms, r.updated_ms);
    c.last = &r;
  }
  if (changes.empty()) return Status::Ok();
  std::vector<TotalsKey> keys;
  keys.reserve(changes.size());
  for (const auto& [key, c] : changes) keys.push_back(key);
  auto stored = txn_.LoadTotals(keys);
  if (!stored.ok()) return stored.status();
  size_t i = 0;
  for (auto& [key, c] : changes) {
    std::vector<WindowTotal>& windows = (*stored)[i++];
    std::vector<WindowTotal> merged;
    merged.reserve(windows.size() + c.size());
    auto a = windows.begin();
    auto b = c.begin();
    while (a != windows.end() || b != c.end()) {
      if (b == c.end() || (a != windows.end() && a->window_begin_sec < b->first)) {
        merged.push_back(*a++);
        continue;
      }
      const WindowTotal& add = b->second.add;
      WindowTotal t;
      if (a != windows.end() && a->window_begin_sec == b->first) {
        t = *a++;
        t.window_end_sec = std::max(t.window_end_sec, add.window_end_sec);
        t.count += add.count;
        t.digest += add.digest;
        t.rows += add.rows;
        t.unknown_digests += add.unknown_digests;
        t.updated_ms = std::max(t.updated_ms, add.updated_ms);
      } else {
        t = add;
      }
      // One row: it is the saved one, and its percentiles are the window's.
      const WindowRow& row = *b->second.last;
      const bool one = t.rows == 1;
      t.latency = !one ? WindowTotal::Latency::kRows
                  : HasLatency(row) ? WindowTotal::Latency::kOne
                                    : WindowTotal::Latency::kNone;
      t.p99 = t.latency == WindowTotal::Latency::kOne ? row.latency_p99 : 0;
      merged.push_back(t);
      ++b;
    }
    if (Status s = txn_.SaveTotals(key, merged); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<ApplyStats> ApplyBatch(Txn& txn, const std::vector<Incoming>& batch,
                              const std::vector<ConsumerPosition>& positions, int64_t now_ms) {
  ApplyStats stats;
  auto horizon = txn.RetentionHorizon();
  if (!horizon.ok()) return horizon.status();

  // Pass 1: validate, decode sketches, drop in-batch repeats, then claim uuids.
  struct Pending {
    const Incoming* in;
    std::string error;  // non-empty: quarantine
    std::optional<LatencyAccumulator> sketch;
    bool apply = false;
  };
  std::vector<Pending> items;
  items.reserve(batch.size());
  std::vector<std::pair<std::string, int64_t>> claims;
  std::vector<size_t> claim_items;
  std::unordered_set<std::string_view> seen;
  for (const Incoming& in : batch) {
    Pending p{&in, {}, std::nullopt, false};
    if (!in.record) {
      p.error = in.error.empty() ? "not a valid audit record" : in.error;
    } else {
      const AuditRecord& r = *in.record;
      p.error = Invalid(r);
      if (p.error.empty() && r.kind == RecordKind::kCount && !r.latency_sketch.empty()) {
        auto d = LatencyAccumulator::Decode(r.latency_sketch);
        if (!d.ok()) {
          p.error = "latencySketch: " + d.status().message();
        } else {
          p.sketch = std::move(*d);
        }
      }
      if (p.error.empty()) {
        int64_t begin = r.kind == RecordKind::kHeartbeat ? r.watermark_ms / 1000 : r.window_begin_sec;
        if (*horizon > 0 && begin < *horizon) {
          ++stats.expired;
        } else if (!seen.insert(r.uuid).second) {
          ++stats.duplicates;
        } else {
          claim_items.push_back(items.size());
          claims.emplace_back(r.uuid, begin);
        }
      }
    }
    items.push_back(std::move(p));
  }
  if (!claims.empty()) {
    auto fresh = txn.ClaimUuids(claims, now_ms);
    if (!fresh.ok()) return fresh.status();
    for (size_t i = 0; i < claim_items.size(); ++i) {
      if ((*fresh)[i]) {
        items[claim_items[i]].apply = true;
      } else {
        ++stats.duplicates;
      }
    }
  }

  // Pass 2: merge, in audit-topic order, the rows it touches loaded first in bulk.
  Applier applier(txn, now_ms);
  {
    std::vector<const AuditRecord*> counts;
    for (const Pending& p : items) {
      if (p.apply && p.in->record->kind == RecordKind::kCount) counts.push_back(&*p.in->record);
    }
    if (Status s = applier.Prefetch(counts); !s.ok()) return s;
  }
  for (Pending& p : items) {
    if (!p.error.empty()) {
      const Incoming& in = *p.in;
      if (!in.source.empty()) {
        auto has = txn.QuarantineHas(CleanText(in.source));
        if (!has.ok()) return has.status();
        if (*has) continue;  // redelivered: already quarantined
      }
      QuarantineRow q;
      q.received_ms = now_ms;
      q.reason = CleanText(p.error);
      q.raw = Truncate(in.raw, kQuarantineRawLimit);
      q.source = CleanText(in.source);
      if (Status s = txn.InsertQuarantine(q); !s.ok()) return s;
      ++stats.quarantined;
      continue;
    }
    if (!p.apply) continue;
    const AuditRecord& r = *p.in->record;
    if (r.kind == RecordKind::kCount) {
      auto fenced = applier.ApplyCount(r, p.sketch ? &*p.sketch : nullptr, stats);
      if (!fenced.ok()) return fenced.status();
      if (!fenced->empty()) {
        spdlog::warn("store: {}", *fenced);
        QuarantineRow q;
        q.received_ms = now_ms;
        q.reason = CleanText(*fenced);
        q.raw = Truncate(p.in->raw, kQuarantineRawLimit);
        q.source = CleanText(p.in->source);
        if (Status s = txn.InsertQuarantine(q); !s.ok()) return s;
        ++stats.fenced;
        // Its sequence number arrived all the same: the emitter has no gap.
        if (!r.emitter_id.empty()) applier.NoteEmitter(r);
        continue;
      }
    }
    if (!r.emitter_id.empty()) applier.NoteEmitter(r);
    ++stats.applied;
  }
  if (Status s = applier.Flush(); !s.ok()) return s;
  for (const ConsumerPosition& pos : positions) {
    if (Status s = txn.SavePosition(pos, now_ms); !s.ok()) return s;
  }
  if (Status s = txn.FlushWrites(); !s.ok()) return s;
  return stats;
}

}  // namespace chaperone::store::internal
