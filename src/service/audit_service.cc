#include "service/audit_service.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "chaperone/digest.h"
#include "chaperone/emitter.h"
#include "chaperone/event_time.h"
#include "chaperone/reporter.h"
#include "chaperone/window_tracker.h"
#include "common/rate_limited_log.h"
#include "lib/kafka/group_membership.h"
#include "common/thread_name.h"
#include "service/consumer_defaults.h"
#include "service/fetch_waker.h"
#include "service/message_audit.h"
#include "service/partition_ledger.h"
#include "service/topic_selector.h"

namespace chaperone::service {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Messages taken from the consumer queue in one call (one lock and one
// position update per partition, instead of per message), and at most that
// many times over between two looks at the flush and status timers.
constexpr int kConsumeBatch = 256;
constexpr int kBatchesPerLoop = 16;
constexpr int kPollTimeoutMs = 100;
constexpr int64_t kStatusPublishNs = 1'000'000'000;
constexpr int64_t kRewindRetryNs = 1'000'000'000;
constexpr int kBrokerCallTimeoutMs = 5'000;

struct TopicPartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using TpList = std::unique_ptr<rd_kafka_topic_partition_list_t, TopicPartitionListDeleter>;

bool FindHeader(const void* ctx, std::string_view name, std::string_view* value) {
  auto* m = static_cast<rd_kafka_message_t*>(const_cast<void*>(ctx));
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs) return false;
  char buf[TimestampChain::kMaxNameBytes + 1];
  if (name.size() > TimestampChain::kMaxNameBytes) return false;
  std::memcpy(buf, name.data(), name.size());
  buf[name.size()] = '\0';
  const void* v = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, buf, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || !v) return false;
  *value = std::string_view(static_cast<const char*>(v), size);
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------

class AuditService::Impl final : public ServiceControl {
 public:
  explicit Impl(ServiceOptions o);
  ~Impl() override;

  Status Init();
  Status Run(const std::atomic<bool>& stop);

  // ServiceControl (REST threads).
  std::vector<TopicInfo> ListTopics() override;
  Status AddTopic(const std::string& topic, int num_partitions) override;
  Status RemoveTopic(const std::string& topic) override;
  http::HealthVerdict Health() override;
  std::string PrometheusMetrics() override { return metrics_.RenderPrometheus(); }

  int rest_port() const { return rest_ ? rest_->port() : 0; }
  const ServiceMetrics& metrics() const { return metrics_; }
  void RequestFlush() { flush_requested_.store(true); }

 private:
  struct TopicState;
  struct PartitionState {
    TopicState* topic = nullptr;
    int32_t partition = 0;
    PartitionLedger ledger;
    int64_t assigned_ms = 0;   // wall clock of the assignment
    // The group generation and member id under which the partition was
    // assigned: every chunk of this ownership carries that generation (the
    // fencing epoch); -1 / "" when the client library cannot tell.
    int64_t generation = -1;
    std::string member_id;
    int64_t caught_up_ms = 0;  // everything appended before this time was committed (0 unknown)
    int64_t high_watermark = -1;
    int64_t sampled_high = -1, sampled_low = -1;  // high/low watermark sampled at sampled_ms (-1 none)
    int64_t sampled_ms = 0;
  };
  struct TopicState {
    std::string name;
    TopicId id = 0;
    const TimestampChain* chain = nullptr;
    rd_kafka_topic_t* rkt = nullptr;  // our reference keeps the pointer stable
    std::vector<std::unique_ptr<PartitionState>> partitions;  // index: partition id
    int assigned = 0;
    PartitionState* Find(int32_t p) const {
      return p >= 0 && static_cast<size_t>(p) < partitions.size() ? partitions[static_cast<size_t>(p)].get() : nullptr;
    }
  };

  // Consume thread.
  void OnMessage(rd_kafka_message_t* m);
  void OnConsumerError(rd_kafka_message_t* m);
  TopicState* LookupTopic(rd_kafka_topic_t* rkt);
  TopicState* EnsureTopic(const std::string& name);
  void DropTopicIfUnused(TopicState* ts);
  void CheckRetentionLoss(PartitionState& ps, int64_t first_offset);
  static void RebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                                  void* opaque);
  void OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts);
  void OnAssign(rd_kafka_topic_partition_list_t* parts);
  void OnRevoke(rd_kafka_topic_partition_list_t* parts);
  void FlushCycle(const char* reason);
  Status Flush(bool final = false);
  void PrepareHeartbeat();
  void StartRewind(const std::set<std::pair<std::string, int32_t>>& exclude);
  void TryRewind();
  void ApplyPendingSubscription();
  void PublishStatus();
  void PublishCounters();
  void CheckQueueDrain();
  std::vector<PartitionState*> Assigned() const;
  std::vector<std::pair<std::string, int32_t>> FetchWakeTargets();

  // Discovery thread.
  void DiscoveryLoop();
  void Discover();

  ServiceOptions opts_;
  const Clock& clock_;
  ServiceMetrics metrics_;
  std::unique_ptr<RestServer> rest_;
  std::optional<TopicSelector> selector_;  // thread-safe
  TimestampRules rules_;

  // ---- consume thread only ----
  rd_kafka_t* rk_ = nullptr;  // thread-safe handle; the discovery thread reads metadata through it
  std::shared_ptr<Reporter> reporter_;
  std::unique_ptr<Emitter> emitter_;
  std::unique_ptr<WindowTracker> tracker_;
  std::map<std::string, std::unique_ptr<TopicState>> topics_;  // assigned topics by name
  std::unordered_map<rd_kafka_topic_t*, TopicState*> by_rkt_;
  rd_kafka_topic_t* last_rkt_ = nullptr;
  TopicState* last_topic_ = nullptr;
  std::vector<std::string> subscribed_;
  int64_t now_ms_ = 0;                 // wall clock, refreshed per batch
  int64_t next_flush_ns_ = 0;
  int64_t next_status_ns_ = 0;
  int64_t next_rewind_ns_ = 0;
  bool rewind_pending_ = false;
  bool joined_ = false;                // had an assignment (possibly empty) from the group
  int64_t last_good_flush_ms_ = 0;
  int64_t last_flush_ms_ = 0;
  bool last_flush_ok_ = true;
  int64_t watermark_ms_ = 0;
  std::optional<AuditRecord> pending_heartbeat_;  // stamped after a commit, sent with the next flush
  int64_t hwm_staleness_ms_ = 1000;  // how old the consumer's cached high watermark can be
  std::string last_error_;
  // Hot-path counters, published to metrics_ once per batch.
  int64_t n_audited_ = 0, n_bytes_ = 0, n_malformed_ = 0, n_no_time_ = 0;
  rd_kafka_queue_t* consumer_queue_ = nullptr;  // the consumer's queue (rd_kafka_poll_set_consumer)
  rd_kafka_message_t* batch_[kConsumeBatch] = {};
  // Bounded prefetch with librdkafka < 2.1 (service/fetch_waker.h).
  std::optional<QueueDrainTrigger> drain_trigger_;
  std::unique_ptr<FetchWaker> waker_;
  common::RateLimitedLog log_consume_{"service"}, log_stale_{"service"}, log_loss_{"service"}, log_flush_{"service"},
      log_rewind_{"service"};

  bool closed_ = false;  // rd_kafka_consumer_close was called
  bool subscribed_ever_ = false;
  bool assignment_seen_ = false;  // the rebalance callback assigned (possibly nothing)
  std::atomic<bool> flush_requested_{false};
  std::atomic<bool> running_{false};

  // ---- shared between the discovery thread, REST threads and the consume thread ----
  std::mutex mu_;
  std::condition_variable discovery_cv_;
  bool discovery_stop_ = false;                     // guarded by mu_
  bool discovery_wake_ = false;                     // guarded by mu_
  std::optional<std::vector<std::string>> pending_subscription_;  // guarded by mu_
  std::vector<SelectedTopic> selected_;             // guarded by mu_
  std::map<std::string, int> cluster_partitions_;   // guarded by mu_ (last metadata)
  std::map<std::string, std::vector<int32_t>> leaders_;  // guarded by mu_: leader broker per partition (last metadata)
  std::string desired_key_;                         // guarded by mu_: the topic set last handed over
};

