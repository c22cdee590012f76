// End-to-end tests of `chaperone read` and `chaperone diff` through the real
// audit: mock clusters named in the project file, real `chaperone service`
// processes (one per tier) counting what the test produces, the real
// `chaperone collector` merging their audit into SQLite, and then the real
// `read` and `diff` commands over the spans that audit recorded.
//
// The oracle never goes through the code under test: the test scans whole
// topics itself with a plain librdkafka consumer, finds each message's event
// time with its own parse of the "ts" field, and filters by range, partition
// and key; the diff is judged against the messages the test chose to drop and
// duplicate while it copied the regional topic into the aggregate cluster.
//
// CHAPERONE_READ_E2E_KEEP=1 keeps the logs and the store of a passing run too.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "chaperone/mock_cluster.h"
#include "store/store.h"
#include "support/process.h"
#include "support/service_support.h"

namespace chaperone {
namespace {

using namespace std::chrono_literals;
using test::Process;
using test::ProcessOptions;
using testing::ComparableWithStore;
using testing::DiffTotals;
using testing::StoreTotals;
using testing::TestMessage;
using testing::TestProducer;
using testing::WaitFor;
using testing::WindowTotals;

constexpr int64_t kWindowSec = 10;
constexpr const char* kAuditTopic = "chaperone-audit";

// ---------------------------------------------------------------------------
// The independent oracle: a whole topic as a plain consumer sees it.

struct Scanned {
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;
  std::string value;
  int64_t ts = -1;  // the "ts" field of the JSON value (-1: none)
};

// The integer after "ts": in `value`, parsed here (not with the product's extractor).
int64_t ParseTs(const std::string& value) {
  const size_t at = value.find("\"ts\":");
  if (at == std::string::npos) return -1;
  int64_t ts = -1;
  const char* begin = value.data() + at + 5;
  std::from_chars(begin, value.data() + value.size(), ts);
  return ts;
}

// Every message of partitions [0, partitions) of `topic`, from its log start to
// the high watermark queried first, in offset order per partition (sorted by
// partition, then offset).
std::vector<Scanned> ScanTopic(const std::string& bootstrap, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  static std::atomic<int> n{0};
  const std::string group = "read-e2e-scan-" + std::to_string(n++);
  for (auto [k, v] : {std::pair{"bootstrap.servers", bootstrap.c_str()}, {"group.id", group.c_str()},
                      {"enable.auto.commit", "false"}, {"enable.partition.eof", "false"},
                      {"auto.offset.reset", "earliest"}, {"log_level", "3"}}) {
    EXPECT_EQ(rd_kafka_conf_set(conf, k, v, err, sizeof err), RD_KAFKA_CONF_OK) << err;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  if (!rk) return {};
  rd_kafka_poll_set_consumer(rk);
  std::vector<int64_t> next(static_cast<size_t>(partitions), 0), high(static_cast<size_t>(partitions), 0);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    next[static_cast<size_t>(p)] = lo;
    high[static_cast<size_t>(p)] = hi;
    rd_kafka_topic_partition_list_add(l, topic.c_str(), p)->offset = lo;
  }
  EXPECT_EQ(rd_kafka_assign(rk, l), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(l);
  std::vector<Scanned> out;
  auto done = [&] {
    for (size_t p = 0; p < next.size(); ++p)
      if (next[p] < high[p]) return false;
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err && m->partition >= 0 && m->partition < partitions) {
      Scanned s;
      s.partition = m->partition;
      s.offset = m->offset;
      if (m->key) s.key = std::string(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) s.value.assign(static_cast<const char*>(m->payload), m->len);
      s.ts = ParseTs(s.value);
      next[static_cast<size_t>(m->partition)] = m->offset + 1;
      out.push_back(std::move(s));
    }
    rd_kafka_message_destroy(m);
  }
  EXPECT_TRUE(done()) << "the scan of " << topic << " did not reach the high watermarks";
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  std::sort(out.begin(), out.end(), [](const Scanned& a, const Scanned& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  return out;
}

using Location = std::pair<int32_t, int64_t>;  // (partition, offset)

struct Filter {
  int64_t from_ms = 0, to_ms = 0;
  std::optional<int32_t> partition;
  std::optional<std::string> key;
};

std::vector<const Scanned*> Select(const std::vector<Scanned>& all, const Filter& f) {
  std::vector<const Scanned*> out;
  for (const Scanned& s : all) {
    if (s.ts < f.from_ms || s.ts >= f.to_ms) continue;
    if (f.partition && s.partition != *f.partition) continue;
    if (f.key && s.key != f.key) continue;
    out.push_back(&s);
  }
  return out;
}

std::set<Location> Locations(const std::vector<const Scanned*>& v) {
  std::set<Location> out;
  for (const Scanned* s : v) out.insert({s->partition, s->offset});
  return out;
}

std::string Show(const std::set<Location>& s) {
  std::string out;
  for (const auto& [p, o] : s) out += "(" + std::to_string(p) + "," + std::to_string(o) + ") ";
  return out;
}

// The begin second of the window an hour ago: the windows after it are long
// complete, and well inside any retention of the store.
int64_t WindowAnHourAgo() {
  const int64_t now_sec =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return (now_sec - 3600) / kWindowSec * kWindowSec;
}

// "2026-12-07T10:40:00Z"
std::string Utc(int64_t sec) {
  std::time_t t = static_cast<std::time_t>(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> v;
  for (const std::string& line : test::SplitLines(out)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (!j.is_discarded()) v.push_back(std::move(j));
  }
  return v;
}

// ---------------------------------------------------------------------------
// The audited clusters: mock clusters named in one project file, one real
// audit service per tier, the real collector into SQLite.

struct Tier {
  std::string name;     // the tier
  std::string cluster;  // the cluster it audits (a name in `clusters:`)
};

class ReadE2e : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure() || std::getenv("CHAPERONE_READ_E2E_KEEP")) {
      tmp_.Keep();
      std::printf("logs and store in %s\n", tmp_.path().c_str());
    }
  }

  // Starts a mock cluster called `name` (one broker) holding `topics`.
  void StartCluster(const std::string& name, const std::vector<MockTopic>& topics) {
    auto c = MockCluster::Start(1, topics);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    clusters_.emplace_back(name, std::move(*c));
  }
  const std::string& Bootstrap(const std::string& cluster) const {
    for (const auto& [name, c] : clusters_)
      if (name == cluster) return c->bootstrap_servers();
    ADD_FAILURE() << "no cluster " << cluster;
    static const std::string none;
    return none;
  }

  // Writes the project file (every cluster started so far, the SQLite store, the
  // audit topic on `audit_cluster`), starts one service per tier and the collector.
  void StartAudit(const std::string& topic_regex, const std::vector<Tier>& tiers, const std::string& audit_cluster) {
    std::string yaml = "clusters:\n";
    for (const auto& [name, c] : clusters_) {
      yaml += "  " + name + ":\n    bootstrap.servers: \"" + c->bootstrap_servers() +
              "\"\n    log_level: 3\n    socket.timeout.ms: 10000\n";
    }
    yaml += "store:\n  url: \"sqlite:" + db_ + "\"\n";
    yaml += "service:\n"
            "  topics: {include: [\"" + topic_regex + "\"]}\n"
            "  window_sec: " + std::to_string(kWindowSec) + "\n"
            "  flush_interval_ms: 500\n"
            "  discovery_interval_ms: 500\n"
            "  send_timeout_ms: 3000\n"
            "  listen: \"\"\n"
            "  consumer:\n"
            "    session.timeout.ms: 6000\n"
            "    heartbeat.interval.ms: 500\n"
            "  audit:\n"
            "    cluster: " + audit_cluster + "\n"
            "    topic: " + kAuditTopic + "\n"
            "collector:\n"
            "  cluster: " + audit_cluster + "\n"
            "  audit_topic: " + kAuditTopic + "\n"
            "  group_id: read-e2e-collector\n"
            "  batch_ms: 50\n";
    config_ = tmp_.Write("chaperone.yaml", yaml);
    auto start = [&](std::vector<std::string> args, const std::string& log) {
      ProcessOptions o;
      o.log_file = tmp_.File(log);
      args.insert(args.begin(), CHAPERONE_BIN);
      auto p = Process::Start(args, o);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      processes_.push_back(std::move(*p));
    };
    start({"collector", "--config", config_}, "collector.log");
    for (const Tier& t : tiers) {
      start({"service", "--config", config_, "--cluster", t.cluster, "--tier", t.name, "--datacenter", "dc1",
             "--group-id", "read-e2e-" + t.name},
            "service-" + t.name + ".log");
    }
  }

  // One cluster "regional" holding `topic` and the audit topic, audited as tier regional.
  void StartRegionalAudit(const std::string& topic, int partitions) {
    StartCluster("regional", {{topic, partitions}, {kAuditTopic, 1}});
    if (HasFatalFailure()) return;
    StartAudit("read\\\\..*", {{"regional", "regional"}}, "regional");
  }

  // Waits until the store's totals of `tier` equal `produced` (a TestProducer's expected()).
  void WaitForStore(const std::string& topic, const std::string& tier, const WindowTotals& produced) {
    if (!store_) {
      Status opened = Status::Ok();
      ASSERT_TRUE(WaitFor(
          [&] {
            auto st = store::Store::Open("sqlite:" + db_, store::OpenMode::kMustExist);
            if (!st.ok()) opened = st.status();
            if (st.ok()) store_ = std::move(*st);
            return st.ok();
          },
          30s))
          << "the collector made no store: " << opened.ToString();
    }
    const WindowTotals expected = ComparableWithStore(produced);
    WindowTotals stored;
    const bool equal = WaitFor(
        [&] {
          auto t = StoreTotals(*store_, topic, tier);
          if (!t.ok()) return false;
          stored = std::move(*t);
          return DiffTotals(expected, stored).empty();
        },
        60s);
    ASSERT_TRUE(equal) << "tier " << tier << ": " << DiffTotals(expected, stored);
  }

  // Runs `chaperone <args...> --config <the project file>`.
  test::CommandResult Chaperone(std::vector<std::string> args, const std::string& config = "") {
    args.insert(args.begin(), CHAPERONE_BIN);
    args.push_back("--config");
    args.push_back(config.empty() ? config_ : config);
    auto r = test::RunCommand(args, {}, 60s);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : test::CommandResult{};
  }

  test::TempDir tmp_{"chaperone-read-e2e"};
  const std::string db_ = tmp_.File("store.db");
  std::string config_;
  std::vector<std::pair<std::string, std::unique_ptr<MockCluster>>> clusters_;
  std::unique_ptr<store::Store> store_;
  std::vector<std::unique_ptr<Process>> processes_;  // destroyed (killed) before the clusters
};

// ---------------------------------------------------------------------------

// What `read` printed (format json) as locations, checked field by field
// against the scanned messages of the cluster read.
std::set<Location> ReadLocations(const std::string& out, const std::vector<Scanned>& scanned,
                                 const std::string& cluster) {
  std::map<Location, const Scanned*> by_location;
  for (const Scanned& s : scanned) by_location[{s.partition, s.offset}] = &s;
  std::set<Location> out_set;
  for (const nlohmann::json& j : JsonLines(out)) {
    const Location l{j.value("partition", -1), j.value("offset", int64_t{-1})};
    EXPECT_TRUE(out_set.insert(l).second) << "printed twice: " << j.dump();
    EXPECT_EQ(j.value("cluster", ""), cluster) << j.dump();
    auto it = by_location.find(l);
    if (it == by_location.end()) {
      ADD_FAILURE() << "not in the topic: " << j.dump();
      continue;
    }
    EXPECT_EQ(j.value("value", ""), it->second->value) << j.dump();
    EXPECT_EQ(j.value("key", ""), it->second->key.value_or("")) << j.dump();
    EXPECT_EQ(j.value("eventTime", int64_t{-1}), it->second->ts) << j.dump();
  }
  return out_set;
}

// The "N of M spans match the audit" of read's summary line: {N, M}.
std::pair<int, int> SpansMatched(const std::string& err) {
  std::smatch m;
  static const std::regex re("(\\d+) of (\\d+) spans match the audit");
  if (!std::regex_search(err, m, re)) return {-1, -1};
  return {std::stoi(m[1]), std::stoi(m[2])};
}

// 1. Out-of-order data through the real audit of two tiers.
TEST_F(ReadE2e, ReadsEventTimeRangesExactlyAndDiffFindsTheDropsAndDuplicates) {
  constexpr const char* kTopic = "read.orders";
  constexpr int kPartitions = 4;
  constexpr int kWindows = 6;
  constexpr int kMessages = 360;
  StartCluster("regional", {{kTopic, kPartitions}});
  StartCluster("aggregate", {{kTopic, kPartitions}, {kAuditTopic, 1}});
  ASSERT_FALSE(HasFatalFailure());
  StartAudit("read\\\\..*", {{"regional", "regional"}, {"aggregate", "aggregate"}}, "aggregate");
  ASSERT_FALSE(HasFatalFailure());

  // Event times over kWindows complete windows an hour ago; a third of the
  // messages arrive up to 3 windows late, so every partition interleaves windows.
  const int64_t base_sec = WindowAnHourAgo();
  const int64_t base_ms = base_sec * 1000, window_ms = kWindowSec * 1000;
  std::mt19937_64 rng(18);
  struct Planned {
    int id;
    int64_t event_ms, arrival_ms;
    int32_t partition;
  };
  std::vector<Planned> plan;
  for (int i = 0; i < kMessages; ++i) {
    Planned p{i, base_ms + static_cast<int64_t>(rng() % (kWindows * window_ms)), 0,
              static_cast<int32_t>(rng() % kPartitions)};
    p.arrival_ms = p.event_ms + (rng() % 3 == 0 ? static_cast<int64_t>(rng() % (3 * window_ms)) : 0);
    plan.push_back(p);
  }
  std::stable_sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) { return a.arrival_ms < b.arrival_ms; });
  auto regional = TestProducer::Create(Bootstrap("regional"));
  ASSERT_TRUE(regional.ok());
  for (const Planned& p : plan) {
    TestMessage m;
    m.topic = kTopic;
    m.partition = p.partition;
    m.key = "k-" + std::to_string(p.id);
    m.value = "{\"ts\":" + std::to_string(p.event_ms) + ",\"id\":" + std::to_string(p.id) + ",\"pad\":\"" +
              std::string(20 + p.id % 17, static_cast<char>('a' + p.id % 26)) + "\"}";
    m.timestamp_ms = p.arrival_ms;
    ASSERT_TRUE((*regional)->Produce(m, kWindowSec).ok());
  }
  ASSERT_TRUE((*regional)->Flush(30s).ok());
  const std::vector<Scanned> in_regional = ScanTopic(Bootstrap("regional"), kTopic, kPartitions);
  ASSERT_EQ(in_regional.size(), static_cast<size_t>(kMessages));
  auto window_of = [&](const Scanned& s) { return static_cast<int>((s.ts - base_ms) / window_ms); };

