// Web API latency over a SQLite store holding N topics × D days × 5 tiers
// (10-minute windows: 5,040 window rows per topic for 7 days; N =
// CHAPERONE_WEB_BENCH_TOPICS, default 1000; D = CHAPERONE_WEB_BENCH_DAYS, 1 to
// 7, default 7), built once and reused (CHAPERONE_WEB_BENCH_DB, default
// /tmp/chaperone-web-bench-N.db, or -N-Dd.db for fewer days). Up to 1000 topics the store is written
// through Store::Apply; beyond, topic-0000 is written through Store::Apply and
// copied by SQL to the other topics (rows and topic summary alike), because
// Apply would take an hour for 50 M rows. CHAPERONE_WEB_BENCH_STORE=postgresql
// runs the same on a throwaway PostgreSQL (tests/support/pg_server.h), filled
// by the copy at every run.
//
//   BM_StoreQueryWindows   the store read alone (7 days × 5 tiers of one topic)
//   BM_StoreListTopics     the store's topic list (from the topic summary)
//   BM_StoreTopicSummary24h  the topic summary's days of the last 24 h (read with every overview)
//   BM_StoreQueryAllWindows24h  every topic's windows of the last 24 h
//   BM_SeriesApi           GET /api/v1/topics/{t}/series, 7 days: read + merge + JSON, no sockets
//   BM_SeriesHttp          the same through WebServer and an HTTP client on loopback
//   BM_LossApi             GET /api/v1/topics/{t}/loss, 7 days, two tiers
//   BM_TopicsApiCold       GET /api/v1/topics on a fresh server: statuses of all topics over 24 h
//   BM_TopicsApiWarm       the same on a server that answered it before (nothing changed since)
//   BM_DetectCycle         one evaluation cycle of the loss detector: every topic's last 24 h
//                          judged pair by pair from the window totals (detect::Evaluate)
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "chaperone/latency_sketch.h"
#include "store/dialect.h"
#include "support/pg_server.h"
#include "store/schema.h"
#include "store/store.h"
#include "detect/evaluate.h"
#include "web/api.h"
#include "web/store_pool.h"
#include "web/web_server.h"