// ---------------------------------------------------------------------------
// Setup and teardown

AuditService::Impl::Impl(ServiceOptions o)
    : opts_(std::move(o)), clock_(opts_.clock ? *opts_.clock : SystemClock::Instance()) {}

AuditService::Impl::~Impl() {
  rest_.reset();
  waker_.reset();
  if (consumer_queue_) rd_kafka_queue_destroy(consumer_queue_);
  if (rk_) {
    if (!closed_) rd_kafka_consumer_close(rk_);
    for (auto& [name, ts] : topics_) rd_kafka_topic_destroy(ts->rkt);
    topics_.clear();
    // librdkafka before 2.3.0 asserts when a cooperative-sticky consumer that
    // joined a group but never received an assignment is destroyed
    // (librdkafka issue #4312). The consumer is closed (it left the group);
    // in that one case its handle is left behind rather than crash the process.
    if (subscribed_ever_ && !assignment_seen_ && rd_kafka_version() < 0x020300ff) {
      spdlog::debug("service: not destroying a consumer that never had an assignment (librdkafka #4312)");
    } else {
      rd_kafka_destroy(rk_);
    }
  }
}

Status AuditService::Impl::Init() {
  if (opts_.tier.empty()) return Status::InvalidArgument("tier must not be empty");
  if (opts_.window_sec < 1 || opts_.window_sec > kMaxWindowSec)
    return Status::InvalidArgument("window_sec must be from 1 to " + std::to_string(kMaxWindowSec));
  if (opts_.flush_interval.count() < 1) return Status::InvalidArgument("flush interval must be positive");
  if (!FindKafkaProperty(opts_.cluster_properties, "bootstrap.servers"))
    return Status::InvalidArgument("the audited cluster has no bootstrap.servers");
  for (const auto& r : opts_.timestamps) {
    if (Status s = rules_.Add(r.topic_regex, r.chain); !s.ok()) return s;
  }
  std::vector<std::string> always_excluded;
  if (opts_.exclude_audit_topic) always_excluded.push_back(opts_.audit_topic);
  auto sel = TopicSelector::Create(opts_.include, opts_.exclude, always_excluded);
  if (!sel.ok()) return sel.status();
  selector_.emplace(*sel);

  // The consumer: Chaperone's tuned defaults, then the cluster's properties,
  // then the consumer overrides, then what exactly-once relies on.
  KafkaProperties props = ConsumerTuningDefaults();
  props.insert(props.begin(), {"client.id", "chaperone-service"});
  props.emplace_back("topic.metadata.refresh.interval.ms",
                     std::to_string(std::clamp<int64_t>(opts_.discovery_interval.count(), 1000, 300000)));
  for (const auto& kv : WithoutPluginProperties(opts_.cluster_properties)) props.push_back(kv);
  for (const auto& kv : WithoutPluginProperties(opts_.consumer_properties)) props.push_back(kv);
  props.insert(props.end(), {{"group.id", opts_.EffectiveGroupId()},
                             {"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             {"enable.partition.eof", "false"},
                             {"partition.assignment.strategy", "cooperative-sticky"}});
  const FetchWakerPlan waker_plan = PlanFetchWaker(props);
  // Libraries that have it re-check a full queue this often by themselves
  // (a default: placed before the user's properties, which may override it).
  if (!waker_plan.needed) props.insert(props.begin(), {"fetch.queue.backoff.ms", "10"});
  if (const std::string* w = FindKafkaProperty(props, "fetch.wait.max.ms")) {
    // An idle partition's high watermark is refreshed every fetch.wait.max.ms.
    hwm_staleness_ms_ = std::max<int64_t>(1000, std::atoll(w->c_str()) + 500);
  }
  auto conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_rebalance_cb(*conf, &Impl::RebalanceTrampoline);
  rd_kafka_conf_set_opaque(*conf, this);
  char errstr[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof errstr);
  if (!rk_) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(std::string("consumer: ") + errstr);
  }
  rd_kafka_poll_set_consumer(rk_);
  consumer_queue_ = rd_kafka_queue_get_consumer(rk_);
  if (waker_plan.needed) drain_trigger_.emplace(waker_plan.max_messages, waker_plan.max_bytes);

  TrackerOptions topts;
  topts.window_sec = opts_.window_sec;
  topts.by_partition = true;
  tracker_ = std::make_unique<WindowTracker>(topts);
  emitter_ = std::make_unique<Emitter>(
      MakeEmitterIdentity(opts_.tier, opts_.datacenter, opts_.cluster_name, clock_));

  reporter_ = opts_.reporter;
  if (!reporter_) {
    KafkaReporterOptions ro;
    ro.topic = opts_.audit_topic;
    const KafkaProperties& cluster = opts_.audit_properties.empty() ? opts_.cluster_properties : opts_.audit_properties;
    ro.properties = WithoutPluginProperties(cluster);
    for (const auto& kv : WithoutPluginProperties(opts_.producer_properties)) ro.properties.push_back(kv);
    if (const std::string* b = FindKafkaProperty(ro.properties, "bootstrap.servers")) ro.bootstrap_servers = *b;
    auto rep = MakeKafkaReporter(ro);
    if (!rep.ok()) return rep.status();
    reporter_ = std::shared_ptr<Reporter>(std::move(*rep));
  }

  if (!opts_.listen.empty()) {
    auto rs = RestServer::Start(opts_.listen, this);
    if (!rs.ok()) return rs.status();
    rest_ = std::move(*rs);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The consume loop

Status AuditService::Impl::Run(const std::atomic<bool>& stop) {
  running_.store(true);
  std::thread discovery = NamedThread("svc-discovery", [this] { DiscoveryLoop(); });
  if (drain_trigger_) waker_ = std::make_unique<FetchWaker>(rk_, [this] { return FetchWakeTargets(); });
  const int64_t interval_ns = opts_.flush_interval.count() * 1'000'000;
  next_flush_ns_ = clock_.MonotonicNs() + interval_ns;
  spdlog::info("service: auditing cluster {} as tier {} (group {}, window {} s, flush every {} ms)", opts_.cluster_name,
               opts_.tier, opts_.EffectiveGroupId(), opts_.window_sec, opts_.flush_interval.count());

  Status result;
  while (!stop.load(std::memory_order_relaxed)) {
    ApplyPendingSubscription();
    if (rewind_pending_ && clock_.MonotonicNs() >= next_rewind_ns_) TryRewind();

    now_ms_ = clock_.NowMs();
    // Rebalance callbacks run inside this call, possibly after some of the
    // batch's messages were taken: a message of a partition revoked meanwhile
    // is dropped by OnMessage, and its new owner counts it (the revoke
    // committed only what was counted here).
    ssize_t got = rd_kafka_consume_batch_queue(consumer_queue_, kPollTimeoutMs, batch_, kConsumeBatch);
    for (int round = 1; got > 0; ++round) {
      for (ssize_t i = 0; i < got; ++i) {
        OnMessage(batch_[i]);
        rd_kafka_message_destroy(batch_[i]);
      }
      now_ms_ = clock_.NowMs();
      CheckQueueDrain();
      if (round >= kBatchesPerLoop) break;
      got = rd_kafka_consume_batch_queue(consumer_queue_, 0, batch_, kConsumeBatch);
    }
    PublishCounters();
    if (rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk_, nullptr, 0); fatal != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = Status::Internal(std::string("fatal consumer error: ") + rd_kafka_err2str(fatal));
      break;
    }

    int64_t mono = clock_.MonotonicNs();
    if (mono >= next_flush_ns_ || tracker_->NeedsFlush() || flush_requested_.exchange(false)) {
      FlushCycle("interval");
      next_flush_ns_ = clock_.MonotonicNs() + interval_ns;
    }
    if (mono >= next_status_ns_) {
      PublishStatus();
      next_status_ns_ = mono + kStatusPublishNs;
    }
  }

  // Shutdown: report and commit what was counted, then leave the group (the
  // revoke callback flushes again, with nothing left), then stop discovery.
  FlushCycle("shutdown");
  {
    std::lock_guard lock(mu_);
    discovery_stop_ = true;
  }
  discovery_cv_.notify_all();
  discovery.join();
  if (waker_) metrics_.fetch_wakes.store(waker_->wakes(), std::memory_order_relaxed);
  waker_.reset();
  rd_kafka_consumer_close(rk_);
  closed_ = true;
  PublishCounters();
  running_.store(false);
  PublishStatus();
  spdlog::info("service: stopped ({} messages committed, {} records emitted)", metrics_.messages_committed.load(),
               metrics_.records_emitted.load());
  return result;
}

AuditService::Impl::TopicState* AuditService::Impl::LookupTopic(rd_kafka_topic_t* rkt) {
  if (rkt == last_rkt_) return last_topic_;
  auto it = by_rkt_.find(rkt);
  TopicState* ts = nullptr;
  if (it != by_rkt_.end()) {
    ts = it->second;
  } else {
    auto t = topics_.find(rd_kafka_topic_name(rkt));
    if (t == topics_.end()) return nullptr;
    ts = t->second.get();
    by_rkt_[rkt] = ts;
  }
  last_rkt_ = rkt;
  last_topic_ = ts;
  return ts;
}

void AuditService::Impl::OnMessage(rd_kafka_message_t* m) {
  if (m->err) {
    OnConsumerError(m);
    return;
  }
  TopicState* ts = LookupTopic(m->rkt);
  PartitionState* ps = ts ? ts->Find(m->partition) : nullptr;
  if (!ps) {
    // A message of a partition no longer assigned (librdkafka drops those;
    // this is a second line of defence). It is counted by its new owner.
    log_stale_.Warn(clock_, "dropped a message of unassigned partition {} [{}] at offset {}",
                    rd_kafka_topic_name(m->rkt), m->partition, m->offset);
    return;
  }
  bool first = ps->ledger.first_since_start();
  switch (ps->ledger.OnMessage(m->offset)) {
    case PartitionLedger::Verdict::kCount:
      break;
    case PartitionLedger::Verdict::kRewinding:
      return;
    case PartitionLedger::Verdict::kStale:
      log_stale_.Warn(clock_, "dropped {} [{}] offset {}: at or below an offset already counted ({})", ts->name,
                      m->partition, m->offset, ps->ledger.commit_offset());
      return;
  }
  if (first) CheckRetentionLoss(*ps, m->offset);

  MessageView v;
  v.key_null = m->key == nullptr;
  if (!v.key_null) v.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
  v.value_null = m->payload == nullptr;
  if (!v.value_null) v.value = std::string_view(static_cast<const char*>(m->payload), m->len);
  rd_kafka_timestamp_type_t tstype;
  v.record_timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
  v.headers_ctx = m;
  v.find_header = &FindHeader;
  EventTime et = AuditMessage(*ts->chain, *tracker_, ts->id, m->partition, m->offset, v, now_ms_);

  ++n_audited_;
  n_bytes_ += static_cast<int64_t>(v.key.size() + v.value.size());
  n_malformed_ += et.malformed;
  n_no_time_ += !et.found;
}

void AuditService::Impl::OnConsumerError(rd_kafka_message_t* m) {
  switch (m->err) {
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
      return;
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      metrics_.offset_resets.fetch_add(1, std::memory_order_relaxed);
      log_loss_.Warn(clock_, "offset reset: {}", rd_kafka_message_errstr(m));
      return;
    default:
      break;
  }
  metrics_.errors_consume.fetch_add(1, std::memory_order_relaxed);
  std::string where = m->rkt ? fmt::format(" ({} [{}])", rd_kafka_topic_name(m->rkt), m->partition) : "";
  last_error_ = std::string("consume: ") + rd_kafka_message_errstr(m) + where;
  log_consume_.Warn(clock_, "consumer error{}: {}", where, rd_kafka_message_errstr(m));
}

void AuditService::Impl::CheckRetentionLoss(PartitionState& ps, int64_t first_offset) {
  int64_t committed = ps.ledger.committed();
  if (committed < 0 || first_offset <= committed) return;
  // Offsets may be skipped legitimately (transaction markers, compaction): it
  // is a loss only if the log no longer starts at or before the committed offset.
  int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(rk_, ps.topic->name.c_str(), ps.partition, &low, &high) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      low <= committed)
    return;
  int64_t lost = std::min(first_offset, low) - committed;
  metrics_.offsets_lost.fetch_add(lost, std::memory_order_relaxed);
  log_loss_.Warn(clock_, "{} [{}]: {} offsets from {} were deleted by retention before they were audited",
                 ps.topic->name, ps.partition, lost, committed);
}

