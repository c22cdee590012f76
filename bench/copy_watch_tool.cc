// copy_watch_tool: the stopwatch of bench/replicate_bench.sh, the same for the
// replicator and its baseline. It judges a copy from the destination only
// (no counter of the program under test): it waits until the destination
// topic is reachable and empty, starts the copier, polls the sum of the
// topic's high watermarks (one ListOffsets request per broker per poll), and
// once the sum reaches N stops the copier (SIGTERM, unless it already
// exited by itself) and reports.
//
//   copy_watch_tool BOOTSTRAP TOPIC PARTITIONS N TIMEOUT_S LOG_FILE -- COMMAND [ARG...]
//   copy_watch_tool --count BOOTSTRAP TOPIC PARTITIONS    (prints the sum of high watermarks)
//
// Prints one line:
//   "first_s F done_s D tick_s T copied C peak_rss_kb K exit E"
// F: seconds from the copier's start to the first poll that saw a message
// in the destination; D: to the poll that saw N; T: the longest poll (the
// stopwatch's resolution, each end of a run is known to within it); C: the sum
// of high watermarks at the end (more than N means duplicates); K: the
// copier's peak RSS over its whole life, shutdown included (wait4's
// ru_maxrss); E: its exit status (128+signal when killed).
// Exit 0 when the destination reached N, 1 otherwise (copier died first, or
// timeout), 2 on bad arguments or a non-empty destination.
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

using Clock = std::chrono::steady_clock;

// Sum of the high watermarks of partitions 0..partitions-1, or -1 on error.
long long SumHighWatermarks(rd_kafka_t* rk, const char* topic, int partitions) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic, p)->offset = RD_KAFKA_OFFSET_END;  // "latest"
  long long sum = 0;
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list, 10000);
  if (err) {
    std::fprintf(stderr, "copy_watch_tool: ListOffsets: %s\n", rd_kafka_err2str(err));
    sum = -1;
  }
  for (int i = 0; sum >= 0 && i < list->cnt; ++i) {
    if (list->elems[i].err || list->elems[i].offset < 0) {
      std::fprintf(stderr, "copy_watch_tool: %s [%d]: %s\n", topic, list->elems[i].partition,
                   rd_kafka_err2str(list->elems[i].err));
      sum = -1;
    } else {
      sum += list->elems[i].offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  return sum;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

rd_kafka_t* Client(const char* bootstrap) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof err) != RD_KAFKA_CONF_OK ||
      rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "copy_watch_tool: %s\n", err);
    rd_kafka_conf_destroy(conf);
    return nullptr;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) std::fprintf(stderr, "copy_watch_tool: %s\n", err);
  return rk;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--count") {
    const int partitions = std::atoi(argv[4]);
    rd_kafka_t* rk = partitions > 0 ? Client(argv[2]) : nullptr;
    if (!rk) return 2;
    const long long sum = SumHighWatermarks(rk, argv[3], partitions);
    if (sum >= 0) std::printf("%lld\n", sum);
    rd_kafka_destroy(rk);
    return sum >= 0 ? 0 : 1;
  }
  if (argc < 9 || std::string(argv[7]) != "--") {
    std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC PARTITIONS N TIMEOUT_S LOG_FILE -- COMMAND [ARG...]\n", argv[0]);
    return 2;
  }
  const char* topic = argv[2];
  const int partitions = std::atoi(argv[3]);
  const long long want = std::atoll(argv[4]);
  const int timeout_s = std::atoi(argv[5]);
  const char* log_file = argv[6];
  if (partitions <= 0 || want <= 0 || timeout_s <= 0) {
    std::fprintf(stderr, "copy_watch_tool: PARTITIONS, N and TIMEOUT_S must be positive\n");
    return 2;
  }
  rd_kafka_t* rk = Client(argv[1]);
  if (!rk) return 2;
  // Connected, metadata known, and nothing there yet.
  long long initial = -1;
  for (int attempt = 0; attempt < 50 && initial < 0; ++attempt) {
    initial = SumHighWatermarks(rk, topic, partitions);
    if (initial < 0) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (initial != 0) {
    std::fprintf(stderr, "copy_watch_tool: the destination topic %s %s\n", topic,
                 initial < 0 ? "cannot be read" : ("already holds " + std::to_string(initial) + " messages").c_str());
    return 2;
  }

  const Clock::time_point start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) {
    std::perror("copy_watch_tool: fork");
    return 2;
  }
  if (pid == 0) {
    int fd = open(log_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    close(fd);
    execvp(argv[8], argv + 8);
    std::perror("copy_watch_tool: exec");
    _exit(127);
  }

  Clock::time_point first{}, done{};
  Clock::duration tick{};
  long long sum = 0;
  bool exited = false;
  int status = 0;
  struct rusage usage {};
  int rc = 0;
  for (Clock::time_point before = Clock::now();;) {
    const long long s = SumHighWatermarks(rk, topic, partitions);
    const Clock::time_point now = Clock::now();
    tick = std::max(tick, now - before);
    before = now;
    if (s > 0) sum = s;
    if (sum > 0 && first == Clock::time_point{}) first = now;
    if (sum >= want) {
      done = now;
      break;
    }
    if (exited) {  // one more poll after the copier exited saw fewer than N
      std::fprintf(stderr, "copy_watch_tool: the copier exited (status %d) with %lld of %lld in the destination\n",
                   status, sum, want);
      rc = 1;
      break;
    }
    if (now - start > std::chrono::seconds(timeout_s)) {
      std::fprintf(stderr, "copy_watch_tool: timed out after %d s with %lld of %lld in the destination\n", timeout_s,
                   sum, want);
      rc = 1;
      break;
    }
    if (wait4(pid, &status, WNOHANG, &usage) == pid) exited = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!exited) {
    kill(pid, SIGTERM);
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(60);
    while (wait4(pid, &status, WNOHANG, &usage) != pid) {
      if (Clock::now() > give_up) {
        std::fprintf(stderr, "copy_watch_tool: the copier ignored SIGTERM for 60 s; SIGKILL\n");
        kill(pid, SIGKILL);
        wait4(pid, &status, 0, &usage);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // What the destination holds once the copier is gone (duplicates would show here).
  if (rc == 0) {
    const long long final_sum = SumHighWatermarks(rk, topic, partitions);
    if (final_sum > sum) sum = final_sum;
  }
  const int exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::printf("first_s %.6f done_s %.6f tick_s %.6f copied %lld peak_rss_kb %ld exit %d\n",
              first == Clock::time_point{} ? 0.0 : Seconds(first - start),
              done == Clock::time_point{} ? 0.0 : Seconds(done - start), Seconds(tick), sum, usage.ru_maxrss,
              exit_status);
  rd_kafka_destroy(rk);
  return rc;
}
