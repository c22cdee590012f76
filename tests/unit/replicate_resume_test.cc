// Resume points, offset translation and checkpoints over a fake destination.
#include <gtest/gtest.h>

#include <map>

#include "replicate/checkpoint.h"
#include "replicate/resume.h"

namespace chaperone::replicate {
namespace {

// An in-memory destination cluster: partitions of records with headers.
class FakeDestination final : public DestinationReader {
 public:
  struct Rec {
    int64_t offset;
    std::optional<std::string> key;
    std::optional<std::string> value;
    std::vector<Header> headers;
  };
  struct Part {
    int64_t low = 0;
    int64_t next = 0;
    std::vector<Rec> recs;
  };

  // Appends a replicated record from `origin` at `source_offset`.
  int64_t Replicated(const DestinationPartition& d, const OriginPartition& origin, int64_t source_offset) {
    return Append(d, *EncodeProvenance({origin, Offset(source_offset)}));
  }
  int64_t Append(const DestinationPartition& d, std::vector<Header> headers, std::optional<std::string> key = "k",
                 std::optional<std::string> value = "v") {
    Part& p = parts_[d];
    p.recs.push_back({p.next, std::move(key), std::move(value), std::move(headers)});
    return p.next++;
  }
  void Truncate(const DestinationPartition& d, int64_t new_low) {
    Part& p = parts_[d];
    std::erase_if(p.recs, [&](const Rec& r) { return r.offset < new_low; });
    p.low = new_low;
  }
  void Skip(const DestinationPartition& d, int64_t n) { parts_[d].next += n; }  // a hole (e.g. a txn marker)

  Result<OffsetRange> Watermarks(const DestinationPartition& d) override {
    if (fail_next_) {
      fail_next_ = false;
      return Status::Unavailable("injected");
    }
    auto it = parts_.find(d);
    if (it == parts_.end()) return Status::NotFound("no such partition " + ToString(d));
    return OffsetRange{Offset(it->second.low), Offset(it->second.next)};
  }
  Status Read(const DestinationPartition& d, Offset from, Offset to, const RecordVisitor& visit) override {
    reads_.push_back({ToString(d), from.value()});
    const Part& p = parts_.at(d);
    for (const Rec& r : p.recs) {
      if (r.offset < from.value() || r.offset >= to.value()) continue;
      std::vector<HeaderView> hv;
      for (const auto& h : r.headers)
        hv.push_back({h.name, h.value ? std::optional<std::string_view>(*h.value) : std::nullopt});
      DestinationRecordView v{Offset(r.offset), std::nullopt, std::nullopt, hv};
      if (r.key) v.key = *r.key;
      if (r.value) v.value = *r.value;
      visit(v);
    }
    return Status::Ok();
  }

  bool fail_next_ = false;                           // the next Watermarks call fails
  std::vector<std::pair<std::string, int64_t>> reads_;  // (partition, from) of every Read

 private:
  std::map<DestinationPartition, Part> parts_;
};

const OriginPartition kDc1{"dc1", "orders", PartitionId(0)};
const OriginPartition kDc2{"dc2", "orders", PartitionId(0)};
const DestinationPartition kAgg0{"orders", PartitionId(0)};

ResumeQuery Query(const OriginPartition& o, std::vector<int32_t> parts = {0}) {
  ResumeQuery q{o, "orders", {}};
  for (int32_t p : parts) q.destination_partitions.emplace_back(p);
  return q;
}

TEST(FindResumePoints, InterleavedOriginsInOneDestinationPartitionResumeSeparately) {
  FakeDestination d;
  for (int i = 0; i < 10; ++i) {
    d.Replicated(kAgg0, kDc1, i);
    if (i < 5) d.Replicated(kAgg0, kDc2, 100 + i);
  }
  std::vector<ResumeQuery> qs = {Query(kDc1), Query(kDc2)};
  auto r = FindResumePoints(d, qs, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->points.size(), 2u);
  EXPECT_EQ(r->points[0].next_source_offset, Offset(10));
  EXPECT_EQ(r->points[1].next_source_offset, Offset(105));
  EXPECT_EQ(r->points[0].destinations[0].scan_end, Offset(15));
  EXPECT_EQ(r->stats.records, 15);
  EXPECT_EQ(d.reads_.size(), 1u);  // one read of the partition for both origins
  EXPECT_FALSE(r->points[0].history_truncated);
}

TEST(FindResumePoints, AKilledProducersPrefixResumesRightAfterIt) {
  FakeDestination d;
  // Sent 0..9 with holes in the source (compaction, loop-skipped records); 0..6 arrived.
  for (int i : {0, 1, 2, 4, 5, 6}) d.Replicated(kAgg0, kDc1, i);
  auto r = FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1)}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->points[0].next_source_offset, Offset(7));
  EXPECT_EQ(r->points[0].destinations[0].written_through, Offset(6));
}

