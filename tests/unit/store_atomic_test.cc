// Store::Apply is all or nothing: a failure in the middle of a batch leaves no trace.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "store/store.h"

namespace chaperone::store {
namespace {

AuditRecord Rec(const std::string& uuid, int64_t count, int32_t partition = -1) {
  AuditRecord r;
  r.topic = "orders";
  r.tier = "regional";
  r.datacenter = "dc1";
  r.cluster = "c";
  r.uuid = uuid;
  r.window_begin_sec = 600;
  r.window_end_sec = 1200;
  r.count = count;
  r.digest = 1;
  r.flush_id = "f-" + uuid;
  if (partition >= 0) r.partitions = {{partition, count, 0, count - 1, 0}};
  return r;
}

Incoming In(AuditRecord r) {
  Incoming in;
  in.raw = "{}";
  in.record = std::move(r);
  return in;
}

TEST(StoreAtomicity, AFailedBatchChangesNothing) {
  char d[] = "/tmp/chaperone-atomic-test-XXXXXX";
  ASSERT_NE(mkdtemp(d), nullptr);
  std::string path = std::string(d) + "/c.db";
  {
    auto store = Store::Open("sqlite:" + path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Apply({In(Rec("a", 5, 0))}, {{"g", "t", 0, 1}}, 1).ok());
  }
  // Damage the stored chunk so that a replay of it fails mid-batch.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE chunks SET contributions = '[[1,2]]'", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto store = Store::Open("sqlite:" + path);
  ASSERT_TRUE(store.ok());
  Incoming garbage;
  garbage.raw = "junk";
  garbage.error = "bad";
  garbage.source = "t/0@1";
  AuditRecord heartbeat = Rec("hb", 0);
  heartbeat.kind = RecordKind::kHeartbeat;
  heartbeat.emitter_id = "e";
  heartbeat.seq = 4;
  heartbeat.watermark_ms = 9000;
  auto r = (*store)->Apply({In(Rec("b", 7)), garbage, In(heartbeat), In(Rec("c", 3, 0))}, {{"g", "t", 0, 5}}, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);

  auto rows = (*store)->QueryWindows("orders", std::nullopt, 0, 10000);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].count, 5);
  EXPECT_EQ(*(*store)->QuarantineCount(), 0);
  EXPECT_TRUE((*store)->QueryEmitters(std::nullopt)->empty());
  EXPECT_EQ((*store)->LoadPositions("g", "t")->at(0).next_offset, 1);
  // "b" was not claimed: once the damage is gone it applies.
  db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DELETE FROM chunks", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto again = (*store)->Apply({In(Rec("b", 7))}, {}, 3);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->applied, 1);
  std::filesystem::remove_all(d);
}

}  // namespace
}  // namespace chaperone::store
