// The audit service's per-message step (pipeline/message_audit.h): extraction
// of the event time, digest and tracker update, as the consume loop runs it
// (by_partition tracker, 64 partitions seen in fetch batches of 100 messages,
// ~200-byte JSON values with the event time in the first field).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "pipeline/message_audit.h"

namespace {

using namespace chaperone;

struct Msg {
  std::string key, value;
  int32_t partition;
  int64_t offset;
};

std::vector<Msg> MakeMessages(size_t n) {
  std::mt19937_64 rng(7);
  std::vector<Msg> out;
  const int64_t base = 1'700'000'000'000;
  for (size_t i = 0; i < n; ++i) {
    Msg m;
    m.key = "user-" + std::to_string(rng() % 100000);
    int64_t ts = base + static_cast<int64_t>(i) * 10 + static_cast<int64_t>(rng() % 60000);
    m.value = "{\"ts\":" + std::to_string(ts) + ",\"id\":" + std::to_string(i) + ",\"kind\":\"order\",\"pad\":\"";
    m.value.append(200 - std::min<size_t>(200, m.value.size() + 2), 'x');
    m.value += "\"}";
    // A consumer sees runs of one partition's messages (one fetched batch).
    m.partition = static_cast<int32_t>((i / 100) % 64);
    m.offset = static_cast<int64_t>(i);
    out.push_back(std::move(m));
  }
  return out;
}

void BM_ServiceAuditMessage(benchmark::State& state) {
  static const std::vector<Msg> msgs = MakeMessages(1 << 16);
  TrackerOptions opts;
  opts.window_sec = 600;
  opts.by_partition = true;
  WindowTracker tracker(opts);
  TopicId topic = tracker.InternTopic("orders");
  const TimestampChain& chain = TimestampChain::Default();
  const int64_t now = 1'700'000'100'000;
  size_t i = 0, n = 0;
  for (auto _ : state) {
    const Msg& m = msgs[i];
    MessageView v;
    v.key = m.key;
    v.key_null = false;
    v.value = m.value;
    v.value_null = false;
    v.record_timestamp_ms = now;
    EventTime et = pipeline::AuditMessage(chain, tracker, topic, m.partition, m.offset, v, now);
    benchmark::DoNotOptimize(et);
    i = (i + 1) & (msgs.size() - 1);
    // Drain as the service does at each flush (every ~10^5 messages here).
    if (++n % 100000 == 0) benchmark::DoNotOptimize(tracker.Drain());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ServiceAuditMessage);

}  // namespace

BENCHMARK_MAIN();
