#include "support/detect_alerts.h"

namespace chaperone::test {

detect::Alert SampleLossAlert() {
  detect::Alert a;
  a.topic = "orders";
  a.source_tier = "producer";
  a.target_tier = "regional";
  a.kind = detect::AlertKind::kLoss;
  a.datacenter = "dc1";
  a.severity = detect::Severity::kCritical;
  a.starts_at_ms = 1'700'000'000'000;
  a.messages_lost = 42;
  a.windows_affected = 3;
  a.first_window_s = 1'699'998'600;
  a.last_window_s = 1'699'999'800;
  a.dashboard_url = "http://chaperone:8080/#/topic/orders";
  return a;
}

Status DeliverSample(detect::Notifier& notifier) {
  detect::Alert a = SampleLossAlert();
  return notifier.Deliver({&a, 1});
}

Status RecordingNotifier::Deliver(std::span<const detect::Alert> alerts) {
  std::lock_guard lock(log_->mu);
  ++log_->calls;
  if (log_->down) return Status::Unavailable("recorder: down");
  log_->told.insert(log_->told.end(), alerts.begin(), alerts.end());
  return Status::Ok();
}

}  // namespace chaperone::test
