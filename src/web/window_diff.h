// GET /api/v1/topics/{topic}/windows/{window}/diff (docs/api.md): which
// messages of one window are missing from a target tier, or duplicated there,
// read from the Kafka clusters the audit names (read::DiffWindow).
//
// A diff reads every message of the window twice over (both tiers), so the
// server bounds it:
//   * at most `max_concurrent` run at once (TryAcquire; the API answers 503
//     `busy` with Retry-After beyond);
//   * every read from Kafka stops at `timeout_ms` after the diff began (the
//     API answers 504 `timeout`): the readers are wrapped so that the
//     deadline also caps librdkafka's own waits;
//   * the listing holds at most `limit` items (read::DiffWindow keeps the
//     counts exact past it), at most kMaxCopies copies per item and side, and
//     of the listed messages' keys, values and headers at most
//     kMaxFieldBytes each and kMessageBudgetBytes in all (the rest is cut,
//     and said so): DiffWindow is asked for locations only and the listed
//     copies are read again here, one message at a time.
// The body is built in memory, not streamed: its summary (the counts, which
// come first) is known only once every message was read, and until then a
// failure must still be able to answer with its own status (502, 504).
//
// Threads: Run may be called concurrently (each call has its own readers);
// TryAcquire is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "chaperone/clock.h"
#include "chaperone/event_time.h"
#include "chaperone/status.h"
#include "config/project_file.h"
#include "read/reader.h"
#include "store/store.h"

namespace chaperone::web {

struct DiffOptions {
  config::Clusters clusters;  // name -> librdkafka properties (`clusters:`); empty: the diff is not configured
  TimestampRules rules;       // the event-time chains the audit used (`read.timestamps`, else `service.timestamps`)
  int64_t memory_budget = int64_t{256} << 20;  // digests kept in memory before spilling (`read.memory_budget`)
  std::string spill_dir;                       // "" = $TMPDIR or /tmp
  std::chrono::milliseconds stall_timeout{30'000};
  int max_concurrent = 2;      // diffs running at once
  int64_t timeout_ms = 60'000;  // a diff's reads from Kafka end this long after it began
  // The readers of one diff; default: librdkafka consumers over `clusters`. A test seam.
  std::function<std::unique_ptr<read::ClusterReaders>(const config::Clusters&)> readers;
};

struct WindowDiffQuery {
  std::string topic;
  int64_t window_sec = 0;  // any instant inside the window
  std::string source, target;
  std::optional<std::string> datacenter;
  int64_t limit = 100;
};

// Where a diff failed, for the HTTP status.
enum class DiffFailure {
  kNone,          // Status says (400 bad request, 404 no such window, 500)
  kStore,         // the store could not be read: 503 store_unavailable
  kNotConfigured, // a cluster the audit names is not configured (or cannot be): 503 not_configured
  kKafka,         // a cluster could not be read: 502 kafka_unavailable
  kTimeout,       // the time limit passed: 504 timeout
};

struct WindowDiffResult {
  Status status;
  DiffFailure failure = DiffFailure::kNone;
  std::string body;  // the JSON answer when status is OK
};

class WindowDiffer {
 public:
  // Each field and header value of a listed message is cut at this many bytes.
  static constexpr size_t kMaxFieldBytes = 64 << 10;
  // The listed messages' bytes (keys, values, headers) in all; past it, copies are listed without them.
  static constexpr int64_t kMessageBudgetBytes = int64_t{16} << 20;
  // Copies listed per item and side (sourceCopies and targetCopies count them all).
  static constexpr size_t kMaxCopies = 4;

  WindowDiffer(DiffOptions options, const Clock& clock);

  bool configured() const { return !options_.clusters.empty(); }
  const DiffOptions& options() const { return options_; }

  // A place among the `max_concurrent` diffs, held until destroyed.
  class Slot {
   public:
    explicit Slot(std::atomic<int>* running) : running_(running) {}
    Slot(Slot&& o) noexcept : running_(o.running_) { o.running_ = nullptr; }
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (running_) running_->fetch_sub(1);
    }

   private:
    std::atomic<int>* running_;
  };
  // nullopt when `max_concurrent` diffs are running.
  std::optional<Slot> TryAcquire();

  WindowDiffResult Run(store::Store& store, const WindowDiffQuery& query);

 private:
  const DiffOptions options_;
  const Clock& clock_;
  std::atomic<int> running_{0};
};

}  // namespace chaperone::web
