#include "collector/collector.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "collector/decode.h"
#include "common/rate_limited_log.h"
#include "common/heap_stats.h"
#include "common/prometheus.h"
#include "common/thread_name.h"
#include "http/endpoint.h"
#include "store/store.h"

namespace chaperone::collector {
namespace {

constexpr int64_t kNsPerMs = 1'000'000;
constexpr int64_t kPingIdleNs = 5000 * kNsPerMs;  // after the last store operation that succeeded
constexpr int64_t kPingDownNs = 1000 * kNsPerMs;  // after a failed ping

struct TopicPartitionList {
  rd_kafka_topic_partition_list_t* list;
  explicit TopicPartitionList(int n) : list(rd_kafka_topic_partition_list_new(n)) {}
  ~TopicPartitionList() { rd_kafka_topic_partition_list_destroy(list); }
};

}  // namespace

class Collector::Impl {
 public:
  Impl(Collector& c, const std::atomic<bool>& stop) : c_(c), o_(c.options_), stop_(stop), m_(c.metrics_) {}
  ~Impl() {
    StopMetricsServer();
    if (rk_) rd_kafka_destroy(rk_);
  }

  Status Run();

 private:
  int64_t MonoNs() const { return c_.clock_->MonotonicNs(); }
  // Waits `ms` or until stop; false when stopped.
  bool Backoff(int64_t ms) {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stop_.load()) {
      if (std::chrono::steady_clock::now() >= until) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  // A failed store operation: nothing is committed (not to the store, not to
  // Kafka) until one succeeds; /health and /metrics tell the outage.
  void NoteStoreError(const Status& s, const char* what) {
    ++m_.store_errors;
    {
      std::lock_guard lock(health_mu_);
      last_error_ = s.ToString();
      store_ok_ = false;
    }
    int64_t zero = 0;
    m_.store_down_since_ms.compare_exchange_strong(zero, c_.clock_->NowMs());
    m_.store_up = 0;
    store_log_.Warn(*c_.clock_, "store {} failed, retrying: {}", what, s.ToString());
  }
  void NoteStoreOk() {
    if (int64_t since = m_.store_down_since_ms.exchange(0); since != 0) {
      spdlog::info("collector: the store is back after {} ms", c_.clock_->NowMs() - since);
    }
    m_.store_up = 1;
    next_ping_ns_ = MonoNs() + kPingIdleNs;
    std::lock_guard lock(health_mu_);
    store_ok_ = true;
  }

  Status OpenStore();
  Status StartMetricsServer();
  void StopMetricsServer();
  Status CreateConsumer();
  void HandleMessage(const rd_kafka_message_t* m);
  bool FlushBatch();
  void CommitToKafka(const std::vector<store::ConsumerPosition>& positions);
  void UpdateLag();
  void MaybeRetention();
  void MaybePingStore();

  static void RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                          void* opaque);
  void OnAssign(rd_kafka_topic_partition_list_t* parts);
  void OnRevoke(rd_kafka_topic_partition_list_t* parts);

  Collector& c_;
  const CollectorOptions& o_;
  const std::atomic<bool>& stop_;
  CollectorMetrics& m_;

  // Consumer thread only (Run and the rebalance callback it serves).
  std::unique_ptr<store::Store> store_;
  rd_kafka_t* rk_ = nullptr;
  std::vector<store::Incoming> batch_;
  std::map<int32_t, int64_t> batch_next_;  // partition -> offset after the last message in batch_
  std::map<int32_t, int64_t> position_;    // assigned partition -> next offset to apply (-1: from the start)
  int64_t batch_started_ns_ = 0;
  int64_t next_lag_ns_ = 0;
  int64_t next_retention_ns_ = 0;
  int64_t next_ping_ns_ = 0;  // an idle collector pings the store then (see MaybePingStore)
  common::RateLimitedLog store_log_{"collector"}, kafka_log_{"collector"};

