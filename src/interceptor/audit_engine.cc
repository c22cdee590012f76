#include "interceptor/audit_engine.h"

#include <signal.h>
#include <time.h>

#include <algorithm>

#include "chaperone/digest.h"
#include "chaperone/emitter.h"
#include "chaperone/reporter.h"
#include "chaperone/window_tracker.h"
#include "common/topic_name.h"
#include "common/thread_name.h"

namespace chaperone::interceptor {
namespace {

constexpr size_t kDrainBatch = 4096;
// While observations keep arriving the drain thread polls at this period
// instead of being woken by every producer.
constexpr std::chrono::nanoseconds kActivePoll = std::chrono::milliseconds(2);
// With an injected (fake) clock, re-read it at least this often.
constexpr std::chrono::nanoseconds kFakeClockPoll = std::chrono::milliseconds(5);
// Callbacks stamp observations with a coarse clock (a few ms behind the
// precise one): the watermark stays this far behind the drain time.
constexpr int64_t kWatermarkSlackMs = 20;
constexpr int64_t kMaxRecordsPerSend = 10'000;
// Windows (topic, window) the drain thread holds before it flushes early:
// bounds the tracker's memory (docs/interceptor.md, "Memory added to the
// application"); the tracker never holds more than three times this
// (window_tracker.h).
constexpr size_t kMaxOpenWindows = 10'000;

int64_t NowNs(const Clock& c) { return c.MonotonicNs(); }

// Close() bounds how long the application blocks: always real time.
int64_t RealNowNs() { return SystemClock::Instance().MonotonicNs(); }

// Starts a named thread with every signal blocked, so that the host
// application's signals are never delivered to (and never interrupt) the
// auditing threads.
template <typename F>
std::thread StartThread(const char* name, F&& f) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t = NamedThread(name, std::forward<F>(f));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

}  // namespace

size_t AuditProducerQueueKbytes(const AuditClientOptions& o) {
  return std::max<size_t>(2 * o.max_pending_bytes / 1024, 1024);
}

int64_t CoarseNowMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

struct AuditEngine::Ticket {
  bool done = false;  // guarded by the engine's mu_
  Status status;
  std::condition_variable cv;
};

uint64_t AuditEngine::Digest(const MessageView& m) { return MessageDigest(m.key, m.key_null, m.value, m.value_null); }

AuditEngine::AuditEngine(AuditClientOptions options, bool learn_brokers)
    : opts_(std::move(options)),
      clock_(opts_.clock),
      control_clock_(opts_.clock != nullptr ? *opts_.clock : SystemClock::Instance()),
      log_(opts_.log_level),
      topics_([this](TopicInfo& t) {
        t.chain = &rules_.ForTopic(t.name);
        t.excluded = t.name == opts_.audit_topic || (exclude_ && std::regex_match(t.name, *exclude_));
      }),
      queue_(opts_.queue_capacity),
      learn_brokers_(learn_brokers) {}

// What Close could not deliver is counted in the stats and logged by the caller.
AuditEngine::~AuditEngine() { Close(opts_.close_timeout).IgnoreError(); }

Result<std::unique_ptr<AuditEngine>> AuditEngine::Create(AuditClientOptions options, bool learn_brokers) {
  if (options.tier.empty()) return Status::InvalidArgument("audit client: tier is required");
  if (options.audit_topic.empty()) return Status::InvalidArgument("audit client: audit topic is required");
  if (Status s = common::ValidateTopicName(options.audit_topic); !s.ok()) {
    return Status::InvalidArgument("audit client: audit topic: " + s.message());
  }
  if (!options.reporter_factory && options.audit_bootstrap_servers.empty() && !learn_brokers) {
    return Status::InvalidArgument("audit client: audit bootstrap servers are required");
  }
  if (options.window_sec <= 0) return Status::InvalidArgument("audit client: window_sec must be positive");
  if (options.flush_interval.count() <= 0) {
    return Status::InvalidArgument("audit client: flush_interval must be positive");
  }
  if (options.queue_capacity < 2 || options.queue_capacity > (size_t{1} << 24)) {
    return Status::InvalidArgument("audit client: queue_capacity must be in [2, 16777216]");
  }
  if (options.max_pending_records == 0) {
    return Status::InvalidArgument("audit client: max_pending_records must be positive");
  }
  if (options.max_pending_bytes == 0) {
    return Status::InvalidArgument("audit client: max_pending_bytes must be positive");
  }
  std::unique_ptr<AuditEngine> e(new AuditEngine(std::move(options), learn_brokers));
  Status st = e->Start();
  if (!st.ok()) return st;
  return e;
}

Status AuditEngine::Start() {
  for (const auto& [regex, chain] : opts_.timestamp_rules) {
    Status st = rules_.Add(regex, chain);
    if (!st.ok()) return Status::InvalidArgument("timestamp rule for " + regex + ": " + st.message());
  }
  if (!opts_.timestamp_chain.empty()) {
    // Topics no rule matches use the configured default chain.
    Status st = rules_.Add(".*", opts_.timestamp_chain);
    if (!st.ok()) return Status::InvalidArgument("timestamp chain: " + st.message());
  }
  if (!opts_.topic_exclude.empty()) {
    try {
      exclude_.emplace(opts_.topic_exclude, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("topic exclude regex \"" + opts_.topic_exclude + "\": " + e.what());
    }
  }

  EmitterIdentity identity = MakeEmitterIdentity(opts_.tier, opts_.datacenter, opts_.cluster);
  if (!opts_.emitter_id.empty()) identity.emitter_id = opts_.emitter_id;
  emitter_id_ = identity.emitter_id;
  emitter_ = std::make_unique<Emitter>(std::move(identity));

  TrackerOptions to;
  to.window_sec = opts_.window_sec;
  to.max_open_windows = kMaxOpenWindows;
  tracker_ = std::make_unique<WindowTracker>(to);
  scratch_.resize(kDrainBatch);

  first_flush_ns_ = NowNs(control_clock_) + std::chrono::nanoseconds(opts_.flush_interval).count();
  drain_thread_ = StartThread("chaperone-drain", [this] { DrainLoop(); });
  send_thread_ = StartThread("chaperone-send", [this] { SendLoop(); });
  return Status::Ok();
}

void AuditEngine::QueueFull() {
  int64_t n = dropped_observations_.fetch_add(1, std::memory_order_relaxed) + 1;
  log_.Log(AuditLogLevel::kWarning, DiagLog::kQueueFull,
           "observation queue full (capacity %zu): %lld messages not counted so far; they are reported as "
           "droppedObservations",
           queue_.capacity(), static_cast<long long>(n));
}

// ---- drain thread -----------------------------------------------------------

size_t AuditEngine::DrainQueue() {
  size_t total = 0;
  for (;;) {
    size_t n = queue_.PopBatch(scratch_.data(), scratch_.size());
    for (size_t i = 0; i < n; ++i) {
      const Slot& s = scratch_[i];
      if (s.topic->tracker_id < 0) s.topic->tracker_id = tracker_->InternTopic(s.topic->name);
      Observation o;
      o.topic = static_cast<TopicId>(s.topic->tracker_id);
      o.event_ms = s.event_ms;
      o.observed_ms = s.observed_ms;
      o.bytes = s.bytes;
      o.digest = s.digest;
      o.malformed = s.malformed != 0;
      tracker_->Add(o);
    }
    total += n;
    if (n < scratch_.size()) break;
  }
  drained_ += static_cast<int64_t>(total);
  return total;
}

void AuditEngine::DrainLoop() {
  const int64_t interval_ns = std::chrono::nanoseconds(opts_.flush_interval).count();
  int64_t next_flush_ns = first_flush_ns_;
  for (;;) {
    if (pause_drain_.load(std::memory_order_acquire) && !stop_drain_.load()) {
      drain_parked_.store(true, std::memory_order_release);
      struct timespec ts = {0, 1'000'000};
      nanosleep(&ts, nullptr);
      continue;
    }
    drain_parked_.store(false, std::memory_order_relaxed);
    size_t n = DrainQueue();
    bool stop = stop_drain_.load(std::memory_order_seq_cst);
    bool requested = flush_requested_.exchange(false, std::memory_order_seq_cst);
    int64_t now_ns = NowNs(control_clock_);
    bool due = now_ns >= next_flush_ns;
    if (stop || requested || due || tracker_->NeedsFlush()) {
      std::vector<std::shared_ptr<Ticket>> tickets;
      {
        std::lock_guard lock(mu_);
        tickets.swap(flush_requests_);
      }
      DrainQueue();  // everything pushed before the request
      CutBatch(std::move(tickets));
      if (due) next_flush_ns = std::max(next_flush_ns + interval_ns, now_ns + interval_ns / 2);
      if (stop) return;
      continue;
    }
    if (n > 0) {
      // Busy: let observations accumulate for a short while instead of
      // being woken by every producer.
      struct timespec ts = {0, static_cast<long>(kActivePoll.count())};
      nanosleep(&ts, nullptr);
      continue;
    }
    // Idle: sleep until the next flush or until a producer pushes.
    waker_.PrepareWait();
    if (!queue_.EmptyForConsumer() || flush_requested_.load(std::memory_order_seq_cst) ||
        stop_drain_.load(std::memory_order_seq_cst)) {
      waker_.CancelWait();
      continue;
    }
    auto wait = std::chrono::nanoseconds(next_flush_ns - NowNs(control_clock_));
    if (clock_ != nullptr) wait = std::min(wait, kFakeClockPoll);
    waker_.Wait(wait);
  }
}

void AuditEngine::CutBatch(std::vector<std::shared_ptr<Ticket>> tickets) {
  std::vector<WindowSnapshot> snaps = tracker_->Drain();
  // Messages the tracker had to discard (more open windows than it may hold)
  // were observed but are in no record: they count as dropped observations.
  int64_t tracker_dropped = tracker_->dropped_messages();
  if (tracker_dropped > tracker_dropped_) {
    dropped_observations_.fetch_add(tracker_dropped - tracker_dropped_, std::memory_order_relaxed);
    tracker_dropped_ = tracker_dropped;
  }
  int64_t watermark = control_clock_.NowMs() - kWatermarkSlackMs;

  // Room left in the outbox. Only this thread adds to it, so the room can
  // only grow until the records are appended below: a record that does not
  // fit is dropped as soon as it is built.
  int64_t room_records, room_bytes;
  {
    std::lock_guard lock(mu_);
    room_records = static_cast<int64_t>(opts_.max_pending_records) - outbox_records_;
    room_bytes = static_cast<int64_t>(opts_.max_pending_bytes) - outbox_bytes_;
  }
  std::vector<AuditRecord> records;
  records.reserve(std::min({snaps.size(), static_cast<size_t>(std::max<int64_t>(room_records, 0)),
                            static_cast<size_t>(std::max<int64_t>(room_bytes, 0)) / sizeof(AuditRecord)}));
  int64_t bytes = 0;
  int64_t dropped = 0;
  for (const WindowSnapshot& s : snaps) {
    AuditRecord r;
    FillAuditRecord(s, &r);
    auto size = static_cast<int64_t>(AuditRecordMemoryBytes(r));
    if (static_cast<int64_t>(records.size()) + 1 > room_records || bytes + size > room_bytes) {
      dropped++;
      continue;
    }
    bytes += size;
    records.push_back(std::move(r));
  }

  std::lock_guard lock(mu_);
  stats_.flushes++;
  stats_.tracked = drained_;
  // Merge into the last batch unless it is in flight, so that the outbox
  // holds at most two batches however long the audit cluster is away.
  if (outbox_.empty() || outbox_.back().stamped) outbox_.emplace_back();
  Batch& b = outbox_.back();
  auto n = static_cast<int64_t>(records.size());
  for (AuditRecord& r : records) b.records.push_back(std::move(r));
  b.count_records += n;
  b.count_bytes += bytes;
  outbox_records_ += n;
  outbox_bytes_ += bytes;
  stats_.peak_pending_bytes = std::max(stats_.peak_pending_bytes, outbox_bytes_);
  if (dropped > 0) {
    stats_.dropped_records += dropped;
    log_.Log(AuditLogLevel::kWarning, DiagLog::kOutboxFull,
             "%lld audit records dropped (%lld so far): %lld records (%lld bytes) are waiting for the audit "
             "cluster, the limits are %zu records and %zu bytes; reported as droppedRecords",
             static_cast<long long>(dropped), static_cast<long long>(stats_.dropped_records),
             static_cast<long long>(outbox_records_), static_cast<long long>(outbox_bytes_), opts_.max_pending_records,
             opts_.max_pending_bytes);
  }
  b.watermark_ms = watermark;
  for (auto& t : tickets) b.tickets.push_back(std::move(t));
  send_cv_.notify_all();
}

// ---- send thread --------------------------------------------------------------

Status AuditEngine::EnsureReporter() {
  if (reporter_) return Status::Ok();
  Result<std::unique_ptr<Reporter>> r = Status::Internal("no reporter");
  if (opts_.reporter_factory) {
    r = opts_.reporter_factory();
  } else {
    KafkaReporterOptions ko;
    ko.bootstrap_servers = opts_.audit_bootstrap_servers;
    if (ko.bootstrap_servers.empty() && learn_brokers_) {
      std::lock_guard lock(brokers_mu_);
      if (brokers_.empty()) return Status::Unavailable("the client has not been given a broker address yet");
      for (const std::string& b : brokers_) ko.bootstrap_servers += (ko.bootstrap_servers.empty() ? "" : ",") + b;
      brokers_taken_.store(true, std::memory_order_relaxed);
      log_.Log(AuditLogLevel::kInfo, DiagLog::kOther,
               "the client has no bootstrap.servers: audit records go to the brokers it was given, %s",
               ko.bootstrap_servers.c_str());
    }
    ko.topic = opts_.audit_topic;
    ko.properties.emplace_back("queue.buffering.max.kbytes", std::to_string(AuditProducerQueueKbytes(opts_)));
    for (const auto& p : opts_.audit_producer_properties) ko.properties.push_back(p);
    r = MakeKafkaReporter(ko);
  }
  if (!r.ok()) {
    log_.Log(AuditLogLevel::kError, DiagLog::kReporter, "cannot create the audit producer: %s",
             r.status().ToString().c_str());
    return r.status();
  }
  reporter_ = std::move(r).value();
  return Status::Ok();
}

void AuditEngine::LearnBroker(std::string_view host, int port) {
  if (!learn_brokers_ || host.empty() || port <= 0 || brokers_taken_.load(std::memory_order_relaxed)) return;
  constexpr size_t kMaxBrokers = 16;
  char buf[300];
  const bool v6 = host.find(':') != std::string_view::npos;
  int n =
      std::snprintf(buf, sizeof buf, v6 ? "[%.*s]:%d" : "%.*s:%d", static_cast<int>(host.size()), host.data(), port);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return;
  std::string_view address(buf, static_cast<size_t>(n));
  std::lock_guard lock(brokers_mu_);
  if (brokers_.size() >= kMaxBrokers || std::find(brokers_.begin(), brokers_.end(), address) != brokers_.end()) return;
  brokers_.emplace_back(address);
}

void AuditEngine::Complete(Batch& b, const Status& st) {
  for (auto& t : b.tickets) {
    t->done = true;
    t->status = st;
    t->cv.notify_all();
  }
  b.tickets.clear();
}

void AuditEngine::PopFront() {
  outbox_records_ -= outbox_.front().count_records;
  outbox_bytes_ -= outbox_.front().count_bytes;
  outbox_.pop_front();
}

void AuditEngine::SendLoop() {
  constexpr auto kFirstBackoff = std::chrono::milliseconds(500);
  auto backoff = kFirstBackoff;
  std::unique_lock lock(mu_);
  for (;;) {
    send_cv_.wait(lock, [&] { return !outbox_.empty() || drain_done_; });
    if (outbox_.empty()) break;  // closed and nothing left

    Batch& b = outbox_.front();
    if (closing_ && RealNowNs() >= close_deadline_ns_) {
      // Close() ran out of time: what is left is lost, and said so.
      stats_.dropped_records += b.count_records;
      if (b.count_records > 0) {
        log_.Log(AuditLogLevel::kError, DiagLog::kClose,
                 "closing: %lld audit records could not be delivered to %s within the close timeout",
                 static_cast<long long>(b.count_records), opts_.audit_topic.c_str());
      }
      Complete(b, Status::Unavailable("closed before the audit records were acknowledged"));
      PopFront();
      continue;
    }
    if (!b.stamped) {
      // Everything after this point goes into a new batch.
      b.stamped = true;
      emitter_->BeginFlush();
      for (AuditRecord& r : b.records) emitter_->Stamp(r);
      AuditRecord hb = emitter_->Heartbeat(b.watermark_ms, opts_.window_sec, stats_.dropped_records,
                                           failed_deliveries_.load(std::memory_order_relaxed));
      hb.dropped_observations = dropped_observations_.load(std::memory_order_relaxed);
      b.records.push_back(std::move(hb));
    }
    auto timeout = opts_.report_timeout;
    if (closing_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::nanoseconds(close_deadline_ns_ - RealNowNs()));
      timeout = std::max(std::chrono::milliseconds(1), std::min(timeout, left));
    }
    lock.unlock();
    // The drain thread never touches a stamped batch, so `b` is ours here.
    Status st = EnsureReporter();
    if (st.ok()) st = reporter_->Send(b.records, timeout);
    lock.lock();

    if (st.ok()) {
      stats_.records_sent += b.count_records;
      stats_.heartbeats_sent += 1;
      Complete(b, st);
      PopFront();
      backoff = kFirstBackoff;
      continue;
    }
    stats_.send_failures++;
    log_.Log(AuditLogLevel::kWarning, DiagLog::kSendFailed,
             "audit records not acknowledged by %s (topic %s): %s; retrying (%lld records waiting)",
             opts_.audit_bootstrap_servers.empty() ? "the audit cluster" : opts_.audit_bootstrap_servers.c_str(),
             opts_.audit_topic.c_str(), st.ToString().c_str(), static_cast<long long>(outbox_records_));
    if (closing_) {
      send_cv_.wait_for(lock, std::chrono::milliseconds(50));  // retry until the deadline
    } else {
      send_cv_.wait_for(lock, backoff, [&] { return closing_; });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(opts_.flush_interval));
    }
  }
  lock.unlock();
  reporter_.reset();  // the audit producer, with its threads
}

