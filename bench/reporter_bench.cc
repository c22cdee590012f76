// Kafka reporter against the in-process mock cluster: the cost of one
// acknowledged Send (idempotent producer, acks=all, lz4) by batch size.
#include <benchmark/benchmark.h>

#include "chaperone/emitter.h"
#include "chaperone/mock_cluster.h"
#include "chaperone/reporter.h"

namespace chaperone {
namespace {

std::vector<AuditRecord> Batch(Emitter& emitter, int n) {
  std::vector<AuditRecord> out;
  for (int i = 0; i < n; ++i) {
    AuditRecord r;
    r.topic = "topic-" + std::to_string(i % 50);
    r.window_begin_sec = 1'795'303'800 + 600 * (i / 50);
    r.window_end_sec = r.window_begin_sec + 600;
    r.count = 1000;
    r.total_bytes = 256000;
    r.no_time_count = r.malformed_count = 0;
    r.mean_latency_ms = 12.5;
    r.latency50_ms = 10;
    r.latency95_ms = 30;
    r.latency99_ms = 41;
    r.max_latency_ms = 48;
    r.latency_sketch = std::string(120, 'A');
    r.digest = 0x1234567890abcdefull;
    r.partitions = {{i % 8, 1000, 5000, 5999, 4000}};
    emitter.Stamp(r);
    out.push_back(std::move(r));
  }
  return out;
}

void BM_KafkaReporterSend(benchmark::State& state) {
  auto cluster = MockCluster::Start(3, {{kDefaultAuditTopic, 4}});
  if (!cluster.ok()) return state.SkipWithError(cluster.status().message().c_str());
  KafkaReporterOptions o;
  o.bootstrap_servers = (*cluster)->bootstrap_servers();
  auto reporter = MakeKafkaReporter(o);
  if (!reporter.ok()) return state.SkipWithError(reporter.status().message().c_str());
  Emitter emitter(MakeEmitterIdentity("regional", "dc1", "regional-dc1"));
  const int n = static_cast<int>(state.range(0));
  // Warm up: metadata, producer id.
  if (!(*reporter)->Send(Batch(emitter, 1), std::chrono::seconds(30)).ok()) return state.SkipWithError("warm-up failed");
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = Batch(emitter, n);
    state.ResumeTiming();
    Status s = (*reporter)->Send(batch, std::chrono::seconds(30));
    if (!s.ok()) return state.SkipWithError(s.message().c_str());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_KafkaReporterSend)->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace chaperone

BENCHMARK_MAIN();
