#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "store/schema.h"
#include "store/store.h"

namespace chaperone::store {
namespace {

TEST(StoreOpen, RejectsUnknownSchemesAndEmptyPaths) {
  for (const char* url : {"", "oracle://h/db", "mysql://h", "sqlite:", "redis://x"}) {
    auto s = Store::Open(url);
    ASSERT_FALSE(s.ok()) << url;
    EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument) << url << ": " << s.status().ToString();
  }
}

TEST(StoreOpen, SqliteCreatesItsDirectoryAndAcceptsEveryUrlForm) {
  char d[] = "/tmp/chaperone-open-test-XXXXXX";
  ASSERT_NE(mkdtemp(d), nullptr);
  const std::string dir = d;
  for (const std::string& url : std::vector<std::string>{"sqlite:" + dir + "/a/b/one.db", "sqlite://" + dir + "/two.db", dir + "/three.db"}) {
    auto s = Store::Open(url);
    ASSERT_TRUE(s.ok()) << url << ": " << s.status().ToString();
    EXPECT_EQ((*s)->backend(), "sqlite");
    EXPECT_TRUE((*s)->Ping().ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/a/b/one.db"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/two.db"));
  std::filesystem::remove_all(dir);
}

TEST(StoreOpen, MustExistFailsOnAMissingSqliteFileNamingItAndCreatesNothing) {
  char d[] = "/tmp/chaperone-open-test-XXXXXX";
  ASSERT_NE(mkdtemp(d), nullptr);
  const std::string dir = d;
  struct Case {
    std::string url;
    std::string path;  // as the error must name it
  };
  const std::vector<Case> cases = {
      {"sqlite:" + dir + "/mistyped/path.db", dir + "/mistyped/path.db"},  // neither directory nor file
      {"sqlite://" + dir + "/missing.db", dir + "/missing.db"},            // the directory exists
      {dir + "/plain.db", dir + "/plain.db"},                              // a plain path
  };
  for (const auto& c : cases) {
    auto s = Store::Open(c.url, OpenMode::kMustExist);
    ASSERT_FALSE(s.ok()) << c.url;
    EXPECT_EQ(s.status().code(), Status::Code::kNotFound) << s.status().ToString();
    EXPECT_NE(s.status().message().find(c.path + " does not exist"), std::string::npos) << s.status().message();
    EXPECT_EQ(s.status().message().find('\n'), std::string::npos) << "one line";
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir)) << "a reader created something in " << dir;

  // Once a writer has created it, a reader opens it; ":memory:" always opens.
  ASSERT_TRUE(Store::Open(dir + "/plain.db", OpenMode::kCreate).ok());
  auto reader = Store::Open(dir + "/plain.db", OpenMode::kMustExist);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_TRUE((*reader)->Ping().ok());
  EXPECT_TRUE(Store::Open("sqlite::memory:", OpenMode::kMustExist).ok());
  EXPECT_TRUE(Store::Open(":memory:", OpenMode::kMustExist).ok());
  EXPECT_TRUE(Store::Open("sqlite://:memory:", OpenMode::kMustExist).ok());
  std::filesystem::remove_all(dir);
}

TEST(StoreOpen, SqliteFileThatIsNotADatabaseIsAnError) {
  char d[] = "/tmp/chaperone-open-test-XXXXXX";
  ASSERT_NE(mkdtemp(d), nullptr);
  const std::string path = std::string(d) + "/junk.db";
  std::ofstream(path) << "this is not a database file, just some text that is long enough to have a header";
  auto s = Store::Open("sqlite:" + path);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("sqlite"), std::string::npos) << s.status().ToString();
  auto dir_as_file = Store::Open("sqlite:" + path + "/sub/x.db");  // a parent is a file
  EXPECT_FALSE(dir_as_file.ok());
  std::filesystem::remove_all(d);
}

// `chaperone up` opens one brand-new SQLite file from two components at the same
// moment. Every opener must succeed (never "database is locked"), the file must be
// in WAL mode and each migration applied exactly once.
TEST(StoreOpen, SqliteNewFileOpenedByManyAtOnceSucceedsForEveryOpener) {
  constexpr int kRounds = 100;
  constexpr int kOpeners = 6;
  char d[] = "/tmp/chaperone-open-test-XXXXXX";
  ASSERT_NE(mkdtemp(d), nullptr);
  const std::string dir = d;
  for (int round = 0; round < kRounds; ++round) {
    const std::string path = dir + "/round-" + std::to_string(round) + ".db";
    std::latch start(kOpeners);
    std::vector<std::string> errors(kOpeners);
    std::vector<std::thread> openers;
    for (int i = 0; i < kOpeners; ++i) {
      openers.emplace_back([&, i] {
        start.arrive_and_wait();
        auto s = Store::Open("sqlite:" + path);
        if (!s.ok()) {
          errors[i] = s.status().ToString();
        } else if ((*s)->schema_version() != internal::LatestSchemaVersion()) {
          errors[i] = "schema version " + std::to_string((*s)->schema_version());
        }
      });
    }
    for (auto& t : openers) t.join();
    for (int i = 0; i < kOpeners; ++i) ASSERT_EQ(errors[i], "") << "round " << round << ", opener " << i;

    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    auto text = [db](const char* sql) {
      sqlite3_stmt* q = nullptr;
      std::string out;
      if (sqlite3_prepare_v2(db, sql, -1, &q, nullptr) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(q); ++c) {
          const unsigned char* v = sqlite3_column_text(q, c);
          out += (c ? " " : "") + std::string(v ? reinterpret_cast<const char*>(v) : "NULL");
        }
      }
      sqlite3_finalize(q);
      return out;
    };
    EXPECT_EQ(text("PRAGMA journal_mode"), "wal") << "round " << round;
    EXPECT_EQ(text("SELECT COUNT(*), MAX(version) FROM schema_migrations"),
              std::to_string(internal::Migrations().size()) + " " + std::to_string(internal::LatestSchemaVersion()))
        << "round " << round;
    sqlite3_close(db);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chaperone::store
