#include "common/periodic.h"

#include "common/thread_name.h"

namespace chaperone::common {

void Periodic::Start(std::string name, std::chrono::milliseconds interval, std::function<void()> work) {
  thread_ = NamedThread(std::move(name), [this, interval, work = std::move(work)] {
    std::unique_lock lock(mu_);
    while (!stop_) {
      wake_ = false;
      lock.unlock();
      work();
      lock.lock();
      cv_.wait_for(lock, interval, [this] { return stop_ || wake_; });
    }
  });
}

void Periodic::Wake() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Periodic::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace chaperone::common
