// The Store suite against a real, throwaway PostgreSQL 15 (tests/support/pg_server.h)
// and MariaDB (tests/support/mariadb_server.h): one binary may define the suite once.
#include "support/sql_server.h"
#include "support/store_suite.h"

namespace chaperone::store {
INSTANTIATE_TEST_SUITE_P(Postgres, StoreSuite, ::testing::Values("postgresql"));
INSTANTIATE_TEST_SUITE_P(MariaDb, StoreSuite, ::testing::Values("mysql"));
}  // namespace chaperone::store

namespace chaperone::store {
namespace {

// Losing the database for a while: Apply reports kUnavailable (the collector
// retries), nothing is half-written, and the store reconnects by itself.
class StoreRestart : public ::testing::TestWithParam<std::string> {};

TEST_P(StoreRestart, ReconnectsWhenTheServerComesBack) {
  auto server = test::SqlServer::Start(GetParam());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto url = (*server)->CreateDatabase("reconnect");
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  auto store = Store::Open(*url);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Apply({In(Count("a", 5))}, {{"g", "t", 0, 1}}, kNow).ok());

  ASSERT_TRUE((*server)->Stop().ok());
  auto down = (*store)->Apply({In(Count("b", 7))}, {{"g", "t", 0, 2}}, kNow);
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable) << down.status().ToString();
  EXPECT_EQ((*store)->Ping().code(), Status::Code::kUnavailable);
  auto reopen = Store::Open(*url);
  ASSERT_FALSE(reopen.ok());
  EXPECT_EQ(reopen.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(reopen.status().message().find("password"), std::string::npos);

  ASSERT_TRUE((*server)->Restart().ok());
  auto up = (*store)->Apply({In(Count("b", 7))}, {{"g", "t", 0, 2}}, kNow);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->applied, 1);
  auto rows = (*store)->QueryWindows("orders", std::nullopt, kW, kW + 1);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].count, 12);
  EXPECT_EQ((*store)->LoadPositions("g", "t")->at(0).next_offset, 2);
}

INSTANTIATE_TEST_SUITE_P(Servers, StoreRestart, ::testing::Values("postgresql", "mysql"));

// The dialects' statements never leak into each other: SQLite's spelling of a
// statement (max() for GREATEST) once broke PostgreSQL's in the same process.
TEST(PostgresStore, SharesAProcessWithASqliteStore) {
  auto sqlite = Store::Open("sqlite::memory:");
  ASSERT_TRUE(sqlite.ok()) << sqlite.status().ToString();
  ASSERT_TRUE((*sqlite)->Apply({In(Count("a", 5))}, {{"g", "t", 0, 1}}, kNow).ok());
  ASSERT_TRUE((*sqlite)->ApplyRetention(1).ok());
  auto url = test::FreshPgDatabase();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  auto pg = Store::Open(*url);
  ASSERT_TRUE(pg.ok()) << pg.status().ToString();
  auto applied = (*pg)->Apply({In(Count("a", 5))}, {{"g", "t", 0, 1}}, kNow);
  ASSERT_TRUE(applied.ok()) << applied.status().ToString();
  EXPECT_EQ(applied->applied, 1);
  EXPECT_TRUE((*pg)->ApplyRetention(1).ok());
  EXPECT_EQ((*pg)->LoadPositions("g", "t")->at(0).next_offset, 1);
}

TEST(PostgresStore, RedactsThePasswordInErrors) {
  auto s = Store::Open("postgresql://user:s3cret@127.0.0.1:1/db?connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(s.status().message().find("s3cret"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("user:***@127.0.0.1"), std::string::npos) << s.status().message();
}

}  // namespace
}  // namespace chaperone::store
