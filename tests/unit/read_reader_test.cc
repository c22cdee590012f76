// The event-time reader and the window diff (src/read) over in-memory
// partition logs (support/fake_span_reader.h) and a real SQLite store that
// holds the tiers' audit, written as the audit service writes it (the audit
// library's per-partition WindowTracker, its Emitter, Store::Apply). What a
// read must return is computed here from the event times the test gave the
// messages, never by the reader.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "chaperone/digest.h"
#include "chaperone/emitter.h"
#include "chaperone/window_tracker.h"
#include "read/diff.h"
#include "read/output.h"
#include "read/reader.h"
#include "store/store.h"
#include "support/fake_span_reader.h"
#include "support/process.h"

namespace chaperone::read {
namespace {

using test::FakeClusterReaders;
using test::FakeRecord;
using test::FakeSpanReader;

constexpr int64_t kWindowSec = 60;
constexpr int64_t kStartSec = 1'796'600'000 / kWindowSec * kWindowSec;
constexpr const char* kTopic = "orders";

struct Msg {
  int64_t id;
  int64_t event_ms;
  int32_t partition;
};

std::string ValueOf(const Msg& m) { return "{\"ts\":" + std::to_string(m.event_ms) + ",\"id\":" + std::to_string(m.id) + "}"; }
std::string KeyOf(int64_t id) { return "k-" + std::to_string(id); }

// The audit of one cluster's log as the service writes it: counts, digests
// and first/last offsets per (window, partition), and a heartbeat.
void Audit(store::Store& store, const std::string& tier, const std::string& cluster, const std::string& datacenter,
           FakeSpanReader& log, int partitions) {
  WindowTracker tracker({.window_sec = kWindowSec, .by_partition = true});
  const TopicId id = tracker.InternTopic(kTopic);
  const TimestampChain& chain = TimestampChain::Default();
  for (int32_t p = 0; p < partitions; ++p) {
    for (const FakeRecord& r : log.Log(kTopic, p)) {
      MessageView v;
      v.key_null = !r.key;
      if (r.key) v.key = *r.key;
      v.value_null = !r.value;
      if (r.value) v.value = *r.value;
      v.record_timestamp_ms = r.timestamp_ms;
      const EventTime et = chain.Extract(v);
      Observation o;
      o.topic = id;
      o.partition = p;
      o.offset = r.offset;
      o.event_ms = et.found ? et.ms : -1;
      o.observed_ms = (kStartSec + 100 * kWindowSec) * 1000;
      o.bytes = static_cast<uint32_t>(v.key.size() + v.value.size());
      o.digest = MessageDigest(v.key, v.key_null, v.value, v.value_null);
      tracker.Add(o);
    }
  }
  Emitter emitter(MakeEmitterIdentity(tier, datacenter, cluster));
  emitter.BeginFlush();
  std::vector<store::Incoming> batch;
  for (const WindowSnapshot& s : tracker.Drain()) {
    AuditRecord rec;
    FillAuditRecord(s, &rec);
    emitter.Stamp(rec);
    batch.push_back({.record = rec, .raw = "{}", .error = "", .source = "test"});
  }
  const int64_t now_ms = (kStartSec + 100 * kWindowSec) * 1000;
  AuditRecord beat = emitter.Heartbeat(now_ms, kWindowSec, 0, 0);
  batch.push_back({.record = beat, .raw = "{}", .error = "", .source = "test"});
  auto applied = store.Apply(batch, {}, now_ms);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  ASSERT_EQ(applied->quarantined, 0);
}

class ReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::Store::Open("sqlite:" + dir_.File("store.db"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    // 600 messages over 4 windows, 3 partitions; a third of them arrive up
    // to two windows late, so each partition's windows interleave.
    std::mt19937_64 rng(7);
    std::vector<std::pair<int64_t, Msg>> arrivals;
    for (int64_t i = 0; i < 600; ++i) {
      Msg m{i, kStartSec * 1000 + static_cast<int64_t>(rng() % (4 * kWindowSec * 1000)),
            static_cast<int32_t>(rng() % 3)};
      int64_t arrival = m.event_ms + (i % 3 == 0 ? static_cast<int64_t>(rng() % (2 * kWindowSec * 1000)) : 0);
      arrivals.emplace_back(arrival, m);
    }
    std::stable_sort(arrivals.begin(), arrivals.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [arrival, m] : arrivals) {
      msgs_.push_back(m);
      offsets_[m.id] = regional().Append(kTopic, m.partition, Record(m, arrival));
    }
  }

  static FakeRecord Record(const Msg& m, int64_t arrival_ms) {
    FakeRecord r;
    r.key = KeyOf(m.id);
    r.value = ValueOf(m);
    r.timestamp_ms = arrival_ms;
    r.headers = {{"source", "test"}};
    return r;
  }

  FakeSpanReader& regional() { return clusters_.Cluster("regional"); }
  FakeSpanReader& aggregate() { return clusters_.Cluster("aggregate"); }

  // (partition, offset) of every message with event time in [from, to).
  std::set<std::pair<int32_t, int64_t>> Expected(int64_t from_ms, int64_t to_ms) const {
    std::set<std::pair<int32_t, int64_t>> out;
    for (const Msg& m : msgs_)
      if (m.event_ms >= from_ms && m.event_ms < to_ms) out.insert({m.partition, offsets_.at(m.id)});
    return out;
  }

  struct Got {
    Result<ReadReport> report = Status::Internal("not run");
    std::set<std::pair<int32_t, int64_t>> read;
    std::vector<std::string> json;
  };
  Got Read(ReadRequest req) {
    Got g;
    g.report = ReadEventTime(*store_, clusters_, rules_, req, [&](const ReadMessage& m) {
      EXPECT_TRUE(g.read.insert({m.message.partition, m.message.offset}).second) << "handed twice";
      std::string line;
      AppendMessageJson(m, &line);
      g.json.push_back(line);
      return true;
    });
    return g;
  }

  test::TempDir dir_{"chaperone-read-test"};
  std::unique_ptr<store::Store> store_;
  FakeClusterReaders clusters_;
  TimestampRules rules_;
  std::vector<Msg> msgs_;
  std::map<int64_t, int64_t> offsets_;  // id -> offset in regional
};

TEST_F(ReadTest, ARangeThatCutsWindowsGetsExactlyItsMessagesAndEverySpanMatchesTheAudit) {
  Audit(*store_, "regional", "regional", "dc1", regional(), 3);
  for (auto [from, to] : {std::pair{kStartSec * 1000 + 30'000, kStartSec * 1000 + 150'000},
                          std::pair{kStartSec * 1000, (kStartSec + 4 * kWindowSec) * 1000},
                          std::pair{kStartSec * 1000 + 61'234, kStartSec * 1000 + 61'999}}) {
    ReadRequest req{.topic = kTopic, .from_ms = from, .to_ms = to};
    Got g = Read(req);
    ASSERT_TRUE(g.report.ok()) << g.report.status().ToString();
    EXPECT_EQ(g.read, Expected(from, to)) << from << ".." << to;
    EXPECT_EQ(g.report->tier, "regional");
    EXPECT_TRUE(g.report->Complete());
    EXPECT_FALSE(g.report->checks.empty());
    for (const SpanCheck& c : g.report->checks) EXPECT_EQ(c.read, c.audited);
    EXPECT_EQ(g.report->handed, static_cast<int64_t>(g.read.size()));
  }
}

TEST_F(ReadTest, TheJsonLineCarriesKeyValueHeadersAndTimes) {
  Audit(*store_, "regional", "regional", "dc1", regional(), 3);
  const Msg& m = msgs_.front();
  ReadRequest req{.topic = kTopic, .from_ms = m.event_ms, .to_ms = m.event_ms + 1, .key = KeyOf(m.id)};
  Got g = Read(req);
  ASSERT_TRUE(g.report.ok()) << g.report.status().ToString();
  ASSERT_EQ(g.json.size(), 1u);
  const std::string& line = g.json[0];
  EXPECT_NE(line.find("\"key\":\"" + KeyOf(m.id) + "\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"eventTime\":" + std::to_string(m.event_ms)), std::string::npos) << line;
  EXPECT_NE(line.find("\"partition\":" + std::to_string(m.partition)), std::string::npos) << line;
  EXPECT_NE(line.find("\"headers\":[{\"name\":\"source\",\"value\":\"test\"}]"), std::string::npos) << line;
  EXPECT_NE(line.find("\"cluster\":\"regional\",\"datacenter\":\"dc1\""), std::string::npos) << line;
}

TEST_F(ReadTest, BinaryBytesAreWrittenInBase64) {
  const std::string key("\xff\x00\x01", 3), value("\xc3\x28", 2), cluster = "c", dc = "dc";
  kafka::Message msg;
  msg.view.key = key;
  msg.view.key_null = false;
  msg.view.value = value;
  msg.view.value_null = false;
  std::string line;
  AppendMessageJson(ReadMessage{cluster, dc, msg, 5, 0}, &line);
  EXPECT_NE(line.find("\"keyBase64\":\"/wAB\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"valueBase64\":\"wyg=\""), std::string::npos) << line;
}

TEST_F(ReadTest, AMessageTheLogLostMakesItsSpanDiffer) {
  Audit(*store_, "regional", "regional", "dc1", regional(), 3);
  const Msg lost = msgs_[100];
  regional().Erase(kTopic, lost.partition, offsets_[lost.id]);
  const int64_t w = lost.event_ms / 1000 / kWindowSec * kWindowSec;
  Got g = Read({.topic = kTopic, .from_ms = w * 1000, .to_ms = (w + kWindowSec) * 1000});
  ASSERT_TRUE(g.report.ok()) << g.report.status().ToString();
  EXPECT_FALSE(g.report->Complete());
  int differing = 0;
  for (const SpanCheck& c : g.report->checks) {
    if (c.state == SpanState::kComplete) continue;
    ++differing;
    EXPECT_EQ(c.state, SpanState::kDiffers);
    EXPECT_EQ(c.partition, lost.partition);
    EXPECT_EQ(c.window_begin_sec, w);
    EXPECT_EQ(c.read, c.audited - 1);
  }
  EXPECT_EQ(differing, 1);
}

TEST_F(ReadTest, SpansRetentionDeletedAreReportedAsExpiredWithTheirCounts) {
  Audit(*store_, "regional", "regional", "dc1", regional(), 3);
  // Partition 0 loses everything up to the middle of its log; partition 1
  // nothing.
  const auto& log0 = regional().Log(kTopic, 0);
  const int64_t cut = log0[log0.size() / 2].offset;
  regional().SetLogStart(kTopic, 0, cut);
  Got g = Read({.topic = kTopic, .from_ms = kStartSec * 1000, .to_ms = (kStartSec + 4 * kWindowSec) * 1000});
  ASSERT_TRUE(g.report.ok()) << g.report.status().ToString();
  int expired = 0, partly = 0;
  for (const SpanCheck& c : g.report->checks) {
    if (c.partition != 0) {
      EXPECT_EQ(c.state, SpanState::kComplete) << c.partition;
      continue;
    }
    if (c.last_offset < cut) {
      EXPECT_EQ(c.state, SpanState::kExpired);
      EXPECT_EQ(c.expired_offsets, c.last_offset - c.first_offset + 1);
      EXPECT_EQ(c.read, 0);
      ++expired;
    } else if (c.first_offset < cut) {
      EXPECT_EQ(c.state, SpanState::kPartlyExpired);
      EXPECT_EQ(c.expired_offsets, cut - c.first_offset);
      EXPECT_LT(c.read, c.audited);
      ++partly;
    } else {
      EXPECT_EQ(c.state, SpanState::kComplete);
    }
  }
  EXPECT_GT(expired + partly, 0);
  // What is left is still handed over, exactly.
  std::set<std::pair<int32_t, int64_t>> want;
  for (auto [p, o] : Expected(kStartSec * 1000, (kStartSec + 4 * kWindowSec) * 1000))
    if (p != 0 || o >= cut) want.insert({p, o});
  EXPECT_EQ(g.read, want);
}

TEST_F(ReadTest, ALogTruncatedBelowTheAuditedOffsetsMakesThoseSpansDiffer) {
  Audit(*store_, "regional", "regional", "dc1", regional(), 3);
  const auto& log2 = regional().Log(kTopic, 2);
  const int64_t end = log2[log2.size() / 3].offset;
  regional().Truncate(kTopic, 2, end);
  Got g = Read({.topic = kTopic, .from_ms = kStartSec * 1000, .to_ms = (kStartSec + 4 * kWindowSec) * 1000});
  ASSERT_TRUE(g.report.ok()) << g.report.status().ToString();
  int differing = 0;
  for (const SpanCheck& c : g.report->checks) {
    if (c.partition == 2 && c.last_offset >= end) {
      EXPECT_EQ(c.state, SpanState::kDiffers);
      EXPECT_LT(c.read, c.audited);
      ++differing;
    } else {
      EXPECT_EQ(c.state, SpanState::kComplete);
    }
  }
  EXPECT_GT(differing, 0);
}

TEST_F(ReadTest, FiltersAndTheLimit) {
  Audit(*store_, "regional", "regional", "dc1", regional(), 3);
  const int64_t from = kStartSec * 1000, to = (kStartSec + 4 * kWindowSec) * 1000;
  Got p1 = Read({.topic = kTopic, .from_ms = from, .to_ms = to, .partition = 1});
  ASSERT_TRUE(p1.report.ok());
  std::set<std::pair<int32_t, int64_t>> want;
  for (auto e : Expected(from, to))
    if (e.first == 1) want.insert(e);
  EXPECT_EQ(p1.read, want);
  for (const SpanCheck& c : p1.report->checks) EXPECT_EQ(c.partition, 1);

  Got limited = Read({.topic = kTopic, .from_ms = from, .to_ms = to, .limit = 10});
  ASSERT_TRUE(limited.report.ok());
  EXPECT_EQ(limited.read.size(), 10u);
  EXPECT_TRUE(limited.report->limited);

  Got none = Read({.topic = kTopic, .from_ms = from, .to_ms = to, .key = "no-such-key"});
  ASSERT_TRUE(none.report.ok());
  EXPECT_TRUE(none.read.empty());
  EXPECT_TRUE(none.report->Complete()) << "every message is still checked";
}

TEST_F(ReadTest, BadRequestsAndUnknownPlacesAreClearErrors) {
  Audit(*store_, "regional", "regional", "dc1", regional(), 3);
  Got empty = Read({.topic = kTopic, .from_ms = 5, .to_ms = 5});
  EXPECT_EQ(empty.report.status().code(), Status::Code::kInvalidArgument);
  Got nothing = Read({.topic = "other", .from_ms = kStartSec * 1000, .to_ms = kStartSec * 1000 + 1});
  EXPECT_EQ(nothing.report.status().code(), Status::Code::kNotFound);
  Got tier = Read({.topic = kTopic, .from_ms = kStartSec * 1000, .to_ms = kStartSec * 1000 + 1, .tier = "aggregate"});
  EXPECT_EQ(tier.report.status().code(), Status::Code::kNotFound);
  EXPECT_NE(tier.report.status().message().find("regional"), std::string::npos) << "names the tiers it has";
  // The audit names a cluster nobody configured.
  Audit(*store_, "aggregate", "elsewhere", "dc1", regional(), 3);
  Got unknown = Read({.topic = kTopic, .from_ms = kStartSec * 1000, .to_ms = kStartSec * 1000 + 1000});
  EXPECT_EQ(unknown.report.status().code(), Status::Code::kNotFound);
  EXPECT_NE(unknown.report.status().message().find("elsewhere"), std::string::npos);
  // A cluster that fails mid-read fails the read.
  regional().FailNext(Status::Unavailable("broker down"));
  Got failed = Read({.topic = kTopic, .from_ms = kStartSec * 1000, .to_ms = kStartSec * 1000 + 1000, .tier = "regional"});
  EXPECT_EQ(failed.report.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(failed.report.status().message().find("regional"), std::string::npos);
}

TEST(ReadTimes, RfcTimesAndEpochNumbers) {
  EXPECT_EQ(*ParseTimeMs("2026-12-07T10:40:00Z"), 1796640000000);
  EXPECT_EQ(*ParseTimeMs("1796640000"), 1796640000000);
  EXPECT_EQ(*ParseTimeMs("1796640000123"), 1796640000123);
  for (const char* bad : {"", "yesterday", "12abc", "-5", "2026-13-01T00:00:00Z"}) {
    auto r = ParseTimeMs(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

// The diff: the aggregate copy drops three messages, duplicates two, holds
// one that the regional never had, and in one window a drop masked by a
// duplicate (same count, other content).
class DiffTest : public ReadTest {
 protected:
  void SetUp() override {
    ReadTest::SetUp();
    // The masked loss: 150 dropped, and the next message of its window
    // (other than the stranger's window) duplicated.
    masked_window_ = WindowOf(150);
    for (const Msg& m : msgs_) {
      if (m.id != 150 && !dropped_.count(m.id) && WindowOf(m.id) == masked_window_ &&
          masked_window_ != WindowOf(msgs_[0].id) && m.id > 150) {
        masked_dup_ = m.id;
        break;
      }
    }
    ASSERT_GE(masked_dup_, 0) << "no second message in the window of 150";
    duplicated_.insert(masked_dup_);
    for (int64_t id : dropped_) {
      if (id != 150) {
        ASSERT_NE(WindowOf(id), masked_window_) << "only the masked loss in that window";
      }
    }
    for (int64_t id : duplicated_) {
      if (id != masked_dup_) {
        ASSERT_NE(WindowOf(id), masked_window_);
      }
    }
    for (const Msg& m : msgs_) {
      if (dropped_.count(m.id)) continue;
      aggregate().Append(kTopic, m.partition, Record(m, m.event_ms));
      if (duplicated_.count(m.id)) aggregate().Append(kTopic, m.partition, Record(m, m.event_ms));
    }
    Msg stranger{9999, msgs_[0].event_ms, 0};
    aggregate().Append(kTopic, 0, Record(stranger, stranger.event_ms));
    Audit(*store_, "regional", "regional", "dc1", regional(), 3);
    Audit(*store_, "aggregate", "aggregate", "dc1", aggregate(), 3);
  }
  int64_t WindowOf(int64_t id) const {
    for (const Msg& m : msgs_)
      if (m.id == id) return m.event_ms / 1000 / kWindowSec * kWindowSec;
    return -1;
  }
  std::set<int64_t> dropped_ = {3, 200, 401, 150};
  std::set<int64_t> duplicated_ = {7};
  int64_t masked_window_ = -1;
  int64_t masked_dup_ = -1;
};

TEST_F(DiffTest, ListsExactlyTheMissingDuplicatedAndExtraMessagesOfAWindow) {
  std::set<int64_t> windows;
  for (const Msg& m : msgs_) windows.insert(m.event_ms / 1000 / kWindowSec * kWindowSec);
  int64_t missing = 0, duplicated = 0, extra = 0;
  for (int64_t w : windows) {
    std::vector<DiffItem> items;
    DiffRequest req{.topic = kTopic, .window_ms = w * 1000 + 17, .source_tier = "regional", .target_tier = "aggregate"};
    auto r = DiffWindow(*store_, clusters_, rules_, req, [&](const DiffItem& it) { items.push_back(it); });
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->window_begin_sec, w);
    EXPECT_TRUE(r->source.Complete());
    EXPECT_TRUE(r->target.Complete());
    std::set<int64_t> want_missing, want_dup;
    for (int64_t id : dropped_)
      if (WindowOf(id) == w) want_missing.insert(id);
    for (int64_t id : duplicated_)
      if (WindowOf(id) == w) want_dup.insert(id);
    std::set<int64_t> got_missing, got_dup, got_extra;
    for (const DiffItem& it : items) {
      const auto& copies = it.kind == DiffKind::kMissing ? it.source : it.target;
      ASSERT_FALSE(copies.empty());
      ASSERT_TRUE(copies[0].have_message);
      ASSERT_TRUE(copies[0].key.has_value());
      const int64_t id = std::stoll(copies[0].key->substr(2));
      (it.kind == DiffKind::kMissing ? got_missing : it.kind == DiffKind::kDuplicated ? got_dup : got_extra).insert(id);
      EXPECT_EQ(it.copies, 1);
      if (it.kind == DiffKind::kMissing) {
        EXPECT_EQ(copies[0].cluster, "regional");
        EXPECT_EQ(copies[0].offset, offsets_[id]) << "the source offset of the missing message";
      }
    }
    EXPECT_EQ(got_missing, want_missing) << "window " << w;
    EXPECT_EQ(got_dup, want_dup) << "window " << w;
    EXPECT_EQ(r->missing, static_cast<int64_t>(want_missing.size()));
    EXPECT_EQ(r->duplicated, static_cast<int64_t>(want_dup.size()));
    if (w == WindowOf(msgs_[0].id)) {
      EXPECT_EQ(got_extra, std::set<int64_t>{9999});
    } else {
      EXPECT_TRUE(got_extra.empty());
    }
    missing += r->missing;
    duplicated += r->duplicated;
    extra += r->extra;
  }
  EXPECT_EQ(missing, static_cast<int64_t>(dropped_.size()));
  EXPECT_EQ(duplicated, static_cast<int64_t>(duplicated_.size()));
  EXPECT_EQ(extra, 1);
}

TEST_F(DiffTest, ALossMaskedByADuplicateIsFoundAndTheLimitKeepsCountsExact) {
  DiffRequest req{.topic = kTopic, .window_ms = masked_window_ * 1000, .source_tier = "regional",
                  .target_tier = "aggregate"};
  std::vector<DiffItem> items;
  auto r = DiffWindow(*store_, clusters_, rules_, req, [&](const DiffItem& it) { items.push_back(it); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source.messages, r->target.messages) << "the counts agree: the loss is masked";
  EXPECT_EQ(r->missing, 1);
  EXPECT_EQ(r->duplicated, 1);
  ASSERT_EQ(items.size(), 2u);
  for (const DiffItem& it : items) {
    const DiffCopy& c = it.kind == DiffKind::kMissing ? it.source.at(0) : it.target.at(0);
    EXPECT_EQ(*c.key, KeyOf(it.kind == DiffKind::kMissing ? 150 : masked_dup_));
  }
  // Limit 0: nothing listed, the counts unchanged.
  req.limit = 0;
  items.clear();
  auto limited = DiffWindow(*store_, clusters_, rules_, req, [&](const DiffItem& it) { items.push_back(it); });
  ASSERT_TRUE(limited.ok());
  EXPECT_TRUE(items.empty());
  EXPECT_TRUE(limited->truncated);
  EXPECT_EQ(limited->missing, 1);
  EXPECT_EQ(limited->duplicated, 1);
}

TEST_F(DiffTest, SpillingPastTheBudgetGivesTheSameAnswer) {
  const int64_t w = WindowOf(200);
  auto run = [&](int64_t budget) {
    std::vector<std::pair<int, int64_t>> out;
    DiffRequest req{.topic = kTopic, .window_ms = w * 1000, .source_tier = "regional", .target_tier = "aggregate",
                    .with_messages = false, .memory_budget = budget, .spill_dir = dir_.path()};
    auto r = DiffWindow(*store_, clusters_, rules_, req, [&](const DiffItem& it) {
      out.emplace_back(static_cast<int>(it.kind), it.kind == DiffKind::kMissing ? it.source[0].offset : it.target[0].offset);
    });
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::pair{out, r.ok() ? r->diff.runs_spilled : -1};
  };
  auto [small, spilled] = run(1024);
  auto [big, none] = run(int64_t{64} << 20);
  EXPECT_EQ(small, big);
  EXPECT_GT(spilled, 0);
  EXPECT_EQ(none, 0);
}

TEST_F(DiffTest, BadTiersAndWindowsAreClearErrors) {
  auto run = [&](DiffRequest req) { return DiffWindow(*store_, clusters_, rules_, req, [](const DiffItem&) {}); };
  EXPECT_EQ(run({.topic = kTopic, .window_ms = kStartSec * 1000, .source_tier = "regional", .target_tier = "regional"})
                .status()
                .code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(run({.topic = kTopic, .window_ms = 1000, .source_tier = "regional", .target_tier = "aggregate"}).status().code(),
            Status::Code::kNotFound);
  EXPECT_EQ(
      run({.topic = kTopic, .window_ms = kStartSec * 1000, .source_tier = "regional", .target_tier = "consumer:x"})
          .status()
          .code(),
      Status::Code::kNotFound);
}

}  // namespace
}  // namespace chaperone::read