  // The metrics server thread reads these.
  std::mutex health_mu_;
  bool store_ok_ = false;      // guarded by health_mu_
  std::string last_error_;     // guarded by health_mu_
  std::string backend_;        // guarded by health_mu_
  int schema_version_ = 0;     // guarded by health_mu_
  std::unique_ptr<http::Endpoint> http_;  // consumer thread starts and stops it
};

Status Collector::Impl::OpenStore() {
  int64_t backoff = 100;
  for (;;) {
    auto s = store::Store::Open(o_.store_url);
    if (s.ok()) {
      store_ = std::move(*s);
      {
        std::lock_guard lock(health_mu_);
        backend_ = store_->backend();
        schema_version_ = store_->schema_version();
      }
      NoteStoreOk();
      return Status::Ok();
    }
    if (s.status().code() != Status::Code::kUnavailable) return s.status();
    NoteStoreError(s.status(), "open");
    if (!Backoff(backoff)) return Status::Unavailable("stopped before the store could be opened");
    backoff = std::min<int64_t>(backoff * 2, 5000);
  }
}

Status Collector::Impl::StartMetricsServer() {
  if (o_.metrics_listen.empty()) return Status::Ok();
  // A second collector given the same port must fail here, not share it.
  http_ = std::make_unique<http::Endpoint>(
      "collector.listen", http::EndpointOptions{.listen = o_.metrics_listen, .threads = 2, .thread_name = "collector-http"});
  http_->SetMetrics([this] { return c_.MetricsText(); });
  http_->SetHealth([this] {
    http::HealthVerdict v;
    std::lock_guard lock(health_mu_);
    v.state = store_ok_ ? http::HealthVerdict::State::kOk : http::HealthVerdict::State::kFailing;
    v.status = store_ok_ ? "ok" : "unavailable";
    const int64_t down_since = m_.store_down_since_ms.load();
    if (!store_ok_) {
      std::string store = backend_.empty() ? std::string("the store") : "the " + backend_ + " store";
      v.reasons.push_back(last_error_.empty() ? store + " is not open yet"
                                              : store + " is unavailable (retrying, nothing committed meanwhile): " +
                                                    last_error_);
    }
    v.details["store"] = backend_.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(backend_);
    v.details["storeUp"] = store_ok_;
    if (down_since != 0) v.details["storeDownSinceMs"] = down_since;
    v.details["schemaVersion"] = schema_version_;
    v.details["assignedPartitions"] = m_.assigned_partitions.load();
    v.details["lag"] = m_.lag.load();
    v.details["pendingMessages"] = m_.pending.load();
    if (!last_error_.empty()) v.details["lastError"] = last_error_;
    return v;
  });
  if (Status s = http_->Start(); !s.ok()) {
    http_.reset();
    return s;
  }
  c_.metrics_port_ = http_->port();
  spdlog::info("collector: metrics on {}/metrics", http_->url());
  return Status::Ok();
}

void Collector::Impl::StopMetricsServer() { http_.reset(); }

Status Collector::Impl::CreateConsumer() {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v, bool user) -> Status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      return Status::InvalidArgument((user ? "-X " : "kafka property ") + k + "=" + v + ": " + err);
    }
    return Status::Ok();
  };
  const std::pair<const char*, std::string> defaults[] = {
      {"bootstrap.servers", o_.bootstrap_servers},
      {"group.id", o_.group},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"isolation.level", "read_committed"},
      {"auto.offset.reset", "earliest"},
      {"partition.assignment.strategy", "cooperative-sticky"},
      // Prefetch bounded by bytes only: librdkafka 2.0.2 stops fetching for
      // ~1 s once its queue passes either limit, and a count of 50000 was
      // reached in well under a second of ingest (end to end 60 k records/s
      // on every store, against 100-225 k with this; docs/performance.md).
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "131072"},
      {"client.id", "chaperone-collector"},
  };
  Status st;
  for (const auto& [k, v] : defaults) {
    if (st.ok()) st = set(k, v, false);
  }
  for (const auto& [k, v] : o_.kafka) {
    if (st.ok()) st = set(k, v, true);
  }
  if (!st.ok()) {
    rd_kafka_conf_destroy(conf);
    return st;
  }
  rd_kafka_conf_set_rebalance_cb(conf, &Impl::RebalanceCb);
  rd_kafka_conf_set_opaque(conf, this);
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk_ == nullptr) return Status::InvalidArgument(std::string("kafka consumer: ") + err);  // conf consumed
  rd_kafka_poll_set_consumer(rk_);
  TopicPartitionList topics(1);
  rd_kafka_topic_partition_list_add(topics.list, o_.audit_topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (rd_kafka_resp_err_t e = rd_kafka_subscribe(rk_, topics.list); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Unavailable(std::string("kafka subscribe: ") + rd_kafka_err2str(e));
  }
  return Status::Ok();
}