// The consumer queue fell from near its budget to low: librdkafka (< 2.1) may
// have stopped fetching when it was full and not looked again since.
void AuditService::Impl::CheckQueueDrain() {
  if (!drain_trigger_ || n_audited_ == 0) return;
  const int64_t queued = rd_kafka_queue_length(consumer_queue_);
  if (drain_trigger_->Observe(queued, std::max<int64_t>(1, n_bytes_ / n_audited_)) && waker_) waker_->Wake();
}

// One assigned partition per leader broker (every assigned partition whose
// leader the last metadata did not give).
std::vector<std::pair<std::string, int32_t>> AuditService::Impl::FetchWakeTargets() {
  rd_kafka_topic_partition_list_t* raw = nullptr;
  if (rd_kafka_assignment(rk_, &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || !raw) return {};
  TpList assignment(raw);
  std::vector<std::pair<std::string, int32_t>> out;
  std::set<int32_t> leaders_seen;
  std::lock_guard lock(mu_);
  for (int i = 0; i < assignment->cnt; ++i) {
    const auto& tp = assignment->elems[i];
    int32_t leader = -1;
    if (auto it = leaders_.find(tp.topic); it != leaders_.end() && tp.partition >= 0 &&
                                           static_cast<size_t>(tp.partition) < it->second.size())
      leader = it->second[static_cast<size_t>(tp.partition)];
    if (leader >= 0 && !leaders_seen.insert(leader).second) continue;
    out.emplace_back(tp.topic, tp.partition);
  }
  return out;
}

void AuditService::Impl::PublishCounters() {
  auto relaxed = std::memory_order_relaxed;
  if (waker_) metrics_.fetch_wakes.store(waker_->wakes(), relaxed);
  metrics_.messages_audited.store(n_audited_, relaxed);
  metrics_.bytes_audited.store(n_bytes_, relaxed);
  metrics_.malformed_messages.store(n_malformed_, relaxed);
  metrics_.no_time_messages.store(n_no_time_, relaxed);
}

std::vector<AuditService::Impl::PartitionState*> AuditService::Impl::Assigned() const {
  std::vector<PartitionState*> out;
  for (const auto& [name, ts] : topics_)
    for (const auto& p : ts->partitions)
      if (p) out.push_back(p.get());
  return out;
}

void AuditService::Impl::PublishStatus() {
  ServiceStatus st;
  for (PartitionState* ps : Assigned()) {
    PartitionGauge g;
    g.topic = ps->topic->name;
    g.partition = ps->partition;
    g.position = ps->ledger.position();
    g.committed = ps->ledger.committed();
    int64_t low = -1, high = -1;
    if (rd_kafka_get_watermark_offsets(rk_, g.topic.c_str(), g.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0) {
      g.high_watermark = high;
      int64_t pos = g.position >= 0 ? g.position : (low >= 0 ? low : 0);
      g.lag = std::max<int64_t>(0, high - pos);
    }
    st.partitions.push_back(std::move(g));
  }
  st.last_flush_ms = last_flush_ms_;
  st.last_good_flush_ms = last_good_flush_ms_;
  st.last_flush_ok = last_flush_ok_;
  st.rewind_pending = rewind_pending_;
  st.watermark_ms = watermark_ms_;
  st.last_error = last_error_;
  st.running = running_.load();
  metrics_.Publish(std::move(st));
}

// ---------------------------------------------------------------------------
// Flush: report, then commit; any failure rewinds.

void AuditService::Impl::FlushCycle(const char* reason) {
  Status s = Flush(/*final=*/std::string_view(reason) == "shutdown");
  if (s.ok()) return;
  last_error_ = "flush (" + std::string(reason) + "): " + s.ToString();
  log_flush_.Warn(clock_, "flush ({}) failed, rewinding to the committed offsets: {}", reason, s.ToString());
  StartRewind({});
}

Status AuditService::Impl::Flush(bool final) {
  const int64_t flush_ms = clock_.NowMs();
  last_flush_ms_ = flush_ms;
  std::vector<WindowSnapshot> snaps = tracker_->Drain();
  std::vector<PartitionState*> to_commit;
  for (PartitionState* ps : Assigned())
    if (ps->ledger.has_pending()) to_commit.push_back(ps);

  // The heartbeat prepared at the previous commit rides with this flush's
  // records (one round trip per flush); it was stamped first, so its seq is
  // below theirs.
  std::vector<AuditRecord> records;
  records.reserve(snaps.size() + 1);
  const bool with_heartbeat = pending_heartbeat_.has_value();
  if (with_heartbeat) records.push_back(*pending_heartbeat_);
  // Fencing (docs/architecture.md, "Zombies"): every chunk carries the group
  // generation under which its partition was assigned, so the collector can
  // refuse the chunk of a member that was cut off while a newer owner counted
  // the same offsets. A member that is no longer in the group, or rejoined
  // under another member id since the assignment, reports nothing: it rewinds,
  // and the lost-partitions event that follows discards the counts.
  std::optional<kafka::GroupMembership> member;
  if (!snaps.empty()) {
    member = kafka::CurrentGroupMembership(rk_);
    if (!member) log_flush_.Warn(clock_, "the client library's group metadata has an unknown format: not fenced");
    if (member && member->generation < 0) {
      metrics_.flushes_failed.fetch_add(1, std::memory_order_relaxed);
      last_flush_ok_ = false;
      return Status::Unavailable("not a member of the group's current generation (session expired or fenced)");
    }
    for (const PartitionState* ps : to_commit) {
      if (!member || ps->member_id.empty() || ps->member_id == member->member_id) continue;
      metrics_.flushes_failed.fetch_add(1, std::memory_order_relaxed);
      last_flush_ok_ = false;
      return Status::Unavailable(fmt::format("{} [{}] was assigned to member {}; this process is now member {}",
                                             ps->topic->name, ps->partition, ps->member_id, member->member_id));
    }
  }
  if (!snaps.empty() || !to_commit.empty()) emitter_->BeginFlush();
  for (const WindowSnapshot& snap : snaps) {
    AuditRecord r;
    FillAuditRecord(snap, &r);
    auto t = topics_.find(snap.topic);
    if (r.partitions.size() != 1 || t == topics_.end() || !t->second->Find(r.partitions[0].partition)) {
      // Cannot happen: every counted message belongs to an assigned partition,
      // and revoked partitions are flushed before they go.
      last_flush_ok_ = false;
      metrics_.flushes_failed.fetch_add(1, std::memory_order_relaxed);
      return Status::Internal("window snapshot of " + snap.topic + " has no assigned partition");
    }
    const PartitionState* ps = t->second->Find(r.partitions[0].partition);
    r.partitions[0].chunk_start = ps->ledger.chunk_start();
    r.partitions[0].generation = ps->generation;
    r.partitions[0].assigned_ms = ps->assigned_ms;
    emitter_->Stamp(r);
    records.push_back(std::move(r));
  }
  const int64_t count_records = static_cast<int64_t>(records.size()) - (with_heartbeat ? 1 : 0);
  // A heartbeat alone never holds the consume loop for long, and shutdown is
  // bounded even when the audit cluster is gone (what is not committed is
  // replayed by the next owner).
  std::chrono::milliseconds timeout = opts_.send_timeout;
  if (count_records == 0) timeout = std::min(timeout, std::max<std::chrono::milliseconds>(opts_.flush_interval, 1000ms));
  if (final) timeout = std::min<std::chrono::milliseconds>(timeout, 10'000ms);

  if (!records.empty()) {
    if (Status s = reporter_->Send(records, timeout); !s.ok()) {
      if (count_records == 0) {
        // Only the heartbeat was at stake: keep it for the next flush (its
        // uuid lets the collector drop a second copy).
        metrics_.errors_heartbeat.fetch_add(1, std::memory_order_relaxed);
        log_flush_.Warn(clock_, "heartbeat not delivered: {}", s.ToString());
        return Status::Ok();
      }
      metrics_.errors_send.fetch_add(1, std::memory_order_relaxed);
      metrics_.flushes_failed.fetch_add(1, std::memory_order_relaxed);
      last_flush_ok_ = false;
      if (s.code() == Status::Code::kInvalidArgument) return Status::Internal("audit record rejected: " + s.message());
      return Status::Unavailable("send: " + s.message());
    }
    if (with_heartbeat) {
      metrics_.heartbeats_emitted.fetch_add(1, std::memory_order_relaxed);
      watermark_ms_ = pending_heartbeat_->watermark_ms;
      pending_heartbeat_.reset();
    }
    metrics_.records_emitted.fetch_add(count_records, std::memory_order_relaxed);
  }
  if (!to_commit.empty()) {
    TpList offsets(rd_kafka_topic_partition_list_new(static_cast<int>(to_commit.size())));
    for (PartitionState* ps : to_commit)
      rd_kafka_topic_partition_list_add(offsets.get(), ps->topic->name.c_str(), ps->partition)->offset =
          ps->ledger.commit_offset();
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_, offsets.get(), /*async=*/0);
    std::string why = err ? rd_kafka_err2str(err) : "";
    for (int i = 0; i < offsets->cnt && why.empty(); ++i) {
      if (offsets->elems[i].err)
        why = fmt::format("{} [{}]: {}", offsets->elems[i].topic, offsets->elems[i].partition,
                          rd_kafka_err2str(offsets->elems[i].err));
    }
    if (!why.empty()) {
      metrics_.errors_commit.fetch_add(1, std::memory_order_relaxed);
      metrics_.flushes_failed.fetch_add(1, std::memory_order_relaxed);
      last_flush_ok_ = false;
      return Status::Unavailable("commit: " + why);
    }
    int64_t committed = 0;
    for (PartitionState* ps : to_commit) {
      committed += ps->ledger.pending();
      ps->ledger.OnCommitted();
    }
    metrics_.messages_committed.fetch_add(committed, std::memory_order_relaxed);
  }
  metrics_.flushes_ok.fetch_add(1, std::memory_order_relaxed);
  last_flush_ok_ = true;
  last_good_flush_ms_ = flush_ms;
  PrepareHeartbeat();
  if (final && pending_heartbeat_) {
    if (Status s = reporter_->Send({*pending_heartbeat_}, std::min<std::chrono::milliseconds>(timeout, 5'000ms));
        s.ok()) {
      metrics_.heartbeats_emitted.fetch_add(1, std::memory_order_relaxed);
      watermark_ms_ = pending_heartbeat_->watermark_ms;
      pending_heartbeat_.reset();
    } else {
      metrics_.errors_heartbeat.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return Status::Ok();
}

// The heartbeat's watermark W promises: every message appended to this
// process's partitions before W has been counted, reported and committed.
// At every flush each partition samples the high watermark H its consumer last
// saw (refreshed by every fetch response, so it covers everything appended
// until hwm_staleness_ms_ before the sample time T). When a later commit
// reaches H, everything appended before T - hwm_staleness_ms_ is committed:
// that is the partition's caught-up time. W is the minimum over the assigned
// partitions, so a lagging partition holds W back by its lag; a partition that
// has not caught up once since its assignment holds it at 0, and then no
// heartbeat is sent (the count records still show the process is alive). A
// member without partitions reports its flush time once it has joined the
// group. Partitions moving between members are covered by neither side for
// the moment of the move, which the finality grace period absorbs. The
// heartbeat is stamped now, after the commit, and sent with the next flush.
void AuditService::Impl::PrepareHeartbeat() {
  // Before the group gave us an assignment we cannot speak for any partition.
  if (!joined_) return;
  const int64_t now = last_good_flush_ms_;
  int64_t watermark = now;
  for (PartitionState* ps : Assigned()) {
    int64_t low = -1, high = -1;
    bool have = rd_kafka_get_watermark_offsets(rk_, ps->topic->name.c_str(), ps->partition, &low, &high) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR &&
                high >= 0;
    if (!ps->ledger.rewinding() && ps->sampled_high >= 0) {
      int64_t pos = ps->ledger.position();
      if (pos >= ps->sampled_high || (pos < 0 && ps->sampled_high == ps->sampled_low))
        ps->caught_up_ms = std::max(ps->caught_up_ms, ps->sampled_ms - hwm_staleness_ms_);
    }
    // A fresh sample, once the fetcher has surely answered since the assignment.
    if (have && now >= ps->assigned_ms + hwm_staleness_ms_) {
      ps->sampled_high = high;
      ps->sampled_low = low;
      ps->sampled_ms = now;
    }
    ps->high_watermark = high;
    watermark = std::min(watermark, ps->caught_up_ms);
  }
  if (watermark <= 0) return;
  pending_heartbeat_ = emitter_->Heartbeat(watermark, opts_.window_sec, /*dropped=*/0, /*failed=*/0);
}

// ---------------------------------------------------------------------------
// Rewind: discard what was counted since the last commit and read it again.

void AuditService::Impl::StartRewind(const std::set<std::pair<std::string, int32_t>>& exclude) {
  tracker_->Drain();  // the uncommitted counts
  int64_t discarded = 0;
  for (PartitionState* ps : Assigned()) {
    discarded += ps->ledger.Discard();
    if (exclude.count({ps->topic->name, ps->partition})) ps->ledger.OnRewound(ps->ledger.committed());
  }
  metrics_.messages_discarded.fetch_add(discarded, std::memory_order_relaxed);
  metrics_.rewinds.fetch_add(1, std::memory_order_relaxed);
  rewind_pending_ = true;
  next_rewind_ns_ = 0;
}

void AuditService::Impl::TryRewind() {
  std::vector<PartitionState*> pending;
  for (PartitionState* ps : Assigned())
    if (ps->ledger.rewinding()) pending.push_back(ps);
  if (pending.empty()) {
    rewind_pending_ = false;
    return;
  }
  auto fail = [&](const std::string& why) {
    metrics_.errors_rewind.fetch_add(1, std::memory_order_relaxed);
    last_error_ = "rewind: " + why;
    log_rewind_.Warn(clock_, "rewind of {} partitions failed (retrying every second): {}", pending.size(), why);
    next_rewind_ns_ = clock_.MonotonicNs() + kRewindRetryNs;
  };
  TpList list(rd_kafka_topic_partition_list_new(static_cast<int>(pending.size())));
  for (PartitionState* ps : pending)
    rd_kafka_topic_partition_list_add(list.get(), ps->topic->name.c_str(), ps->partition);
  if (rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list.get(), kBrokerCallTimeoutMs); err) {
    fail(std::string("reading the committed offsets: ") + rd_kafka_err2str(err));
    return;
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err) {
      fail(fmt::format("committed offset of {} [{}]: {}", list->elems[i].topic, list->elems[i].partition,
                       rd_kafka_err2str(list->elems[i].err)));
      return;
    }
  }
  // Nothing committed yet: back to the start of the log (auto.offset.reset=earliest).
  std::vector<int64_t> committed(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    committed[static_cast<size_t>(i)] = list->elems[i].offset >= 0 ? list->elems[i].offset : kUnknownOffset;
    if (list->elems[i].offset < 0) list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list.get(), kBrokerCallTimeoutMs)) {
    std::string why = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    fail("seek: " + why);
    return;
  }
  bool all = true;
  for (int i = 0; i < list->cnt; ++i) {
    PartitionState* ps = pending[static_cast<size_t>(i)];
    if (list->elems[i].err) {
      all = false;
      continue;
    }
    ps->ledger.OnRewound(committed[static_cast<size_t>(i)]);
  }
  if (!all) {
    fail("seek failed for some partitions");
    return;
  }
  rewind_pending_ = false;
  spdlog::info("service: rewound {} partitions to their committed offsets", pending.size());
}

// ---------------------------------------------------------------------------
// Rebalances (called from rd_kafka_consume_batch_queue / rd_kafka_consumer_close on
// the consume thread).

void AuditService::Impl::RebalanceTrampoline(rd_kafka_t*, rd_kafka_resp_err_t err,
                                             rd_kafka_topic_partition_list_t* parts, void* opaque) {
  static_cast<Impl*>(opaque)->OnRebalance(err, parts);
}

void AuditService::Impl::OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    OnAssign(parts);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    OnRevoke(parts);
  } else {
    metrics_.errors_consume.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("service: rebalance error: {}", rd_kafka_err2str(err));
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts)) rd_kafka_error_destroy(e);
  }
  PublishStatus();
}