TEST(FindResumePoints, AnOriginNeverWrittenStartsAtZero) {
  FakeDestination d;
  d.Replicated(kAgg0, kDc2, 3);
  OriginPartition other{"dc1", "orders", PartitionId(1)};  // same cluster and topic, other partition
  auto r = FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1), Query(other)}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->points[0].next_source_offset, Offset(0));
  EXPECT_EQ(r->points[0].destinations[0].written_through, Offset(-1));
  EXPECT_EQ(r->points[1].next_source_offset, Offset(0));
  EXPECT_TRUE(CheckpointsFrom(r->points[0]).empty());
}

TEST(FindResumePoints, ACheckpointBoundsTheScanAndRecordsAfterItCount) {
  FakeDestination d;
  for (int i = 0; i < 100; ++i) d.Replicated(kAgg0, kDc1, i);
  CheckpointMap cps;
  cps[{kDc1, kAgg0}] = Checkpoint{{kDc1, kAgg0}, Offset(100), Offset(100)};
  d.Truncate(kAgg0, 90);  // retention deleted what the checkpoint covers
  for (int i = 100; i < 105; ++i) d.Replicated(kAgg0, kDc1, i);
  auto r = FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1)}, cps);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->points[0].next_source_offset, Offset(105));
  EXPECT_FALSE(r->points[0].history_truncated);  // the checkpoint covers what was deleted
  ASSERT_EQ(d.reads_.size(), 1u);
  EXPECT_EQ(d.reads_[0].second, 100);  // from the checkpoint, not from the log start
  EXPECT_EQ(r->stats.records, 5);
  // What this scan proved is the next checkpoint.
  auto next = CheckpointsFrom(r->points[0]);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0], (Checkpoint{{kDc1, kAgg0}, Offset(105), Offset(105)}));
}

TEST(FindResumePoints, ACheckpointWithNothingAfterItIsTheAnswer) {
  FakeDestination d;
  d.Skip(kAgg0, 50);
  CheckpointMap cps;
  cps[{kDc1, kAgg0}] = Checkpoint{{kDc1, kAgg0}, Offset(40), Offset(50)};
  auto r = FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1)}, cps);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->points[0].next_source_offset, Offset(40));
}

TEST(FindResumePoints, ACheckpointPastTheEndIsIgnoredTheTopicWasRecreated) {
  FakeDestination d;
  d.Replicated(kAgg0, kDc1, 0);
  d.Replicated(kAgg0, kDc1, 1);
  CheckpointMap cps;
  cps[{kDc1, kAgg0}] = Checkpoint{{kDc1, kAgg0}, Offset(500), Offset(900)};
  auto r = FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1)}, cps);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->points[0].next_source_offset, Offset(2));
}

TEST(FindResumePoints, RetentionWithoutACheckpointIsReportedAsTruncatedHistory) {
  FakeDestination d;
  for (int i = 0; i < 10; ++i) d.Replicated(kAgg0, kDc1, i);
  d.Truncate(kAgg0, 10);
  auto r = FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1)}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->points[0].history_truncated);
  EXPECT_EQ(r->points[0].next_source_offset, Offset(0));
}