void Collector::Impl::RebalanceCb(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                                  void* opaque) {
  auto* self = static_cast<Impl*>(opaque);
  const bool cooperative = std::string(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->OnAssign(parts);
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) {
        spdlog::error("collector: incremental assign: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, parts);
    }
  } else {
    self->OnRevoke(parts);
    if (cooperative) {
      if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) {
        spdlog::error("collector: incremental unassign: {}", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
}

// Seeks every newly assigned partition to the position in the store (the
// source of truth); a partition the store has never seen starts at the beginning.
void Collector::Impl::OnAssign(rd_kafka_topic_partition_list_t* parts) {
  std::map<int32_t, int64_t> stored;
  int64_t backoff = 100;
  for (;;) {
    auto p = store_->LoadPositions(o_.group, o_.audit_topic);
    if (p.ok()) {
      NoteStoreOk();
      for (const auto& pos : *p) stored[pos.partition] = pos.next_offset;
      break;
    }
    NoteStoreError(p.status(), "load positions");
    if (!Backoff(backoff)) break;  // stopping: nothing will be applied anyway
    backoff = std::min<int64_t>(backoff * 2, 5000);
  }
  for (int i = 0; i < parts->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = parts->elems[i];
    auto it = stored.find(tp.partition);
    tp.offset = it != stored.end() ? it->second : RD_KAFKA_OFFSET_BEGINNING;
    position_[tp.partition] = it != stored.end() ? it->second : -1;
  }
  m_.assigned_partitions = static_cast<int64_t>(position_.size());
  spdlog::info("collector: assigned {} partition(s) of {}; now {}", parts->cnt, o_.audit_topic, position_.size());
}

// Finishes the batch before letting partitions go; if stopping prevents that,
// drops their uncommitted messages (the next owner re-reads them from the store position).
void Collector::Impl::OnRevoke(rd_kafka_topic_partition_list_t* parts) {
  if (!FlushBatch()) {
    std::vector<int32_t> revoked;
    for (int i = 0; i < parts->cnt; ++i) revoked.push_back(parts->elems[i].partition);
    auto gone = [&](const store::Incoming& in) {
      size_t slash = in.source.rfind('/'), at = in.source.rfind('@');
      int32_t p = std::stoi(in.source.substr(slash + 1, at - slash - 1));
      return std::find(revoked.begin(), revoked.end(), p) != revoked.end();
    };
    batch_.erase(std::remove_if(batch_.begin(), batch_.end(), gone), batch_.end());
    for (int32_t p : revoked) batch_next_.erase(p);
    m_.pending = static_cast<int64_t>(batch_.size());
  }
  for (int i = 0; i < parts->cnt; ++i) position_.erase(parts->elems[i].partition);
  m_.assigned_partitions = static_cast<int64_t>(position_.size());
  spdlog::info("collector: revoked {} partition(s) of {}; now {}", parts->cnt, o_.audit_topic, position_.size());
}

void Collector::Impl::HandleMessage(const rd_kafka_message_t* m) {
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    ++m_.kafka_errors;
    kafka_log_.Warn(*c_.clock_, "kafka: {}", rd_kafka_message_errstr(m));
    return;
  }
  if (batch_.empty()) batch_started_ns_ = MonoNs();
  std::string source = o_.audit_topic + "/" + std::to_string(m->partition) + "@" + std::to_string(m->offset);
  batch_.push_back(DecodeMessage(std::string_view(static_cast<const char*>(m->payload), m->payload ? m->len : 0),
                                 std::move(source)));
  batch_next_[m->partition] = m->offset + 1;
  ++m_.messages;
  m_.pending = static_cast<int64_t>(batch_.size());
}

// Applies the batch with its positions; retries (with backoff) until it is
// applied or the collector stops. True when nothing is left pending.
bool Collector::Impl::FlushBatch() {
  if (batch_.empty() && batch_next_.empty()) return true;
  std::vector<store::ConsumerPosition> positions;
  for (const auto& [p, next] : batch_next_) positions.push_back({o_.group, o_.audit_topic, p, next});
  int64_t backoff = 100;
  for (;;) {
    auto r = store_->Apply(batch_, positions, c_.clock_->NowMs());
    if (r.ok()) {
      NoteStoreOk();
      m_.applied += r->applied;
      m_.duplicates += r->duplicates;
      m_.replays += r->replayed;
      m_.quarantined += r->quarantined;
      m_.fenced += r->fenced;
      m_.retention_overlaps += r->retention_overlaps;
      m_.overlap_messages += r->overlap_messages;
      m_.expired += r->expired;
      ++m_.batches;
      m_.last_batch_ms = c_.clock_->NowMs();
      for (const auto& p : positions) {
        if (position_.count(p.partition)) position_[p.partition] = p.next_offset;
      }
      batch_.clear();
      batch_next_.clear();
      m_.pending = 0;
      CommitToKafka(positions);
      return true;
    }
    // Not committed: the batch stays pending and the consumer's offsets stay where the store's are.
    NoteStoreError(r.status(), "apply");
    UpdateLag();  // the lag keeps telling how far behind the outage leaves the store
    if (!Backoff(backoff)) return false;
    backoff = std::min<int64_t>(backoff * 2, 5000);
  }
}

// A courtesy for tools that read the group's committed offsets; the store stays authoritative.
void Collector::Impl::CommitToKafka(const std::vector<store::ConsumerPosition>& positions) {
  TopicPartitionList list(static_cast<int>(positions.size()));
  for (const auto& p : positions) {
    if (!position_.count(p.partition)) continue;
    rd_kafka_topic_partition_list_add(list.list, o_.audit_topic.c_str(), p.partition)->offset = p.next_offset;
  }
  if (list.list->cnt > 0) rd_kafka_commit(rk_, list.list, /*async=*/1);
}

void Collector::Impl::UpdateLag() {
  int64_t lag = 0;
  for (const auto& [p, pos] : position_) {
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(rk_, o_.audit_topic.c_str(), p, &lo, &hi) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        hi < 0) {
      continue;
    }
    int64_t from = pos >= 0 ? pos : std::max<int64_t>(lo, 0);
    lag += std::max<int64_t>(0, hi - from);
  }
  m_.lag = lag;
}

void Collector::Impl::MaybeRetention() {
  if (o_.retention_days <= 0 || MonoNs() < next_retention_ns_) return;
  int64_t before = c_.clock_->NowMs() / 1000 - int64_t{o_.retention_days} * 86400;
  Status s = store_->ApplyRetention(before);
  if (s.ok()) {
    NoteStoreOk();
    next_retention_ns_ = MonoNs() + int64_t{3600} * 1000 * kNsPerMs;
  } else {
    NoteStoreError(s, "retention");
    next_retention_ns_ = MonoNs() + int64_t{60} * 1000 * kNsPerMs;
  }
}

// An idle collector (no audit records) still notices a store outage, and its
// end: it pings the store 5 s after the last operation that succeeded, then
// every second while the pings fail.
void Collector::Impl::MaybePingStore() {
  if (MonoNs() < next_ping_ns_) return;
  if (Status s = store_->Ping(); s.ok()) {
    NoteStoreOk();
  } else {
    NoteStoreError(s, "ping");
    next_ping_ns_ = MonoNs() + kPingDownNs;
  }
}

Status Collector::Impl::Run() {
  if (Status s = StartMetricsServer(); !s.ok()) return s;
  if (Status s = OpenStore(); !s.ok()) return stop_.load() ? Status::Ok() : s;
  if (Status s = CreateConsumer(); !s.ok()) return s;
  spdlog::info("collector: consuming {} as group {} into {} store", o_.audit_topic, o_.group, store_->backend());
  const int64_t batch_ns = int64_t{o_.batch_ms} * kNsPerMs;
  while (!stop_.load()) {
    int timeout_ms = 200;
    if (!batch_.empty()) {
      int64_t left = batch_started_ns_ + batch_ns - MonoNs();
      timeout_ms = static_cast<int>(std::clamp<int64_t>(left / kNsPerMs, 0, 200));
    }
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, timeout_ms);
    if (m != nullptr) {
      HandleMessage(m);
      rd_kafka_message_destroy(m);
    }
    const int64_t now = MonoNs();
    if (static_cast<int>(batch_.size()) >= o_.batch_records ||
        (!batch_.empty() && now - batch_started_ns_ >= batch_ns) || (batch_.empty() && !batch_next_.empty())) {
      FlushBatch();
    }
    if (now >= next_lag_ns_) {
      UpdateLag();
      MaybeRetention();
      MaybePingStore();
      next_lag_ns_ = now + 1000 * kNsPerMs;
    }
  }
  // Stopping: one attempt at what is pending (FlushBatch gives up once stop is set), then leave the group.
  FlushBatch();
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  spdlog::info("collector: stopped ({} records applied, {} duplicates, {} quarantined, {} fenced)", m_.applied.load(),
               m_.duplicates.load(), m_.quarantined.load(), m_.fenced.load());
  return Status::Ok();
}