namespace {

using namespace chaperone;

int Topics() {
  static const int n = [] {
    const char* v = std::getenv("CHAPERONE_WEB_BENCH_TOPICS");
    return v ? std::max(1, std::atoi(v)) : 1000;
  }();
  return n;
}
constexpr int kApplyTopics = 1000;  // more are copied by SQL from topic-0000
constexpr int64_t kWindowSec = 600;
// Days of windows (CHAPERONE_WEB_BENCH_DAYS, default 7: 1008 windows a topic).
int Days() {
  static const int n = [] {
    const char* v = std::getenv("CHAPERONE_WEB_BENCH_DAYS");
    return v ? std::clamp(std::atoi(v), 1, 7) : 7;
  }();
  return n;
}
const int64_t kWindows = Days() * 86400 / kWindowSec;
constexpr int64_t kStartSec = 1'795'000'200;  // window-aligned
const int64_t kEndSec = kStartSec + kWindows * kWindowSec;
const char* const kTiers[] = {"producer", "regional", "replicator", "aggregate", "consumer:billing"};

std::string DbPath() {
  const char* p = std::getenv("CHAPERONE_WEB_BENCH_DB");
  if (p) return p;
  return Days() == 7 ? fmt::format("/tmp/chaperone-web-bench-{}.db", Topics())
                     : fmt::format("/tmp/chaperone-web-bench-{}-{}d.db", Topics(), Days());
}

bool OnPostgres() {
  const char* v = std::getenv("CHAPERONE_WEB_BENCH_STORE");
  return v && std::string(v) == "postgresql";
}

// The store's URL; on PostgreSQL a throwaway server, started on first use.
const std::string& StoreUrl() {
  static const std::string url = []() -> std::string {
    if (!OnPostgres()) return "sqlite:" + DbPath();
    static std::unique_ptr<test::PgServer> server;
    auto started = test::PgServer::Start();
    if (!started.ok()) {
      std::fprintf(stderr, "web_api_bench: %s\n", started.status().ToString().c_str());
      std::exit(1);
    }
    server = std::move(*started);
    auto db = server->CreateDatabase("web_bench");
    if (!db.ok()) std::exit(1);
    return *db;
  }();
  return url;
}

std::string TopicName(int i) { return fmt::format("topic-{:04d}", i); }

// A healthy tier's latency: 35 buckets' worth (10-20 ms), growing along the pipeline.
std::string TierSketch(int tier) {
  LatencySketch s;
  for (int i = 0; i < 1000; ++i) s.Add((10.0 + (i % 100) / 10.0) * (1 + tier));
  return s.Encode();
}

Status Fill(store::Store& st, int topics) {
  std::vector<std::string> sketches;
  for (int t = 0; t < 5; ++t) sketches.push_back(TierSketch(t));
  int64_t seq[5] = {0, 0, 0, 0, 0};
  std::vector<store::Incoming> batch;
  batch.reserve(5000);
  int64_t applied = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    auto r = st.Apply(batch, {}, kEndSec * 1000);
    if (!r.ok()) return r.status();
    applied += r->applied;
    batch.clear();
    return Status::Ok();
  };
  for (int topic = 0; topic < topics; ++topic) {
    for (int64_t w = 0; w < kWindows; ++w) {
      for (int tier = 0; tier < 5; ++tier) {
        AuditRecord r;
        r.tier = kTiers[tier];
        r.hostname = fmt::format("host-{}", tier);
        r.datacenter = "dc1";
        r.cluster = tier == 0 || tier == 4 ? "" : r.tier;
        r.emitter_id = fmt::format("emitter-{}", tier);
        r.seq = seq[tier]++;
        r.uuid = fmt::format("{}-{}-{}", topic, tier, w);
        r.flush_id = r.uuid;
        r.topic = TopicName(topic);
        r.window_begin_sec = kStartSec + w * kWindowSec;
        r.window_end_sec = r.window_begin_sec + kWindowSec;
        r.count = 1000;
        r.total_bytes = 256'000;
        r.no_time_count = 0;
        r.malformed_count = 0;
        r.latency_sketch = sketches[tier];
        r.mean_latency_ms = 15 * (1 + tier);
        r.latency50_ms = 15 * (1 + tier);
        r.latency95_ms = 19.5 * (1 + tier);
        r.latency99_ms = 19.9 * (1 + tier);
        r.max_latency_ms = 19.9 * (1 + tier);
        r.digest = 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(topic * kWindows + w + 1);
        store::Incoming in;
        in.record = std::move(r);
        in.raw = "{}";
        in.source = fmt::format("chaperone-audit/0@{}", applied + batch.size());
        batch.push_back(std::move(in));
        if (batch.size() == 5000) {
          if (Status s = flush(); !s.ok()) return s;
        }
      }
    }
    if (topic % 100 == 99) std::fprintf(stderr, "web_api_bench: filled %d/%d topics\n", topic + 1, topics);
  }
  // Heartbeats: every emitter's watermark past the last window, so all windows are final.
  for (int tier = 0; tier < 5; ++tier) {
    AuditRecord h;
    h.kind = RecordKind::kHeartbeat;
    h.tier = kTiers[tier];
    h.hostname = fmt::format("host-{}", tier);
    h.datacenter = "dc1";
    h.cluster = tier == 0 || tier == 4 ? "" : h.tier;
    h.emitter_id = fmt::format("emitter-{}", tier);
    h.seq = seq[tier]++;
    h.uuid = fmt::format("hb-{}", tier);
    h.watermark_ms = (kEndSec + 120) * 1000;
    h.window_sec = kWindowSec;
    store::Incoming in;
    in.record = std::move(h);
    in.raw = "{}";
    in.source = fmt::format("chaperone-audit/0@hb{}", tier);
    batch.push_back(std::move(in));
  }
  return flush();
}