  // The copy into the aggregate cluster: per window, what it drops and duplicates.
  //   window 0, 5: nothing;  1: one dropped;  2: one duplicated;
  //   3: one dropped and one duplicated in the same partition (equal counts);
  //   4: two dropped (different partitions) and one duplicated.
  std::map<int, std::vector<const Scanned*>> by_window;  // in partition, offset order
  for (const Scanned& s : in_regional) by_window[window_of(s)].push_back(&s);
  std::set<const Scanned*> drop, duplicate;
  drop.insert(by_window[1][by_window[1].size() / 2]);
  duplicate.insert(by_window[2].back());
  {
    const auto& w3 = by_window[3];
    size_t i = 0;
    while (i + 1 < w3.size() && w3[i]->partition != w3[i + 1]->partition) ++i;
    ASSERT_LT(i + 1, w3.size()) << "window 3 has no partition with two messages";
    drop.insert(w3[i]);
    duplicate.insert(w3[i + 1]);
  }
  drop.insert(by_window[4].front());
  drop.insert(by_window[4].back());
  ASSERT_NE(by_window[4].front()->partition, by_window[4].back()->partition);
  duplicate.insert(by_window[4][by_window[4].size() / 2]);

  auto aggregate = TestProducer::Create(Bootstrap("aggregate"));
  ASSERT_TRUE(aggregate.ok());
  auto copy = [&](const Scanned& s) {
    TestMessage m;
    m.topic = kTopic;
    m.partition = s.partition;
    m.key = s.key;
    m.value = s.value;
    m.timestamp_ms = base_ms;
    ASSERT_TRUE((*aggregate)->Produce(m, kWindowSec).ok());
  };
  // In the order the regional cluster holds them (partitions interleaved by
  // offset rank); the duplicates are sent again at the end, as a retry would.
  std::vector<const Scanned*> copy_order;
  for (const Scanned& s : in_regional) copy_order.push_back(&s);
  std::stable_sort(copy_order.begin(), copy_order.end(), [](const Scanned* a, const Scanned* b) { return a->offset < b->offset; });
  for (const Scanned* s : copy_order)
    if (!drop.count(s)) copy(*s);
  for (const Scanned* s : duplicate) copy(*s);
  ASSERT_TRUE((*aggregate)->Flush(30s).ok());
  const std::vector<Scanned> in_aggregate = ScanTopic(Bootstrap("aggregate"), kTopic, kPartitions);
  ASSERT_EQ(in_aggregate.size(), kMessages - drop.size() + duplicate.size());

