// The SQL store over a connection that is lost at any statement of a batch:
// the batch fails as a whole (kUnavailable, the collector retries it), no
// statement runs on the lost connection, the store opens it again before its
// next operation — never inside a transaction — and the retried batch is
// applied exactly once. A connection found lost by BEGIN or by a read is
// opened again at once. (The real servers: tests/component/collector_outage_test.cc.)
#include <gtest/gtest.h>

#include "store/dialect.h"
#include "support/audit_records.h"

namespace chaperone::store {
namespace {

using internal::Dialect;
using internal::Param;
using internal::RowFn;

// SQLite in memory behind a connection that can be lost: after `lose_after`
// more statements every one fails as on a lost connection, until Connect
// (which fails while `server_down`). Losing it ends its transaction, as a
// server does.
class LosableDialect final : public Dialect {
 public:
  explicit LosableDialect(std::unique_ptr<Dialect> inner) : inner_(std::move(inner)) {}

  int lose_after = -1;  // -1: never
  bool lose_commit_answer = false;  // the next COMMIT is done, then the connection is lost before its answer
  bool server_down = false;
  int connects = 0;
  int statements_while_lost = 0;  // statements sent to a lost connection after its loss was reported

  int losses = 0;                 // times the connection was lost

  std::string name() const override { return "losable"; }
  Status Connect() override {
    ++connects;
    if (server_down) return Status::Unavailable("losable: connection refused");
    if (lost_ && in_txn_) inner_->Rollback();  // the server ended the session
    lost_ = false;
    in_txn_ = false;
    return Status::Ok();
  }
  bool Broken() const override { return lost_; }
  Status Run(const std::string& sql, const std::vector<Param>& params, const RowFn& row) override {
    if (Status s = Send(); !s.ok()) return s;
    return inner_->Run(sql, params, row);
  }
  Status Exec(const std::string& sql) override {
    if (Status s = Send(); !s.ok()) return s;
    if (sql != "COMMIT") return inner_->Exec(sql);
    in_txn_ = false;
    Status s = inner_->Exec(sql);
    if (s.ok() && lose_commit_answer) {
      lose_commit_answer = false;
      lost_ = true;
      ++losses;
      return Status::Unavailable("losable: server closed the connection");
    }
    return s;
  }
  Status Begin() override {
    if (Status s = Send(); !s.ok()) return s;
    in_txn_ = true;
    return inner_->Begin();
  }
  void Rollback() override {
    if (Status s = Send(); !s.ok()) return;
    in_txn_ = false;
    inner_->Rollback();
  }
  std::string Greatest() const override { return inner_->Greatest(); }
  std::string Least() const override { return inner_->Least(); }
  std::string Type(std::string_view t) const override { return inner_->Type(t); }

 private:
  Status Send() {
    if (lost_) {
      ++statements_while_lost;
      return Status::Unavailable("losable: not connected");
    }
    if (lose_after == 0) {
      lost_ = true;
      ++losses;
      lose_after = -1;
      return Status::Unavailable("losable: server closed the connection");
    }
    if (lose_after > 0) --lose_after;
    return Status::Ok();
  }