// Copies topic-0000's window rows, topic summary and window totals to topic-0001.. by SQL,
// 100 topics per transaction; windows_by_begin is built once at the end.
Status CopyTopics() {
  auto db = OnPostgres() ? store::internal::OpenPostgres(StoreUrl())
                         : store::internal::OpenSqlite(DbPath(), store::OpenMode::kMustExist);
  if (!db.ok()) return db.status();
  std::string windows_rest = std::string(store::internal::kWindowColumns).substr(std::string("topic, ").size());
  std::string summary_rest = std::string(store::internal::kTopicSummaryColumns).substr(std::string("topic, ").size());
  if (Status s = (*db)->Exec("DROP INDEX IF EXISTS windows_by_begin"); !s.ok()) return s;
  for (int from = 1; from < Topics(); from += 100) {
    int to = std::min(Topics(), from + 100);
    for (const auto& [table, rest] : {std::pair{"windows", windows_rest}, std::pair{"topic_summary", summary_rest},
                                      std::pair{"window_totals", std::string("tier, bucket_sec, totals")}}) {
      std::string sql =
          OnPostgres()
              ? fmt::format("INSERT INTO {0} SELECT 'topic-' || lpad(i::text, 4, '0'), {1} FROM {0}, "
                            "generate_series({2}, {3}) AS n(i) WHERE topic = 'topic-0000'",
                            table, rest, from, to - 1)
              : fmt::format("WITH RECURSIVE n(i) AS (SELECT {2} UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {3}) "
                            "INSERT INTO {0} SELECT printf('topic-%04d', i), {1} FROM {0}, n WHERE topic = 'topic-0000'",
                            table, rest, from, to);
      if (Status s = (*db)->Exec(sql); !s.ok()) return s;
    }
    if (to % 1000 == 0 || to == Topics()) std::fprintf(stderr, "web_api_bench: copied %d/%d topics\n", to, Topics());
  }
  if (Status s = (*db)->Exec("CREATE INDEX windows_by_begin ON windows (window_begin_sec)"); !s.ok()) return s;
  return OnPostgres() ? (*db)->Exec("ANALYZE") : Status::Ok();
}

// The store, filled on first use.
store::Store& BenchStore() {
  static std::unique_ptr<store::Store> st = [] {
    std::string path = OnPostgres() ? std::string("PostgreSQL") : DbPath();
    auto opened = store::Store::Open(StoreUrl());
    if (!opened.ok()) {
      std::fprintf(stderr, "web_api_bench: %s\n", opened.status().ToString().c_str());
      std::exit(1);
    }
    auto topics = (*opened)->ListTopics();
    if (!topics.ok() || topics->size() != static_cast<size_t>(Topics())) {
      std::fprintf(stderr, "web_api_bench: filling %s (once; %lld window rows)\n", path.c_str(),
                   static_cast<long long>(Topics()) * kWindows * 5);
      bool copy = Topics() > kApplyTopics || OnPostgres();
      if (Status s = Fill(**opened, copy ? 1 : Topics()); !s.ok()) {
        std::fprintf(stderr, "web_api_bench: fill failed: %s\n", s.ToString().c_str());
        std::exit(1);
      }
      if (copy) {
        opened->reset();
        if (Status s = CopyTopics(); !s.ok()) {
          std::fprintf(stderr, "web_api_bench: copy failed: %s\n", s.ToString().c_str());
          std::exit(1);
        }
        opened = store::Store::Open(StoreUrl());
        if (!opened.ok()) std::exit(1);
      }
    }
    return std::move(*opened);
  }();
  return *st;
}

FakeClock& BenchClock() {
  static FakeClock clock((kEndSec + 300) * 1000);
  return clock;
}

struct ApiHarness {
  web::StorePool pool{std::shared_ptr<store::Store>(&BenchStore(), [](store::Store*) {})};
  web::WebMetrics metrics;
  web::StaticAssetBundle assets{std::span<const web::StaticAsset>()};
  std::unique_ptr<web::Api> api;
  ApiHarness() {
    (void)pool.Start();
    api = std::make_unique<web::Api>(web::ApiOptions{}, pool, BenchClock(), assets, metrics);
  }
};

ApiHarness& Harness() {
  static ApiHarness h;
  return h;
}

std::multimap<std::string, std::string> SevenDays() {
  return {{"from", std::to_string(kStartSec)}, {"to", std::to_string(kEndSec)}};
}