AuditService::Impl::TopicState* AuditService::Impl::EnsureTopic(const std::string& name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second.get();
  auto ts = std::make_unique<TopicState>();
  ts->name = name;
  ts->id = tracker_->InternTopic(name);
  ts->chain = &rules_.ForTopic(name);
  ts->rkt = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
  TopicState* raw = ts.get();
  topics_.emplace(name, std::move(ts));
  return raw;
}

void AuditService::Impl::DropTopicIfUnused(TopicState* ts) {
  if (ts->assigned > 0) return;
  for (auto it = by_rkt_.begin(); it != by_rkt_.end();) it = it->second == ts ? by_rkt_.erase(it) : std::next(it);
  last_rkt_ = nullptr;
  last_topic_ = nullptr;
  if (ts->rkt) rd_kafka_topic_destroy(ts->rkt);
  topics_.erase(ts->name);
}

void AuditService::Impl::OnAssign(rd_kafka_topic_partition_list_t* parts) {
  metrics_.rebalances_assign.fetch_add(1, std::memory_order_relaxed);
  joined_ = true;
  assignment_seen_ = true;
  // The committed offsets, for retention-loss detection (best effort).
  TpList committed(rd_kafka_topic_partition_list_copy(parts));
  bool have_committed = rd_kafka_committed(rk_, committed.get(), kBrokerCallTimeoutMs) == RD_KAFKA_RESP_ERR_NO_ERROR;
  const int64_t now = clock_.NowMs();
  const std::optional<kafka::GroupMembership> member = kafka::CurrentGroupMembership(rk_);
  for (int i = 0; i < parts->cnt; ++i) {
    const auto& tp = parts->elems[i];
    TopicState* ts = EnsureTopic(tp.topic);
    if (tp.partition < 0) continue;
    if (static_cast<size_t>(tp.partition) >= ts->partitions.size())
      ts->partitions.resize(static_cast<size_t>(tp.partition) + 1);
    auto& slot = ts->partitions[static_cast<size_t>(tp.partition)];
    if (slot) continue;  // already ours
    int64_t c = kUnknownOffset;
    if (have_committed && !committed->elems[i].err && committed->elems[i].offset >= 0) c = committed->elems[i].offset;
    slot = std::make_unique<PartitionState>();
    slot->topic = ts;
    slot->partition = tp.partition;
    slot->ledger = PartitionLedger(c);
    slot->assigned_ms = now;
    if (member) {
      slot->generation = member->generation;
      slot->member_id = member->member_id;
    }
    ++ts->assigned;
  }
  spdlog::info("service: assigned {} partitions (now {})", parts->cnt, Assigned().size());
  if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, parts)) {
    metrics_.errors_consume.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("service: incremental assign failed: {}", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
}

void AuditService::Impl::OnRevoke(rd_kafka_topic_partition_list_t* parts) {
  std::set<std::pair<std::string, int32_t>> revoked;
  for (int i = 0; i < parts->cnt; ++i) revoked.emplace(parts->elems[i].topic, parts->elems[i].partition);
  if (rd_kafka_assignment_lost(rk_)) {
    // The group moved on without us: the partitions may already be read by
    // another member, so nothing of them may be committed. Discard everything
    // uncommitted; the rest is rewound.
    metrics_.rebalances_lost.fetch_add(1, std::memory_order_relaxed);
    joined_ = false;
    log_flush_.Warn(clock_, "lost {} partitions (session expired); their uncommitted counts are discarded", parts->cnt);
    StartRewind(revoked);
  } else {
    metrics_.rebalances_revoke.fetch_add(1, std::memory_order_relaxed);
    // Report and commit before the partitions go, so their next owner starts
    // exactly where our counts end.
    Status s = Flush();
    if (!s.ok()) {
      last_error_ = "flush (revoke): " + s.ToString();
      log_flush_.Warn(clock_, "flush before revoke failed; the next owner replays from the committed offsets: {}",
                      s.ToString());
      StartRewind(revoked);
    }
  }
  for (const auto& [topic, partition] : revoked) {
    auto it = topics_.find(topic);
    if (it == topics_.end()) continue;
    TopicState* ts = it->second.get();
    if (PartitionState* ps = ts->Find(partition)) {
      ts->partitions[static_cast<size_t>(partition)].reset();
      --ts->assigned;
      (void)ps;
    }
    DropTopicIfUnused(ts);
  }
  spdlog::info("service: revoked {} partitions (now {})", parts->cnt, Assigned().size());
  if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts)) {
    metrics_.errors_consume.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("service: incremental unassign failed: {}", rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  }
  bool any_rewinding = false;
  for (PartitionState* ps : Assigned()) any_rewinding |= ps->ledger.rewinding();
  if (!any_rewinding) rewind_pending_ = false;
}

