// Kafka reporter: an idempotent producer to the audit topic.
//
// Threads: Send() (under mu_) produces and then serves delivery reports with
// rd_kafka_poll(), so the delivery-report and error callbacks run on the
// Send thread and touch batch_* without further locking. librdkafka's log
// callback runs on its internal threads and only logs.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

#include "chaperone/clock.h"
#include "chaperone/kafka_config.h"
#include "chaperone/reporter.h"
#include "common/rate_limited_log.h"
#include "lib/report/reporter_util.h"

namespace chaperone {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How long a producer's first Send may wait for the audit topic's metadata.
constexpr int kLearnTopicTimeoutMs = 2000;

// Defaults a user property may override.
const KafkaProperties kDefaults = {
    {"client.id", "chaperone-audit-reporter"},
    {"compression.type", "lz4"},
    {"linger.ms", "5"},
    // A record that cannot be delivered within a minute fails for good, so a
    // long outage does not pile records up behind the ones a Send gave up on.
    {"message.timeout.ms", "60000"},
    // Same partition for a key as Java clients: one topic's records from any
    // Chaperone emitter land in one audit partition.
    {"partitioner", "murmur2_random"},
    {"log.connection.close", "false"},
};

class KafkaReporter final : public Reporter {
 public:
  static Result<std::unique_ptr<Reporter>> Make(const KafkaReporterOptions& options) {
    if (options.topic.empty()) return Status::InvalidArgument("kafka reporter: empty audit topic");
    KafkaProperties props = kDefaults;
    for (const auto& p : WithoutPluginProperties(options.properties)) props.push_back(p);
    if (const std::string* v = FindKafkaProperty(props, "enable.idempotence"); v && *v != "true")
      return Status::InvalidArgument("kafka reporter: property 'enable.idempotence' must be true (got '" + *v + "')");
    if (const std::string* v = FindKafkaProperty(props, "acks"); v && *v != "all" && *v != "-1")
      return Status::InvalidArgument("kafka reporter: property 'acks' must be all (got '" + *v + "')");
    props.emplace_back("enable.idempotence", "true");
    props.emplace_back("acks", "all");
    if (!options.bootstrap_servers.empty()) props.emplace_back("bootstrap.servers", options.bootstrap_servers);
    const std::string* bootstrap = FindKafkaProperty(props, "bootstrap.servers");
    if (bootstrap == nullptr || bootstrap->empty())
      return Status::InvalidArgument("kafka reporter: no bootstrap servers");
    std::unique_ptr<KafkaReporter> r(new KafkaReporter(options.topic, std::move(props)));
    if (Status s = r->Connect(); !s.ok()) return s;
    return std::unique_ptr<Reporter>(std::move(r));
  }

  ~KafkaReporter() override {
    std::lock_guard lock(mu_);
    Disconnect();
  }

  Status Send(const std::vector<AuditRecord>& records, std::chrono::milliseconds timeout) override {
    std::lock_guard lock(mu_);
    const auto deadline = SteadyClock::now() + timeout;
    if (Status s = ValidateBatch(records); !s.ok()) {
      stats_.AddFailed(static_cast<int64_t>(records.size()));
      return s;
    }
    if (rk_ != nullptr) {
      char reason[256];
      if (rd_kafka_fatal_error(rk_, reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::warn("audit reporter: producer failed ({}); starting a new one", reason);
        Disconnect();
      }
    }
    if (rk_ == nullptr) {
      if (Status s = Connect(); !s.ok()) {
        stats_.AddFailed(static_cast<int64_t>(records.size()));
        return s;
      }
    }
    if (rkt_ == nullptr) LearnTopic(deadline);
    rd_kafka_poll(rk_, 0);  // serve reports of earlier calls, so they do not mix with this one
    ++batch_;
    batch_pending_ = 0;
    batch_failed_ = 0;
    batch_error_.clear();
    last_error_.clear();

    for (const AuditRecord& r : records) {
      std::string payload = EncodeAuditRecord(r);
      const std::string& key = r.kind == RecordKind::kHeartbeat ? r.emitter_id : r.topic;
      rd_kafka_resp_err_t err;
      for (;;) {
        err = rd_kafka_producev(rk_, RD_KAFKA_V_RKT(rkt_), RD_KAFKA_V_KEY(key.data(), key.size()),
                                RD_KAFKA_V_VALUE(payload.data(), payload.size()),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(batch_))),
                                RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        int wait = RemainingMs(deadline);
        if (wait <= 0) break;
        rd_kafka_poll(rk_, std::min(wait, 10));  // deliveries make room in the queue
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ++batch_failed_;
        stats_.AddFailed(1);
        if (batch_error_.empty()) batch_error_ = std::string("produce: ") + rd_kafka_err2str(err);
        continue;
      }
      ++batch_pending_;
      stats_.sent.fetch_add(1, std::memory_order_relaxed);
      stats_.bytes_sent.fetch_add(static_cast<int64_t>(payload.size()), std::memory_order_relaxed);
    }

    while (batch_pending_ > 0) {
      int wait = RemainingMs(deadline);
      if (wait <= 0) break;
      rd_kafka_poll(rk_, std::min(wait, 100));
    }

    const size_t n = records.size();
    if (batch_failed_ > 0) {
      return Status::Unavailable(std::to_string(batch_failed_) + " of " + std::to_string(n) +
                                 " audit records failed: " + batch_error_);
    }
    if (batch_pending_ > 0) {
      stats_.send_timeouts.fetch_add(1, std::memory_order_relaxed);
      std::string msg = std::to_string(batch_pending_) + " of " + std::to_string(n) +
                        " audit records not acknowledged within " + std::to_string(timeout.count()) + " ms";
      if (!last_error_.empty()) msg += " (" + last_error_ + ")";
      return Status::Unavailable(msg);
    }
    return Status::Ok();
  }

