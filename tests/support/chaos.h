// Helpers of the crash tests (service, replicator): chaperone processes that
// are killed with SIGKILL and restarted, a reader that follows an audit topic
// through the chaos, and a probe of a group's committed offsets.
#pragma once

#include <librdkafka/rdkafka.h>
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/service_support.h"

namespace chaperone::testing {

// One chaperone process (CHAPERONE_BIN with `args`) logging stdout and stderr
// to DIR/NAME-INCARNATION.log; restartable. Not thread-safe.
class Member {
 public:
  Member(std::string name, std::vector<std::string> args, std::string dir)
      : name_(std::move(name)), args_(std::move(args)), dir_(std::move(dir)) {}
  ~Member();
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  // Starts a new incarnation (fails the current test if it cannot).
  void Start();
  // SIGKILL and reap.
  void Kill();
  // SIGTERM and wait; the exit code (-1: killed by a signal, or the timeout passed and it was killed).
  int Stop(std::chrono::seconds timeout = std::chrono::seconds(30));
  bool running() const { return pid_ > 0; }
  int kills() const { return kills_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<std::string> args_;
  std::string dir_;
  pid_t pid_ = -1;
  int incarnation_ = 0;
  int kills_ = 0;
};

// Reads an audit topic continuously on its own thread (the mock keeps only
// ~5 MiB per partition, so the test must read along).
class BackgroundReader {
 public:
  explicit BackgroundReader(std::unique_ptr<AuditReader> r);
  ~BackgroundReader() { Stop(); }
  void Stop();
  AuditReader& reader() { return *reader_; }

 private:
  std::unique_ptr<AuditReader> reader_;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A group's committed offsets and a cluster's high watermarks, through a
// handle that never joins the group.
class GroupProbe {
 public:
  GroupProbe(const std::string& bootstrap, const std::string& group);
  ~GroupProbe();
  GroupProbe(const GroupProbe&) = delete;
  GroupProbe& operator=(const GroupProbe&) = delete;
  // True when every partition's committed offset equals its high watermark.
  bool CaughtUp(const std::string& topic, int partitions, std::string* status);
  // The high watermark of one partition, or -1 if the query fails.
  int64_t HighWatermark(const std::string& topic, int32_t partition);

 private:
  rd_kafka_t* rk_ = nullptr;
};

}  // namespace chaperone::testing
