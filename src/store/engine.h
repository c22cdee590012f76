// The apply engine: the merge rules of Store::Apply (dedup, sums, sketch merge,
// legacy upper bounds, chunk replacement, emitter sequence gaps, heartbeats),
// written once over a small set of row operations that each backend implements
// inside its own transaction (see docs/architecture.md, "exactly once").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "store/store.h"

namespace chaperone::store::internal {

struct WindowKey {
  std::string topic, tier, datacenter, cluster;
  int64_t window_begin_sec = 0;
  auto tie() const { return std::tie(topic, tier, datacenter, cluster, window_begin_sec); }
  bool operator<(const WindowKey& o) const { return tie() < o.tie(); }
};

struct PartitionKey {
  WindowKey window;
  int32_t partition = 0;
  bool operator<(const PartitionKey& o) const {
    return std::tie(window, partition) < std::tie(o.window, o.partition);
  }
};

// Columns of `windows` that are not in WindowRow: what the percentiles are recomputed from.
struct WindowState {
  WindowRow row;
  double latency_sum_ms = 0;  // sum of (record mean x latency samples): an exact mean
  int64_t latency_samples = 0;
  int64_t legacy_records = 0;  // records merged without a sketch (max-merged percentiles below)
  double legacy_p50 = 0, legacy_p95 = 0, legacy_p99 = 0, legacy_max = 0;
};

struct PartitionState {
  PartitionRow row;
};

// Per (tier, datacenter, cluster, topic, partition): the latest, not yet final chunk.
struct ChunkKey {
  std::string tier, datacenter, cluster, topic;
  int32_t partition = 0;
  auto tie() const { return std::tie(tier, datacenter, cluster, topic, partition); }
  bool operator<(const ChunkKey& o) const { return tie() < o.tie(); }
};

// What one chunk added to one window (so a replay can take it back out).
struct Contribution {
  int64_t window_end_sec = 0;
  int64_t count = 0, bytes = 0, no_time = 0, malformed = 0;
  uint64_t digest = 0;
  std::string sketch;  // encoded, merged over the chunk's records
  double latency_sum_ms = 0;
  int64_t latency_samples = 0;
  int64_t records = 0;
  int64_t partition_count = 0;  // added to this chunk's partition row
  // The partition's smallest and largest offset counted in this window by the
  // chunk (-1 unknown: contributions stored before they were kept).
  int64_t first_offset = -1, last_offset = -1;
};

struct ChunkState {
  int64_t chunk_start = -1;
  std::string flush_id;
  // The fencing epoch of the chunk's owner: its group generation and when it
  // was assigned the partition (-1 unknown). See FenceVerdict in engine.cc.
  int64_t generation = -1;
  int64_t assigned_ms = -1;
  std::map<int64_t, Contribution> windows;  // by window_begin_sec
  int64_t updated_ms = 0;
};

// A wall-clock span [from_ms, to_ms], both included.
using Span = std::pair<int64_t, int64_t>;

// Seq values of an emitter never received, [first, last], and the incomplete
// span of its reports they can be about (Applier::ApplyEmitter); none for a
// gap stored before spans were kept (schema v6). The pieces of a gap that was
// partly filled keep its span.
struct Gap {
  int64_t first = 0, last = 0;
  std::optional<Span> span;
  bool operator==(const Gap&) const = default;
};

struct EmitterState {
  EmitterRow row;  // row.incomplete_ms is not kept here: IncompleteSpans computes it
  std::vector<Gap> gaps;  // ascending, at most kMaxGapRanges
  // Incomplete spans of no open gap: dropped records, and gaps forgotten
  // beyond kMaxGapRanges. Merged (MergeSpans): at most kMaxIncompleteSpans.
  std::vector<Span> spans;
};

// Every incomplete span of an emitter, its open gaps' and the others, merged
// (EmitterRow::incomplete_ms).
std::vector<Span> IncompleteSpans(const EmitterState& e);

// One row of window_totals: a topic and tier's windows in one bucket.
struct TotalsKey {
  std::string topic, tier;
  int64_t bucket_sec = 0;
  auto tie() const { return std::tie(topic, tier, bucket_sec); }
  bool operator<(const TotalsKey& o) const { return tie() < o.tie(); }
};

// The windows of one bucket (ascending, each beginning in the bucket), in a
// compact binary form; Decode checks every bound and names the row when the
// value is damaged.
std::string EncodeTotals(int64_t bucket_sec, const std::vector<WindowTotal>& windows);
// Appends the windows of `bytes` to `out`.
Status DecodeTotals(const TotalsKey& key, std::string_view bytes, std::vector<WindowTotal>& out);

std::string EncodeContributions(const std::map<int64_t, Contribution>& windows);
Result<std::map<int64_t, Contribution>> DecodeContributions(const std::string& text);
// `emitters.gaps`: "a-b,c-d" (the seq ranges; spans are in `incomplete`).
// Decoding stops at the first malformed entry.
std::string EncodeGaps(const std::vector<Gap>& gaps);
std::vector<Gap> DecodeGaps(const std::string& text);
// `emitters.incomplete` (SCHEMA.md): "from-to" per span of no open gap and
// "from-to@first" per open gap (the gap beginning at seq `first`), comma
// separated. Decoding sets the spans of `e.gaps` (decoded first) and
// `e.spans`, and stops at the first malformed entry; an entry whose gap is
// not open is kept as a span of no gap (a span is never lost), and the spans
// are merged and bounded as ApplyEmitter keeps them.
std::string EncodeIncomplete(const EmitterState& e);
void DecodeIncomplete(const std::string& text, EmitterState& e);

// Row operations inside the backend's open transaction. Loads of rows that
// will be written must lock them against concurrent writers (PostgreSQL:
// FOR UPDATE / upsert-returning; SQLite: the write transaction already does).
// Writes (Save*, InsertQuarantine, SavePosition) may be deferred and sent
// together, in order, before the next load or at FlushWrites; a deferred
// write's failure is returned there.
class Txn {
 public:
  virtual ~Txn() = default;
  // Bulk loads, so that a batch's rows are read in one round trip; result[i]
  // belongs to keys[i]. Windows and partitions are only read (locked, not
  // created: LoadWindow(key, true) creates one); chunks and emitters as by
  // LoadChunk and LoadEmitter, in the order given. The defaults load one by one.
  virtual Result<std::vector<std::optional<WindowState>>> LoadWindows(const std::vector<WindowKey>& keys);
  virtual Result<std::vector<std::optional<PartitionState>>> LoadPartitions(const std::vector<PartitionKey>& keys);
  virtual Result<std::vector<std::optional<ChunkState>>> LoadChunks(const std::vector<ChunkKey>& keys);
  virtual Result<std::vector<std::optional<EmitterState>>> LoadEmitters(const std::vector<std::string>& ids);
  // Sends the deferred writes.
  virtual Status FlushWrites() { return Status::Ok(); }

