// The loss detector (`chaperone detect`): every interval, one cycle
//
//   take the lease ─▶ Evaluate (final windows of the lookback range) ─▶ Summarize (rules)
//     ─▶ Advance (open / update / resolve) ─▶ Store::SaveAlerts (alerts + outbox, one transaction)
//     ─▶ deliver: Alertmanager gets every firing alert (re-sent each cycle) and the
//        notices queued for it; webhooks and Slack get their notices
//
// Delivery is at least once and survives restarts: a notice stays in the
// store's outbox until its receiver accepted it (retried with backoff, up to
// one hour apart); a receiver that refuses a payload (4xx) has it dropped and
// counted. Several detector processes may share one store: only the holder
// of the lease ("detect", Store::TakeLease) runs cycles; the others wait and
// take over within lease_sec when it stops. A window that became final is
// judged, and its alert delivered, by the next cycle: at most one interval.
//
// Threads: Start/Stop from the owning thread. Cycles run on the detector's
// own thread (RunCycle may be called directly instead, e.g. `--once` and
// tests, but never concurrently with Start's thread). MetricsText and Health
// may be called from any thread. Memory: one cycle holds the totals of at
// most 500 topics at a time, the findings of the range and the firing alerts.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chaperone/clock.h"
#include "chaperone/status.h"
#include "common/periodic.h"
#include "detect/detect_config.h"
#include "detect/evaluate.h"
#include "detect/notifier.h"
#include "http/endpoint.h"
#include "store/store.h"

namespace chaperone::detect {

// A configured receiver: its name in the outbox ("alertmanager", "webhook:0",
// "slack:1": the position in the configuration) and its notifier.
struct Receiver {
  std::string name;
  std::unique_ptr<Notifier> notifier;
};

// Builds the receivers of `opts` (alertmanager, then webhooks, then slack).
Result<std::vector<Receiver>> MakeReceivers(const DetectOptions& opts, const NotifierEnv& env = {});

struct CycleReport {
  bool leader = false;       // false: another process holds the lease; nothing was done
  int64_t topics = 0, windows = 0;
  std::array<int64_t, 6> by_verdict{};  // windows per analysis::Verdict
  int64_t opened = 0, updated = 0, resolved = 0;  // alert changes saved
  int64_t firing = 0;                             // firing alerts after the cycle
  int64_t delivered = 0, retried = 0, refused = 0;  // notices (and Alertmanager re-sends)
  int64_t duration_ms = 0;
};

class Detector {
 public:
  // `store`, `clock` and `readers` outlive the detector. `owner` names this
  // process in the lease (e.g. "host:pid:random"). `readers`: more
  // connections to the same store, on which a cycle reads the window totals
  // at the same time as on `store` (EvaluateOptions::readers).
  Detector(DetectOptions opts, store::Store& store, Clock& clock, std::vector<Receiver> receivers, std::string owner,
           std::vector<store::Store*> readers = {});
  ~Detector();  // Stop()
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;

  // One cycle, now. Not concurrently with the thread Start() runs.
  Result<CycleReport> RunCycle();

  // Serves /metrics and /health on opts.listen, then runs a cycle now and
  // every interval on its own thread.
  Status Start();
  // Stops the cycles, then releases the lease if this process holds it, so
  // that a standby detector takes over at its next cycle. Idempotent.
  void Stop();
  // Releases the lease if held (after RunCycle: `--once`).
  void ReleaseLease();
  std::string url() const;  // after Start

  std::string MetricsText() const;
  http::HealthVerdict Health() const;

  // A name for this process in the lease: "<hostname>:<pid>:<random>".
  static std::string DefaultOwner();

 private:
  struct PairFigures {
    int64_t lost = 0, duplicated = 0;
  };
  struct Metrics {
    int64_t cycles = 0, cycle_errors = 0;
    double cycle_seconds = 0;
    int64_t last_cycle_ms = 0;
    bool leader = false;
    std::array<int64_t, 6> windows{};
    // (topic, source, target) -> figures, for pairs with loss or duplicates
    std::map<std::tuple<std::string, std::string, std::string>, PairFigures> pairs;
    std::map<std::pair<std::string, std::string>, int64_t> firing;  // (kind, severity) -> alerts
    std::map<std::pair<std::string, std::string>, int64_t> notifications;  // (receiver kind, result)
    int64_t outbox_pending = 0;
    std::string last_error;
  };

  Result<CycleReport> Cycle(int64_t now_ms);
  Result<std::vector<store::AlertRow>> FiringAlerts();
  // Delivers what is due; counts into `report` and metrics_.
  Status Deliver(int64_t now_ms, const std::vector<store::AlertRow>& firing, CycleReport& report);
  void Count(const Receiver& r, std::string_view result, int64_t n);

  const DetectOptions opts_;
  store::Store& store_;
  Clock& clock_;
  std::vector<Receiver> receivers_;
  std::vector<std::string> receiver_names_;
  const std::string owner_;
  EvaluateOptions eval_;

  mutable std::mutex mu_;
  Metrics metrics_;  // guarded by mu_

  std::unique_ptr<http::Endpoint> http_;
  common::Periodic loop_;
};

}  // namespace chaperone::detect
