#include "support/chaos.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>

extern char** environ;

namespace chaperone::testing {

using namespace std::chrono_literals;

Member::~Member() {
  if (pid_ > 0) Kill();
}

void Member::Start() {
  std::string log = dir_ + "/" + name_ + "-" + std::to_string(incarnation_++) + ".log";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<std::string> args = {CHAPERONE_BIN};
  args.insert(args.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&pid_, CHAPERONE_BIN, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ASSERT_EQ(rc, 0) << "cannot start " << CHAPERONE_BIN;
}

void Member::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  ++kills_;
}

int Member::Stop(std::chrono::seconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

BackgroundReader::BackgroundReader(std::unique_ptr<AuditReader> r) : reader_(std::move(r)) {
  thread_ = std::thread([this] {
    while (!stop_.load()) {
      std::lock_guard lock(mu_);
      reader_->Poll(200ms);
    }
  });
}

void BackgroundReader::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

GroupProbe::GroupProbe(const std::string& bootstrap, const std::string& group) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
}

GroupProbe::~GroupProbe() { rd_kafka_destroy(rk_); }

bool GroupProbe::CaughtUp(const std::string& topic, int partitions, std::string* status) {
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(l, topic.c_str(), p);
  bool ok = rd_kafka_committed(rk_, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
  int64_t behind = 0;
  for (int p = 0; ok && p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk_, topic.c_str(), p, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      ok = false;
      break;
    }
    behind += hi - std::max<int64_t>(0, l->elems[p].offset);
  }
  rd_kafka_topic_partition_list_destroy(l);
  *status = ok ? std::to_string(behind) + " messages not committed" : "probe failed";
  return ok && behind == 0;
}

int64_t GroupProbe::HighWatermark(const std::string& topic, int32_t partition) {
  int64_t lo = 0, hi = 0;
  if (rd_kafka_query_watermark_offsets(rk_, topic.c_str(), partition, &lo, &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return -1;
  return hi;
}

}  // namespace chaperone::testing