// ---------------------------------------------------------------------------
// Discovery

void AuditService::Impl::ApplyPendingSubscription() {
  std::optional<std::vector<std::string>> next;
  {
    std::lock_guard lock(mu_);
    next.swap(pending_subscription_);
  }
  if (!next || *next == subscribed_) return;
  rd_kafka_resp_err_t err;
  if (next->empty()) {
    err = rd_kafka_unsubscribe(rk_);
  } else {
    TpList list(rd_kafka_topic_partition_list_new(static_cast<int>(next->size())));
    for (const auto& t : *next) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(rk_, list.get());
    subscribed_ever_ = true;
  }
  if (err) {
    metrics_.errors_discovery.fetch_add(1, std::memory_order_relaxed);
    spdlog::error("service: subscribe failed (retrying at the next discovery): {}", rd_kafka_err2str(err));
    std::lock_guard lock(mu_);
    desired_key_ = "\x01retry";
    return;
  }
  spdlog::info("service: subscribed to {} topics", next->size());
  subscribed_ = std::move(*next);
}

void AuditService::Impl::DiscoveryLoop() {
  std::unique_lock lock(mu_);
  while (!discovery_stop_) {
    discovery_wake_ = false;
    lock.unlock();
    Discover();
    lock.lock();
    discovery_cv_.wait_for(lock, opts_.discovery_interval, [this] { return discovery_stop_ || discovery_wake_; });
  }
}

