#include "chaperone/emitter.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <set>

namespace chaperone {
namespace {

TEST(NewUuid, IsAVersionFourUuid) {
  const std::regex v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  for (int i = 0; i < 1000; ++i) {
    std::string u = NewUuid();
    ASSERT_TRUE(std::regex_match(u, v4)) << u;
  }
}

TEST(NewUuid, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(seen.insert(NewUuid()).second);
}

TEST(NewUuid, ForkedChildDoesNotRepeatItsParent) {
  NewUuid();  // the parent's generator is seeded before the fork
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string u = NewUuid();
    ssize_t n = write(fds[1], u.data(), u.size());
    _exit(n == static_cast<ssize_t>(u.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string parent = NewUuid();
  char buf[64] = {};
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_EQ(n, 36);
  EXPECT_NE(std::string(buf, 36), parent);
}

TEST(MakeEmitterIdentity, FillsHostnameAndAUniqueEmitterId) {
  FakeClock clock(1'795'303'000'123);
  EmitterIdentity a = MakeEmitterIdentity("regional", "dc1", "regional-dc1", clock);
  EmitterIdentity b = MakeEmitterIdentity("regional", "dc1", "regional-dc1", clock);
  EXPECT_EQ(a.tier, "regional");
  EXPECT_EQ(a.datacenter, "dc1");
  EXPECT_EQ(a.cluster, "regional-dc1");
  EXPECT_FALSE(a.hostname.empty());
  std::string prefix = a.hostname + "-" + std::to_string(getpid()) + "-1795303000123-";
  EXPECT_EQ(a.emitter_id.rfind(prefix, 0), 0u) << a.emitter_id;
  EXPECT_EQ(a.emitter_id.size(), prefix.size() + 8);
  EXPECT_NE(a.emitter_id, b.emitter_id);  // same process, same millisecond: the random part differs
}

TEST(Emitter, StampsGapFreeSequenceAndIdentity) {
  Emitter e(EmitterIdentity{"producer", "dc2", "c1", "host-a", "host-a-1-2-3"});
  EXPECT_EQ(e.next_seq(), 0);
  std::string flush = e.BeginFlush();
  std::set<std::string> uuids;
  for (int i = 0; i < 5; ++i) {
    AuditRecord r;
    r.version = 0;  // Stamp makes it a version 1 record
    e.Stamp(r);
    EXPECT_EQ(r.version, kAuditRecordVersion);
    EXPECT_EQ(r.seq, i);
    EXPECT_EQ(r.tier, "producer");
    EXPECT_EQ(r.datacenter, "dc2");
    EXPECT_EQ(r.cluster, "c1");
    EXPECT_EQ(r.hostname, "host-a");
    EXPECT_EQ(r.emitter_id, "host-a-1-2-3");
    EXPECT_EQ(r.flush_id, flush);
    EXPECT_TRUE(uuids.insert(r.uuid).second);
  }
  EXPECT_EQ(e.next_seq(), 5);
  std::string next = e.BeginFlush();
  EXPECT_NE(next, flush);
  AuditRecord r;
  e.Stamp(r);
  EXPECT_EQ(r.flush_id, next);
  EXPECT_EQ(r.seq, 5);
}

TEST(Emitter, StampWithoutBeginFlushStartsOne) {
  Emitter e(MakeEmitterIdentity("t", "dc", "c"));
  AuditRecord r;
  e.Stamp(r);
  EXPECT_FALSE(r.flush_id.empty());
  EXPECT_EQ(r.flush_id, e.flush_id());
}

TEST(Emitter, HeartbeatIsStampedAndValid) {
  Emitter e(MakeEmitterIdentity("consumer:billing", "dc1", "aggregate"));
  AuditRecord count;
  count.topic = "orders";
  count.window_begin_sec = 600;
  count.window_end_sec = 1200;
  count.count = 0;
  count.total_bytes = count.no_time_count = count.malformed_count = 0;
  count.latency50_ms = 0;
  count.digest = 0;
  e.Stamp(count);
  EXPECT_TRUE(ValidateAuditRecord(count).ok()) << ValidateAuditRecord(count).ToString();

  AuditRecord hb = e.Heartbeat(1'795'304'460'123, 600, 3, 4);
  EXPECT_EQ(hb.kind, RecordKind::kHeartbeat);
  EXPECT_EQ(hb.seq, 1);
  EXPECT_EQ(hb.watermark_ms, 1'795'304'460'123);
  EXPECT_EQ(hb.window_sec, 600);
  EXPECT_EQ(hb.dropped_records, 3);
  EXPECT_EQ(hb.failed_deliveries, 4);
  EXPECT_EQ(hb.tier, "consumer:billing");
  EXPECT_TRUE(ValidateAuditRecord(hb).ok()) << ValidateAuditRecord(hb).ToString();
  auto back = DecodeAuditRecord(EncodeAuditRecord(hb));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, hb);
}

}  // namespace
}  // namespace chaperone
