// Periodic: a thread that runs a piece of work now, then every `interval`,
// or sooner when woken, until stopped (the service's and the replicator's
// topic discovery).
//
// Threads: Start, Stop and the destructor from the owning thread; Wake from any.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace chaperone::common {

class Periodic {
 public:
  Periodic() = default;
  ~Periodic() { Stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  // Starts the thread (named `name`, at most 15 bytes). Call once.
  void Start(std::string name, std::chrono::milliseconds interval, std::function<void()> work);
  // Runs the work again as soon as the current round (if any) ends.
  void Wake();
  // Stops and joins (the round in progress finishes first). Idempotent.
  void Stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  bool wake_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace chaperone::common