// ---- control --------------------------------------------------------------------

Status AuditEngine::Flush(std::chrono::milliseconds timeout) {
  auto ticket = std::make_shared<Ticket>();
  {
    std::lock_guard lock(mu_);
    if (closed_.load()) return Status::Unavailable("audit client is closed");
    flush_requests_.push_back(ticket);
  }
  flush_requested_.store(true, std::memory_order_seq_cst);
  waker_.NotifyAlways();
  std::unique_lock lock(mu_);
  if (!ticket->cv.wait_for(lock, timeout, [&] { return ticket->done; })) {
    return Status::Unavailable("audit records not acknowledged within " + std::to_string(timeout.count()) + " ms");
  }
  return ticket->status;
}

Status AuditEngine::Close(std::chrono::milliseconds timeout) {
  std::call_once(close_once_, [&] {
    int64_t deadline = RealNowNs() + std::chrono::nanoseconds(timeout).count();
    closed_.store(true, std::memory_order_seq_cst);
    auto ticket = std::make_shared<Ticket>();
    {
      std::lock_guard lock(mu_);
      // From now on every delivery attempt ends by the deadline.
      closing_ = true;
      close_deadline_ns_ = deadline;
      flush_requests_.push_back(ticket);
      send_cv_.notify_all();
    }
    stop_drain_.store(true, std::memory_order_seq_cst);
    waker_.NotifyAlways();
    if (drain_thread_.joinable()) drain_thread_.join();  // it cut the final batch
    {
      std::lock_guard lock(mu_);
      drain_done_ = true;
      send_cv_.notify_all();
    }
    if (send_thread_.joinable()) send_thread_.join();
    std::lock_guard lock(mu_);
    close_status_ = ticket->done ? ticket->status : Status::Unavailable("audit client closed");
    stats_.tracked = drained_;
  });
  std::lock_guard lock(mu_);
  return close_status_;
}