void BM_StoreQueryWindows(benchmark::State& state) {
  store::Store& st = BenchStore();
  int i = 0;
  size_t rows = 0;
  for (auto _ : state) {
    auto r = st.QueryWindows(TopicName(i++ % Topics()), std::nullopt, kStartSec, kEndSec);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    rows = r->size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_StoreQueryWindows)->Unit(benchmark::kMillisecond);

void BM_StoreListTopics(benchmark::State& state) {
  store::Store& st = BenchStore();
  for (auto _ : state) {
    auto r = st.ListTopics();
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
  }
}
BENCHMARK(BM_StoreListTopics)->Unit(benchmark::kMillisecond);

void BM_StoreTopicSummary24h(benchmark::State& state) {
  store::Store& st = BenchStore();
  size_t rows = 0;
  for (auto _ : state) {
    auto r = st.QueryTopicSummary(kEndSec + 300 - 86400, kEndSec + 300);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    rows = r->size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_StoreTopicSummary24h)->Unit(benchmark::kMillisecond);

void BM_StoreQueryAllWindows24h(benchmark::State& state) {
  store::Store& st = BenchStore();
  size_t rows = 0;
  for (auto _ : state) {
    auto r = st.QueryAllWindows(kEndSec - 86400, kEndSec);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    rows = r->size();
  }
  state.counters["rows"] = static_cast<double>(rows);
}
BENCHMARK(BM_StoreQueryAllWindows24h)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_SeriesApi(benchmark::State& state) {
  ApiHarness& h = Harness();
  int i = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    auto res = h.api->Handle({"GET", "/api/v1/topics/" + TopicName(i++ % Topics()) + "/series", SevenDays()});
    if (res.status != 200) state.SkipWithError(res.body.c_str());
    bytes = res.body.size();
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_SeriesApi)->Unit(benchmark::kMillisecond);

void BM_SeriesHttp(benchmark::State& state) {
  web::WebServerOptions o;
  o.listen = "127.0.0.1:0";
  o.store_url = StoreUrl();
  (void)BenchStore();  // filled
  web::WebServer server(o, BenchClock());
  if (Status s = server.Start(); !s.ok()) {
    state.SkipWithError(s.message().c_str());
    return;
  }
  httplib::Client client("127.0.0.1", server.port());
  client.set_keep_alive(true);
  int i = 0;
  for (auto _ : state) {
    auto r =
        client.Get(fmt::format("/api/v1/topics/{}/series?from={}&to={}", TopicName(i++ % Topics()), kStartSec, kEndSec));
    if (!r || r->status != 200) state.SkipWithError("HTTP request failed");
  }
  server.Stop();
}
BENCHMARK(BM_SeriesHttp)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LossApi(benchmark::State& state) {
  ApiHarness& h = Harness();
  int i = 0;
  for (auto _ : state) {
    auto params = SevenDays();
    params.emplace("source", "regional");
    params.emplace("target", "aggregate");
    auto res = h.api->Handle({"GET", "/api/v1/topics/" + TopicName(i++ % Topics()) + "/loss", params});
    if (res.status != 200) state.SkipWithError(res.body.c_str());
  }
}
BENCHMARK(BM_LossApi)->Unit(benchmark::kMillisecond);

// A fresh server: the topic listing and every topic's last 24 h are read.
void BM_TopicsApiCold(benchmark::State& state) {
  for (auto _ : state) {
    ApiHarness h;
    auto res = h.api->Handle({"GET", "/api/v1/topics", {}});
    if (res.status != 200) state.SkipWithError(res.body.c_str());
  }
}
BENCHMARK(BM_TopicsApiCold)->Unit(benchmark::kMillisecond)->Iterations(2);

// A server that answered before (the clock moves 1 s per request): the
// listing is reused, and the topic summary says that no topic changed, so no
// window row is read.
void BM_TopicsApiWarm(benchmark::State& state) {
  ApiHarness& h = Harness();
  (void)h.api->Handle({"GET", "/api/v1/topics", {}});
  for (auto _ : state) {
    BenchClock().AdvanceMs(1000);
    auto res = h.api->Handle({"GET", "/api/v1/topics", {}});
    if (res.status != 200) state.SkipWithError(res.body.c_str());
  }
}
BENCHMARK(BM_TopicsApiWarm)->Unit(benchmark::kMillisecond)->Iterations(5);

// One evaluation cycle of the loss detector over the last 24 h of every topic
// (5 tiers: 4 pairs a topic), cold: nothing kept between cycles.
void BM_DetectCycle(benchmark::State& state) {
  store::Store& st = BenchStore();
  auto reader = store::Store::Open(StoreUrl());  // a second connection, as chaperone detect opens
  if (!reader.ok()) {
    state.SkipWithError(reader.status().message().c_str());
    return;
  }
  detect::EvaluateOptions opts;
  opts.readers = {reader->get()};
  detect::Evaluation last;
  for (auto _ : state) {
    auto e = detect::Evaluate(st, kEndSec - 86400, kEndSec, BenchClock().NowMs(), opts);
    if (!e.ok()) {
      state.SkipWithError(e.status().message().c_str());
      return;
    }
    last = std::move(*e);
  }
  state.counters["topics"] = static_cast<double>(last.topics);
  state.counters["windows_judged"] = static_cast<double>(last.windows);
  state.counters["findings"] = static_cast<double>(last.findings.size());
}
BENCHMARK(BM_DetectCycle)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
