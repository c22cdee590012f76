// Collector ingest: Store::Apply throughput in records/s, SQLite, PostgreSQL
// and MariaDB, on batches like the collector's (2000 records of v1 service-tier
// records: digest, emitter sequence, one partition with a chunk start, a
// latency sketch). PostgreSQL and MariaDB run on throwaway local servers with
// durable settings (PostgreSQL: fsync on, synchronous_commit on; MariaDB: the
// log flushed at each commit). Figures: docs/performance.md, "Collector ingest".
//
// `collector_ingest_bench --serve=postgresql|mariadb URL_FILE` instead starts
// such a server, writes the URL of a fresh database to URL_FILE and serves
// until SIGTERM or SIGINT: bench/collector_ingest.sh uses it for
// the end-to-end figures.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "store/store.h"
#include "support/mariadb_server.h"
#include "support/pg_server.h"

#include "chaperone/latency_sketch.h"

namespace chaperone {
namespace {

constexpr int kBatch = 2000;

std::vector<store::Incoming> MakeBatch(int64_t batch_no) {
  std::vector<store::Incoming> batch;
  batch.reserve(kBatch);
  for (int i = 0; i < kBatch; ++i) {
    int64_t n = batch_no * kBatch + i;
    AuditRecord r;
    r.tier = "regional";
    r.datacenter = "dc1";
    r.cluster = "regional";
    r.hostname = "worker-" + std::to_string(n % 20);
    r.emitter_id = "worker-" + std::to_string(n % 20) + "-1";
    r.seq = n / 20;
    r.uuid = "bench-" + std::to_string(n);
    r.flush_id = "flush-" + std::to_string(n / 200);
    r.topic = "topic-" + std::to_string(n % 50);
    r.window_begin_sec = 1795303800 + 600 * (n / 100000);
    r.window_end_sec = r.window_begin_sec + 600;
    r.count = 100 + n % 50;
    r.total_bytes = r.count * 250;
    r.no_time_count = 0;
    r.malformed_count = 0;
    r.digest = static_cast<uint64_t>(n) * 0x9E3779B97F4A7C15ull;
    r.mean_latency_ms = 20;
    r.latency50_ms = 18;
    r.latency95_ms = 40;
    r.latency99_ms = 55;
    r.max_latency_ms = 70;
    r.partitions = {{static_cast<int32_t>(n % 8), r.count, n * 150, n * 150 + r.count - 1, (n / 400) * 60000}};
    static const std::string sketch = [] {
      LatencySketch s;
      for (int k = 1; k <= 200; ++k) s.Add(5.0 + k * 0.3);
      return s.Encode();
    }();
    r.latency_sketch = sketch;
    store::Incoming in;
    in.raw = "{}";
    in.source = "chaperone-audit/0@" + std::to_string(n);
    in.record = std::move(r);
    batch.push_back(std::move(in));
  }
  return batch;
}

void RunApply(benchmark::State& state, const std::string& url) {
  auto store = store::Store::Open(url);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  int64_t batch_no = 0, records = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batch = MakeBatch(batch_no);
    std::vector<store::ConsumerPosition> pos = {{"bench", "chaperone-audit", 0, (batch_no + 1) * kBatch}};
    state.ResumeTiming();
    auto r = (*store)->Apply(batch, pos, 1795304410000 + batch_no);
    if (!r.ok() || r->applied != kBatch) {
      state.SkipWithError(r.ok() ? "not all applied" : r.status().ToString().c_str());
      return;
    }
    ++batch_no;
    records += kBatch;
  }
  state.counters["records/s"] = benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
}

void BM_ApplySqlite(benchmark::State& state) {
  char dir[] = "/tmp/chaperone-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) return state.SkipWithError("mkdtemp");
  RunApply(state, std::string("sqlite:") + dir + "/chaperone.db");
  std::filesystem::remove_all(dir);
}

void BM_ApplyPostgres(benchmark::State& state) {
  auto server = test::PgServer::Start({});  // durable defaults: fsync, synchronous_commit
  if (!server.ok()) return state.SkipWithError(server.status().ToString().c_str());
  auto url = (*server)->CreateDatabase("bench");
  if (!url.ok()) return state.SkipWithError(url.status().ToString().c_str());
  RunApply(state, *url);
}

void BM_ApplyMariaDb(benchmark::State& state) {
  auto server = test::MariaDbServer::Start({});  // durable defaults: the log flushed at each commit
  if (!server.ok()) return state.SkipWithError(server.status().ToString().c_str());
  auto url = (*server)->CreateDatabase("bench");
  if (!url.ok()) return state.SkipWithError(url.status().ToString().c_str());
  RunApply(state, *url);
}

BENCHMARK(BM_ApplySqlite)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();
BENCHMARK(BM_ApplyPostgres)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();
BENCHMARK(BM_ApplyMariaDb)->Unit(benchmark::kMillisecond)->MinTime(3.0)->UseRealTime();

volatile std::sig_atomic_t g_stop = 0;

// --serve=KIND URL_FILE: a durable throwaway server until SIGTERM or SIGINT.
int Serve(const std::string& kind, const std::string& url_file) {
  std::unique_ptr<test::PgServer> pg;
  std::unique_ptr<test::MariaDbServer> maria;
  Result<std::string> url = Status::InvalidArgument("--serve: want postgresql or mariadb, got " + kind);
  if (kind == "postgresql") {
    auto s = test::PgServer::Start({});
    if (!s.ok()) url = s.status();
    else url = (pg = std::move(*s))->CreateDatabase("bench");
  } else if (kind == "mariadb") {
    auto s = test::MariaDbServer::Start({});
    if (!s.ok()) url = s.status();
    else url = (maria = std::move(*s))->CreateDatabase("bench");
  }
  if (!url.ok()) {
    std::cerr << url.status().ToString() << "\n";
    return 1;
  }
  {
    std::ofstream out(url_file + ".tmp");
    out << *url << "\n";
  }
  std::filesystem::rename(url_file + ".tmp", url_file);
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_stop = 1; };
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  while (g_stop == 0) pause();
  return 0;  // the destructors stop the server and delete its data
}

}  // namespace
}  // namespace chaperone

int main(int argc, char** argv) {
  if (argc == 3 && std::strncmp(argv[1], "--serve=", 8) == 0) return chaperone::Serve(argv[1] + 8, argv[2]);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
