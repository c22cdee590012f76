// The replicator's hooks on the shared consume loop, on the in-memory
// FakeConsumer and an in-memory destination (a DestinationProducer and a
// DestinationReader over the same partitions), with the failure points that
// matter for exactly once: a failed delivery rewinds and nothing is written
// twice; a restart resumes from what the destination holds; loop prevention.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "chaperone/reporter.h"
#include "replicate/replicator.h"
#include "support/fake_consumer.h"

namespace chaperone::replicate {
namespace {

using namespace std::chrono_literals;
using test::FakeConsumer;

struct StoredRecord {
  std::optional<std::string> key, value;
  std::vector<Header> headers;
  int64_t timestamp_ms = -1;
};

// The destination cluster in memory: produced records land at Flush, in send
// order; a fault switch fails the n-th record produced (and, as an idempotent
// producer would, every later record of the same flush to that partition).
class FakeDestination final : public DestinationProducer, public DestinationReader {
 public:
  std::map<DestinationPartition, std::vector<StoredRecord>> parts;
  int fail_at = -1;  // index (over all records produced) to fail once
  int produced = 0;

  Status Produce(const OutRecord& r, uint64_t id) override {
    Pending p;
    p.id = id;
    p.where = {std::string(r.topic), r.partition};
    if (r.key) p.rec.key = std::string(*r.key);
    if (r.value) p.rec.value = std::string(*r.value);
    p.rec.headers.assign(r.headers.begin(), r.headers.end());
    p.rec.timestamp_ms = r.timestamp_ms;
    p.fail = produced++ == fail_at;
    pending_.push_back(std::move(p));
    return Status::Ok();
  }
  Status Flush(std::chrono::milliseconds, std::vector<Delivery>& out) override {
    std::set<DestinationPartition> failed;
    for (auto& p : pending_) {
      Delivery d;
      d.id = p.id;
      d.partition = p.where.partition;
      if (p.fail || failed.count(p.where)) {
        failed.insert(p.where);
        d.status = Status::Unavailable("injected delivery failure");
      } else {
        auto& v = parts[p.where];
        d.offset = Offset(static_cast<int64_t>(v.size()));
        v.push_back(std::move(p.rec));
      }
      out.push_back(std::move(d));
    }
    pending_.clear();
    return Status::Ok();
  }
  int64_t in_flight() const override { return static_cast<int64_t>(pending_.size()); }
  Status Reset() override {
    std::vector<Delivery> ignored;
    return Flush(0ms, ignored);
  }

  Result<OffsetRange> Watermarks(const DestinationPartition& p) override {
    if (p.topic != "orders" && p.topic != "agg.orders") return Status::NotFound("no topic " + p.topic);
    return OffsetRange{Offset(0), Offset(static_cast<int64_t>(parts[p].size()))};
  }
  Status Read(const DestinationPartition& p, Offset from, Offset to, const RecordVisitor& visit) override {
    auto& v = parts[p];
    for (int64_t o = from.value(); o < to.value() && o < static_cast<int64_t>(v.size()); ++o) {
      std::vector<HeaderView> hv;
      for (const auto& h : v[static_cast<size_t>(o)].headers)
        hv.push_back({h.name, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt});
      DestinationRecordView r{Offset(o), v[static_cast<size_t>(o)].key, v[static_cast<size_t>(o)].value, hv};
      visit(r);
    }
    return Status::Ok();
  }

  // Source offsets of `origin_partition` found in a destination partition, in order.
  std::vector<int64_t> SourceOffsets(const DestinationPartition& d) {
    std::vector<int64_t> out;
    for (const auto& r : parts[d]) {
      std::vector<HeaderView> hv;
      for (const auto& h : r.headers) hv.push_back({h.name, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt});
      auto p = DecodeProvenance(hv);
      out.push_back(p.ok() ? p->offset.value() : -1);
    }
    return out;
  }