void AuditEngine::PauseDrainForTesting(bool paused) {
  pause_drain_.store(paused, std::memory_order_release);
  waker_.NotifyAlways();
  while (paused && !drain_parked_.load(std::memory_order_acquire)) {
    struct timespec ts = {0, 1'000'000};
    nanosleep(&ts, nullptr);
  }
}

AuditClientStats AuditEngine::stats() const {
  std::lock_guard lock(mu_);
  AuditClientStats s = stats_;
  s.dropped_observations = dropped_observations_.load(std::memory_order_relaxed);
  s.failed_deliveries = failed_deliveries_.load(std::memory_order_relaxed);
  s.pending_records = outbox_records_;
  s.pending_bytes = outbox_bytes_;
  return s;
}

}  // namespace chaperone::interceptor

namespace chaperone {

size_t AuditRecordMemoryBytes(const AuditRecord& r) {
  // A string's characters live in the struct up to its small-string capacity.
  constexpr size_t kInline = std::string().capacity();
  auto heap = [&](const std::string& s) { return s.capacity() > kInline ? s.capacity() + 1 : 0; };
  return sizeof(AuditRecord) + heap(r.tier) + heap(r.hostname) + heap(r.datacenter) + heap(r.cluster) + heap(r.uuid) +
         heap(r.emitter_id) + heap(r.flush_id) + heap(r.topic) + heap(r.latency_sketch) +
         r.partitions.capacity() * sizeof(PartitionCount);
}

}  // namespace chaperone