  std::unique_ptr<Dialect> inner_;
  bool lost_ = false;
  bool in_txn_ = false;
};

// n records of `emitter` (counts 1..n) over three windows.
std::vector<Incoming> Batch(Emitter& emitter, int n) {
  std::vector<Incoming> batch;
  for (int i = 0; i < n; ++i) {
    Incoming in;
    in.raw = "{}";
    in.record = test::MakeCountRecord(emitter, "orders", 600 * (1 + i % 3), 1 + i, /*partitions=*/0);
    batch.push_back(std::move(in));
  }
  return batch;
}

// The SQL store over a LosableDialect (in `db`).
std::unique_ptr<Store> OpenLosable(LosableDialect** db) {
  auto inner = internal::OpenSqlite(":memory:", OpenMode::kCreate);
  EXPECT_TRUE(inner.ok()) << inner.status().ToString();
  if (!inner.ok()) return nullptr;
  auto owned = std::make_unique<LosableDialect>(std::move(*inner));
  *db = owned.get();
  auto store = internal::OpenSqlStore(std::move(owned));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

int64_t Total(Store& store) {
  auto rows = store.QueryAllWindows(0, 1 << 30);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  int64_t sum = 0;
  for (const auto& w : rows.ok() ? *rows : std::vector<WindowRow>{}) sum += w.count;
  return sum;
}

TEST(StoreReconnect, ALostConnectionAtAnyStatementFailsTheBatchAndItsRetryAppliesItOnce) {
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  const auto first = Batch(emitter, 4), second = Batch(emitter, 6);
  const int64_t first_total = 1 + 2 + 3 + 4, both_total = first_total + 1 + 2 + 3 + 4 + 5 + 6;
  for (int k = 0;; ++k) {
    SCOPED_TRACE("the connection is lost at statement " + std::to_string(k) + " of the batch");
    LosableDialect* losable = nullptr;
    auto opened = OpenLosable(&losable);
    ASSERT_NE(opened, nullptr);
    Store& store = *opened;
    LosableDialect& db = *losable;
    ASSERT_TRUE(store.Apply(first, {{"g", "t", 0, 4}}, 1000).ok());

    db.lose_after = k;
    auto r = store.Apply(second, {{"g", "t", 0, 10}}, 2000);
    if (db.losses == 0) {  // k is past the batch's last statement: every point was tried
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_GT(k, 3);
      break;
    }
    if (k == 0) {  // lost at BEGIN, before anything of the transaction ran: reconnected at once
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->applied, 6);
      EXPECT_EQ(db.connects, 1);
      EXPECT_EQ(Total(store), both_total);
      continue;
    }
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
    EXPECT_EQ(db.statements_while_lost, 0) << "a statement (a rollback) went to the lost connection";

    // While the server is down every operation fails at the reconnect, before any statement.
    db.server_down = true;
    r = store.Apply(second, {{"g", "t", 0, 10}}, 3000);
    EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
    EXPECT_EQ(store.LoadPositions("g", "t").status().code(), Status::Code::kUnavailable);
    EXPECT_EQ(db.statements_while_lost, 0);
    EXPECT_EQ(db.connects, 2);

    // Back: reads and the retried batch go on, the batch exactly once.
    db.server_down = false;
    EXPECT_EQ(Total(store), first_total) << "the lost transaction left a trace";
    r = store.Apply(second, {{"g", "t", 0, 10}}, 4000);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->applied, 6);
    EXPECT_EQ(db.connects, 3);
    EXPECT_EQ(Total(store), both_total);
    auto positions = store.LoadPositions("g", "t");
    ASSERT_TRUE(positions.ok());
    ASSERT_EQ(positions->size(), 1u);
    EXPECT_EQ(positions->front().next_offset, 10);
  }
}

// A commit whose answer was lost: the collector retries a batch that is in
// the store already; its records are recognised and nothing counts twice.
TEST(StoreReconnect, ABatchRetriedAfterItsCommitsAnswerWasLostCountsOnce) {
  LosableDialect* losable = nullptr;
  auto opened = OpenLosable(&losable);
  ASSERT_NE(opened, nullptr);
  Store& store = *opened;
  LosableDialect& db = *losable;
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  const auto batch = Batch(emitter, 5);

  db.lose_commit_answer = true;
  auto r = store.Apply(batch, {{"g", "t", 0, 5}}, 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  r = store.Apply(batch, {{"g", "t", 0, 5}}, 2000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->applied, 0);
  EXPECT_EQ(r->duplicates, 5);
  EXPECT_EQ(db.connects, 1);
  EXPECT_EQ(Total(store), 1 + 2 + 3 + 4 + 5);
}

// The server restarted while the connection was idle: a read finds it lost at
// its first statement, and runs again on a new connection without an error.
TEST(StoreReconnect, AReadOnAConnectionLostWhileIdleRunsAgainOnANewOne) {
  LosableDialect* losable = nullptr;
  auto opened = OpenLosable(&losable);
  ASSERT_NE(opened, nullptr);
  Emitter emitter(MakeEmitterIdentity("producer", "dc1", "regional"));
  ASSERT_TRUE(opened->Apply(Batch(emitter, 3), {{"g", "t", 0, 3}}, 1000).ok());

  losable->lose_after = 0;
  auto positions = opened->LoadPositions("g", "t");
  ASSERT_TRUE(positions.ok()) << positions.status().ToString();
  ASSERT_EQ(positions->size(), 1u);
  EXPECT_EQ(positions->front().next_offset, 3);
  EXPECT_EQ(losable->losses, 1);
  EXPECT_EQ(losable->connects, 1);
}

}  // namespace
}  // namespace chaperone::store
