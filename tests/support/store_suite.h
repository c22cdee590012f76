// The Store test suite, run against every backend: tests/unit/store_sqlite_test.cc
// (SQLite) and tests/component/store_postgres_test.cc (a real PostgreSQL).
// Include once per test binary and instantiate StoreSuite with a backend name.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <thread>

#include "chaperone/audit_record.h"
#include "common/secrets.h"
#include "common/store_url.h"
#include "store/schema.h"
#include "store/dialect.h"
#include "store/engine.h"
#include "store/schema.h"
#include "store/store.h"
#include "support/mariadb_server.h"
#include "support/pg_server.h"

#include "chaperone/latency_sketch.h"

namespace chaperone::store {

inline void PrintTo(const TopicDay& d, std::ostream* os) {
  *os << d.topic << "/" << d.tier << "@" << d.day_sec << " windows=" << d.windows << " [" << d.first_window_sec
      << ", " << d.last_window_sec << "] count=" << d.count << " records=" << d.records
      << " updated=" << d.last_updated_ms;
}

namespace {

constexpr int64_t kW = 1795303800;  // a window start
constexpr int64_t kNow = 1795304410123;

AuditRecord Count(const std::string& uuid, int64_t count, int64_t begin = kW, const std::string& topic = "orders",
                  const std::string& tier = "regional") {
  AuditRecord r;
  r.version = 1;
  r.kind = RecordKind::kCount;
  r.topic = topic;
  r.tier = tier;
  r.datacenter = "dc1";
  r.cluster = "regional";
  r.hostname = "host-1";
  r.uuid = uuid;
  r.window_begin_sec = begin;
  r.window_end_sec = begin + 600;
  r.count = count;
  r.total_bytes = count * 10;
  r.no_time_count = 0;
  r.malformed_count = 0;
  r.digest = static_cast<uint64_t>(count) * 1000003u;
  return r;
}

// A heartbeat of emitter app-1-7 (tier producer, windows of 600 s).
AuditRecord Heartbeat(const std::string& uuid, int64_t seq, int64_t watermark_ms, int64_t dropped_records = 0) {
  AuditRecord r;
  r.version = 1;
  r.kind = RecordKind::kHeartbeat;
  r.tier = "producer";
  r.datacenter = "dc1";
  r.cluster = "regional";
  r.hostname = "app-1";
  r.uuid = uuid;
  r.emitter_id = "app-1-7";
  r.seq = seq;
  r.watermark_ms = watermark_ms;
  r.window_sec = 600;
  r.dropped_records = dropped_records;
  return r;
}

// A count record (one message in window `begin`) of the same emitter.
AuditRecord Counted(const std::string& uuid, int64_t seq, int64_t begin) {
  AuditRecord r = Count(uuid, 1, begin, "orders", "producer");
  r.hostname = "app-1";
  r.emitter_id = "app-1-7";
  r.seq = seq;
  return r;
}

using Spans = std::vector<std::pair<int64_t, int64_t>>;

Incoming In(AuditRecord r, const std::string& source = "") {
  Incoming in;
  in.raw = "{\"uuid\":\"" + r.uuid + "\"}";
  in.source = source;
  in.record = std::move(r);
  return in;
}

Incoming Garbage(const std::string& raw, const std::string& error, const std::string& source) {
  Incoming in;
  in.raw = raw;
  in.error = error;
  in.source = source;
  return in;
}

class StoreSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "sqlite") {
      char dir[] = "/tmp/chaperone-store-test-XXXXXX";
      ASSERT_NE(mkdtemp(dir), nullptr);
      dir_ = dir;
      url_ = "sqlite:" + dir_ + "/data/chaperone.db";
    } else if (GetParam() == "mysql") {
      auto url = test::FreshMariaDbDatabase();
      ASSERT_TRUE(url.ok()) << url.status().ToString();
      url_ = *url;
    } else {
      auto url = test::FreshPgDatabase();
      ASSERT_TRUE(url.ok()) << url.status().ToString();
      url_ = *url;
    }
    auto s = Store::Open(url_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  // Whatever a test did, the summary and the window totals still equal its rows.
  void TearDown() override {
    if (store_ && !HasFatalFailure()) ExpectSummaryExact("at the end of the test");
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  ApplyStats Apply(const std::vector<Incoming>& batch, const std::vector<ConsumerPosition>& pos = {}) {
    auto r = store_->Apply(batch, pos, kNow);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ApplyStats{};
  }

  WindowRow One(const std::string& topic = "orders", const std::string& tier = "regional", int64_t begin = kW) {
    auto rows = store_->QueryWindows(topic, tier, begin, begin + 1);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    EXPECT_EQ(rows->size(), 1u);
    return rows->empty() ? WindowRow{} : rows->front();
  }

  // The topic summary equals a recomputation from the window rows, and
  // ListTopics is what the summary says.
  void ExpectSummaryExact(const std::string& when) {
    SCOPED_TRACE(when);
    auto rows = store_->QueryAllWindows(std::numeric_limits<int64_t>::min() / 2,
                                        std::numeric_limits<int64_t>::max() / 2);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    auto summary = AllDays();
    ASSERT_TRUE(summary.ok()) << summary.status().ToString();
    std::vector<TopicDay> expected = SummarizeWindows(*rows);
    EXPECT_EQ(WithoutWrites(*summary), expected);
    auto topics = store_->ListTopics();
    ASSERT_TRUE(topics.ok()) << topics.status().ToString();
    std::vector<TopicSummary> listed = ListFromSummary(expected);
    ASSERT_EQ(topics->size(), listed.size());
    for (size_t i = 0; i < listed.size(); ++i) {
      EXPECT_EQ((*topics)[i].topic, listed[i].topic);
      EXPECT_EQ((*topics)[i].tiers, listed[i].tiers);
      EXPECT_EQ((*topics)[i].first_window_sec, listed[i].first_window_sec);
      EXPECT_EQ((*topics)[i].last_window_sec, listed[i].last_window_sec);
      EXPECT_EQ((*topics)[i].last_updated_ms, listed[i].last_updated_ms);
    }
    ExpectTotalsExact(*rows);
  }

  // The window totals equal a recomputation from the window rows.
  void ExpectTotalsExact(const std::vector<WindowRow>& rows) {
    auto totals = AllTotals();
    ASSERT_TRUE(totals.ok()) << totals.status().ToString();
    EXPECT_EQ(*totals, TotalWindows(rows));
  }
  Result<std::vector<TierTotals>> AllTotals() {
    return store_->QueryWindowTotals(std::numeric_limits<int64_t>::min() / 2, std::numeric_limits<int64_t>::max() / 2);
  }

  Result<std::vector<TopicDay>> AllDays() {
    return store_->QueryTopicSummary(std::numeric_limits<int64_t>::min() / 2, std::numeric_limits<int64_t>::max() / 2);
  }
  static std::vector<TopicDay> WithoutWrites(std::vector<TopicDay> days) {
    for (auto& d : days) d.writes = 0;
    return days;
  }

  // Statements on the store's database, beside the store (to make an older schema).
  void ExecRaw(const std::vector<std::string>& statements) {
    auto url = common::ParseStoreUrl(url_);
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    using Kind = common::StoreUrl::Kind;
    auto db = url->kind == Kind::kPostgres ? internal::OpenPostgres(url_)
              : url->kind == Kind::kMysql  ? internal::OpenMysql(url_)
                                           : internal::OpenSqlite(url->sqlite_path, OpenMode::kMustExist);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    for (const auto& sql : statements) ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }

  // Takes the store back to schema `version`: what every later migration
  // created is dropped, with its row in schema_migrations (a store made by an
  // older binary, to be migrated when it is opened again).
  void DowngradeTo(int version) {
    std::vector<std::string> undo;
    if (version < 6) {
      undo.insert(undo.end(),
                  {"DROP TABLE alert_outbox", "DROP TABLE alerts", "ALTER TABLE emitters DROP COLUMN incomplete"});
    }
    if (version < 5) undo.push_back("DROP TABLE window_totals");
    if (version < 4) undo.push_back("DROP TABLE topic_summary");
    undo.push_back("DELETE FROM schema_migrations WHERE version > " + std::to_string(version));
    ExecRaw(undo);
  }

  void Reopen() {
    store_.reset();
    auto reopened = Store::Open(url_);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    store_ = std::move(*reopened);
  }

  // The one emitter of `tier`.
  EmitterRow Emitter(const std::string& tier) {
    auto e = store_->QueryEmitters(tier);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return {};
    EXPECT_EQ(e->size(), 1u);
    return e->empty() ? EmitterRow{} : e->front();
  }

  std::string dir_, url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreSuite, OpensAtTheLatestSchemaVersionAndReopensIdempotently) {
  EXPECT_EQ(store_->backend(), GetParam());
  EXPECT_GE(store_->schema_version(), 1);
  EXPECT_TRUE(store_->Ping().ok());
  Apply({In(Count("u1", 5))});
  store_.reset();
  auto again = Store::Open(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  store_ = std::move(*again);
  EXPECT_EQ(One().count, 5);
}

TEST_P(StoreSuite, InspectingTheSchemaShowsEveryMigrationAppliedAndChangesNothing) {
  auto st = Store::InspectSchema(url_);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->backend, GetParam());
  EXPECT_EQ(st->current, st->latest);
  EXPECT_EQ(st->current, store_->schema_version());
  ASSERT_EQ(static_cast<int>(st->migrations.size()), st->latest);
  for (int i = 0; i < st->latest; ++i) {
    EXPECT_EQ(st->migrations[i].version, i + 1);
    EXPECT_GT(st->migrations[i].applied_ms, 0) << "v" << i + 1;  // none pending
    EXPECT_FALSE(st->migrations[i].description.empty());
  }
  Apply({In(Count("u1", 5))});
  auto again = Store::InspectSchema(url_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->current, st->current);
  EXPECT_EQ(One().count, 5);
}

// A reader (kMustExist) never creates a store, not even in an empty database
// or an existing empty file: it fails naming it, and nothing is created there.
TEST_P(StoreSuite, AReaderFindsNoStoreInAnEmptyDatabaseAndCreatesNothing) {
  std::string empty;
  if (GetParam() == "sqlite") {
    empty = "sqlite:" + dir_ + "/empty.db";
    std::ofstream(dir_ + "/empty.db").flush();  // an existing, empty file
  } else {
    auto url = GetParam() == "mysql" ? test::FreshMariaDbDatabase() : test::FreshPgDatabase();
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    empty = *url;
  }
  auto reader = Store::Open(empty, OpenMode::kMustExist);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), Status::Code::kNotFound) << reader.status().ToString();
  EXPECT_NE(reader.status().message().find("holds no Chaperone store"), std::string::npos) << reader.status().message();
  EXPECT_NE(reader.status().message().find(common::RedactUrl(empty)), std::string::npos) << reader.status().message();
  auto st = Store::InspectSchema(empty);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->current, 0) << "the reader created a schema";
  // The store a writer made opens for a reader.
  auto existing = Store::Open(url_, OpenMode::kMustExist);
  ASSERT_TRUE(existing.ok()) << existing.status().ToString();
  EXPECT_EQ((*existing)->schema_version(), store_->schema_version());
}

