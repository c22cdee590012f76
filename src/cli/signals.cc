#include "cli/signals.h"

#include "common/thread_name.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <cerrno>

namespace chaperone::cli {
namespace {

std::atomic<bool> g_shutdown{false};
int g_pipe[2] = {-1, -1};

void OnSignal(int) {
  g_shutdown.store(true);
  if (g_pipe[1] >= 0) {
    char c = 1;
    [[maybe_unused]] ssize_t n = write(g_pipe[1], &c, 1);
  }
}

}  // namespace

void InstallShutdownHandlers() {
  if (g_pipe[0] < 0 && pipe(g_pipe) != 0) g_pipe[0] = g_pipe[1] = -1;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool ShutdownRequested() { return g_shutdown.load(); }

bool WaitForShutdown(std::chrono::milliseconds timeout) {
  using namespace std::chrono;
  auto deadline = timeout == milliseconds::max() ? steady_clock::time_point::max() : steady_clock::now() + timeout;
  while (!g_shutdown.load()) {
    auto now = steady_clock::now();
    if (now >= deadline) return false;
    int wait_ms = deadline == steady_clock::time_point::max()
                      ? 1000
                      : static_cast<int>(std::min<int64_t>(1000, duration_cast<milliseconds>(deadline - now).count() + 1));
    struct pollfd p {g_pipe[0], POLLIN, 0};
    if (g_pipe[0] >= 0) {
      if (poll(&p, 1, wait_ms) > 0) {
        char buf[16];
        [[maybe_unused]] ssize_t n = read(g_pipe[0], buf, sizeof buf);
      }
    } else {
      usleep(10000);
    }
  }
  return true;
}

Status RunUntilShutdown(const std::function<Status(const std::atomic<bool>& stop)>& run) {
  std::atomic<bool> stop{false};
  std::atomic<bool> done{false};
  std::thread watcher = NamedThread("cli-signals", [&] {
    while (!done.load()) {
      if (WaitForShutdown(std::chrono::milliseconds(200))) {
        stop.store(true);
        return;
      }
    }
  });
  Status s = run(stop);
  done.store(true);
  watcher.join();
  return s;
}

}  // namespace chaperone::cli