  // Records each uuid; result[i] is true when uuids[i] was new. `window_begin_sec`
  // is kept with it for retention.
  virtual Result<std::vector<bool>> ClaimUuids(const std::vector<std::pair<std::string, int64_t>>& uuids,
                                               int64_t now_ms) = 0;
  // `create`: the caller will add to the row; a backend with concurrent
  // writers may insert an empty row here so that it can lock it.
  virtual Result<std::optional<WindowState>> LoadWindow(const WindowKey& key, bool create) = 0;
  virtual Status SaveWindow(const WindowState& w) = 0;
  virtual Result<std::optional<PartitionState>> LoadPartition(const PartitionKey& key, bool create) = 0;
  virtual Status SavePartition(const PartitionState& p, int64_t now_ms) = 0;
  // Adds to one topic_summary row (created when missing): `windows`, `count`
  // `records` and `writes` are added, first/last window and last_updated_ms widen it.
  // Called after the window rows were saved, in (topic, tier, day) order.
  virtual Status AddToSummary(const TopicDay& delta) = 0;
  // The window totals of each key (its windows ascending; none when no row is
  // stored), locked: a backend may insert an empty row to lock it. Called
  // once per flush, after AddToSummary, with the keys in ascending order.
  virtual Result<std::vector<std::vector<WindowTotal>>> LoadTotals(const std::vector<TotalsKey>& keys) = 0;
  virtual Status SaveTotals(const TotalsKey& key, const std::vector<WindowTotal>& windows) = 0;
  // Chunks and emitters are always written after loading: a backend may insert a
  // placeholder (chunk_start -1, last_seq -1) to lock them.
  virtual Result<std::optional<ChunkState>> LoadChunk(const ChunkKey& key) = 0;
  virtual Status SaveChunk(const ChunkKey& key, const ChunkState& c) = 0;
  virtual Result<std::optional<EmitterState>> LoadEmitter(const std::string& emitter_id) = 0;
  virtual Status SaveEmitter(const EmitterState& e) = 0;
  // True when a message from `source` is already in quarantine (a redelivery).
  virtual Result<bool> QuarantineHas(const std::string& source) = 0;
  virtual Status InsertQuarantine(const QuarantineRow& q) = 0;
  // Moves a position forward only (a late, stale writer never moves it back).
  virtual Status SavePosition(const ConsumerPosition& p, int64_t now_ms) = 0;
  // Windows that began before this were deleted by retention (0: none).
  virtual Result<int64_t> RetentionHorizon() = 0;
};

// Applies a batch through `txn`. Does not begin or commit.
Result<ApplyStats> ApplyBatch(Txn& txn, const std::vector<Incoming>& batch,
                              const std::vector<ConsumerPosition>& positions, int64_t now_ms);

// Raw text kept in quarantine is cut to this many bytes.
inline constexpr size_t kQuarantineRawLimit = 64 * 1024;
// A record's names (topic, tier, uuid, ...) longer than this are quarantined:
// every backend can key on them (MySQL's keys are VARBINARY(512)).
inline constexpr size_t kMaxNameBytes = 512;
// Emitter gap ranges kept per emitter; older ranges are forgotten (still counted missing).
inline constexpr size_t kMaxGapRanges = 1024;

}  // namespace chaperone::store::internal
