#include "service/audit_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "chaperone/event_time.h"
#include "chaperone/reporter.h"
#include "common/periodic.h"
#include "common/rate_limited_log.h"
#include "common/thread_name.h"
#include "lib/kafka/librdkafka_consumer.h"
#include "pipeline/audit_report.h"
#include "pipeline/consume_loop.h"
#include "pipeline/loop_health.h"
#include "pipeline/subscription.h"
#include "pipeline/consumer_defaults.h"
#include "service/topic_selector.h"

namespace chaperone::service {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

constexpr milliseconds kBrokerCallTimeout{5'000};

// What the service keeps per assigned topic: its id in the window tracker and
// its timestamp chain.
struct AuditTopic final : pipeline::TopicContext {
  TopicId id = 0;
  const TimestampChain* chain = nullptr;
};

}  // namespace

// ---------------------------------------------------------------------------

// The service is the consume loop's hooks (pipeline/consume_loop.h): it counts
// each message into its window tracker, and reports the tracker's windows
// (plus a heartbeat) at each flush. The loop does the rest: ledgers, flush
// cadence, report-then-commit, rewinds, rebalances, fencing, retention loss.
class AuditService::Impl final : public ServiceControl, private pipeline::LoopHooks {
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
  void RequestFlush() {
    if (loop_) loop_->RequestFlush();
  }

 private:
  // pipeline::LoopHooks (consume thread).
  std::unique_ptr<pipeline::TopicContext> NewTopic(const std::string& topic) override;
  void OnIteration() override { ApplyPendingSubscription(); }
  void OnMessage(const kafka::Message& m, const pipeline::LoopPartition& p) override;
  void AfterPoll() override { PublishCounters(); }
  bool FlushDue() override { return report_->NeedsFlush(); }
  Status Report(pipeline::FlushContext& ctx) override { return report_->Report(ctx); }
  void AfterCommit(const pipeline::FlushContext& ctx, int64_t watermark_ms) override {
    report_->AfterCommit(ctx, watermark_ms, metrics_.offsets_lost.load(std::memory_order_relaxed));
  }
  void Discard() override { report_->Discard(); }
  void OnStopping() override;
  void OnStatus(const pipeline::LoopStatus& status) override;

  void ApplyPendingSubscription();
  void PublishCounters();

  // Discovery thread.
  void Discover();

  ServiceOptions opts_;
  const Clock& clock_;
  ServiceMetrics metrics_;
  std::unique_ptr<RestServer> rest_;
  std::optional<TopicSelector> selector_;  // thread-safe
  TimestampRules rules_;

  // ---- consume thread only ----
  std::unique_ptr<kafka::LibrdkafkaConsumer> consumer_;  // ListTopics: the discovery thread too
  std::unique_ptr<pipeline::ConsumeLoop> loop_;           // RequestFlush: any thread
  std::unique_ptr<pipeline::AuditReport> report_;  // counts, reports, heartbeats
  int64_t hwm_staleness_ms_ = 1000;  // how old the consumer's cached high watermark can be
  // Hot-path counters, published to metrics_ once per batch.
  int64_t n_audited_ = 0, n_bytes_ = 0, n_malformed_ = 0, n_no_time_ = 0;
  std::atomic<bool> running_{false};