TEST_P(StoreSuite, RecordSentTwiceIsAppliedOnce) {
  ApplyStats a = Apply({In(Count("u1", 7)), In(Count("u1", 7)), In(Count("u2", 3))});
  EXPECT_EQ(a.applied, 2);
  EXPECT_EQ(a.duplicates, 1);
  ApplyStats b = Apply({In(Count("u2", 3)), In(Count("u1", 7))});
  EXPECT_EQ(b.applied, 0);
  EXPECT_EQ(b.duplicates, 2);
  WindowRow w = One();
  EXPECT_EQ(w.count, 10);
  EXPECT_EQ(w.bytes, 100);
  EXPECT_EQ(w.records, 2);
  EXPECT_TRUE(w.digest_known);
  EXPECT_EQ(w.digest, 10u * 1000003u);
}

TEST_P(StoreSuite, SumsMergeAcrossHostsAndDigestWrapsModulo64Bits) {
  AuditRecord a = Count("a", 2);
  a.digest = ~uint64_t{0};  // 2^64 - 1
  a.no_time_count = 1;
  AuditRecord b = Count("b", 3);
  b.digest = 5;
  b.malformed_count = 2;
  b.hostname = "host-2";
  Apply({In(a), In(b)});
  WindowRow w = One();
  EXPECT_EQ(w.count, 5);
  EXPECT_EQ(w.digest, 4u);  // (2^64 - 1 + 5) mod 2^64
  EXPECT_EQ(w.no_time, 1);
  EXPECT_EQ(w.malformed, 2);
  EXPECT_EQ(w.records, 2);
}

// A service worker's flush was produced but not committed; the next worker
// replays the same offsets (same chunkStart, another flushId).
TEST_P(StoreSuite, ChunkReplayReplacesTheEarlierFlush) {
  auto chunked = [](const std::string& uuid, const std::string& flush, int64_t chunk_start, int64_t count,
                    int64_t first, int64_t begin = kW) {
    AuditRecord r = Count(uuid, count, begin);
    r.flush_id = flush;
    r.partitions = {{3, count, first, first + count - 1, chunk_start}};
    return r;
  };
  // Flush f1 of chunk 100 (two windows), then a replay f2 of the same chunk.
  ApplyStats s1 = Apply({In(chunked("a1", "f1", 100, 40, 100)), In(chunked("a2", "f1", 100, 10, 140, kW + 600))});
  EXPECT_EQ(s1.replayed, 0);
  EXPECT_EQ(One().count, 40);
  ApplyStats s2 = Apply({In(chunked("b1", "f2", 100, 45, 100))});
  EXPECT_EQ(s2.replayed, 1);
  WindowRow w = One();
  EXPECT_EQ(w.count, 45);
  EXPECT_EQ(w.bytes, 450);
  EXPECT_EQ(w.digest, 45u * 1000003u);
  EXPECT_EQ(w.records, 1);
  // The replay took the whole flush back out, including the later window it did not reach yet.
  WindowRow w2 = One("orders", "regional", kW + 600);
  EXPECT_EQ(w2.count, 0);
  auto parts = store_->QueryPartitions("orders", "regional", kW);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].partition, 3);
  EXPECT_EQ((*parts)[0].count, 45);
  EXPECT_EQ((*parts)[0].first_offset, 100);
  EXPECT_EQ((*parts)[0].last_offset, 144);
  // More records of f2 add to it; a later chunk makes chunk 100 final.
  Apply({In(chunked("b2", "f2", 100, 5, 145, kW + 600))});
  Apply({In(chunked("c1", "f3", 150, 7, 150, kW + 600))});
  EXPECT_EQ(One("orders", "regional", kW + 600).count, 12);
  // A late replay of the final chunk with yet another flush id is a new chunk
  // start for 150 only: chunk 100's counts stay.
  ApplyStats s3 = Apply({In(chunked("d1", "f4", 150, 7, 150, kW + 600))});
  EXPECT_EQ(s3.replayed, 1);
  EXPECT_EQ(One().count, 45);
  EXPECT_EQ(One("orders", "regional", kW + 600).count, 12);
}

// Fencing (docs/architecture.md, "Zombies"): the exact sequence seen with two
// `chaperone service` members when one was frozen past its session timeout.
AuditRecord Owned(const std::string& uuid, const std::string& flush, int64_t chunk_start, int64_t count,
                  int64_t generation, int64_t assigned_ms, int64_t begin = kW) {
  AuditRecord r = Count(uuid, count, begin);
  r.flush_id = flush;
  r.partitions = {{0, count, chunk_start, chunk_start + count - 1, chunk_start, generation, assigned_ms}};
  return r;
}

TEST_P(StoreSuite, AStaleOwnersReplayOfACommittedChunkIsFencedNotMerged) {
  // The new owner (assigned in generation 7) counted offsets 0..11284 and
  // committed; the frozen member (assigned in generation 5) then publishes its
  // stale chunk for offsets 0..5460 with the same chunk start.
  Apply({In(Owned("new-1", "fn1", 0, 11285, 7, 2'000'000))});
  ApplyStats s = Apply({In(Owned("old-1", "fz", 0, 5461, 5, 1'000'000), "audit/0@9")});
  EXPECT_EQ(s.fenced, 1);
  EXPECT_EQ(s.replayed, 0);
  EXPECT_EQ(s.applied, 0);
  EXPECT_EQ(One().count, 11285);
  // The next chunk of the new owner makes its first one final.
  Apply({In(Owned("new-2", "fn2", 11285, 100, 7, 2'000'000))});
  EXPECT_EQ(One().count, 11385);
  // The stale record is kept, with the reason, and counted.
  auto q = store_->QueryQuarantine(10);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_NE((*q)[0].reason.find("fenced: orders [0] chunk at offset 0"), std::string::npos) << (*q)[0].reason;
  EXPECT_EQ((*q)[0].source, "audit/0@9");
  // A redelivery of it is a duplicate, not a second quarantine row.
  ApplyStats again = Apply({In(Owned("old-1", "fz", 0, 5461, 5, 1'000'000), "audit/0@9")});
  EXPECT_EQ(again.duplicates, 1);
  EXPECT_EQ(again.fenced, 0);
}