 private:
  struct Pending {
    uint64_t id;
    DestinationPartition where;
    StoredRecord rec;
    bool fail = false;
  };
  std::vector<Pending> pending_;
};

class NullReporter final : public Reporter {
 public:
  Status Send(const std::vector<AuditRecord>& records, std::chrono::milliseconds) override {
    std::lock_guard lock(mu);
    for (const auto& r : records) (r.kind == RecordKind::kCount ? sent : heartbeats).push_back(r);
    return Status::Ok();
  }
  ReporterStats stats() const override { return {}; }
  int64_t Count(const std::string& topic) {
    std::lock_guard lock(mu);
    int64_t n = 0;
    for (const auto& r : sent)
      if (r.topic == topic) n += r.count;
    return n;
  }
  std::mutex mu;
  std::vector<AuditRecord> sent, heartbeats;
};

ReplicateOptions Options(std::shared_ptr<Reporter> reporter) {
  ReplicateOptions o;
  o.source_cluster = "dc1";
  o.destination_cluster = "agg";
  o.listen = "";
  o.flush_interval = 10ms;
  o.checkpoint_interval = 0ms;
  o.reporter = std::move(reporter);
  return o;
}

// Runs a replicator until `done` holds (or 10 s), then stops it.
void RunUntil(Replicator& r, const std::function<bool()>& done) {
  std::atomic<bool> stop{false};
  std::thread t([&] { EXPECT_TRUE(r.Run(stop).ok()); });
  for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(10ms);
  stop = true;
  t.join();
}

const kafka::TopicPartition kP0{"orders", 0};
const DestinationPartition kD0{"orders", PartitionId(0)};

std::vector<int64_t> Range(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

TEST(ReplicatorTest, CopiesKeyValueHeadersAndTimestampWithProvenance) {
  FakeConsumer consumer;
  FakeDestination dest;
  auto reporter = std::make_shared<NullReporter>();
  for (int i = 0; i < 5; ++i)
    consumer.AppendRecord(kP0, {"k" + std::to_string(i), "v" + std::to_string(i), 1000 + i, {{"h", "x"}, {"n", std::nullopt}}});
  consumer.Assign({kP0});
  auto r = Replicator::Create(Options(reporter), {&consumer, &dest, &dest, std::map<std::string, int32_t>{{"orders", 1}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  RunUntil(**r, [&] { return (*r)->messages_committed() >= 5; });
  ASSERT_EQ(dest.parts[kD0].size(), 5u);
  const StoredRecord& s = dest.parts[kD0][3];
  EXPECT_EQ(s.key, "k3");
  EXPECT_EQ(s.value, "v3");
  EXPECT_EQ(s.timestamp_ms, 1003);
  ASSERT_GE(s.headers.size(), 2u);
  EXPECT_EQ(s.headers[0].name, "h");
  EXPECT_EQ(s.headers[0].value, "x");
  EXPECT_EQ(s.headers[1].name, "n");
  EXPECT_FALSE(s.headers[1].value.has_value());
  EXPECT_EQ(dest.SourceOffsets(kD0), Range(5));
  EXPECT_EQ(consumer.committed(kP0), 5);
  EXPECT_EQ(reporter->Count("orders"), 5);
  // Tier `replicator`, keyed by the source cluster (a chunk is a range of one
  // origin partition: two regions into one aggregate topic never collide).
  ASSERT_FALSE(reporter->sent.empty());
  for (const AuditRecord& a : reporter->sent) {
    EXPECT_EQ(a.tier, "replicator");
    EXPECT_EQ(a.cluster, "dc1");
    EXPECT_EQ(a.datacenter, "dc1");
    ASSERT_EQ(a.partitions.size(), 1u);
    EXPECT_EQ(a.partitions[0].chunk_start, 0);
  }
}

TEST(ReplicatorTest, DeliveryFailureRewindsWithoutDuplicates) {
  FakeConsumer consumer;
  FakeDestination dest;
  dest.fail_at = 3;  // records 0..2 land, 3 fails (and 4.. of the same flush)
  auto reporter = std::make_shared<NullReporter>();
  for (int i = 0; i < 8; ++i) consumer.Append(kP0, "v" + std::to_string(i));
  consumer.Assign({kP0});
  auto r = Replicator::Create(Options(reporter), {&consumer, &dest, &dest, std::map<std::string, int32_t>{{"orders", 1}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  RunUntil(**r, [&] { return (*r)->messages_committed() >= 8; });
  // Every source record exactly once, in order: the rewind re-read 0..7 and
  // skipped the three the destination already held.
  EXPECT_EQ(dest.SourceOffsets(kD0), Range(8));
  EXPECT_EQ((*r)->records_already_written(), 3);
  EXPECT_EQ(consumer.committed(kP0), 8);
  EXPECT_EQ(reporter->Count("orders"), 8);  // the audit counts each delivered record once
}

TEST(ReplicatorTest, RestartResumesFromTheDestinationNotTheCommittedOffset) {
  FakeConsumer consumer;
  FakeDestination dest;
  auto reporter = std::make_shared<NullReporter>();
  for (int i = 0; i < 10; ++i) consumer.Append(kP0, "v" + std::to_string(i));
  // An earlier run wrote 0..5 and died before committing anything.
  {
    FakeConsumer first;
    for (int i = 0; i < 6; ++i) first.Append(kP0, "v" + std::to_string(i));
    first.Assign({kP0});
    auto r = Replicator::Create(Options(reporter), {&first, &dest, &dest, std::map<std::string, int32_t>{{"orders", 1}}});
    ASSERT_TRUE(r.ok());
    RunUntil(**r, [&] { return (*r)->messages_committed() >= 6; });
  }
  ASSERT_EQ(dest.SourceOffsets(kD0), Range(6));
  consumer.Assign({kP0});  // nothing committed in this group: reads from 0
  auto r = Replicator::Create(Options(reporter), {&consumer, &dest, &dest, std::map<std::string, int32_t>{{"orders", 1}}});
  ASSERT_TRUE(r.ok());
  RunUntil(**r, [&] { return (*r)->messages_committed() >= 10; });
  EXPECT_EQ(dest.SourceOffsets(kD0), Range(10));
  EXPECT_EQ((*r)->records_already_written(), 6);
  EXPECT_EQ((*r)->records_copied(), 4);
}

TEST(ReplicatorTest, RecordsFromTheDestinationClusterAreNotCopiedBack) {
  FakeConsumer consumer;
  FakeDestination dest;
  auto reporter = std::make_shared<NullReporter>();
  auto from_agg = *EncodeProvenance({{"agg", "orders", PartitionId(0)}, Offset(7)});
  auto from_dc9 = *EncodeProvenance({{"dc9", "orders", PartitionId(0)}, Offset(7)});
  FakeConsumer::Record a{"", "came-from-agg", -1, {}};
  for (const auto& h : from_agg) a.headers.push_back({h.name, h.value});
  FakeConsumer::Record b{"", "came-from-dc9", -1, {}};
  for (const auto& h : from_dc9) b.headers.push_back({h.name, h.value});
  consumer.AppendRecord(kP0, a);
  consumer.AppendRecord(kP0, b);
  consumer.Append(kP0, "local");
  consumer.Assign({kP0});
  auto r = Replicator::Create(Options(reporter), {&consumer, &dest, &dest, std::map<std::string, int32_t>{{"orders", 1}}});
  ASSERT_TRUE(r.ok());
  RunUntil(**r, [&] { return (*r)->messages_committed() >= 3; });
  ASSERT_EQ(dest.parts[kD0].size(), 2u);
  EXPECT_EQ(dest.parts[kD0][0].value, "came-from-dc9");
  EXPECT_EQ(dest.SourceOffsets(kD0), (std::vector<int64_t>{1, 2}));  // the last hop's provenance
  EXPECT_EQ((*r)->records_loop_skipped(), 1);
}

TEST(ReplicatorTest, RetentionGapIsCountedLoggedAndExposed) {
  FakeConsumer consumer;
  FakeDestination dest;
  auto reporter = std::make_shared<NullReporter>();
  for (int i = 0; i < 10; ++i) consumer.Append(kP0, "v" + std::to_string(i));
  consumer.SetCommitted(kP0, 2);
  consumer.SetLogStart(kP0, 5);  // retention deleted 2..4 before they were replicated
  consumer.Assign({kP0});
  auto r = Replicator::Create(Options(reporter), {&consumer, &dest, &dest, std::map<std::string, int32_t>{{"orders", 1}}});
  ASSERT_TRUE(r.ok());
  // Until a heartbeat went out (its watermark needs the partition caught up:
  // about a second).
  RunUntil(**r, [&] {
    std::lock_guard lock(reporter->mu);
    return (*r)->messages_committed() >= 5 && !reporter->heartbeats.empty();
  });
  EXPECT_EQ(dest.SourceOffsets(kD0), (std::vector<int64_t>{5, 6, 7, 8, 9}));
  std::string metrics = (*r)->PrometheusMetrics();
  EXPECT_NE(metrics.find("chaperone_replicate_offsets_lost_total 3\n"), std::string::npos) << metrics;
  // And in the audit: the heartbeats after the gap carry it (skippedOffsets).
  int64_t skipped = -1;
  std::lock_guard lock(reporter->mu);
  for (const AuditRecord& a : reporter->heartbeats) skipped = a.skipped_offsets;
  EXPECT_EQ(skipped, 3);
}

TEST(ReplicatorTest, RenameAndKeyHash) {
  FakeConsumer consumer;
  FakeDestination dest;
  auto reporter = std::make_shared<NullReporter>();
  for (int i = 0; i < 20; ++i) consumer.Append(kP0, "v", "key-" + std::to_string(i));
  consumer.Assign({kP0});
  ReplicateOptions o = Options(reporter);
  o.rename = {{"orders", "agg.orders"}};
  o.partitioning = PartitionStrategy::kKeyHash;
  auto r = Replicator::Create(o, {&consumer, &dest, &dest, std::map<std::string, int32_t>{{"orders", 3}}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  RunUntil(**r, [&] { return (*r)->messages_committed() >= 20; });
  size_t total = 0;
  for (int p = 0; p < 3; ++p) {
    for (const auto& rec : dest.parts[{"agg.orders", PartitionId(p)}]) {
      EXPECT_EQ(KafkaKeyPartition(*rec.key, 3), PartitionId(p));
      ++total;
    }
  }
  EXPECT_EQ(total, 20u);
  EXPECT_EQ(reporter->Count("agg.orders"), 20);
}

}  // namespace
}  // namespace chaperone::replicate