void AuditService::Impl::Discover() {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, /*all_topics=*/1, nullptr, &md, kBrokerCallTimeoutMs);
  if (err) {
    metrics_.errors_discovery.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("service: reading the topic list failed: {}", rd_kafka_err2str(err));
    return;
  }
  std::vector<std::string> names;
  std::map<std::string, int> counts;
  std::map<std::string, std::vector<int32_t>> leaders;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (t.err && t.partition_cnt == 0) continue;  // being created or deleted
    names.emplace_back(t.topic);
    counts[t.topic] = t.partition_cnt;
    auto& l = leaders[t.topic];
    for (int p = 0; p < t.partition_cnt; ++p) {
      const auto& pm = t.partitions[p];
      if (pm.id < 0 || pm.id > 1'000'000) continue;
      if (static_cast<size_t>(pm.id) >= l.size()) l.resize(static_cast<size_t>(pm.id) + 1, -1);
      l[static_cast<size_t>(pm.id)] = pm.leader;
    }
  }
  rd_kafka_metadata_destroy(md);
  std::vector<SelectedTopic> selected = selector_->Select(names);
  std::vector<std::string> desired;
  for (const auto& s : selected) desired.push_back(s.topic);
  metrics_.discovered_topics.store(static_cast<int64_t>(desired.size()), std::memory_order_relaxed);
  std::string key;
  for (const auto& d : desired) key += d + '\n';
  std::lock_guard lock(mu_);
  selected_ = std::move(selected);
  cluster_partitions_ = std::move(counts);
  leaders_ = std::move(leaders);
  if (key != desired_key_) {
    desired_key_ = key;
    pending_subscription_ = std::move(desired);
  }
}