TEST_P(StoreSuite, AStaleOwnersChunkAfterTheNewOwnersLaterChunkIsFenced) {
  Apply({In(Owned("n1", "f1", 0, 50, 7, 2'000'000)), In(Owned("n2", "f2", 50, 30, 7, 2'000'000))});
  // Without fencing, a smaller chunk start would be taken for a new chunk and added.
  ApplyStats s = Apply({In(Owned("z1", "fz", 0, 20, 5, 1'000'000))});
  EXPECT_EQ(s.fenced, 1);
  EXPECT_EQ(One().count, 80);
}

TEST_P(StoreSuite, AStaleOwnersChunkBeforeTheNewOwnersReplayIsReplacedByIt) {
  // The frozen member's report arrives first: it looks like an ordinary chunk,
  // then the new owner's replay of the same offsets replaces it.
  Apply({In(Owned("a", "f0", 0, 10, 5, 1'000'000))});
  Apply({In(Owned("z", "fz", 10, 40, 5, 1'000'000))});
  EXPECT_EQ(One().count, 50);
  ApplyStats s = Apply({In(Owned("n", "fn", 10, 45, 7, 2'000'000))});
  EXPECT_EQ(s.replayed, 1);
  EXPECT_EQ(s.fenced, 0);
  EXPECT_EQ(One().count, 55);
}

TEST_P(StoreSuite, AStaleOwnersRecordsInterleavedWithTheNewOwnersAreSortedOut) {
  // One flush of each member, two windows each, interleaved on the audit topic:
  // z1 is merged first, replaced by n1; z2 comes after n1 and is fenced.
  ApplyStats s = Apply({In(Owned("z1", "fz", 0, 10, 5, 1'000'000)), In(Owned("n1", "fn", 0, 12, 7, 2'000'000)),
                        In(Owned("n2", "fn", 0, 3, 7, 2'000'000, kW + 600)),
                        In(Owned("z2", "fz", 0, 2, 5, 1'000'000, kW + 600))});
  EXPECT_EQ(s.replayed, 1);
  EXPECT_EQ(s.fenced, 1);
  EXPECT_EQ(One().count, 12);
  EXPECT_EQ(One("orders", "regional", kW + 600).count, 3);
}

TEST_P(StoreSuite, AGroupCreatedAgainStartsOverInsteadOfBeingFenced) {
  // Generations restart at 1 when a group is deleted and created again; its
  // members were assigned after the old chunk's owner was.
  Apply({In(Owned("old", "f1", 500, 10, 40, 1'000'000))});
  ApplyStats s = Apply({In(Owned("new", "f2", 0, 7, 1, 5'000'000))});
  EXPECT_EQ(s.fenced, 0);
  EXPECT_EQ(One().count, 17);
  // ...and the new incarnation goes on from there.
  ApplyStats next = Apply({In(Owned("new-2", "f3", 7, 3, 2, 5'000'000))});
  EXPECT_EQ(next.fenced, 0);
  EXPECT_EQ(One().count, 20);
}

TEST_P(StoreSuite, RecordsWithoutAGenerationAreNeverFenced) {
  // Emitters from before fencing (and legacy records) carry no generation.
  Apply({In(Owned("a", "f1", 0, 10, 7, 2'000'000))});
  ApplyStats s = Apply({In(Owned("b", "f2", 0, 12, -1, -1))});
  EXPECT_EQ(s.fenced, 0);
  EXPECT_EQ(s.replayed, 1);
  EXPECT_EQ(One().count, 12);
}

// Retention deleted the first offsets of a reported, uncommitted chunk; its
// replay resumed inside it (docs/architecture.md, "Retention").
AuditRecord Span(const std::string& uuid, const std::string& flush, int64_t chunk_start, int64_t first, int64_t last,
                 int64_t begin = kW) {
  AuditRecord r = Count(uuid, last - first + 1, begin);
  r.flush_id = flush;
  r.partitions = {{0, last - first + 1, first, last, chunk_start, 3, 1000}};
  return r;
}

TEST_P(StoreSuite, AReplayThatRetentionMadeStartLaterTakesBackOnlyWhatItCountsAgain) {
  // The report: offsets 100..149 in W, 150..199 in W+600; never committed.
  Apply({In(Span("r1", "f1", 100, 100, 149)), In(Span("r2", "f1", 100, 150, 199, kW + 600))});
  // Retention deleted 100..149; the replay resumes at 150 and reads on to 229.
  ApplyStats s = Apply({In(Span("p1", "f2", 150, 150, 229, kW + 600))});
  EXPECT_EQ(s.retention_overlaps, 1);
  EXPECT_EQ(s.overlap_messages, 0);
  EXPECT_EQ(One().count, 50);                                // kept: only the report counted 100..149
  EXPECT_EQ(One("orders", "regional", kW + 600).count, 80);  // 150..199 taken back, 150..229 counted once
  auto parts = store_->QueryPartitions("orders", "regional", kW + 600);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].count, 80);
  EXPECT_EQ((*parts)[0].overlap, 0);
  // The next chunk (committed past 229) is an ordinary one.
  ApplyStats next = Apply({In(Span("p2", "f3", 230, 230, 239, kW + 600))});
  EXPECT_EQ(next.retention_overlaps, 0);
  EXPECT_EQ(One("orders", "regional", kW + 600).count, 90);
}

TEST_P(StoreSuite, AWindowOnBothSidesOfTheReplaysStartIsKeptAndItsOverlapReported) {
  // One window held offsets 100..199; the replay resumes at 150.
  Apply({In(Span("r1", "f1", 100, 100, 199))});
  ApplyStats s = Apply({In(Span("p1", "f2", 150, 150, 209))});
  EXPECT_EQ(s.retention_overlaps, 1);
  EXPECT_EQ(s.overlap_messages, 50);  // 150..199 may be counted twice
  EXPECT_EQ(One().count, 160);        // the truth, 110, is within [160 - 50, 160]
  auto parts = store_->QueryPartitions("orders", "regional", kW);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].overlap, 50);
}

TEST_P(StoreSuite, ACommittedChunkFollowedPastItsEndIsNoRetentionOverlap) {
  Apply({In(Span("a", "f1", 100, 100, 199)), In(Span("b", "f2", 200, 200, 209))});
  ApplyStats s = Apply({In(Span("c", "f3", 210, 210, 219))});
  EXPECT_EQ(s.retention_overlaps, 0);
  EXPECT_EQ(One().count, 120);
}

TEST_P(StoreSuite, ReplayInsideOneBatchIsReplacedToo) {
  AuditRecord a = Count("a", 10);
  a.flush_id = "f1";
  a.partitions = {{0, 10, 0, 9, 0}};
  AuditRecord b = Count("b", 10);
  b.flush_id = "f2";
  b.partitions = {{0, 10, 0, 9, 0}};
  ApplyStats s = Apply({In(a), In(b)});
  EXPECT_EQ(s.applied, 2);
  EXPECT_EQ(s.replayed, 1);
  EXPECT_EQ(One().count, 10);
}

TEST_P(StoreSuite, SketchesMergeExactlyAndReplaySubtractsThem) {
  LatencySketch s1, s2, s3;
  for (int i = 1; i <= 100; ++i) s1.Add(i);
  for (int i = 1; i <= 100; ++i) s2.Add(1000 + i);
  for (int i = 1; i <= 100; ++i) s3.Add(50);
  AuditRecord a = Count("a", 100);
  a.latency_sketch = s1.Encode();
  a.mean_latency_ms = 50.5;
  a.flush_id = "f1";
  a.partitions = {{0, 100, 0, 99, 0}};
  AuditRecord b = Count("b", 100);
  b.latency_sketch = s2.Encode();
  b.mean_latency_ms = 1050.5;
  b.hostname = "host-2";
  Apply({In(a), In(b)});
  LatencySketch merged = s1;
  merged.Merge(s2);
  WindowRow w = One();
  EXPECT_FALSE(w.latency_upper_bound);
  EXPECT_DOUBLE_EQ(w.latency_p50, merged.Quantile(0.5));
  EXPECT_DOUBLE_EQ(w.latency_p99, merged.Quantile(0.99));
  EXPECT_DOUBLE_EQ(w.latency_max, merged.max());
  EXPECT_DOUBLE_EQ(w.latency_mean, 550.5);
  // Replay of a's chunk with different latencies: s1 is taken out, s3 goes in.
  AuditRecord c = Count("c", 100);
  c.latency_sketch = s3.Encode();
  c.mean_latency_ms = 50;
  c.flush_id = "f2";
  c.partitions = {{0, 100, 0, 99, 0}};
  Apply({In(c)});
  LatencySketch expect = s2;
  expect.Merge(s3);
  w = One();
  EXPECT_EQ(w.count, 200);
  // Bucket for bucket what s2 + s3 hold; min/max stay bounds after a subtraction,
  // so quantiles agree within the sketch's relative error.
  auto stored = LatencySketch::Decode(w.latency_sketch);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->count(), 200u);
  EXPECT_EQ(stored->Buckets(), expect.Buckets());
  EXPECT_NEAR(w.latency_p50, expect.Quantile(0.5), 0.01 * expect.Quantile(0.5));
  EXPECT_NEAR(w.latency_p95, expect.Quantile(0.95), 0.01 * expect.Quantile(0.95));
  EXPECT_DOUBLE_EQ(w.latency_mean, 550.25);
}

