#include "common/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace chaperone {
namespace {

std::string NameIn(const char* name) {
  std::string seen;
  std::thread t([&] {
    NameThisThread(name);
    char buf[64] = {};
    if (pthread_getname_np(pthread_self(), buf, sizeof buf) == 0) seen = buf;
  });
  t.join();
  return seen;
}

TEST(ThreadName, NamesTheCallingThread) { EXPECT_EQ(NameIn("svc-discovery"), "svc-discovery"); }

TEST(ThreadName, ALongNameIsCutAtFifteenBytesNotRefused) {
  // pthread_setname_np itself refuses names over 15 bytes (ERANGE) and would
  // leave the thread unnamed.
  EXPECT_EQ(NameIn("chaperone-fetch-waker"), "chaperone-fetch");
  EXPECT_EQ(NameIn("exactly-15-byte"), "exactly-15-byte");
}

TEST(ThreadName, NamedThreadRunsItsFunctionUnderTheName) {
  std::string seen;
  std::thread t = NamedThread("up-collector", [&] {
    char buf[64] = {};
    if (pthread_getname_np(pthread_self(), buf, sizeof buf) == 0) seen = buf;
  });
  t.join();
  EXPECT_EQ(seen, "up-collector");
}

}  // namespace
}  // namespace chaperone
