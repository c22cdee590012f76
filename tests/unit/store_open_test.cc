#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "store/store.h"

namespace chaperone::store {
namespace {

TEST(StoreOpen, RejectsUnknownSchemesAndEmptyPaths) {
  for (const char* url : {"", "mysql://h/db", "sqlite:", "redis://x"}) {
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

}  // namespace
}  // namespace chaperone::store