TEST_P(StoreSuite, UndecodableSketchIsQuarantined) {
  AuditRecord a = Count("a", 1);
  a.latency_sketch = "%%% not a sketch %%%";
  ApplyStats s = Apply({In(a, "chaperone-audit/0@7")});
  EXPECT_EQ(s.quarantined, 1);
  EXPECT_EQ(s.applied, 0);
  auto q = store_->QueryQuarantine(10);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_NE((*q)[0].reason.find("latencySketch"), std::string::npos);
}

// Chaperone's legacy records (shared/fixtures): percentiles merge as max and are flagged upper bounds.
TEST_P(StoreSuite, LegacyRecordsMergeAsUpperBounds) {
  AuditRecord client;  // legacy-client-record.json
  client.version = 0;
  client.topic = "dummyTopic";
  client.window_begin_sec = kW;
  client.window_end_sec = kW + 600;
  client.count = 100;
  client.mean_latency_ms = 12.25;
  client.latency95_ms = 30;
  client.latency99_ms = 41;
  client.max_latency_ms = 48;
  client.tier = "proxy-client";
  client.hostname = "api-host-3";
  client.datacenter = "dc1";
  client.uuid = "6f1c2d34-9b1e-4f7a-8c55-0d2e6b9a1f10";
  AuditRecord client2 = client;
  client2.uuid = "7f1c2d34-9b1e-4f7a-8c55-0d2e6b9a1f10";
  client2.hostname = "api-host-4";
  client2.count = 300;
  client2.mean_latency_ms = 20;
  client2.latency95_ms = 25;
  client2.latency99_ms = 60;
  client2.max_latency_ms = 61;
  AuditRecord service = client;  // legacy-service-record.json
  service.uuid = "regional_dc1_audit-worker-07_1795303000123_42";
  service.tier = "regional";
  service.hostname = "audit-worker-07";
  service.total_bytes = 25600;
  service.no_time_count = 0;
  service.malformed_count = 0;
  service.mean_latency_ms = 1250.5;
  service.latency95_ms = 3100;
  service.latency99_ms = 4100;
  service.max_latency_ms = 4800;
  ApplyStats s = Apply({In(client), In(client2), In(service)});
  EXPECT_EQ(s.applied, 3);

  WindowRow c = One("dummyTopic", "proxy-client");
  EXPECT_EQ(c.count, 400);
  EXPECT_TRUE(c.latency_upper_bound);
  EXPECT_FALSE(c.digest_known);
  EXPECT_FALSE(c.bytes_known);
  EXPECT_DOUBLE_EQ(c.latency_p95, 30);
  EXPECT_DOUBLE_EQ(c.latency_p99, 60);
  EXPECT_DOUBLE_EQ(c.latency_max, 61);
  EXPECT_DOUBLE_EQ(c.latency_mean, (12.25 * 100 + 20 * 300) / 400);  // means merge exactly
  EXPECT_EQ(c.cluster, "");

  WindowRow r = One("dummyTopic", "regional");
  EXPECT_EQ(r.count, 100);
  EXPECT_TRUE(r.bytes_known);
  EXPECT_EQ(r.bytes, 25600);
  EXPECT_FALSE(r.digest_known);
  EXPECT_TRUE(r.latency_upper_bound);
  EXPECT_DOUBLE_EQ(r.latency_p99, 4100);
}

TEST_P(StoreSuite, GarbageIsQuarantinedOnceWithItsBytes) {
  std::string raw = std::string("{\"count\": \xff\xfe", 12) + std::string(1, '\0') + "tail";
  ApplyStats s = Apply({Garbage(raw, "count: not a number", "chaperone-audit/1@10"),
                        Garbage("not json", "", "chaperone-audit/1@11"), In(Count("ok", 1), "chaperone-audit/1@12")});
  EXPECT_EQ(s.quarantined, 2);
  EXPECT_EQ(s.applied, 1);
  // Redelivered (e.g. after a crash between a batch and its position): not quarantined twice.
  ApplyStats again = Apply({Garbage(raw, "count: not a number", "chaperone-audit/1@10")});
  EXPECT_EQ(again.quarantined, 0);
  auto n = store_->QuarantineCount();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  auto q = store_->QueryQuarantine(10);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 2u);
  EXPECT_EQ((*q)[1].raw, raw);  // newest first
  EXPECT_EQ((*q)[1].reason, "count: not a number");
  EXPECT_EQ((*q)[1].source, "chaperone-audit/1@10");
  EXPECT_EQ((*q)[1].received_ms, kNow);
  EXPECT_EQ((*q)[0].reason, "not a valid audit record");
}

TEST_P(StoreSuite, RecordsThatCannotBeStoredAsTextAreQuarantined) {
  AuditRecord nul = Count("n1", 1);
  nul.topic = std::string("ord\0ers", 7);
  AuditRecord bad = Count("n2", 1);
  bad.tier = "\xc3\x28";
  AuditRecord nouuid = Count("", 1);
  AuditRecord backwards = Count("n3", 1);
  backwards.window_end_sec = backwards.window_begin_sec;
  AuditRecord too_long = Count("n4", 1);
  too_long.topic = std::string(513, 't');  // every backend keys on 512 bytes
  ApplyStats s = Apply({In(nul, "a/0@1"), In(bad, "a/0@2"), In(nouuid, "a/0@3"), In(backwards, "a/0@4"),
                        In(too_long, "a/0@5")});
  EXPECT_EQ(s.quarantined, 5);
  EXPECT_EQ(s.applied, 0);
  auto topics = store_->ListTopics();
  ASSERT_TRUE(topics.ok());
  EXPECT_TRUE(topics->empty());
}

TEST_P(StoreSuite, SequenceGapsAreCountedAndFilled) {
  auto seq = [](const std::string& uuid, int64_t n) {
    AuditRecord r = Count(uuid, 1);
    r.emitter_id = "host-1-42";
    r.seq = n;
    return r;
  };
  Apply({In(seq("s0", 0)), In(seq("s1", 1)), In(seq("s5", 5))});
  auto e = store_->QueryEmitters(std::nullopt);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].last_seq, 5);
  EXPECT_EQ((*e)[0].missing_records, 3);  // 2, 3, 4
  EXPECT_EQ((*e)[0].tier, "regional");
  EXPECT_EQ((*e)[0].last_seen_ms, kNow);
  Apply({In(seq("s3", 3)), In(seq("s3b", 3))});  // fills 3; a second 3 (other uuid) fills nothing
  e = store_->QueryEmitters("regional");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)[0].missing_records, 2);
  Apply({In(seq("s2", 2)), In(seq("s4", 4)), In(seq("s9", 9))});
  e = store_->QueryEmitters("regional");
  EXPECT_EQ((*e)[0].missing_records, 3);  // 6, 7, 8
  EXPECT_EQ((*e)[0].last_seq, 9);
  // An emitter whose first record we see is seq 3: 0..2 are missing until they arrive.
  AuditRecord late = seq("x3", 3);
  late.emitter_id = "other";
  Apply({In(late)});
  e = store_->QueryEmitters(std::nullopt);
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ((*e)[0].emitter_id, "host-1-42");
  EXPECT_EQ((*e)[1].missing_records, 3);
  auto none = store_->QueryEmitters("producer");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreSuite, HeartbeatsMoveTheWatermarkForwardOnly) {
  auto hb = [](const std::string& uuid, int64_t seq, int64_t watermark) {
    AuditRecord r = Heartbeat(uuid, seq, watermark, /*dropped_records=*/seq);
    r.failed_deliveries = 2 * seq;
    r.dropped_observations = 3 * seq;
    r.skipped_offsets = 5 * seq;
    return r;
  };
  Apply({In(hb("h0", 0, 1795304000000)), In(hb("h2", 2, 1795304100000))});
  Apply({In(hb("h1", 1, 1795304050000))});  // arrives late: fills the gap, does not move back
  auto e = store_->QueryEmitters("producer");
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].watermark_ms, 1795304100000);
  EXPECT_EQ((*e)[0].window_sec, 600);
  EXPECT_EQ((*e)[0].missing_records, 0);
  EXPECT_EQ((*e)[0].dropped_records, 2);
  EXPECT_EQ((*e)[0].failed_deliveries, 4);
  EXPECT_EQ((*e)[0].dropped_observations, 6);
  EXPECT_EQ((*e)[0].skipped_offsets, 10);
  EXPECT_EQ((*e)[0].hostname, "app-1");
  auto topics = store_->ListTopics();
  ASSERT_TRUE(topics.ok());
  EXPECT_TRUE(topics->empty());  // heartbeats carry no counts
}