// ---------------------------------------------------------------------------
// ServiceControl (REST threads)

std::vector<TopicInfo> AuditService::Impl::ListTopics() {
  ServiceStatus st = metrics_.Snapshot();
  std::map<std::string, std::vector<int32_t>> assigned;
  for (const auto& g : st.partitions) assigned[g.topic].push_back(g.partition);
  std::vector<TopicInfo> out;
  std::lock_guard lock(mu_);
  std::set<std::string> seen;
  for (const auto& s : selected_) {
    TopicInfo t;
    t.topic = s.topic;
    t.source = TopicSourceName(s.source);
    t.expected_partitions = s.expected_partitions;
    auto c = cluster_partitions_.find(s.topic);
    t.partitions = c != cluster_partitions_.end() ? c->second : -1;
    t.assigned = assigned[s.topic];
    seen.insert(s.topic);
    out.push_back(std::move(t));
  }
  // Topics added by hand that the cluster does not have (yet).
  for (const auto& m : selector_->Manual()) {
    if (seen.count(m.topic)) continue;
    TopicInfo t;
    t.topic = m.topic;
    t.source = TopicSourceName(m.source);
    t.expected_partitions = m.expected_partitions;
    out.push_back(std::move(t));
  }
  return out;
}

Status AuditService::Impl::AddTopic(const std::string& topic, int num_partitions) {
  if (Status s = selector_->Add(topic, num_partitions); !s.ok()) return s;
  spdlog::info("service: topic {} added by hand", topic);
  {
    std::lock_guard lock(mu_);
    discovery_wake_ = true;
  }
  discovery_cv_.notify_all();
  return Status::Ok();
}