TEST(FindResumePoints, ForeignAndMalformedRecordsAreCountedAndIgnored) {
  FakeDestination d;
  d.Replicated(kAgg0, kDc1, 0);
  d.Append(kAgg0, {{"trace", std::string("x")}});  // foreign
  d.Append(kAgg0, {}, std::nullopt, std::nullopt);  // foreign tombstone
  auto bad = *EncodeProvenance({kDc1, Offset(999)});
  bad[4].value = "xx";  // a broken offset must not move the resume point
  d.Append(kAgg0, bad);
  auto v2 = *EncodeProvenance({kDc1, Offset(998)});
  (*v2[0].value)[0] = 2;  // an unknown version neither
  d.Append(kAgg0, v2);
  d.Replicated(kAgg0, kDc1, 1);
  auto r = FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1)}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->points[0].next_source_offset, Offset(2));
  EXPECT_EQ(r->stats.foreign, 2);
  EXPECT_EQ(r->stats.malformed, 2);
}

TEST(FindResumePoints, KeyHashResumesAtTheShortestPrefixAndSkipsWhatIsThere) {
  FakeDestination d;
  // Source offsets 0..11 of dc1/orders/0 spread over 3 destination partitions
  // (i % 3); the killed producer's prefixes: p0 through 9, p1 through 4, p2 through 8.
  DestinationPartition p[3] = {{"orders", PartitionId(0)}, {"orders", PartitionId(1)}, {"orders", PartitionId(2)}};
  for (int i = 0; i < 12; ++i) {
    int dp = i % 3;
    if ((dp == 0 && i <= 9) || (dp == 1 && i <= 4) || (dp == 2 && i <= 8)) d.Replicated(p[dp], kDc1, i);
  }
  auto r = FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1, {0, 1, 2})}, {});
  ASSERT_TRUE(r.ok());
  const ResumePoint& rp = r->points[0];
  EXPECT_EQ(rp.next_source_offset, Offset(5));
  int copied_again = 0;
  for (int i = 5; i < 12; ++i)
    if (!rp.AlreadyWritten(PartitionId(i % 3), Offset(i))) ++copied_again;
  EXPECT_EQ(copied_again, 3);  // 7, 10, 11: exactly the records that are missing
}

TEST(FindResumePoints, ReaderErrorsAreReturned) {
  FakeDestination d;
  d.Replicated(kAgg0, kDc1, 0);
  d.fail_next_ = true;
  EXPECT_EQ(FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1)}, {}).status().code(),
            Status::Code::kUnavailable);
  EXPECT_EQ(FindResumePoints(d, std::vector<ResumeQuery>{Query(kDc1, {7})}, {}).status().code(),
            Status::Code::kNotFound);
}

TEST(TranslateOffsets, FindsTheFirstRecordAtOrPastTheCommittedPosition) {
  FakeDestination d;
  // dest offsets: dc1 0..4 at 0,2,4,6,8; dc2 at 1,3,5,7; dc1 source 5 was loop-skipped, 6 at 9.
  for (int i = 0; i < 5; ++i) {
    d.Replicated(kAgg0, kDc1, i);
    if (i < 4) d.Replicated(kAgg0, kDc2, i);
  }
  d.Replicated(kAgg0, kDc1, 6);
  std::vector<TranslateQuery> qs = {
      {kDc1, Offset(3), "orders", {PartitionId(0)}},
      {kDc1, Offset(5), "orders", {PartitionId(0)}},   // not in the destination: the next one is
      {kDc1, Offset(7), "orders", {PartitionId(0)}},   // not copied yet: the end
      {kDc2, Offset(0), "orders", {PartitionId(0)}},
  };
  auto r = TranslateOffsets(d, qs, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->translations.size(), 4u);
  EXPECT_EQ(r->translations[0].destination_offset, Offset(6));
  EXPECT_TRUE(r->translations[0].found);
  EXPECT_EQ(r->translations[1].destination_offset, Offset(9));
  EXPECT_EQ(r->translations[2].destination_offset, Offset(10));
  EXPECT_FALSE(r->translations[2].found);
  EXPECT_EQ(r->translations[3].destination_offset, Offset(1));
  auto commit = CommitPositions(r->translations);
  EXPECT_EQ(commit.at(kAgg0), Offset(1));
}

