// Hot path of every tier: WindowTracker::Add (window lookup, counts, digest sum,
// latency sketch), the sketch alone, the bucket mapping and the message digest.
// Figures: docs/performance.md, "Window tracker and sketch".
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "chaperone/digest.h"
#include "chaperone/latency_sketch.h"
#include "chaperone/window_tracker.h"

namespace chaperone {
namespace {

constexpr size_t kRing = 1 << 16;  // pre-generated inputs, cycled
constexpr int64_t kNow = 1'700'000'000'000;

// Latencies of a healthy pipeline: log-normal around 40 ms, a long tail, and 1 %
// of messages replayed or delayed by up to an hour.
std::vector<int64_t> Latencies(uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::lognormal_distribution<double> normal(std::log(40.0), 1.2);
  std::uniform_int_distribution<int64_t> late(0, 3'600'000);
  std::uniform_int_distribution<int> pct(0, 99);
  std::vector<int64_t> v(kRing);
  for (auto& x : v) x = pct(rng) == 0 ? late(rng) : static_cast<int64_t>(normal(rng));
  return v;
}

struct Workload {
  WindowTracker tracker;
  std::vector<Observation> obs;  // a ring of `ring` messages, cycled
  // Message payloads for the digest: a small pool, as a client digests a
  // message it has just produced (hot in cache).
  std::vector<std::string> keys, values;
};

constexpr size_t kPayloads = 256;

// Messages spread uniformly over `topics` topics (and `partitions` partitions),
// observed over 100 s of wall clock that crosses a window boundary, so every
// topic has its current and previous windows open plus the odd late window.
// `batch` consecutive messages share a topic and partition (1: every message
// picks anew; a consumer sees fetch batches of hundreds per partition).
Workload MakeWorkload(int topics, int partitions, TrackerOptions opts, size_t batch = 1, size_t ring = kRing) {
  Workload w{WindowTracker(opts), {}, {}, {}};
  std::vector<TopicId> ids;
  for (int i = 0; i < topics; ++i) ids.push_back(w.tracker.InternTopic("topic-" + std::to_string(i)));
  std::mt19937_64 rng(1);
  std::vector<int64_t> lat = Latencies(2);
  const int64_t start = (kNow / 600'000 + 1) * 600'000 - 50'000;  // 50 s before a boundary
  for (size_t i = 0; i < kPayloads; ++i) {
    w.keys.push_back("user-" + std::to_string(rng() % 100000));
    w.values.push_back(R"({"ts":)" + std::to_string(start + static_cast<int64_t>(i)) +
                       R"(,"type":"order","amount":)" + std::to_string(rng() % 10000) + R"(,"payload":")" +
                       std::string(120, 'x') + R"("})");
  }
  w.obs.resize(ring);
  for (size_t i = 0; i < ring; ++i) {
    Observation& o = w.obs[i];
    if (i % batch == 0) {
      o.topic = ids[rng() % ids.size()];
      o.partition = static_cast<int32_t>(rng() % static_cast<uint64_t>(partitions));
    } else {
      o.topic = w.obs[i - 1].topic;
      o.partition = w.obs[i - 1].partition;
    }
    o.offset = static_cast<int64_t>(i);
    o.observed_ms = start + static_cast<int64_t>(i * 100'000 / ring);
    o.event_ms = o.observed_ms - lat[i % kRing];
    size_t p = i % kPayloads;
    o.bytes = static_cast<uint32_t>(w.keys[p].size() + w.values[p].size());
    o.digest = MessageDigest(w.keys[p], false, w.values[p], false);
  }
  return w;
}

// Drains as an owner would (every 2^20 messages here) inside the timed loop, so
// re-opening windows after a flush is part of the figure.
void RunTracker(benchmark::State& state, Workload& w, bool compute_digest) {
  size_t i = 0, since_drain = 0;
  const size_t mask = w.obs.size() - 1;
  for (auto _ : state) {
    Observation o = w.obs[i];
    if (compute_digest) {
      size_t p = i % kPayloads;
      o.digest = MessageDigest(w.keys[p], false, w.values[p], false);
    }
    w.tracker.Add(o);
    i = (i + 1) & mask;
    if (++since_drain == (1 << 20)) {
      since_drain = 0;
      benchmark::DoNotOptimize(w.tracker.Drain());
    }
  }
  state.counters["open_windows"] = static_cast<double>(w.tracker.open_windows());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_TrackerAdd(benchmark::State& state) {
  Workload w = MakeWorkload(static_cast<int>(state.range(0)), 12, {});
  RunTracker(state, w, false);
}
BENCHMARK(BM_TrackerAdd)->Arg(100)->Arg(1000)->Arg(10000);

void BM_TrackerAddWithDigest(benchmark::State& state) {
  Workload w = MakeWorkload(static_cast<int>(state.range(0)), 12, {});
  RunTracker(state, w, true);
}
BENCHMARK(BM_TrackerAddWithDigest)->Arg(100)->Arg(1000);

void BM_TrackerAddTrackPartitions(benchmark::State& state) {
  Workload w = MakeWorkload(static_cast<int>(state.range(0)), 12, {.track_partitions = true});
  RunTracker(state, w, false);
}
BENCHMARK(BM_TrackerAddTrackPartitions)->Arg(100)->Arg(1000);

void BM_TrackerAddByPartition(benchmark::State& state) {
  Workload w = MakeWorkload(static_cast<int>(state.range(0)), 12, {.by_partition = true});
  RunTracker(state, w, false);
}
BENCHMARK(BM_TrackerAddByPartition)->Arg(100)->Arg(1000);

// The service tier as it runs: per-partition fetch batches of 100 messages.
void BM_TrackerAddByPartitionBatched(benchmark::State& state) {
  // A ring long enough for the batches to visit every partition.
  Workload w = MakeWorkload(static_cast<int>(state.range(0)), 12, {.by_partition = true}, 100, 1 << 21);
  RunTracker(state, w, false);
}
BENCHMARK(BM_TrackerAddByPartitionBatched)->Arg(100)->Arg(1000);

void BM_SketchAdd(benchmark::State& state) {
  std::vector<int64_t> lat = Latencies(3);
  LatencySketch s;
  size_t i = 0;
  for (auto _ : state) {
    s.Add(static_cast<double>(lat[i]));
    i = (i + 1) & (kRing - 1);
  }
  benchmark::DoNotOptimize(s.count());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_SketchAdd);

std::vector<double> MappingInputs() {
  std::vector<int64_t> lat = Latencies(4);
  std::vector<double> v;
  for (int64_t x : lat) v.push_back(static_cast<double>(x) + 0.5);
  return v;
}

// The bucket index with the cubic mapping LatencySketch uses...
void BM_SketchIndexCubic(benchmark::State& state) {
  std::vector<double> v = MappingInputs();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(LatencySketch::BucketIndex(v[i]));
    i = (i + 1) & (kRing - 1);
  }
}
BENCHMARK(BM_SketchIndexCubic);

// ...and with the exact logarithm, for comparison.
void BM_SketchIndexLog(benchmark::State& state) {
  std::vector<double> v = MappingInputs();
  const double inv_log_gamma = 1 / std::log((1 + 0.01) / (1 - 0.01));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(static_cast<int32_t>(std::ceil(std::log(v[i]) * inv_log_gamma)));
    i = (i + 1) & (kRing - 1);
  }
}
BENCHMARK(BM_SketchIndexLog);

void BM_SketchMerge(benchmark::State& state) {
  std::vector<int64_t> lat = Latencies(5);
  LatencySketch part;
  for (int64_t x : lat) part.Add(static_cast<double>(x));
  LatencySketch total;
  for (auto _ : state) total.Merge(part);
  state.counters["buckets"] = static_cast<double>(part.Buckets().size());
}
BENCHMARK(BM_SketchMerge);

void BM_SketchEncode(benchmark::State& state) {
  std::vector<int64_t> lat = Latencies(6);
  LatencySketch s;
  for (int64_t x : lat) s.Add(static_cast<double>(x));
  std::string enc;
  for (auto _ : state) {
    enc = s.Encode();
    benchmark::DoNotOptimize(enc.data());
  }
  state.counters["base64_chars"] = static_cast<double>(enc.size());
  state.counters["buckets"] = static_cast<double>(s.Buckets().size());
}
BENCHMARK(BM_SketchEncode);

void BM_SketchDecode(benchmark::State& state) {
  std::vector<int64_t> lat = Latencies(7);
  LatencySketch s;
  for (int64_t x : lat) s.Add(static_cast<double>(x));
  std::string enc = s.Encode();
  for (auto _ : state) benchmark::DoNotOptimize(LatencySketch::Decode(enc).ok());
}
BENCHMARK(BM_SketchDecode);

void BM_MessageDigest(benchmark::State& state) {
  std::string key = "user-12345";
  std::string value(static_cast<size_t>(state.range(0)), 'v');
  for (auto _ : state) benchmark::DoNotOptimize(MessageDigest(key, false, value, false));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * (state.range(0) + 10));
}
BENCHMARK(BM_MessageDigest)->Arg(100)->Arg(1000)->Arg(10000);

}  // namespace
}  // namespace chaperone

BENCHMARK_MAIN();