  // The real audit of both tiers, merged by the real collector.
  WaitForStore(kTopic, "regional", (*regional)->expected());
  WaitForStore(kTopic, "aggregate", (*aggregate)->expected());
  ASSERT_FALSE(HasFatalFailure());
  // Window 3 lost a message that a duplicate masks: its counts are equal.
  {
    auto r = store_->QueryPartitions(kTopic, "regional", base_sec + 3 * kWindowSec);
    auto a = store_->QueryPartitions(kTopic, "aggregate", base_sec + 3 * kWindowSec);
    ASSERT_TRUE(r.ok() && a.ok());
    std::map<int32_t, int64_t> rc, ac;
    for (const auto& p : *r) rc[p.partition] += p.count;
    for (const auto& p : *a) ac[p.partition] += p.count;
    EXPECT_EQ(rc, ac);
  }

  // read: each range against the independent scan of the tier's cluster.
  struct Case {
    std::string name;
    std::string tier;  // "" = the default (aggregate)
    Filter f;
    std::vector<std::string> extra;
  };
  const std::vector<Case> cases = {
      {"a range inside window 1", "regional", {base_ms + 13'500, base_ms + 17'250}, {}},
      {"a range inside window 1", "aggregate", {base_ms + 13'500, base_ms + 17'250}, {}},
      {"a range across windows 0 to 4, cut at both ends", "regional", {base_ms + 4'321, base_ms + 45'678}, {}},
      {"a range across windows 0 to 4, cut at both ends", "", {base_ms + 4'321, base_ms + 45'678}, {}},
      {"window 3 exactly", "aggregate", {base_ms + 30'000, base_ms + 40'000}, {}},
      {"every window", "regional", {base_ms, base_ms + kWindows * window_ms}, {}},
      {"partition 2 across windows 1 to 5", "regional", {base_ms + 12'000, base_ms + 55'000, 2}, {}},
      {"partition 1 across windows 1 to 5", "aggregate", {base_ms + 12'000, base_ms + 55'000, 1}, {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + " of tier " + (c.tier.empty() ? "(default)" : c.tier));
    std::vector<std::string> args = {"read", "--topic", kTopic, "--from", std::to_string(c.f.from_ms), "--to",
                                     std::to_string(c.f.to_ms)};
    if (!c.tier.empty()) args.insert(args.end(), {"--tier", c.tier});
    if (c.f.partition) args.insert(args.end(), {"--partition", std::to_string(*c.f.partition)});
    const bool regional_tier = c.tier == "regional";
    const std::vector<Scanned>& scanned = regional_tier ? in_regional : in_aggregate;
    const std::set<Location> want = Locations(Select(scanned, c.f));
    ASSERT_FALSE(want.empty());
    auto r = Chaperone(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::set<Location> got = ReadLocations(r.out, scanned, regional_tier ? "regional" : "aggregate");
    EXPECT_EQ(got, want) << "printed: " << Show(got) << "\nscanned: " << Show(want);
    const auto [matched, spans] = SpansMatched(r.err);
    EXPECT_GT(spans, 0) << r.err;
    EXPECT_EQ(matched, spans) << r.err;
    EXPECT_NE(r.err.find(std::to_string(want.size()) + " messages of " + kTopic), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(std::string("from tier ") + (regional_tier ? "regional" : "aggregate")), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("differs"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("expired"), std::string::npos) << r.err;
  }

  const Filter windows_1_to_4{base_ms + 10'000, base_ms + 50'000};
  {
    SCOPED_TRACE("--key of a duplicated message");
    const Scanned& dup = **duplicate.begin();
    const int64_t from = base_ms + window_of(dup) * window_ms;
    Filter f{from, from + window_ms, std::nullopt, dup.key};
    for (const auto* tier : {"regional", "aggregate"}) {
      const std::vector<Scanned>& scanned = std::string(tier) == "regional" ? in_regional : in_aggregate;
      const std::set<Location> want = Locations(Select(scanned, f));
      EXPECT_EQ(want.size(), std::string(tier) == "regional" ? 1u : 2u) << tier;
      auto r = Chaperone({"read", "--topic", kTopic, "--from", std::to_string(f.from_ms), "--to",
                          std::to_string(f.to_ms), "--tier", tier, "--key", *dup.key});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(ReadLocations(r.out, scanned, tier), want) << tier;
      const auto [matched, spans] = SpansMatched(r.err);
      EXPECT_GT(spans, 0) << r.err;
      EXPECT_EQ(matched, spans) << "every span is still checked with --key: " << r.err;
    }
  }
  {
    SCOPED_TRACE("--limit");
    auto r = Chaperone({"read", "--topic", kTopic, "--from", std::to_string(windows_1_to_4.from_ms), "--to",
                        std::to_string(windows_1_to_4.to_ms), "--tier", "regional", "--limit", "5"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const std::set<Location> got = ReadLocations(r.out, in_regional, "regional");
    EXPECT_EQ(got.size(), 5u) << r.out;
    const std::set<Location> all = Locations(Select(in_regional, windows_1_to_4));
    EXPECT_TRUE(std::includes(all.begin(), all.end(), got.begin(), got.end())) << Show(got);
    EXPECT_NE(r.err.find("5 messages of"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("stopped at --limit"), std::string::npos) << r.err;
  }
  {
    SCOPED_TRACE("--format raw");
    auto r = Chaperone({"read", "--topic", kTopic, "--from", std::to_string(windows_1_to_4.from_ms), "--to",
                        std::to_string(windows_1_to_4.to_ms), "--tier", "aggregate", "--format", "raw"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::vector<std::string> got = test::SplitLines(r.out), want;
    for (const Scanned* s : Select(in_aggregate, windows_1_to_4)) want.push_back(s->value);
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
  }

  // diff: every window against what the copy dropped and duplicated.
  for (int w = 0; w < kWindows; ++w) {
    SCOPED_TRACE("diff of window " + std::to_string(w));
    std::set<std::string> want_missing, want_duplicated;  // "key value"
    for (const Scanned* s : drop)
      if (window_of(*s) == w) want_missing.insert(*s->key + " " + s->value);
    for (const Scanned* s : duplicate)
      if (window_of(*s) == w) want_duplicated.insert(*s->key + " " + s->value);
    // Any time inside the window names it.
    auto r = Chaperone({"diff", "--topic", kTopic, "--source", "regional", "--target", "aggregate", "--window",
                        std::to_string(base_ms + w * window_ms + 7'777)});
    const bool differs = !want_missing.empty() || !want_duplicated.empty();
    EXPECT_EQ(r.exit_code, differs ? 1 : 0) << r.out << r.err;
    std::set<std::string> missing, duplicated;
    for (const nlohmann::json& j : JsonLines(r.out)) {
      const std::string kind = j.value("kind", "");
      ASSERT_EQ(j.value("copies", 0), 1) << j.dump();
      ASSERT_FALSE(j["source"].empty()) << j.dump();
      const nlohmann::json& src = j["source"][0];
      const std::string kv = src.value("key", "") + " " + src.value("value", "");
      // The source copy is where the regional cluster holds that message.
      const Scanned* where = nullptr;
      for (const Scanned& s : in_regional)
        if (s.key == src.value("key", "") && s.value == src.value("value", "")) where = &s;
      ASSERT_NE(where, nullptr) << j.dump();
      EXPECT_EQ(src.value("cluster", ""), "regional") << j.dump();
      EXPECT_EQ(src.value("partition", -1), where->partition) << j.dump();
      EXPECT_EQ(src.value("offset", int64_t{-1}), where->offset) << j.dump();
      if (kind == "missing") {
        EXPECT_EQ(j.value("targetCopies", -1), 0) << j.dump();
        EXPECT_TRUE(j["target"].empty()) << j.dump();
        missing.insert(kv);
      } else if (kind == "duplicated") {
        EXPECT_EQ(j.value("sourceCopies", -1), 1) << j.dump();
        EXPECT_EQ(j.value("targetCopies", -1), 2) << j.dump();
        // Both copies in the aggregate cluster, where the scan found them.
        std::set<Location> want_target, target;
        for (const Scanned& s : in_aggregate)
          if (s.key == where->key && s.value == where->value) want_target.insert({s.partition, s.offset});
        for (const nlohmann::json& t : j["target"]) {
          EXPECT_EQ(t.value("cluster", ""), "aggregate") << j.dump();
          EXPECT_EQ(t.value("value", ""), where->value) << j.dump();
          target.insert({t.value("partition", -1), t.value("offset", int64_t{-1})});
        }
        EXPECT_EQ(target, want_target) << j.dump();
        duplicated.insert(kv);
      } else {
        ADD_FAILURE() << "unexpected item: " << j.dump();
      }
    }
    EXPECT_EQ(missing, want_missing);
    EXPECT_EQ(duplicated, want_duplicated);
    EXPECT_NE(r.err.find(std::to_string(want_missing.size()) + " missing from aggregate, " +
                         std::to_string(want_duplicated.size()) + " duplicated there, 0 only there"),
              std::string::npos)
        << r.err;
  }
}

// 2. Spans that retention deleted are reported as expired, with their counts.
// The mock keeps about 5 MiB of a partition and then deletes its oldest
// batches (it advances the log start). Window 0 of partition 0 is deleted
// whole, of partition 2 in part (its first batch and a large batch of window
// 1 go, its last window-0 batch stays), of partition 1 not at all.
TEST_F(ReadE2e, ReadReportsSpansDeletedByRetentionAsExpired) {
  constexpr const char* kTopic = "read.retained";
  constexpr int kEarly = 20;  // window-0 messages of partitions 0 and 1; partition 2 has two batches of half that
  StartRegionalAudit(kTopic, 3);
  ASSERT_FALSE(HasFatalFailure());
  const int64_t base_sec = WindowAnHourAgo();
  const int64_t base_ms = base_sec * 1000;

  auto producer = TestProducer::Create(Bootstrap("regional"));
  ASSERT_TRUE(producer.ok());
  const std::string pad(10'000, 'x');
  int id = 0;
  // `n` messages into `partition`, event time `ts_ms` on, each padded with
  // `pad_bytes`; one flush, so they form batches of their own.
  auto produce = [&](int32_t partition, int n, int64_t ts_ms, size_t pad_bytes) {
    for (int i = 0; i < n; ++i, ++id) {
      TestMessage m;
      m.topic = kTopic;
      m.partition = partition;
      m.key = "m-" + std::to_string(id);
      m.value = "{\"ts\":" + std::to_string(ts_ms + i) + ",\"id\":" + std::to_string(id) + ",\"pad\":\"" +
                pad.substr(0, pad_bytes) + "\"}";
      m.timestamp_ms = base_ms;
      ASSERT_TRUE((*producer)->Produce(m, kWindowSec).ok());
    }
    ASSERT_TRUE((*producer)->Flush(60s).ok());
  };
  produce(0, kEarly, base_ms + 100, 10);
  produce(1, kEarly, base_ms + 200, 10);
  produce(2, kEarly / 2, base_ms + 300, 10);           // offsets 0-9
  produce(2, 120, base_ms + 15'000, pad.size());        // window 1, 1.2 MB: offsets 10-129
  produce(2, kEarly / 2, base_ms + 400, 10);           // offsets 130-139
  ASSERT_FALSE(HasFatalFailure());
  const std::vector<Scanned> early = ScanTopic(Bootstrap("regional"), kTopic, 3);
  ASSERT_EQ(early.size(), static_cast<size_t>(3 * kEarly + 120));
  WaitForStore(kTopic, "regional", (*producer)->expected());
  ASSERT_FALSE(HasFatalFailure());

  // Before retention: window 0 reads complete.
  const std::string from = std::to_string(base_ms), to = std::to_string(base_ms + kWindowSec * 1000);
  const Filter window0{base_ms, base_ms + kWindowSec * 1000};
  {
    auto r = Chaperone({"read", "--topic", kTopic, "--from", from, "--to", to});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(ReadLocations(r.out, early, "regional"), Locations(Select(early, window0)));
    EXPECT_NE(r.err.find("3 of 3 spans match the audit"), std::string::npos) << r.err;
  }

  // 7 MB more into partition 0, and 4.3 MB into partition 2 (event times two
  // windows later): partition 0 keeps none of its first messages, partition 2
  // loses its first batch and (part of) the large one, not its last batch.
  produce(0, 700, base_ms + 25'000, pad.size());
  produce(2, 430, base_ms + 25'000, pad.size());
  ASSERT_FALSE(HasFatalFailure());
  int64_t low0 = -1, high0 = -1, low2 = -1, high2 = -1;
  {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", Bootstrap("regional").c_str(), err, sizeof err),
              RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
    std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err),
                                                          &rd_kafka_destroy);
    ASSERT_TRUE(rk) << err;
    ASSERT_TRUE(WaitFor(
        [&] {
          return rd_kafka_query_watermark_offsets(rk.get(), kTopic, 0, &low0, &high0, 5000) == 0 &&
                 rd_kafka_query_watermark_offsets(rk.get(), kTopic, 2, &low2, &high2, 5000) == 0 && low0 >= kEarly &&
                 low2 >= kEarly / 2;
        },
        30s))
        << "the mock did not delete the first messages: log starts " << low0 << " and " << low2;
  }
  std::printf("log start and end: partition 0 %lld-%lld, partition 2 %lld-%lld\n", static_cast<long long>(low0),
              static_cast<long long>(high0), static_cast<long long>(low2), static_cast<long long>(high2));
  // Partition 2 must still hold its last window-0 batch for this test to mean anything.
  ASSERT_LE(low2, 130);

  auto r = Chaperone({"read", "--topic", kTopic, "--from", from, "--to", to});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // What is left of window 0 is printed: all of partition 1, the last batch of partition 2.
  std::set<Location> want;
  for (const Scanned* s : Select(early, window0))
    if (s->partition == 1 || (s->partition == 2 && s->offset >= low2)) want.insert({s->partition, s->offset});
  EXPECT_EQ(want.size(), static_cast<size_t>(kEarly + kEarly / 2));
  EXPECT_EQ(ReadLocations(r.out, early, "regional"), want);
  const std::string window = Utc(base_sec);
  EXPECT_NE(r.err.find("read: expired: cluster regional, window " + window + ", partition 0, offsets 0-" +
                       std::to_string(kEarly - 1) + ": audited " + std::to_string(kEarly) + ", read 0 (" +
                       std::to_string(kEarly) + " offsets deleted by retention)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("read: partly-expired: cluster regional, window " + window + ", partition 2, offsets 0-139: audited " +
                       std::to_string(kEarly) + ", read " + std::to_string(kEarly / 2) + " (" + std::to_string(low2) +
                       " offsets deleted by retention)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(std::to_string(want.size()) + " messages of " + kTopic), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1 of 3 spans match the audit, 2 expired (" + std::to_string(kEarly + kEarly / 2) +
                       " messages deleted by retention)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("partition 1,"), std::string::npos) << r.err;
  // Stopped by --limit before reading everything, the read still knows that
  // window 0 lost messages to retention: its exit code says so.
  auto limited = Chaperone({"read", "--topic", kTopic, "--from", from, "--to", to, "--limit", "3"});
  EXPECT_EQ(limited.exit_code, 1) << limited.err;
  EXPECT_EQ(test::SplitLines(limited.out).size(), 3u) << limited.out;
  EXPECT_NE(limited.err.find("read: expired: cluster regional, window " + window + ", partition 0,"), std::string::npos)
      << limited.err;
  // Partition 2's span was not read to its end: what it lost is not known, only partition 0's.
  EXPECT_NE(limited.err.find("2 expired (at least " + std::to_string(kEarly) +
                             " messages deleted by retention) (stopped at --limit)"),
            std::string::npos)
      << limited.err;
  // Only partition 1: complete again.
  auto one = Chaperone({"read", "--topic", kTopic, "--from", from, "--to", to, "--partition", "1"});
  EXPECT_EQ(one.exit_code, 0) << one.err;
  EXPECT_EQ(ReadLocations(one.out, early, "regional").size(), static_cast<size_t>(kEarly));
  EXPECT_NE(one.err.find("1 of 1 spans match the audit"), std::string::npos) << one.err;
}

// 3. Bad input: exit 2, one line naming the problem, nothing on stdout.
TEST_F(ReadE2e, BadInputExitsTwoWithOneLineNamingTheProblem) {
  constexpr const char* kTopic = "read.small";
  StartRegionalAudit(kTopic, 1);
  ASSERT_FALSE(HasFatalFailure());
  const int64_t base_ms = WindowAnHourAgo() * 1000;
  auto producer = TestProducer::Create(Bootstrap("regional"));
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 5; ++i) {
    TestMessage m;
    m.topic = kTopic;
    m.key = "k-" + std::to_string(i);
    m.value = "{\"ts\":" + std::to_string(base_ms + 1000 * i) + "}";
    m.timestamp_ms = base_ms;
    ASSERT_TRUE((*producer)->Produce(m, kWindowSec).ok());
  }
  ASSERT_TRUE((*producer)->Flush(30s).ok());
  WaitForStore(kTopic, "regional", (*producer)->expected());
  ASSERT_FALSE(HasFatalFailure());
  const std::string from = std::to_string(base_ms), to = std::to_string(base_ms + kWindowSec * 1000);
  // A project file whose `clusters:` lacks the cluster the audit names.
  const std::string elsewhere = tmp_.Write(
      "elsewhere.yaml", "clusters:\n  elsewhere:\n    bootstrap.servers: \"" + Bootstrap("regional") +
                            "\"\nstore:\n  url: \"sqlite:" + db_ + "\"\n");

  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::vector<std::string> says;  // every one in the single stderr line
    std::string config;             // "" = the project file
  };
  const std::vector<Case> cases = {
      {"a bad --from", {"read", "--topic", kTopic, "--from", "yesterday", "--to", to}, {"chaperone read: --from", "\"yesterday\" is not a time"}},
      {"a bad --to", {"read", "--topic", kTopic, "--from", from, "--to", "2026-13-45T99:00:00Z"}, {"chaperone read: --to", "is not a time"}},
      {"--to before --from", {"read", "--topic", kTopic, "--from", to, "--to", from}, {"chaperone read:", "--to must be after --from"}},
      {"--to equal to --from", {"read", "--topic", kTopic, "--from", from, "--to", from}, {"chaperone read:", "--to must be after --from"}},
      {"a topic with no audited windows",
       {"read", "--topic", "read.nothing", "--from", from, "--to", to},
       {"chaperone read:", "no audited windows of topic 'read.nothing'"}},
      {"a range with no audited windows",
       {"read", "--topic", kTopic, "--from", std::to_string(base_ms - 7'200'000), "--to", std::to_string(base_ms - 3'600'000)},
       {"chaperone read:", "no audited windows of topic 'read.small'", "tiers with windows then: none"}},
      {"a tier the audit does not have",
       {"read", "--topic", kTopic, "--from", from, "--to", to, "--tier", "aggregate"},
       {"chaperone read:", "in tier 'aggregate'", "tiers with windows then: regional"}},
      {"a cluster the audit names that is not configured",
       {"read", "--topic", kTopic, "--from", from, "--to", to},
       {"chaperone read:", "cluster 'regional' (named by the audit) is not configured", "--cluster-bootstrap regional=HOST:PORT"},
       elsewhere},
      {"a configured cluster that is down",
       {"read", "--topic", kTopic, "--from", from, "--to", to, "--cluster-bootstrap", "regional=127.0.0.1:1",
        "--stall-timeout-ms", "2000"},
       {"chaperone read:", "cluster 'regional'", "read.small [0]: watermarks"},
       elsewhere},
      {"diff: a bad --window",
       {"diff", "--topic", kTopic, "--source", "regional", "--target", "aggregate", "--window", "soon"},
       {"chaperone diff: --window", "\"soon\" is not a time"}},
      {"diff: a window the audit does not have",
       {"diff", "--topic", kTopic, "--source", "regional", "--target", "aggregate", "--window",
        std::to_string(base_ms - 3'600'000)},
       {"chaperone diff:", "tier 'regional' has no window of topic 'read.small'"}},
      {"diff: the same tier twice",
       {"diff", "--topic", kTopic, "--source", "regional", "--target", "regional", "--window", from},
       {"chaperone diff:", "the source and target tiers are the same"}},
      {"diff: a target tier the audit does not have",
       {"diff", "--topic", kTopic, "--source", "regional", "--target", "aggregate", "--window", from},
       {"chaperone diff:", "target tier 'aggregate'", "no audited windows of topic 'read.small'"}},
      {"diff: a cluster the audit names that is not configured",
       {"diff", "--topic", kTopic, "--source", "regional", "--target", "aggregate", "--window", from},
       {"chaperone diff:", "cluster 'regional' (named by the audit) is not configured"},
       elsewhere},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = Chaperone(c.args, c.config);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.out, "");
    const std::vector<std::string> lines = test::SplitLines(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    for (const std::string& s : c.says) EXPECT_NE(lines[0].find(s), std::string::npos) << "want '" << s << "' in: " << lines[0];
  }
  // The same file with the cluster given by flag reads the window.
  auto r = Chaperone({"read", "--topic", kTopic, "--from", from, "--to", to, "--cluster-bootstrap",
                      "regional=" + Bootstrap("regional")},
                     elsewhere);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::SplitLines(r.out).size(), 5u) << r.out;
}

}  // namespace
}  // namespace chaperone
