// Encode/decode cost of one audit record (the collector decodes every record
// of the audit topic; emitters encode one per topic and window per flush).
#include <benchmark/benchmark.h>

#include "chaperone/audit_record.h"
#include "chaperone/emitter.h"

namespace chaperone {
namespace {

AuditRecord ServiceRecord(int partitions) {
  Emitter emitter(MakeEmitterIdentity("regional", "dc1", "regional-dc1"));
  AuditRecord r;
  r.topic = "orders.v2";
  r.window_begin_sec = 1'795'303'800;
  r.window_end_sec = 1'795'304'400;
  r.total_bytes = 0;
  r.no_time_count = 0;
  r.malformed_count = 0;
  r.mean_latency_ms = 1250.5;
  r.latency50_ms = 1100.25;
  r.latency95_ms = 3100.0;
  r.latency99_ms = 4100.0;
  r.max_latency_ms = 4800.0;
  r.latency_sketch = std::string(120, 'A');  // about the size of an encoded sketch of a busy window
  r.digest = 0xfedcba9876543210ull;
  for (int p = 0; p < partitions; ++p) {
    r.partitions.push_back({p, 1000, 5000, 5999, 4000});
    r.count += 1000;
    *r.total_bytes += 256000;
  }
  emitter.Stamp(r);
  return r;
}

void BM_EncodeAuditRecord(benchmark::State& state) {
  AuditRecord r = ServiceRecord(static_cast<int>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::string s = EncodeAuditRecord(r);
    bytes += s.size();
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EncodeAuditRecord)->Arg(1)->Arg(32);

void BM_DecodeAuditRecord(benchmark::State& state) {
  std::string text = EncodeAuditRecord(ServiceRecord(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    auto r = DecodeAuditRecord(text);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["record_bytes"] = static_cast<double>(text.size());
}
BENCHMARK(BM_DecodeAuditRecord)->Arg(1)->Arg(32);

void BM_DecodeLegacyRecord(benchmark::State& state) {
  const std::string text =
      R"({"topicName":"dummyTopic","timeBeginInSec":1795303800.0,"timeEndInSec":1795304400.0,"totalBytes":25600,)"
      R"("count":100,"noTimeCount":0,"malformedCount":0,"meanLatency":1250.5,"latency95":3100.0,"latency99":4100.0,)"
      R"("maxLatency":4800.0,"tier":"regional","hostname":"audit-worker-07","datacenter":"dc1",)"
      R"("uuid":"regional_dc1_audit-worker-07_1795303000123_42"})";
  for (auto _ : state) {
    auto r = DecodeAuditRecord(text);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_DecodeLegacyRecord);

void BM_NewUuid(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NewUuid());
}
BENCHMARK(BM_NewUuid);

}  // namespace
}  // namespace chaperone

BENCHMARK_MAIN();
