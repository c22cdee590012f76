// A sample alert of the loss detector (src/detect) for the notifier tests,
// and a notifier that records what it is told (the detector's tests).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "detect/alert.h"
#include "detect/notifier.h"

namespace chaperone::test {

// Firing, critical: 42 messages of topic "orders" lost from tier producer to
// tier regional in dc1, over 3 windows from 2023-11-14T21:50:00Z to
// 22:10:00Z; it fired at 2023-11-14T22:13:20Z; it has a dashboard link.
detect::Alert SampleLossAlert();

// Delivers SampleLossAlert() alone.
Status DeliverSample(detect::Notifier& notifier);

// Keeps what it is told in a log shared with the test; fails (Unavailable)
// while the log says `down`. Thread-safe.
class RecordingNotifier final : public detect::Notifier {
 public:
  struct Log {
    std::mutex mu;
    std::vector<detect::Alert> told;  // guarded by mu
    bool down = false;                // guarded by mu
    int64_t calls = 0;                // guarded by mu
    std::vector<detect::Alert> Told() {
      std::lock_guard lock(mu);
      return told;
    }
  };
  explicit RecordingNotifier(std::shared_ptr<Log> log) : log_(std::move(log)) {}
  std::string_view kind() const override { return "webhook"; }
  const std::string& target() const override { return target_; }
  Status Deliver(std::span<const detect::Alert> alerts) override;

 private:
  std::shared_ptr<Log> log_;
  const std::string target_ = "recorder";
};

}  // namespace chaperone::test