// ---------------------------------------------------------------------------

Collector::Collector(CollectorOptions options, Clock* clock)
    : options_(std::move(options)), clock_(clock ? clock : &SystemClock::Instance()) {}
Collector::~Collector() = default;

Result<std::unique_ptr<Collector>> Collector::Create(CollectorOptions options, Clock* clock) {
  if (Status s = options.Validate(); !s.ok()) return s;
  return std::unique_ptr<Collector>(new Collector(std::move(options), clock));
}

Status Collector::Run(const std::atomic<bool>& stop) {
  Impl impl(*this, stop);
  return impl.Run();
}

std::string Collector::MetricsText() const {
  struct M {
    const char* name;
    const char* type;
    const char* help;
    int64_t v;
  };
  const M ms[] = {
      {"chaperone_collector_messages_total", "counter", "Audit-topic messages consumed.", metrics_.messages.load()},
      {"chaperone_collector_records_applied_total", "counter", "Audit records merged into the store.",
       metrics_.applied.load()},
      {"chaperone_collector_duplicates_total", "counter", "Audit records skipped: uuid already applied.",
       metrics_.duplicates.load()},
      {"chaperone_collector_replays_total", "counter", "Service chunks replaced by a replay.", metrics_.replays.load()},
      {"chaperone_collector_quarantined_total", "counter", "Invalid messages stored in quarantine.",
       metrics_.quarantined.load()},
      {"chaperone_collector_records_fenced_total", "counter",
       "Service/replicator records of a member cut off while a newer owner counted its partition: quarantined, "
       "never merged.",
       metrics_.fenced.load()},
      {"chaperone_collector_retention_overlaps_total", "counter",
       "Service chunks whose replay resumed later because retention deleted their first offsets.",
       metrics_.retention_overlaps.load()},
      {"chaperone_collector_retention_overlap_messages_total", "counter",
       "Messages of those that may be counted twice (partition rows' overlap).", metrics_.overlap_messages.load()},
      {"chaperone_collector_expired_total", "counter", "Records for windows older than the retention horizon.",
       metrics_.expired.load()},
      {"chaperone_collector_batches_total", "counter", "Store transactions committed.", metrics_.batches.load()},
      {"chaperone_collector_store_errors_total", "counter", "Failed store operations (each one retried).",
       metrics_.store_errors.load()},
      {"chaperone_collector_kafka_errors_total", "counter", "Consumer errors reported by librdkafka.",
       metrics_.kafka_errors.load()},
      {"chaperone_collector_lag_messages", "gauge", "Messages behind the high watermark, over assigned partitions.",
       metrics_.lag.load()},
      {"chaperone_collector_assigned_partitions", "gauge", "Audit-topic partitions assigned to this collector.",
       metrics_.assigned_partitions.load()},
      {"chaperone_collector_last_batch_timestamp_ms", "gauge", "Wall clock of the last committed batch.",
       metrics_.last_batch_ms.load()},
      {"chaperone_collector_store_up", "gauge",
       "1 when the last store operation succeeded, 0 while the store fails (nothing is committed meanwhile).",
       metrics_.store_up.load()},
      {"chaperone_collector_store_down_since_timestamp_ms", "gauge",
       "Wall clock of the first failure of the current store outage; 0 when the store is up.",
       metrics_.store_down_since_ms.load()},
      {"chaperone_collector_pending_messages", "gauge",
       "Messages consumed but not applied yet: held until the store takes them.", metrics_.pending.load()},
  };
  std::string out;
  for (const M& m : ms) AppendPrometheusSample(out, m.name, m.type, m.help, m.v);
  out += RenderHeapStats(ReadHeapStats());
  return out;
}

}  // namespace chaperone::collector
