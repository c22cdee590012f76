// Names threads, as `top -H`, ps, gdb and /proc/PID/task/*/comm
// show it (librdkafka's own threads are rdk:*). Header-only.
#ifndef CHAPERONE_COMMON_THREAD_NAME_H_
#define CHAPERONE_COMMON_THREAD_NAME_H_

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace chaperone {

// Linux keeps 15 bytes of a thread's name; a longer one is cut there.
inline constexpr size_t kMaxThreadNameLength = 15;

inline void NameThisThread(std::string_view name) {
  char buf[kMaxThreadNameLength + 1];
  const size_t n = std::min(name.size(), kMaxThreadNameLength);
  std::memcpy(buf, name.data(), n);
  buf[n] = '\0';
  pthread_setname_np(pthread_self(), buf);
}

// Runs `f` on a new thread named `name`. Threads it starts in turn (a server's
// workers) inherit the name.
template <typename F>
std::thread NamedThread(std::string_view name, F&& f) {
  return std::thread([name = std::string(name), f = std::forward<F>(f)]() mutable {
    NameThisThread(name);
    f();
  });
}

}  // namespace chaperone

#endif  // CHAPERONE_COMMON_THREAD_NAME_H_