Status AuditService::Impl::RemoveTopic(const std::string& topic) {
  bool exists;
  {
    std::lock_guard lock(mu_);
    exists = cluster_partitions_.count(topic) > 0;
  }
  if (Status s = selector_->Remove(topic, exists); !s.ok()) return s;
  spdlog::info("service: topic {} removed by hand", topic);
  {
    std::lock_guard lock(mu_);
    discovery_wake_ = true;
  }
  discovery_cv_.notify_all();
  return Status::Ok();
}

http::HealthVerdict AuditService::Impl::Health() {
  ServiceStatus st = metrics_.Snapshot();
  const int64_t now = clock_.NowMs();
  // Unhealthy when nothing could be committed for three flush intervals plus
  // the send timeout: counts pile up and the audit falls behind.
  const int64_t budget = 3 * opts_.flush_interval.count() + opts_.send_timeout.count();
  bool stuck = st.last_flush_ms > 0 && !st.last_flush_ok && now - st.last_good_flush_ms > budget;
  bool healthy = st.running && !stuck;
  int64_t lag = 0;
  for (const auto& p : st.partitions) lag += std::max<int64_t>(0, p.lag);
  http::HealthVerdict v;
  v.state = healthy ? http::HealthVerdict::State::kOk : http::HealthVerdict::State::kFailing;
  v.status = !st.running ? "stopped" : (healthy ? "ok" : "failing");
  if (!st.running) v.reasons.push_back("the service is not running");
  if (stuck) {
    v.reasons.push_back("no flush committed for " + std::to_string(now - st.last_good_flush_ms) + " ms (budget " +
                        std::to_string(budget) + " ms)");
  }
  v.details = {{"tier", opts_.tier},
               {"cluster", opts_.cluster_name},
               {"groupId", opts_.EffectiveGroupId()},
               {"assignedPartitions", st.partitions.size()},
               {"lag", lag},
               {"lastFlushMs", st.last_flush_ms},
               {"lastGoodFlushMs", st.last_good_flush_ms},
               {"lastFlushOk", st.last_flush_ok},
               {"rewindPending", st.rewind_pending},
               {"watermarkMs", st.watermark_ms},
               {"messagesAudited", metrics_.messages_audited.load(std::memory_order_relaxed)},
               {"messagesCommitted", metrics_.messages_committed.load(std::memory_order_relaxed)}};
  if (!st.last_error.empty()) v.details["lastError"] = st.last_error;
  return v;
}

// ---------------------------------------------------------------------------

AuditService::AuditService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditService::~AuditService() = default;

Result<std::unique_ptr<AuditService>> AuditService::Create(ServiceOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<AuditService>(new AuditService(std::move(impl)));
}

Status AuditService::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }
int AuditService::rest_port() const { return impl_->rest_port(); }
const ServiceMetrics& AuditService::metrics() const { return impl_->metrics(); }
ServiceControl& AuditService::control() { return *impl_; }
void AuditService::RequestFlush() { impl_->RequestFlush(); }

}  // namespace chaperone::service