// Records that never arrived (a sequence gap) make the emitter's reports
// incomplete from its watermark minus a window (what the lost records can
// have observed) to when the gap showed (SCHEMA.md, `emitters.incomplete`).
// The span goes when the gap is filled whole, not before.
TEST_P(StoreSuite, AGapOpensAnIncompleteSpanThatGoesWhenTheGapIsFilled) {
  const int64_t w = kW * 1000;
  Apply({In(Heartbeat("h0", 0, w))});
  EXPECT_TRUE(Emitter("producer").incomplete_ms.empty());
  // 1..3 missing, shown by a count of a window that ends after now.
  Apply({In(Counted("c4", 4, kW + 600))});
  const Spans gap = {{w - 600'000, (kW + 1200) * 1000}};
  EXPECT_EQ(Emitter("producer").incomplete_ms, gap);
  EXPECT_EQ(Emitter("producer").missing_records, 3);
  // Filled in the middle, then at one end: what is left of the gap keeps its span.
  Apply({In(Counted("c2", 2, kW))});
  EXPECT_EQ(Emitter("producer").incomplete_ms, gap);
  Apply({In(Counted("c1", 1, kW))});
  EXPECT_EQ(Emitter("producer").incomplete_ms, gap);
  Apply({In(Counted("c3", 3, kW))});
  EmitterRow e = Emitter("producer");
  EXPECT_EQ(e.missing_records, 0);
  EXPECT_TRUE(e.incomplete_ms.empty());
  // A heartbeat shows the next gap (5): up to now, which is after its watermark.
  Apply({In(Heartbeat("h6", 6, w + 1000))});
  EXPECT_EQ(Emitter("producer").incomplete_ms, (Spans{{w - 600'000, kNow}}));
}

// Gap ranges beyond kMaxGapRanges are forgotten (still counted missing): a
// record filling a forgotten gap is not recognised, so its span stays.
TEST_P(StoreSuite, AGapForgottenBeyondTheKeptRangesKeepsItsSpan) {
  const int64_t w = kW * 1000;
  Apply({In(Heartbeat("h0", 0, w)), In(Heartbeat("h2", 2, w))});  // 1 missing
  const Spans first = {{w - 600'000, kNow}};
  EXPECT_EQ(Emitter("producer").incomplete_ms, first);
  // A day later, kMaxGapRanges more gaps of one record each: the first is forgotten.
  const int64_t later_ms = kNow + 86'400'000;
  const auto last = static_cast<int64_t>(2 * internal::kMaxGapRanges + 2);
  std::vector<Incoming> gaps, fills;
  for (int64_t seq = 4; seq <= last; seq += 2) gaps.push_back(In(Heartbeat("h" + std::to_string(seq), seq, later_ms)));
  for (int64_t seq = 1; seq < last; seq += 2) fills.push_back(In(Heartbeat("f" + std::to_string(seq), seq, later_ms)));
  auto applied = store_->Apply(gaps, {}, later_ms);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EmitterRow e = Emitter("producer");
  EXPECT_EQ(e.missing_records, static_cast<int64_t>(internal::kMaxGapRanges) + 1);
  EXPECT_EQ(e.incomplete_ms, (Spans{{w - 600'000, later_ms}}));
  // Every missing record arrives: all kept gaps close with their spans, the forgotten one does not.
  applied = store_->Apply(fills, {}, later_ms);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  e = Emitter("producer");
  EXPECT_EQ(e.missing_records, 1);
  EXPECT_EQ(e.incomplete_ms, first);
}

// Records the emitter could not deliver (droppedRecords grew) make its
// reports incomplete from the previous heartbeat's watermark minus a window
// to this heartbeat's watermark or now, whichever is later.
TEST_P(StoreSuite, DroppedRecordsOpenAnIncompleteSpan) {
  const int64_t w = kW * 1000;
  Apply({In(Heartbeat("h0", 0, w))});
  Apply({In(Heartbeat("h1", 1, w + 700'000, 2))});  // its watermark is after now
  const Spans dropped = {{w - 600'000, w + 700'000}};
  EXPECT_EQ(Emitter("producer").incomplete_ms, dropped);
  Apply({In(Heartbeat("h2", 2, w + 2'000'000, 2))});  // nothing more dropped
  EXPECT_EQ(Emitter("producer").incomplete_ms, dropped);
  auto applied = store_->Apply({In(Heartbeat("h3", 3, w + 4'000'000, 5))}, {}, w + 5'000'000);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EmitterRow e = Emitter("producer");
  EXPECT_EQ(e.incomplete_ms, (Spans{{w - 600'000, w + 700'000}, {w + 1'400'000, w + 5'000'000}}));
  EXPECT_EQ(e.missing_records, 0);
  EXPECT_EQ(e.dropped_records, 5);
  // The first heartbeat of an emitter already reports drops: since it started, any window.
  AuditRecord fresh = Heartbeat("o0", 0, w, 1);
  fresh.emitter_id = "api-2-9";
  fresh.tier = "regional";
  Apply({In(fresh)});
  EXPECT_EQ(Emitter("regional").incomplete_ms, (Spans{{0, kNow}}));
}

// The spans and which gap each belongs to are stored: after a reopen,
// filling the gap still removes its span and only its span.
TEST_P(StoreSuite, IncompleteSpansAndTheirGapsSurviveAReopen) {
  const int64_t w = kW * 1000;
  Apply({In(Heartbeat("h0", 0, w)), In(Heartbeat("h1", 1, w + 700'000, 1)), In(Heartbeat("h2", 2, w + 3'000'000, 1)),
         In(Counted("c5", 5, kW + 3000))});  // one dropped; 3 and 4 missing
  const Spans dropped = {{w - 600'000, w + 700'000}};
  const Spans both = {dropped[0], {w + 2'400'000, (kW + 3600) * 1000}};
  EXPECT_EQ(Emitter("producer").incomplete_ms, both);
  Reopen();
  EXPECT_EQ(Emitter("producer").incomplete_ms, both);
  Apply({In(Counted("c3", 3, kW)), In(Counted("c4", 4, kW))});
  EXPECT_EQ(Emitter("producer").incomplete_ms, dropped);
}

// Gaps stored before v6 have no span (nothing said when they happened): they
// still fill, and gaps found after the migration have spans.
TEST_P(StoreSuite, GapsStoredBeforeVersionSixHaveNoSpan) {
  const int64_t w = kW * 1000;
  Apply({In(Heartbeat("h0", 0, w)), In(Counted("c3", 3, kW))});
  store_.reset();
  DowngradeTo(5);
  Reopen();
  EmitterRow e = Emitter("producer");
  EXPECT_EQ(e.missing_records, 2);
  EXPECT_TRUE(e.incomplete_ms.empty());
  Apply({In(Counted("c1", 1, kW)), In(Counted("c6", 6, kW))});
  e = Emitter("producer");
  EXPECT_EQ(e.missing_records, 3);  // 2, 4, 5
  EXPECT_EQ(e.incomplete_ms, (Spans{{w - 600'000, kNow}}));
  Apply({In(Counted("c2", 2, kW))});
  EXPECT_EQ(Emitter("producer").incomplete_ms, (Spans{{w - 600'000, kNow}}));
  Apply({In(Counted("c4", 4, kW)), In(Counted("c5", 5, kW))});
  EXPECT_TRUE(Emitter("producer").incomplete_ms.empty());
}

TEST_P(StoreSuite, PositionsAreStoredWithTheBatchAndNeverMoveBack) {
  Apply({In(Count("a", 1))}, {{"g", "chaperone-audit", 0, 10}, {"g", "chaperone-audit", 2, 5}});
  Apply({}, {{"g", "chaperone-audit", 0, 8}, {"g", "other", 0, 99}});
  auto p = store_->LoadPositions("g", "chaperone-audit");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[0].partition, 0);
  EXPECT_EQ((*p)[0].next_offset, 10);
  EXPECT_EQ((*p)[1].partition, 2);
  EXPECT_EQ((*p)[1].next_offset, 5);
  auto none = store_->LoadPositions("h", "chaperone-audit");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreSuite, RetentionDeletesOldWindowsAndSkipsLateRedeliveries) {
  AuditRecord old = Count("old", 5, kW - 86400);
  old.emitter_id = "e1";
  old.seq = 0;
  old.partitions = {{0, 5, 0, 4, 0}};
  Apply({In(old), In(Count("new", 6)), Garbage("x", "bad", "a/0@1")});
  ASSERT_TRUE(store_->ApplyRetention(kW - 3600).ok());
  auto rows = store_->QueryWindows("orders", std::nullopt, 0, kW + 600);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].count, 6);
  auto parts = store_->QueryPartitions("orders", "regional", kW - 86400);
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->empty());
  // The dedup entry went with the window: a redelivery is skipped by the horizon instead.
  ApplyStats s = Apply({In(old)});
  EXPECT_EQ(s.applied, 0);
  EXPECT_EQ(s.expired, 1);
  rows = store_->QueryWindows("orders", std::nullopt, 0, kW + 600);
  EXPECT_EQ(rows->size(), 1u);
  // Quarantine and emitters older than the horizon (by collector time) go too.
  ASSERT_TRUE(store_->ApplyRetention(kNow / 1000 + 1).ok());
  EXPECT_EQ(*store_->QuarantineCount(), 0);
  EXPECT_TRUE(store_->QueryEmitters(std::nullopt)->empty());
  // The horizon never moves back.
  ASSERT_TRUE(store_->ApplyRetention(0).ok());
  EXPECT_EQ(Apply({In(Count("newer", 1))}).expired, 1);
}

// ---- Alerts (SCHEMA.md, v6) ----

inline AlertRow SuiteAlert(std::string topic, std::string state = "firing") {
  return AlertRow{.fingerprint = "fp-" + topic, .topic = std::move(topic), .source_tier = "producer",
                  .target_tier = "regional", .kind = "loss", .datacenter = "", .state = std::move(state),
                  .severity = "warning", .sent_severity = "", .starts_ms = 1000, .ends_ms = 0, .updated_ms = 1000,
                  .lost = 3, .duplicated = 0, .windows = 1, .source_messages = 100, .first_window_sec = 600,
                  .last_window_sec = 600};
}

TEST_P(StoreSuite, ALeaseHasOneHolderUntilItExpires) {
  EXPECT_TRUE(*store_->TakeLease("detect", "a", 1000, 500));
  EXPECT_FALSE(*store_->TakeLease("detect", "b", 1200, 500));  // a holds it until 1500
  EXPECT_TRUE(*store_->TakeLease("detect", "a", 1400, 500));   // renewed: until 1900
  EXPECT_FALSE(*store_->TakeLease("detect", "b", 1800, 500));
  EXPECT_TRUE(*store_->TakeLease("other", "b", 1800, 500));    // leases are independent
  EXPECT_TRUE(*store_->TakeLease("detect", "b", 1900, 500));   // expired: taken over
  EXPECT_FALSE(*store_->TakeLease("detect", "a", 2000, 500));
  // Names with spaces and quotes are kept verbatim.
  EXPECT_TRUE(*store_->TakeLease("detect", "b", 2000, 500));
  EXPECT_TRUE(*store_->TakeLease("x y", "host 1 'q'", 2000, 500));
  EXPECT_FALSE(*store_->TakeLease("x y", "host 1", 2000, 500));
  EXPECT_TRUE(*store_->TakeLease("x y", "host 1 'q'", 2000, 500));
}

TEST_P(StoreSuite, AlertsAreSavedOnlyByTheLeaseHolderWithTheirIdsAndNotices) {
  std::vector<AlertChange> changes = {{SuiteAlert("orders"), {"alertmanager", "webhook:0", "alertmanager"}},
                                      {SuiteAlert("payments"), {}}};
  // Without the lease nothing is saved.
  Status refused = store_->SaveAlerts(changes, "detect", "a", 1000);
  EXPECT_EQ(refused.code(), Status::Code::kAlreadyExists) << refused.ToString();
  ASSERT_TRUE(*store_->TakeLease("detect", "a", 1000, 60'000));
  ASSERT_TRUE(store_->SaveAlerts(changes, "detect", "a", 1000).ok());
  EXPECT_EQ(changes[0].alert.id, 1);
  EXPECT_EQ(changes[1].alert.id, 2);
  auto all = store_->QueryAlerts({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);  // newest first
  AlertRow expected = SuiteAlert("payments");
  expected.id = 2;
  EXPECT_EQ((*all)[0], expected);
  auto due = store_->DueNotices(1000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);  // the repeated receiver was queued once
  EXPECT_EQ((*due)[0], (AlertNotice{1, "alertmanager", 1000, 0, ""}));
  EXPECT_EQ((*due)[1], (AlertNotice{1, "webhook:0", 1000, 0, ""}));
  EXPECT_TRUE(store_->DueNotices(999, 10)->empty());

  // An update keeps the id; resolving it and queueing again.
  AlertRow resolved = changes[0].alert;
  resolved.state = "resolved";
  resolved.ends_ms = 2000;
  resolved.updated_ms = 2000;
  std::vector<AlertChange> update = {{resolved, {"webhook:0"}}};
  ASSERT_TRUE(store_->SaveAlerts(update, "detect", "a", 2000).ok());
  EXPECT_EQ(update[0].alert.id, 1);
  auto firing = store_->QueryAlerts({.state = "firing"});
  ASSERT_EQ(firing->size(), 1u);
  EXPECT_EQ((*firing)[0].topic, "payments");
  auto one = store_->QueryAlerts({.ids = {1}});
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0], resolved);
  EXPECT_EQ(store_->QueryAlerts({.topic = "orders"})->size(), 1u);
  EXPECT_EQ(store_->QueryAlerts({.before_id = 2})->size(), 1u);
  EXPECT_EQ(store_->QueryAlerts({.updated_since_ms = 1500})->size(), 1u);
  EXPECT_EQ(store_->QueryAlerts({.limit = 1})->size(), 1u);

  // Another holder, once the lease expired, is refused while the first holds it again.
  ASSERT_TRUE(*store_->TakeLease("detect", "b", 70'000, 60'000));
  EXPECT_EQ(store_->SaveAlerts(update, "detect", "a", 70'001).code(), Status::Code::kAlreadyExists);
  std::vector<AlertChange> fresh = {{SuiteAlert("clicks"), {}}};
  ASSERT_TRUE(store_->SaveAlerts(fresh, "detect", "b", 70'001).ok());
  EXPECT_EQ(fresh[0].alert.id, 3);  // ids are never reused
}

TEST_P(StoreSuite, NoticesAreSettledOrRetriedAndARequeuedNoticeIsNotLost) {
  ASSERT_TRUE(*store_->TakeLease("detect", "a", 1000, 60'000));
  std::vector<AlertChange> changes = {{SuiteAlert("orders"), {"alertmanager", "slack:0"}}};
  ASSERT_TRUE(store_->SaveAlerts(changes, "detect", "a", 1000).ok());
  auto due = *store_->DueNotices(1000, 10);
  ASSERT_EQ(due.size(), 2u);
  AlertNotice retry = due[1];
  retry.attempts = 1;
  retry.due_ms = 5000;
  retry.last_error = "slack: 503 Service Unavailable";
  // The alert changes (re-queued for alertmanager) before the first delivery is settled.
  ASSERT_TRUE(store_->SaveAlerts(changes, "detect", "a", 1500).ok());
  ASSERT_TRUE(store_->SettleNotices({due[0]}, {retry}).ok());
  auto left = *store_->DueNotices(10'000, 10);
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0], (AlertNotice{1, "alertmanager", 1500, 0, ""}));  // the newer change still to deliver
  EXPECT_EQ(left[1], retry);
  EXPECT_TRUE(store_->DueNotices(4999, 10)->size() == 1u);
  ASSERT_TRUE(store_->SettleNotices(left, {}).ok());
  EXPECT_TRUE(store_->DueNotices(10'000, 10)->empty());
  EXPECT_TRUE(store_->SettleNotices({}, {}).ok());
}

TEST_P(StoreSuite, RetentionDeletesAlertsResolvedBeforeTheHorizonAndTheirNotices) {
  ASSERT_TRUE(*store_->TakeLease("detect", "a", 1000, 1'000'000'000));
  AlertRow old = SuiteAlert("orders", "resolved");
  old.ends_ms = 5'000;
  AlertRow recent = SuiteAlert("payments", "resolved");
  recent.ends_ms = 20'000;
  std::vector<AlertChange> changes = {{old, {"webhook:0"}}, {recent, {"webhook:0"}}, {SuiteAlert("clicks"), {}}};
  ASSERT_TRUE(store_->SaveAlerts(changes, "detect", "a", 1000).ok());
  ASSERT_TRUE(store_->ApplyRetention(10).ok());  // 10 s = 10'000 ms
  auto left = store_->QueryAlerts({});
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].topic, "clicks");  // firing: kept whatever its age
  EXPECT_EQ((*left)[1].topic, "payments");
  auto due = store_->DueNotices(1'000'000, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].alert_id, 2);
}

// The topic summary (SCHEMA.md, v4) stays equal to the window rows through
// new windows, sums, replays, fencing, duplicates and retention.
TEST_P(StoreSuite, TheTopicSummaryEqualsTheWindowRowsThroughEveryPath) {
  int64_t now = kNow;
  auto apply = [&](const std::vector<Incoming>& batch) {
    now += 1000;
    auto r = store_->Apply(batch, {}, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ApplyStats{};
  };
  const int64_t day = kW - (kW % 86400);  // kW is 23:30 of its day
  ASSERT_EQ(kW - day, 84600);
  auto chunked = [](const std::string& uuid, const std::string& flush, int64_t chunk_start, int64_t count,
                    int64_t begin, const std::string& topic = "orders", const std::string& tier = "regional") {
    AuditRecord r = Count(uuid, count, begin, topic, tier);
    r.flush_id = flush;
    r.partitions = {{0, count, chunk_start, chunk_start + count - 1, chunk_start, 7, 2'000'000}};
    return r;
  };
  AuditRecord other_dc = Count("dc2", 4, kW, "orders", "aggregate");
  other_dc.datacenter = "dc2";
  // Windows on three days, two topics, two tiers, two datacenters.
  apply({In(chunked("a1", "f1", 0, 10, kW - 86400)), In(chunked("a2", "f1", 0, 20, kW)),
         In(chunked("a3", "f1", 0, 30, kW + 600)), In(chunked("a4", "f1", 0, 40, kW + 1800)),
         In(Count("b1", 5, kW, "orders", "aggregate")), In(other_dc), In(Count("c1", 3, kW + 2400, "payments")),
         In(Count("c2", 1, kW - 86400 + 600, "payments", "producer"))});
  ExpectSummaryExact("first apply");
  // More into existing windows, a new one, and a duplicate.
  apply({In(Count("b2", 6, kW, "orders", "aggregate")), In(Count("b3", 2, kW + 1200, "orders", "aggregate")),
         In(Count("b1", 5, kW, "orders", "aggregate"))});
  ExpectSummaryExact("sums and a duplicate");
  // A replay of chunk 0 reaches only the first two windows: the other two are taken back to 0.
  auto before_replay = AllDays();
  ApplyStats replay = apply({In(chunked("r1", "f2", 0, 11, kW - 86400)), In(chunked("r2", "f2", 0, 22, kW))});
  EXPECT_EQ(replay.replayed, 1);
  ExpectSummaryExact("replay");
  auto after_replay = AllDays();
  ASSERT_TRUE(before_replay.ok() && after_replay.ok());
  ASSERT_EQ(after_replay->size(), before_replay->size());
  for (size_t i = 0; i < after_replay->size(); ++i) {
    const TopicDay &a = (*after_replay)[i], &b = (*before_replay)[i];
    // The change counter grows for every day the replay changed (orders/regional).
    EXPECT_EQ(a.writes > b.writes, a.topic == "orders" && a.tier == "regional") << a.tier << "@" << a.day_sec;
  }
  // A stale owner's chunk is fenced: nothing changes.
  AuditRecord stale = chunked("z1", "fz", 0, 99, kW + 600);
  stale.partitions[0].generation = 5;
  stale.partitions[0].assigned_ms = 1'000'000;
  auto unchanged = AllDays();
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(apply({In(stale)}).fenced, 1);
  ExpectSummaryExact("fenced");
  EXPECT_EQ(*AllDays(), *unchanged);  // nothing changed: not even the change counter
  // The next chunk makes the replay final; then retention cuts kW's day at kW + 600.
  apply({In(chunked("n1", "f3", 33, 7, kW + 2400))});
  ExpectSummaryExact("next chunk");
  ASSERT_TRUE(store_->ApplyRetention(kW + 600).ok());
  ExpectSummaryExact("retention inside a day");
  auto days = AllDays();
  ASSERT_TRUE(days.ok());
  for (const auto& d : *days) EXPECT_GE(d.first_window_sec, kW + 600) << d.topic << "/" << d.tier;
  // Retention on a day boundary, then a new window after it.
  ASSERT_TRUE(store_->ApplyRetention(day + 86400).ok());
  ExpectSummaryExact("retention on a day boundary");
  apply({In(Count("d1", 8, kW + 3000, "payments"))});
  ExpectSummaryExact("after retention");
  ASSERT_TRUE(store_->ApplyRetention(kW + 86400 * 2).ok());
  ExpectSummaryExact("everything deleted");
  EXPECT_TRUE(AllDays()->empty());
  EXPECT_TRUE(store_->ListTopics()->empty());
}

// The summary's rows of a span of names, in byte order on every database
// (PostgreSQL's locale would put "Zeta" after "gamma" and "b-c" beside "bc").
TEST_P(StoreSuite, TheTopicSummaryOfASpanOfNamesFollowsByteOrder) {
  Apply({In(Count("1", 1, kW, "gamma")), In(Count("2", 2, kW, "Zeta")), In(Count("3", 3, kW, "alpha")),
         In(Count("4", 4, kW, "b-c")), In(Count("5", 5, kW, "bc")), In(Count("6", 6, kW, "\xc3\xa9t\xc3\xa9"))});
  auto names = [](const std::vector<TopicDay>& days) {
    std::vector<std::string> out;
    for (const auto& d : days) out.push_back(d.topic);
    return out;
  };
  auto all = store_->QueryTopicSummary(kW, kW + 600);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(names(*all), (std::vector<std::string>{"Zeta", "alpha", "b-c", "bc", "gamma", "\xc3\xa9t\xc3\xa9"}));
  auto span = store_->QueryTopicSummary(kW, kW + 600, std::pair<std::string, std::string>{"Zeta", "b-c"});
  ASSERT_TRUE(span.ok()) << span.status().ToString();
  EXPECT_EQ(names(*span), (std::vector<std::string>{"Zeta", "alpha", "b-c"}));
  auto tail = store_->QueryTopicSummary(kW, kW + 600, std::pair<std::string, std::string>{"bc", "\xc3\xa9t\xc3\xa9"});
  ASSERT_TRUE(tail.ok()) << tail.status().ToString();
  EXPECT_EQ(names(*tail), (std::vector<std::string>{"bc", "gamma", "\xc3\xa9t\xc3\xa9"}));
}

// A store made before the summary (version 3) gets it back-filled from its rows.
TEST_P(StoreSuite, MigrationFourBackFillsTheSummaryFromTheWindowRows) {
  Apply({In(Count("a", 5, kW - 86400)), In(Count("b", 7)), In(Count("c", 9, kW + 1800, "orders", "aggregate")),
         In(Count("d", 2, kW, "payments"))});
  auto before = AllDays();
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->size(), 4u);
  store_.reset();
  DowngradeTo(3);
  Reopen();
  EXPECT_EQ(store_->schema_version(), internal::LatestSchemaVersion());
  auto after = AllDays();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(WithoutWrites(*after), WithoutWrites(*before));
  ExpectSummaryExact("back-filled");
  Apply({In(Count("e", 1, kW + 600))});
  ExpectSummaryExact("applied after the back-fill");
}

// A store made before the window totals (version 4) gets them back-filled
// from its rows: windows in several buckets and days, several datacenters,
// a legacy row without a digest.
TEST_P(StoreSuite, MigrationFiveBackFillsTheWindowTotalsFromTheWindowRows) {
  AuditRecord dc2 = Count("dc2", 4, kW, "orders", "aggregate");
  dc2.datacenter = "dc2";
  AuditRecord legacy = Count("l", 3, kW + 600, "orders", "aggregate");
  legacy.digest.reset();
  Apply({In(Count("a", 5, kW - 86400)), In(Count("b", 7)), In(Count("c", 9, kW, "orders", "aggregate")), In(dc2),
         In(legacy), In(Count("d", 2, kW - 7 * 3600, "payments")), In(Count("e", 1, kW + 1800, "orders", "aggregate"))});
  auto before = AllTotals();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(before->size(), 3u);  // orders/aggregate, orders/regional, payments/regional
  store_.reset();
  DowngradeTo(4);
  Reopen();
  EXPECT_EQ(store_->schema_version(), internal::LatestSchemaVersion());
  auto after = AllTotals();
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*after, *before);
  ExpectSummaryExact("back-filled");
  Apply({In(Count("f", 1, kW + 600, "orders", "aggregate"))});
  ExpectSummaryExact("applied after the back-fill");
}

// The totals of a range and of a list of names: only windows beginning in the
// range (not the rest of their buckets), names in byte order.
TEST_P(StoreSuite, TheWindowTotalsOfARangeAndOfSomeNames) {
  Apply({In(Count("1", 1, kW - 600, "gamma")), In(Count("2", 2, kW, "gamma")), In(Count("3", 3, kW + 600, "gamma")),
         In(Count("4", 4, kW, "Zeta")), In(Count("5", 5, kW, "b-c")), In(Count("6", 6, kW, "bc"))});
  auto counts = [](const std::vector<TierTotals>& totals) {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& t : totals) {
      for (const auto& w : t.windows) out.emplace_back(t.topic, w.count);
    }
    return out;
  };
  auto range = store_->QueryWindowTotals(kW, kW + 600);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(counts(*range), (std::vector<std::pair<std::string, int64_t>>{{"Zeta", 4}, {"b-c", 5}, {"bc", 6}, {"gamma", 2}}));
  const std::vector<std::string> some = {"gamma", "nope", "b-c", "bc"};
  auto listed = store_->QueryWindowTotals(kW - 600, kW + 1200, some);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(counts(*listed),
            (std::vector<std::pair<std::string, int64_t>>{{"b-c", 5}, {"bc", 6}, {"gamma", 1}, {"gamma", 2}, {"gamma", 3}}));
  // One topic (the overview's read).
  for (const std::string name : {"gamma", "Zeta", "b-c"}) {
    auto one = store_->QueryWindowTotals(kW - 600, kW + 1200, std::span<const std::string>(&name, 1));
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    ASSERT_EQ(one->size(), 1u) << name;
    EXPECT_EQ(one->front().topic, name);
  }
  const std::string zeta = "zeta";  // names are case-sensitive
  EXPECT_TRUE(store_->QueryWindowTotals(kW - 600, kW + 1200, std::span<const std::string>(&zeta, 1))->empty());
}

TEST_P(StoreSuite, HostileNamesAreStoredAndReadBackVerbatim) {
  const std::vector<std::string> names = {
      "'; DROP TABLE windows; --", "x\" OR \"1\"=\"1", "Robert'); DELETE FROM applied_uuids;--",
      "back\\slash", "unicode-ü-漢字-🙂", "$1", "?1", "%_%"};
  std::vector<Incoming> batch;
  int i = 0;
  for (const auto& n : names) {
    AuditRecord r = Count("u-" + n, ++i, kW, n, n);
    r.datacenter = n;
    r.cluster = n;
    r.emitter_id = n;
    r.seq = 0;
    r.partitions = {{1, i, 0, i - 1, 0}};
    r.flush_id = n;
    batch.push_back(In(r, n));
  }
  batch.push_back(Garbage(names[0], names[1], names[2]));
  Apply(batch, {{names[0], names[1], 0, 3}});
  auto topics = store_->ListTopics();
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), names.size());
  i = 0;
  for (const auto& n : names) {
    ++i;
    auto rows = store_->QueryWindows(n, n, kW, kW + 1);
    ASSERT_TRUE(rows.ok()) << n;
    ASSERT_EQ(rows->size(), 1u) << n;
    EXPECT_EQ((*rows)[0].topic, n);
    EXPECT_EQ((*rows)[0].tier, n);
    EXPECT_EQ((*rows)[0].datacenter, n);
    EXPECT_EQ((*rows)[0].cluster, n);
    EXPECT_EQ((*rows)[0].count, i);
    auto parts = store_->QueryPartitions(n, n, kW);
    ASSERT_TRUE(parts.ok());
    EXPECT_EQ(parts->size(), 1u);
    auto e = store_->QueryEmitters(n);
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->size(), 1u);
    EXPECT_EQ((*e)[0].emitter_id, n);
  }
  auto q = store_->QueryQuarantine(1);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ((*q)[0].raw, names[0]);
  EXPECT_EQ((*q)[0].reason, names[1]);
  EXPECT_EQ((*q)[0].source, names[2]);
  auto p = store_->LoadPositions(names[0], names[1]);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 1u);
  // Sending them again: all duplicates (the uuids matched verbatim).
  EXPECT_EQ(Apply(batch).duplicates, static_cast<int64_t>(names.size()));
}

TEST_P(StoreSuite, QueriesFilterByTopicTierAndRange) {
  Apply({In(Count("a", 1, kW)), In(Count("b", 2, kW + 600)), In(Count("c", 3, kW + 1200)),
         In(Count("d", 4, kW, "orders", "producer")), In(Count("e", 5, kW, "payments"))});
  auto rows = store_->QueryWindows("orders", std::nullopt, kW, kW + 1200);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].tier, "producer");  // ordered by window, tier
  EXPECT_EQ((*rows)[1].tier, "regional");
  EXPECT_EQ((*rows)[2].window_begin_sec, kW + 600);
  EXPECT_EQ((*rows)[2].window_end_sec, kW + 1200);
  EXPECT_EQ((*rows)[2].updated_ms, kNow);
  auto all = store_->QueryAllWindows(kW, kW + 600);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].topic, "orders");
  EXPECT_EQ((*all)[2].topic, "payments");
  auto topics = store_->ListTopics();
  ASSERT_TRUE(topics.ok());
  ASSERT_EQ(topics->size(), 2u);
  EXPECT_EQ((*topics)[0].topic, "orders");
  EXPECT_EQ((*topics)[0].tiers, (std::vector<std::string>{"producer", "regional"}));
  EXPECT_EQ((*topics)[0].first_window_sec, kW);
  EXPECT_EQ((*topics)[0].last_window_sec, kW + 1200);
  EXPECT_EQ((*topics)[0].last_updated_ms, kNow);
}

// Two writers (two collectors) on one store, the same window rows: nothing is lost.
TEST_P(StoreSuite, ConcurrentWritersAddUpExactly) {
  auto other = Store::Open(url_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  constexpr int kBatches = 30, kPerBatch = 20;
  auto writer = [&](Store* s, const std::string& prefix, int partition) {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Incoming> batch;
      for (int i = 0; i < kPerBatch; ++i) {
        AuditRecord r = Count(prefix + std::to_string(b * kPerBatch + i), 1, kW + 600 * (i % 3));
        r.emitter_id = "shared-emitter";  // both writers update one emitter row
        r.seq = b * kPerBatch + i;
        batch.push_back(In(r));
      }
      for (int attempt = 0;; ++attempt) {
        auto r = s->Apply(batch, {{"g", "t", partition, b + 1}}, kNow);
        if (r.ok()) break;
        // Deadlocks / busy: the collector retries the whole batch; so do we.
        ASSERT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
        ASSERT_LT(attempt, 100) << r.status().ToString();
      }
    }
  };
  std::thread t1(writer, store_.get(), "x", 0);
  std::thread t2(writer, other->get(), "y", 1);
  t1.join();
  t2.join();
  auto rows = store_->QueryWindows("orders", "regional", kW, kW + 1800);
  ASSERT_TRUE(rows.ok());
  int64_t total = 0;
  for (const auto& w : *rows) total += w.count;
  EXPECT_EQ(total, 2 * kBatches * kPerBatch);
  auto e = store_->QueryEmitters(std::nullopt);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ((*e)[0].last_seq, kBatches * kPerBatch - 1);
  EXPECT_EQ((*e)[0].missing_records, 0);  // each seq arrived twice (two uuids); no gap remains
  ExpectSummaryExact("two writers");
}

// Two collectors given the same records at once (a redelivery racing its
// original): each uuid is claimed by exactly one of them.
TEST_P(StoreSuite, ConcurrentWritersOfTheSameRecordsApplyEachOnce) {
  auto other = Store::Open(url_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  constexpr int kBatches = 20, kPerBatch = 50;
  std::atomic<int64_t> applied{0};
  auto writer = [&](Store* s, int offset) {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<Incoming> batch;
      for (int i = 0; i < kPerBatch; ++i) {
        int n = (b * kPerBatch + i + offset) % (kBatches * kPerBatch);  // the two overlap in every batch
        batch.push_back(In(Count("same" + std::to_string(n), 1, kW + 600 * (n % 3))));
      }
      for (int attempt = 0;; ++attempt) {
        auto r = s->Apply(batch, {}, kNow);
        if (r.ok()) {
          applied += r->applied;
          break;
        }
        ASSERT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
        ASSERT_LT(attempt, 100) << r.status().ToString();
      }
    }
  };
  std::thread t1(writer, store_.get(), 0);
  std::thread t2(writer, other->get(), kPerBatch / 2);
  t1.join();
  t2.join();
  EXPECT_EQ(applied.load(), kBatches * kPerBatch);
  auto rows = store_->QueryWindows("orders", "regional", kW, kW + 1800);
  ASSERT_TRUE(rows.ok());
  int64_t total = 0;
  for (const auto& w : *rows) total += w.count;
  EXPECT_EQ(total, kBatches * kPerBatch);
  ExpectSummaryExact("two writers of the same records");
}

}  // namespace
}  // namespace chaperone::store