  // ---- shared between the discovery thread, REST threads and the consume thread ----
  std::mutex mu_;
  pipeline::PendingSubscription subscription_;    // discovery thread → consume thread
  std::vector<SelectedTopic> selected_;             // guarded by mu_
  std::map<std::string, int> cluster_partitions_;   // guarded by mu_ (last metadata)
  std::string desired_key_;                         // guarded by mu_: the topic set last handed over
  common::Periodic discovery_;                      // consume thread: started and stopped by Run
};

// ---------------------------------------------------------------------------
// Setup and teardown

AuditService::Impl::Impl(ServiceOptions o)
    : opts_(std::move(o)), clock_(opts_.clock ? *opts_.clock : SystemClock::Instance()) {}

AuditService::Impl::~Impl() {
  rest_.reset();
  loop_.reset();
  consumer_.reset();  // closes (if Run did not) and destroys the consumer
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
  KafkaProperties props = pipeline::ConsumerTuningDefaults();
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
  if (const std::string* w = FindKafkaProperty(props, "fetch.wait.max.ms")) {
    // An idle partition's high watermark is refreshed every fetch.wait.max.ms.
    hwm_staleness_ms_ = std::max<int64_t>(1000, std::atoll(w->c_str()) + 500);
  }
  auto consumer = kafka::LibrdkafkaConsumer::Create(std::move(props));
  if (!consumer.ok()) return consumer.status();
  consumer_ = std::move(*consumer);

  std::shared_ptr<Reporter> reporter = opts_.reporter;
  if (!reporter) {
    const KafkaProperties& cluster = opts_.audit_properties.empty() ? opts_.cluster_properties : opts_.audit_properties;
    auto rep = pipeline::MakeAuditReporter(opts_.audit_topic, cluster, opts_.producer_properties);
    if (!rep.ok()) return rep.status();
    reporter = std::move(*rep);
  }
  pipeline::AuditReportOptions ro;
  ro.tier = opts_.tier;
  ro.datacenter = opts_.datacenter;
  ro.cluster_name = opts_.cluster_name;
  ro.window_sec = opts_.window_sec;
  ro.flush_interval = opts_.flush_interval;
  ro.send_timeout = opts_.send_timeout;
  ro.clock = &clock_;
  ro.log_prefix = "service";
  report_ = std::make_unique<pipeline::AuditReport>(std::move(ro), std::move(reporter), metrics_);

  pipeline::LoopOptions lo;
  lo.flush_interval = opts_.flush_interval;
  lo.hwm_staleness_ms = hwm_staleness_ms_;
  lo.clock = &clock_;
  lo.log_prefix = "service";
  loop_ = std::make_unique<pipeline::ConsumeLoop>(*consumer_, static_cast<pipeline::LoopHooks&>(*this), metrics_, lo);

  if (!opts_.listen.empty()) {
    auto rs = RestServer::Start(opts_.listen, this);
    if (!rs.ok()) return rs.status();
    rest_ = std::move(*rs);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The consume loop (pipeline::ConsumeLoop) and its hooks

Status AuditService::Impl::Run(const std::atomic<bool>& stop) {
  running_.store(true);
  discovery_.Start("svc-discovery", opts_.discovery_interval, [this] { Discover(); });
  spdlog::info("service: auditing cluster {} as tier {} (group {}, window {} s, flush every {} ms)", opts_.cluster_name,
               opts_.tier, opts_.EffectiveGroupId(), opts_.window_sec, opts_.flush_interval.count());
  Status result = loop_->Run(stop);  // final flush, OnStopping, then the consumer leaves the group
  OnStopping();
  running_.store(false);
  loop_->PublishStatus();
  spdlog::info("service: stopped ({} messages committed, {} records emitted)", metrics_.messages_committed.load(),
               metrics_.records_emitted.load());
  return result;
}

// After the final flush: stop discovery (it reads metadata through the consumer).
void AuditService::Impl::OnStopping() { discovery_.Stop(); }

std::unique_ptr<pipeline::TopicContext> AuditService::Impl::NewTopic(const std::string& topic) {
  auto t = std::make_unique<AuditTopic>();
  t->id = report_->InternTopic(topic);
  t->chain = &rules_.ForTopic(topic);
  return t;
}

void AuditService::Impl::OnMessage(const kafka::Message& m, const pipeline::LoopPartition& p) {
  const auto* t = static_cast<const AuditTopic*>(p.topic);
  EventTime et = report_->Count(*t->chain, t->id, m.partition, m.offset, m.view, loop_->now_ms());
  ++n_audited_;
  n_bytes_ += static_cast<int64_t>(m.view.key.size() + m.view.value.size());
  n_malformed_ += et.malformed;
  n_no_time_ += !et.found;
}

void AuditService::Impl::PublishCounters() {
  auto relaxed = std::memory_order_relaxed;
  metrics_.fetch_wakes.store(consumer_->fetch_wakes(), relaxed);
  metrics_.messages_audited.store(n_audited_, relaxed);
  metrics_.bytes_audited.store(n_bytes_, relaxed);
  metrics_.malformed_messages.store(n_malformed_, relaxed);
  metrics_.no_time_messages.store(n_no_time_, relaxed);
}

void AuditService::Impl::OnStatus(const pipeline::LoopStatus& ls) {
  ServiceStatus st;
  for (const pipeline::PartitionStatus& p : ls.partitions) {
    PartitionGauge g;
    g.topic = p.tp.topic;
    g.partition = p.tp.partition;
    g.position = p.position;
    g.committed = p.committed;
    g.high_watermark = p.high_watermark;
    g.lag = p.lag;
    st.partitions.push_back(std::move(g));
  }
  st.last_flush_ms = ls.last_flush_ms;
  st.last_good_flush_ms = ls.last_good_flush_ms;
  st.last_flush_ok = ls.last_flush_ok;
  st.rewind_pending = ls.rewind_pending;
  st.watermark_ms = report_->watermark_ms();
  st.last_error = ls.last_error;
  st.running = running_.load();
  metrics_.Publish(std::move(st));
}

// ---------------------------------------------------------------------------
// Discovery

void AuditService::Impl::ApplyPendingSubscription() {
  if (subscription_.Apply(*consumer_, "service").ok()) return;
  metrics_.errors_discovery.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  desired_key_ = "\x01retry";
}

void AuditService::Impl::Discover() {
  auto md = consumer_->ListTopics(kBrokerCallTimeout);
  if (!md.ok()) {
    metrics_.errors_discovery.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("service: reading the topic list failed: {}", md.status().message());
    return;
  }
  std::vector<std::string> names;
  std::map<std::string, int> counts;
  for (const kafka::TopicMetadata& t : *md) {
    names.push_back(t.topic);
    counts[t.topic] = t.partitions;
  }
  std::vector<SelectedTopic> selected = selector_->Select(names);
  std::vector<std::string> desired;
  for (const auto& s : selected) desired.push_back(s.topic);
  metrics_.discovered_topics.store(static_cast<int64_t>(desired.size()), std::memory_order_relaxed);
  std::string key;
  for (const auto& d : desired) key += d + '\n';
  std::lock_guard lock(mu_);
  selected_ = std::move(selected);
  cluster_partitions_ = std::move(counts);
  if (key != desired_key_) {
    desired_key_ = key;
    subscription_.Offer(std::move(desired));
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
  discovery_.Wake();
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
  discovery_.Wake();
  return Status::Ok();
}

http::HealthVerdict AuditService::Impl::Health() {
  ServiceStatus st = metrics_.Snapshot();
  const pipeline::LoopHealth loop = pipeline::JudgeLoop(st, clock_.NowMs(), opts_.flush_interval, opts_.send_timeout);
  bool healthy = st.running && !loop.stuck;
  http::HealthVerdict v;
  v.state = healthy ? http::HealthVerdict::State::kOk : http::HealthVerdict::State::kFailing;
  v.status = !st.running ? "stopped" : (healthy ? "ok" : "failing");
  if (!st.running) v.reasons.push_back("the service is not running");
  if (loop.stuck) v.reasons.push_back(loop.stuck_reason);
  v.details = {{"tier", opts_.tier}, {"cluster", opts_.cluster_name}, {"groupId", opts_.EffectiveGroupId()}};
  pipeline::AddLoopDetails(st, loop, v.details);
  v.details["watermarkMs"] = st.watermark_ms;
  v.details["messagesAudited"] = metrics_.messages_audited.load(std::memory_order_relaxed);
  v.details["messagesCommitted"] = metrics_.messages_committed.load(std::memory_order_relaxed);
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