TEST(TranslateOffsets, UsesACheckpointOnlyWhenItIsAtOrBelowTheCommittedPosition) {
  FakeDestination d;
  for (int i = 0; i < 20; ++i) d.Replicated(kAgg0, kDc1, i);
  CheckpointMap cps;
  cps[{kDc1, kAgg0}] = Checkpoint{{kDc1, kAgg0}, Offset(10), Offset(10)};
  auto r = TranslateOffsets(d, std::vector<TranslateQuery>{{kDc1, Offset(15), "orders", {PartitionId(0)}}}, cps);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->translations[0].destination_offset, Offset(15));
  EXPECT_EQ(d.reads_.back().second, 10);
  r = TranslateOffsets(d, std::vector<TranslateQuery>{{kDc1, Offset(4), "orders", {PartitionId(0)}}}, cps);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->translations[0].destination_offset, Offset(4));
  EXPECT_EQ(d.reads_.back().second, 0);
}

TEST(Checkpoint, RoundTripsAndRejectsGarbage) {
  Checkpoint c{{kDc1, {"agg.orders", PartitionId(3)}}, Offset(1234), Offset(99)};
  auto k = EncodeCheckpointKey(c.key);
  auto v = EncodeCheckpointValue(c);
  ASSERT_TRUE(k.ok() && v.ok());
  auto back = DecodeCheckpoint(*k, *v);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, c);
  for (size_t n = 0; n < k->size(); ++n)
    EXPECT_EQ(DecodeCheckpoint(k->substr(0, n), *v).status().code(), Status::Code::kCorruption);
  for (size_t n = 0; n < v->size(); ++n)
    EXPECT_EQ(DecodeCheckpoint(*k, v->substr(0, n)).status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(DecodeCheckpoint(*k + "x", *v).ok());
  std::string v2 = *v;
  v2[0] = 9;
  EXPECT_FALSE(DecodeCheckpoint(*k, v2).ok());
  c.source_next = Offset(-1);
  EXPECT_FALSE(EncodeCheckpointValue(c).ok());
  EXPECT_GE(CheckpointPartition(*k, 4).value(), 0);
}

TEST(Checkpoint, LoadKeepsTheLatestPerKeyAndHonoursTombstones) {
  FakeDestination d;
  const std::string topic(kCheckpointTopic);
  auto put = [&](const Checkpoint& c, bool tombstone = false) {
    d.Append({topic, PartitionId(0)}, {}, *EncodeCheckpointKey(c.key),
             tombstone ? std::nullopt : std::optional<std::string>(*EncodeCheckpointValue(c)));
  };
  Checkpoint a{{kDc1, kAgg0}, Offset(10), Offset(12)};
  Checkpoint b{{kDc2, kAgg0}, Offset(5), Offset(13)};
  put(a);
  put(b);
  a.source_next = Offset(20);
  put(a);
  put(b, /*tombstone=*/true);
  d.Append({topic, PartitionId(0)}, {}, std::string("garbage"), std::string("x"));
  d.Append({topic, PartitionId(0)}, {}, std::nullopt, std::string("x"));
  auto load = LoadCheckpoints(d, topic, 1);
  ASSERT_TRUE(load.ok()) << load.status().ToString();
  EXPECT_EQ(load->records, 6);
  EXPECT_EQ(load->malformed, 2);
  ASSERT_EQ(load->checkpoints.size(), 1u);
  EXPECT_EQ(load->checkpoints.begin()->second, a);

  auto none = LoadCheckpoints(d, "no-such-topic", 1);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->checkpoints.empty());
}

}  // namespace
}  // namespace chaperone::replicate
