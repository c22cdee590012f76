// The interceptor's per-message cost, piece by piece: what an
// on_acknowledgement callback does for one 200-byte JSON message.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "chaperone/audit_client.h"
#include "chaperone/digest.h"
#include "chaperone/event_time.h"
#include "chaperone/reporter.h"
#include "interceptor/audit_engine.h"

namespace {

std::vector<std::string> Payloads(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    char head[64];
    int len = std::snprintf(head, sizeof(head), "{\"ts\":%lld,\"id\":%zu,\"pad\":\"", 1795300000000LL + i, i);
    std::string p(head, len);
    p.append(200 - p.size() - 2, 'x');
    p += "\"}";
    out.push_back(std::move(p));
  }
  return out;
}

chaperone::MessageView View(const std::string& p) {
  chaperone::MessageView v;
  v.value = p;
  v.value_null = false;
  v.record_timestamp_ms = 1795300000000;
  return v;
}

void BM_ExtractDefaultChain(benchmark::State& state) {
  auto payloads = Payloads(1024);
  const auto& chain = chaperone::TimestampChain::Default();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(chain.Extract(View(payloads[i++ & 1023])));
  }
}
BENCHMARK(BM_ExtractDefaultChain);

void BM_MessageDigest(benchmark::State& state) {
  auto payloads = Payloads(1024);
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(chaperone::MessageDigest({}, true, payloads[i++ & 1023], false));
  }
}
BENCHMARK(BM_MessageDigest);

class NullReporter final : public chaperone::Reporter {
 public:
  chaperone::Status Send(const std::vector<chaperone::AuditRecord>&, std::chrono::milliseconds) override {
    return chaperone::Status::Ok();
  }
  chaperone::ReporterStats stats() const override { return {}; }
};

// The whole callback: topic lookup, extraction, digest, clock, queue push,
// with the drain thread counting on another core.
void BM_EngineTrack(benchmark::State& state) {
  auto payloads = Payloads(1024);
  chaperone::AuditClientOptions o;
  o.tier = "producer";
  o.queue_capacity = 1 << 20;
  o.reporter_factory = [] { return chaperone::Result<std::unique_ptr<chaperone::Reporter>>(std::make_unique<NullReporter>()); };
  auto engine = chaperone::interceptor::AuditEngine::Create(o);
  if (!engine.ok()) {
    state.SkipWithError(engine.status().ToString().c_str());
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize((*engine)->Track("bench", View(payloads[i++ & 1023])));
  }
  if (chaperone::Status s = (*engine)->Close(std::chrono::seconds(5)); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
  }
  state.counters["dropped"] = static_cast<double>((*engine)->stats().dropped_observations);
}
BENCHMARK(BM_EngineTrack);
// Same, but CPU time of the whole process: the drain thread's counting included.
BENCHMARK(BM_EngineTrack)->Name("BM_EngineTrack_ProcessCpu")->MeasureProcessCPUTime();

}  // namespace

BENCHMARK_MAIN();
