// service_watch_tool: the stopwatch of bench/service_bench.sh. Watches one
// running `chaperone service` through its /metrics endpoint (one kept-alive
// connection, a request every INTERVAL_MS) and its /proc status, and reports
//
//   SECONDS PEAK_RSS_KB RSS_KB_AFTER_SMALL RSS_KB_AT_END PEAK_RSS_KB_WHEN_COUNTED TICK
//
// SECONDS runs from the first audited message to the MESSAGESth; the memory
// figures are read once every count is also committed. The stopwatch is the
// poll: TICK (seconds) is its resolution, the longer of the gaps before the
// poll that saw the first message and before the one that saw the MESSAGESth.
// SECONDS is 0 when one poll saw both: the run took less than TICK. It replaces a shell
// loop of curl and awk, whose forks took about 40 % of a core while the
// service ran and so slowed the run it measured (the baseline consumer times
// itself and has no watcher).
//
//   service_watch_tool PORT PID MESSAGES SMALL [INTERVAL_MS [TIMEOUT_S [TRACE_FILE]]]
//
// TRACE_FILE, if given, gets one line per poll: "MILLISECONDS AUDITED
// COMMITTED RSS_KB HEAP_ALLOCATED_KB HEAP_RESIDENT_KB HEAP_DIRTY_KB" (heap
// figures -1 without jemalloc), to see where a run lost its time or memory.
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>

namespace {

// The value of one un-labelled Prometheus sample, or -1.
long long Sample(std::string_view text, std::string_view name) {
  size_t at = 0;
  while ((at = text.find(name, at)) != std::string_view::npos) {
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const size_t after = at + name.size();
    if (line_start && after < text.size() && text[after] == ' ') return std::atoll(text.data() + after + 1);
    at = after;
  }
  return -1;
}

long long Kb(long long bytes) { return bytes < 0 ? -1 : bytes / 1024; }

// A "VmRSS"/"VmHWM" line of /proc/PID/status, in KB, or -1.
long long StatusKb(const std::string& pid, std::string_view field) {
  std::ifstream in("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':')
      return std::atoll(line.c_str() + field.size() + 1);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s PORT PID MESSAGES SMALL [INTERVAL_MS [TIMEOUT_S [TRACE_FILE]]]\n", argv[0]);
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string pid = argv[2];
  const pid_t pid_number = static_cast<pid_t>(std::atoll(argv[2]));
  const long long want = std::atoll(argv[3]);
  const long long small = std::atoll(argv[4]);
  const auto interval = std::chrono::milliseconds(argc > 5 ? std::atoi(argv[5]) : 2);
  const auto timeout = std::chrono::seconds(argc > 6 ? std::atoi(argv[6]) : 300);
  if (port <= 0 || pid_number <= 0 || want <= 0 || interval.count() <= 0) {
    std::fprintf(stderr, "service_watch_tool: bad arguments\n");
    return 2;
  }

  std::FILE* trace = nullptr;
  if (argc > 7 && !(trace = std::fopen(argv[7], "w"))) {
    std::fprintf(stderr, "service_watch_tool: cannot write %s\n", argv[7]);
    return 2;
  }

  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + timeout;
  Clock::time_point first{}, last{}, previous = start;
  Clock::duration tick{};
  long long audited = 0, committed = 0, rss_small = -1, hwm_counted = -1;
  while (committed < want) {
    if (kill(pid_number, 0) != 0) {
      std::fprintf(stderr, "service_watch_tool: the service (pid %s) exited after auditing %lld of %lld\n", pid.c_str(),
                   audited, want);
      return 1;
    }
    if (Clock::now() >= deadline) {
      std::fprintf(stderr, "service_watch_tool: audited %lld and committed %lld of %lld before the timeout\n", audited,
                   committed, want);
      return 1;
    }
    if (auto res = client.Get("/metrics"); res && res->status == 200) {
      const Clock::time_point now = Clock::now();
      audited = Sample(res->body, "chaperone_service_messages_audited_total");
      committed = Sample(res->body, "chaperone_service_messages_committed_total");
      if (trace)
        std::fprintf(trace, "%lld %lld %lld %lld %lld %lld %lld\n",
                     static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(now - start).count()),
                     audited, committed, StatusKb(pid, "VmRSS"), Kb(Sample(res->body, "chaperone_heap_allocated_bytes")),
                     Kb(Sample(res->body, "chaperone_heap_resident_bytes")),
                     Kb(Sample(res->body, "chaperone_heap_dirty_bytes")));
      if (first == Clock::time_point{} && audited > 0) {
        first = now;
        tick = now - previous;
      }
      if (rss_small < 0 && audited >= small) rss_small = StatusKb(pid, "VmRSS");
      if (last == Clock::time_point{} && audited >= want) {
        last = now;
        hwm_counted = StatusKb(pid, "VmHWM");
        tick = std::max(tick, now - previous);
      }
      previous = now;
    }
    std::this_thread::sleep_for(interval);
  }
  if (trace) std::fclose(trace);
  const double seconds = std::chrono::duration<double>(last - first).count();
  std::printf("%.4f %lld %lld %lld %lld %.4f\n", seconds, StatusKb(pid, "VmHWM"), rss_small, StatusKb(pid, "VmRSS"),
              hwm_counted, std::chrono::duration<double>(tick).count());
  return 0;
}