  ReporterStats stats() const override { return stats_.Snapshot(); }

 private:
  KafkaReporter(std::string topic, KafkaProperties props) : topic_(std::move(topic)), props_(std::move(props)) {}

  static int RemainingMs(SteadyClock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    return static_cast<int>(std::clamp<int64_t>(left, 0, 1'000'000));
  }

  Status Connect() {
    auto conf = BuildKafkaConf(props_);
    if (!conf.ok()) return Status::InvalidArgument("kafka reporter: " + conf.status().message());
    rd_kafka_conf_set_opaque(*conf, this);
    rd_kafka_conf_set_dr_msg_cb(*conf, &KafkaReporter::OnDelivery);
    rd_kafka_conf_set_error_cb(*conf, &KafkaReporter::OnError);
    rd_kafka_conf_set_log_cb(*conf, &KafkaReporter::OnLog);
    char errstr[512];
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, errstr, sizeof errstr);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(*conf);
      return Status::InvalidArgument(std::string("kafka reporter: ") + errstr);
    }
    return Status::Ok();
  }

  // Creates the audit topic's handle and asks for its metadata at once:
  // librdkafka 2.0 learns a new topic's leader only at its next periodic
  // scan (up to a second) after the first message to it, which would hold
  // a producer's first Send (and the service's consume loop) that long. A
  // cluster that does not answer is no error here: Send then waits as usual.
  void LearnTopic(SteadyClock::time_point deadline) {
    rkt_ = rd_kafka_topic_new(rk_, topic_.c_str(), nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    const int wait = std::min(RemainingMs(deadline), kLearnTopicTimeoutMs);
    if (rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, /*all_topics=*/0, rkt_, &md, wait); err) {
      spdlog::debug("audit reporter: metadata of {}: {}", topic_, rd_kafka_err2str(err));
      return;
    }
    rd_kafka_metadata_destroy(md);
  }

  // Drops whatever is still queued or in flight (counted as failed) and
  // destroys the producer without waiting for the cluster.
  void Disconnect() {
    if (rk_ == nullptr) return;
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_, 0);  // delivery reports of the purged messages
    int left = rd_kafka_outq_len(rk_);
    if (left > 0) stats_.AddFailed(left);
    if (rkt_ != nullptr) rd_kafka_topic_destroy(rkt_);
    rkt_ = nullptr;
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<KafkaReporter*>(opaque);
    const bool current = reinterpret_cast<uintptr_t>(m->_private) == self->batch_;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->stats_.acked.fetch_add(1, std::memory_order_relaxed);
      self->stats_.bytes_acked.fetch_add(static_cast<int64_t>(m->len), std::memory_order_relaxed);
    } else {
      self->stats_.AddFailed(1);
      if (current && self->batch_error_.empty()) self->batch_error_ = rd_kafka_err2str(m->err);
    }
    if (current) {
      --self->batch_pending_;
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++self->batch_failed_;
    }
  }

  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaReporter*>(opaque);
    self->last_error_ = reason;
    // Rate-limited: an unreachable cluster reports errors again and again.
    std::optional<int64_t> suppressed = self->error_log_.Admit(SystemClock::Instance().MonotonicNs());
    if (!suppressed) return;
    const char* name = rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err));
    if (*suppressed > 0) {
      spdlog::warn("audit reporter: {} ({}; {} more errors in the last 30 s)", reason, name, *suppressed);
    } else {
      spdlog::warn("audit reporter: {} ({})", reason, name);
    }
  }

  static void OnLog(const rd_kafka_t*, int level, const char* fac, const char* buf) {
    // Connection trouble also reaches OnError; keep librdkafka's chatter at debug.
    if (level <= 3) {
      spdlog::debug("audit reporter: librdkafka {}: {}", fac, buf);
    } else {
      spdlog::trace("audit reporter: librdkafka {}: {}", fac, buf);
    }
  }

  const std::string topic_;
  const KafkaProperties props_;
  std::mutex mu_;           // serialises Send and the producer's lifetime
  rd_kafka_t* rk_ = nullptr;  // guarded by mu_
  rd_kafka_topic_t* rkt_ = nullptr;  // the audit topic on rk_; guarded by mu_

  // The current Send call; touched on the thread holding mu_ (callbacks are
  // served by its rd_kafka_poll calls).
  uint64_t batch_ = 0;
  int64_t batch_pending_ = 0;
  int64_t batch_failed_ = 0;
  std::string batch_error_;
  std::string last_error_;
  // One warning per 30 s for OnError; thread-safe.
  common::LogRateLimiter error_log_{30'000'000'000};

  AtomicReporterStats stats_;
};

}  // namespace

Result<std::unique_ptr<Reporter>> MakeKafkaReporter(const KafkaReporterOptions& options) {
  return KafkaReporter::Make(options);
}

}  // namespace chaperone
