#include "replicate/replicator.h"

#include <fmt/format.h>
#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <unordered_map>
#include <thread>

#include "chaperone/event_time.h"
#include "chaperone/reporter.h"
#include "common/periodic.h"
#include "common/prometheus.h"
#include "common/rate_limited_log.h"
#include "common/thread_name.h"
#include "common/topic_name.h"
#include "http/endpoint.h"
#include "lib/kafka/librdkafka_consumer.h"
#include "pipeline/audit_report.h"
#include "pipeline/consume_loop.h"
#include "pipeline/loop_health.h"
#include "pipeline/consumer_defaults.h"
#include "pipeline/subscription.h"
#include "replicate/checkpoint.h"
#include "replicate/partition_map.h"
#include "replicate/resume.h"
#include "replicate/topic_sync.h"
#include "replicate/translate.h"

namespace chaperone::replicate {
namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Delivery ids: records carry their index in the flush's in-flight list;
// checkpoints carry this bit (their failures never fail a flush).
constexpr uint64_t kCheckpointId = uint64_t{1} << 63;

// What the replicator keeps per assigned source topic.
struct SourceTopic final : pipeline::TopicContext {
  std::string source;
  std::string destination;
  int32_t destination_partitions = 0;  // 0: not ready (never produced to)
  TopicId audit_id = 0;                // the destination topic in the audit's window tracker
  const TimestampChain* chain = nullptr;
};

// Copy counters per source partition (REST and /metrics).
struct PartitionCounters {
  int64_t copied = 0, bytes = 0, already_written = 0, loop_skipped = 0;
};

// Per owned source partition, since its assignment or the last rewind.
struct PartitionState {
  uint64_t ownership = 0;
  kafka::TopicPartition tp;
  std::string destination_topic;
  ResumePoint point;
  // The provenance headers of this partition; the offset's value is
  // rewritten per record (offset_header indexes it).
  std::vector<Header> provenance;
  size_t offset_header = 0;
  // Since the last flush: counters, and per destination partition the
  // highest (source offset, destination offset) acknowledged.
  PartitionCounters pending;
  std::map<int32_t, std::pair<int64_t, int64_t>> acked;
};

struct InFlight {
  PartitionState* state;
  int64_t source_offset;
};

std::string RegexEscape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

}  // namespace

struct ReplicatorMetrics : pipeline::LoopMetrics, pipeline::AuditMetrics {
  std::atomic<int64_t> records_copied{0};     // produced and acknowledged
  std::atomic<int64_t> bytes_copied{0};       // key + value bytes of those
  std::atomic<int64_t> already_written{0};    // found in the destination on resume: counted, not written again
  std::atomic<int64_t> loop_skipped{0};       // origin is the destination cluster: not copied
  std::atomic<int64_t> malformed_provenance{0};
  std::atomic<int64_t> delivery_errors{0};
  std::atomic<int64_t> resume_scans{0};
  std::atomic<int64_t> resume_records_scanned{0};
  std::atomic<int64_t> checkpoints_written{0};
  std::atomic<int64_t> errors_discovery{0};
  std::atomic<int64_t> errors_resume{0};
};

class Replicator::Impl final : private pipeline::LoopHooks {
 public:
  Impl(ReplicateOptions o, ReplicatorSeams seams) : opts_(std::move(o)), seams_(std::move(seams)),
      clock_(opts_.clock ? *opts_.clock : SystemClock::Instance()) {}
  ~Impl() override {
    endpoint_.reset();
    loop_.reset();
    owned_consumer_.reset();
  }

  Status Init();
  Status Run(const std::atomic<bool>& stop);
  int rest_port() const { return endpoint_ ? endpoint_->port() : 0; }
  void RequestFlush() {
    if (loop_) loop_->RequestFlush();
  }
  std::string PrometheusMetrics();
  http::HealthVerdict Health();
  const ReplicatorMetrics& metrics() const { return metrics_; }

 private:
  // pipeline::LoopHooks (consume thread)
  std::unique_ptr<pipeline::TopicContext> NewTopic(const std::string& topic) override;
  void OnIteration() override;
  void OnMessage(const kafka::Message& m, const pipeline::LoopPartition& p) override;
  bool FlushDue() override { return report_->NeedsFlush(); }
  Status ReadyToFlush(const pipeline::FlushContext& ctx) override;
  Status Report(pipeline::FlushContext& ctx) override;
  void AfterCommit(const pipeline::FlushContext& ctx, int64_t watermark_ms) override {
    report_->AfterCommit(ctx, watermark_ms, metrics_.offsets_lost.load(std::memory_order_relaxed));
  }
  void Discard() override;
  void OnStopping() override;
  void OnStatus(const pipeline::LoopStatus& status) override;

  Status ResumeAssigned();
  Status LoadCheckpointsIfStale();
  void WriteCheckpoints();
  int32_t CheckpointPartitions();

  // Discovery thread.
  void Discover();
  Status RebuildSync();

  // REST
  void StartRest();

  ReplicateOptions opts_;
  ReplicatorSeams seams_;
  const Clock& clock_;
  ReplicatorMetrics metrics_;
  std::optional<PartitionMap> map_;
  TimestampRules rules_;

  std::unique_ptr<kafka::LibrdkafkaConsumer> owned_consumer_;
  std::unique_ptr<KafkaDestinationProducer> owned_producer_;
  std::unique_ptr<KafkaDestinationReader> owned_reader_;
  kafka::Consumer* consumer_ = nullptr;
  DestinationProducer* producer_ = nullptr;
  DestinationReader* reader_ = nullptr;
  std::unique_ptr<pipeline::ConsumeLoop> loop_;
  std::unique_ptr<pipeline::AuditReport> report_;
  std::unique_ptr<http::Endpoint> endpoint_;

  // ---- consume thread ----
  // By loop partition (a stale entry is recognised by its ownership id).
  std::unordered_map<const pipeline::LoopPartition*, PartitionState> states_;
  std::vector<InFlight> in_flight_;
  std::vector<Header> headers_scratch_;  // reused: no allocation per record once warm
  std::vector<HeaderView> views_scratch_;
  Status broken_;  // a resume failed: everything until the rewind is dropped
  CheckpointMap checkpoints_;
  bool checkpoints_fresh_ = false;  // loaded since the last rewind
  int32_t checkpoint_partitions_ = -1;
  int64_t next_checkpoint_ns_ = 0;
  common::RateLimitedLog log_{"replicate"}, log_malformed_{"replicate"};
  std::atomic<bool> running_{false};

  // ---- shared (mu_) ----
  std::mutex mu_;
  bool sync_dirty_ = true;
  std::unique_ptr<TopicSync> sync_;  // discovery thread
  TopicSyncReport sync_report_;
  bool have_sync_report_ = false;
  std::string sync_error_;
  std::set<std::string> manual_include_, manual_exclude_;
  pipeline::PendingSubscription subscription_;  // discovery thread → consume thread
  std::map<std::string, TopicStatus> ready_;  // source topic → status (replicable only)
  pipeline::LoopStatus loop_status_;
  std::map<kafka::TopicPartition, PartitionCounters> counters_;  // published copy
  std::map<kafka::TopicPartition, std::string> owners_;         // member id per owned partition
  common::Periodic discovery_;  // started and stopped by Run

  friend class Replicator;
};

// ---------------------------------------------------------------------------
// Setup

Status Replicator::Impl::Init() {
  if (opts_.tier.empty()) return Status::InvalidArgument("tier must not be empty");
  for (const auto& r : opts_.timestamps)
    if (Status s = rules_.Add(r.topic_regex, r.chain); !s.ok()) return s;
  auto map = PartitionMap::Create(opts_.MapConfig());
  if (!map.ok()) return map.status();
  map_.emplace(std::move(*map));

  consumer_ = seams_.consumer;
  if (!consumer_) {
    if (!FindKafkaProperty(opts_.source_properties, "bootstrap.servers"))
      return Status::InvalidArgument("the source cluster has no bootstrap.servers");
    KafkaProperties props = pipeline::ConsumerTuningDefaults();
    props.insert(props.begin(), {"client.id", "chaperone-replicate"});
    props.emplace_back("topic.metadata.refresh.interval.ms",
                       std::to_string(std::clamp<int64_t>(opts_.discovery_interval.count(), 1000, 300000)));
    for (const auto& kv : WithoutPluginProperties(opts_.source_properties)) props.push_back(kv);
    props.emplace_back("auto.offset.reset", "earliest");
    for (const auto& kv : WithoutPluginProperties(opts_.consumer_properties)) props.push_back(kv);
    props.insert(props.end(), {{"group.id", opts_.EffectiveGroupId()},
                               {"enable.auto.commit", "false"},
                               {"enable.auto.offset.store", "false"},
                               {"enable.partition.eof", "false"},
                               {"allow.auto.create.topics", "false"},
                               {"partition.assignment.strategy", "cooperative-sticky"}});
    auto c = kafka::LibrdkafkaConsumer::Create(std::move(props));
    if (!c.ok()) return c.status();
    owned_consumer_ = std::move(*c);
    consumer_ = owned_consumer_.get();
  }
  producer_ = seams_.producer;
  if (!producer_) {
    KafkaProperties props = opts_.destination_properties;
    for (const auto& kv : opts_.producer_properties) props.push_back(kv);
    auto p = KafkaDestinationProducer::Create(std::move(props));
    if (!p.ok()) return p.status();
    owned_producer_ = std::move(*p);
    producer_ = owned_producer_.get();
  }
  reader_ = seams_.reader;
  if (!reader_) {
    auto r = KafkaDestinationReader::Create(opts_.destination_properties, opts_.send_timeout);
    if (!r.ok()) return r.status();
    owned_reader_ = std::move(*r);
    reader_ = owned_reader_.get();
  }

  std::shared_ptr<Reporter> reporter = opts_.reporter;
  if (!reporter) {
    const KafkaProperties& cluster = opts_.audit_properties.empty() ? opts_.destination_properties : opts_.audit_properties;
    auto rep = pipeline::MakeAuditReporter(opts_.audit_topic, cluster, {});
    if (!rep.ok()) return rep.status();
    reporter = std::move(*rep);
  }
  pipeline::AuditReportOptions ro;
  ro.tier = opts_.tier;
  ro.datacenter = opts_.EffectiveDatacenter();
  // The source cluster: a chunk (chunkStart) is a range of one origin partition, and
  // two regional replicators into one aggregate topic must not replace each other's.
  ro.cluster_name = opts_.source_cluster;
  ro.window_sec = opts_.window_sec;
  ro.flush_interval = opts_.flush_interval;
  ro.send_timeout = opts_.send_timeout;
  ro.clock = &clock_;
  ro.log_prefix = "replicate";
  report_ = std::make_unique<pipeline::AuditReport>(std::move(ro), std::move(reporter), metrics_);

  pipeline::LoopOptions lo;
  lo.flush_interval = opts_.flush_interval;
  lo.clock = &clock_;
  lo.log_prefix = "replicate";
  loop_ = std::make_unique<pipeline::ConsumeLoop>(*consumer_, static_cast<pipeline::LoopHooks&>(*this), metrics_, lo);

  if (seams_.fixed_topics) {
    std::lock_guard lock(mu_);
    std::vector<std::string> topics;
    for (const auto& [topic, partitions] : *seams_.fixed_topics) {
      TopicStatus st;
      st.source_topic = topic;
      st.destination_topic = map_->DestinationTopic(topic);
      st.destination_partitions = partitions;
      st.source_partitions = partitions;
      ready_[topic] = st;
      sync_report_.topics.push_back(st);
      topics.push_back(topic);
    }
    have_sync_report_ = true;
    subscription_.Offer(topics);
  }
  if (!opts_.listen.empty()) {
    StartRest();
    if (Status s = endpoint_->Start(); !s.ok()) return s;
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The loop

Status Replicator::Impl::Run(const std::atomic<bool>& stop) {
  running_.store(true);
  if (!seams_.fixed_topics) discovery_.Start("rep-discovery", opts_.discovery_interval, [this] { Discover(); });
  spdlog::info("replicate: {} → {} (group {}, {} partitioning, flush every {} ms, audit tier {})",
               opts_.source_cluster, opts_.destination_cluster, opts_.EffectiveGroupId(),
               PartitionStrategyName(opts_.partitioning), opts_.flush_interval.count(), opts_.tier);
  Status result = loop_->Run(stop);
  OnStopping();
  running_.store(false);
  loop_->PublishStatus();
  spdlog::info("replicate: stopped ({} records copied, {} already in the destination, {} skipped by loop prevention)",
               metrics_.records_copied.load(), metrics_.already_written.load(), metrics_.loop_skipped.load());
  return result;
}

void Replicator::Impl::OnStopping() { discovery_.Stop(); }

void Replicator::Impl::OnIteration() {
  if (subscription_.Apply(*consumer_, "replicate").ok()) return;
  metrics_.errors_discovery.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  sync_dirty_ = true;
}

std::unique_ptr<pipeline::TopicContext> Replicator::Impl::NewTopic(const std::string& topic) {
  auto t = std::make_unique<SourceTopic>();
  t->source = topic;
  t->destination = map_->DestinationTopic(topic);
  {
    std::lock_guard lock(mu_);
    auto it = ready_.find(topic);
    if (it != ready_.end()) t->destination_partitions = it->second.destination_partitions;
  }
  t->audit_id = report_->InternTopic(t->destination);
  t->chain = &rules_.ForTopic(t->destination);
  return t;
}

Status Replicator::Impl::LoadCheckpointsIfStale() {
  if (checkpoints_fresh_) return Status::Ok();
  int32_t partitions = CheckpointPartitions();
  if (partitions <= 0) {
    checkpoints_fresh_ = true;
    return Status::Ok();
  }
  auto load = LoadCheckpoints(*reader_, kCheckpointTopic, partitions);
  if (!load.ok()) return load.status();
  // Ours (written since) are never older than what the topic holds.
  for (auto& [k, c] : load->checkpoints) {
    auto it = checkpoints_.find(k);
    if (it == checkpoints_.end() || it->second.source_next < c.source_next) checkpoints_[k] = c;
  }
  checkpoints_fresh_ = true;
  return Status::Ok();
}

// The checkpoint topic's partition count (0: no such topic: no checkpoints
// are written — it is never auto-created by a produce).
int32_t Replicator::Impl::CheckpointPartitions() {
  if (checkpoint_partitions_ >= 0) return checkpoint_partitions_;
  int32_t n = 0;
  while (n < 1024) {
    auto w = reader_->Watermarks({std::string(kCheckpointTopic), PartitionId{n}});
    if (!w.ok()) {
      if (w.status().code() != Status::Code::kNotFound) return 0;  // ask again later
      break;
    }
    ++n;
  }
  checkpoint_partitions_ = n;
  if (n == 0) spdlog::warn("replicate: no topic {} on the destination: resume scans are not bounded by checkpoints", kCheckpointTopic);
  return n;
}

// Where the assigned partitions resume, read from the destination
// (resume.h): every one without a resume point under its current ownership,
// in one scan (the watermarks of all their destination partitions asked
// together), so that an assignment of many partitions costs a few round
// trips, not a few per partition.
Status Replicator::Impl::ResumeAssigned() {
  if (Status s = LoadCheckpointsIfStale(); !s.ok()) return s;
  std::vector<const pipeline::LoopPartition*> parts;
  std::vector<ResumeQuery> queries;
  for (const pipeline::LoopPartition* p : loop_->Assigned()) {
    const auto* t = static_cast<const SourceTopic*>(p->topic);
    if (!t || t->destination_partitions <= 0) continue;
    auto it = states_.find(p);
    if (it != states_.end() && it->second.ownership == p->ownership) continue;
    ResumeQuery& q = queries.emplace_back();
    q.origin = {opts_.source_cluster, t->source, PartitionId{p->tp.partition}};
    q.destination_topic = t->destination;
    q.destination_partitions = map_->DestinationPartitionsOf(PartitionId{p->tp.partition}, t->destination_partitions);
    parts.push_back(p);
  }
  if (queries.empty()) return Status::Ok();
  auto r = FindResumePoints(*reader_, queries, checkpoints_);
  if (!r.ok()) return r.status();
  metrics_.resume_scans.fetch_add(1, std::memory_order_relaxed);
  metrics_.resume_records_scanned.fetch_add(r->stats.records, std::memory_order_relaxed);
  for (size_t i = 0; i < parts.size(); ++i) {
    const pipeline::LoopPartition& p = *parts[i];
    PartitionState st;
    st.point = std::move(r->points.at(i));
    st.ownership = p.ownership;
    st.tp = p.tp;
    st.destination_topic = queries[i].destination_topic;
    auto prov = EncodeProvenance({queries[i].origin, Offset{0}});
    if (!prov.ok()) return prov.status();
    st.provenance = std::move(*prov);
    for (size_t h = 0; h < st.provenance.size(); ++h)
      if (st.provenance[h].name == kHeaderOffset) st.offset_header = h;
    if (st.point.history_truncated)
      spdlog::warn("replicate: {}: the destination's retention deleted records no checkpoint covers; records from {} "
                   "on may be copied again", ToString(queries[i].origin), st.point.next_source_offset.value());
    states_[&p] = std::move(st);
  }
  if (parts.size() == 1) {
    spdlog::info("replicate: {} resumes at source offset {} (scanned {} destination records)",
                 ToString(queries[0].origin), states_[parts[0]].point.next_source_offset.value(), r->stats.records);
  } else {
    spdlog::info("replicate: {} partitions resume (scanned {} destination records in {} partitions)", parts.size(),
                 r->stats.records, r->stats.partitions);
    for (size_t i = 0; i < parts.size(); ++i)
      spdlog::debug("replicate: {} resumes at source offset {}", ToString(queries[i].origin),
                    states_[parts[i]].point.next_source_offset.value());
  }
  return Status::Ok();
}

void Replicator::Impl::OnMessage(const kafka::Message& m, const pipeline::LoopPartition& p) {
  if (!broken_.ok()) return;  // the flush fails and rewinds; these are read again
  const auto* t = static_cast<const SourceTopic*>(p.topic);
  if (t->destination_partitions <= 0) {
    broken_ = Status::Unavailable("destination topic of " + t->source + " is not ready");
    return;
  }
  auto found = states_.find(&p);
  if (found == states_.end() || found->second.ownership != p.ownership) {
    if (Status s = ResumeAssigned(); !s.ok()) {
      states_.erase(&p);
      metrics_.errors_resume.fetch_add(1, std::memory_order_relaxed);
      broken_ = Status::Unavailable(fmt::format("resume of {} [{}]: {}", p.tp.topic, p.tp.partition, s.message()));
      log_.Warn(clock_, "{}", broken_.message());
      return;
    }
    found = states_.find(&p);
    if (found == states_.end()) {  // not among the loop's assigned partitions: nothing to resume from
      broken_ = Status::Internal(fmt::format("{} [{}] was not resumed", p.tp.topic, p.tp.partition));
      return;
    }
  }
  PartitionState& st = found->second;
  // The headers, as the provenance code sees them.
  views_scratch_.clear();
  bool has_provenance = false;
  if (m.header_at) {
    std::string_view name, value;
    bool null = false;
    for (size_t i = 0; m.header_at(m.header_ctx, i, &name, &value, &null); ++i) {
      views_scratch_.push_back({name, null ? std::nullopt : std::optional<std::string_view>(value)});
      has_provenance |= name.starts_with(kProvenancePrefix);
    }
  }
  if (has_provenance) {
    CopyDecision decision = DecideCopy(views_scratch_, opts_.destination_cluster);
    if (decision == CopyDecision::kSkipOriginIsDestination) {
      metrics_.loop_skipped.fetch_add(1, std::memory_order_relaxed);
      ++st.pending.loop_skipped;
      return;
    }
    if (decision == CopyDecision::kCopyMalformedProvenance) {
      metrics_.malformed_provenance.fetch_add(1, std::memory_order_relaxed);
      log_malformed_.Warn(clock_, "{} [{}] offset {}: malformed provenance headers (copied; the last hop's replace them)",
                          p.tp.topic, p.tp.partition, m.offset);
    }
  }
  std::optional<std::string_view> key;
  if (!m.view.key_null) key = m.view.key;
  const PartitionId dp = map_->DestinationPartition(PartitionId{p.tp.partition}, key, t->destination_partitions);
  if (st.point.AlreadyWritten(dp, Offset{m.offset})) {
    // Written by an earlier run (or before a rewind): delivered, not written again.
    metrics_.already_written.fetch_add(1, std::memory_order_relaxed);
    ++st.pending.already_written;
    report_->Count(*t->chain, t->audit_id, p.tp.partition, m.offset, m.view, loop_->now_ms());
    return;
  }
  // The headers to write: the source's (without provenance), then this hop's
  // provenance (provenance.h, WithProvenance), in reused storage.
  size_t n = 0;
  auto put = [&](std::string_view name, std::optional<std::string_view> value) {
    if (n == headers_scratch_.size()) headers_scratch_.emplace_back();
    Header& h = headers_scratch_[n++];
    h.name.assign(name);
    if (!value) {
      h.value.reset();
    } else if (h.value) {
      h.value->assign(*value);
    } else {
      h.value.emplace(*value);
    }
  };
  for (const HeaderView& h : views_scratch_)
    if (!h.name.starts_with(kProvenancePrefix)) put(h.name, h.value);
  char offset_be[8];
  for (int i = 0; i < 8; ++i) offset_be[i] = static_cast<char>(static_cast<uint64_t>(m.offset) >> (56 - 8 * i));
  for (size_t i = 0; i < st.provenance.size(); ++i) {
    const Header& h = st.provenance[i];
    put(h.name, i == st.offset_header ? std::string_view(offset_be, 8) : std::string_view(*h.value));
  }
  OutRecord r;
  r.topic = st.destination_topic;
  r.partition = dp;
  r.key = key;
  if (!m.view.value_null) r.value = m.view.value;
  r.headers = std::span<const Header>(headers_scratch_.data(), n);
  r.timestamp_ms = m.view.record_timestamp_ms;
  const uint64_t id = in_flight_.size();
  if (Status s = producer_->Produce(r, id); !s.ok()) {
    broken_ = s;
    log_.Warn(clock_, "{}", s.message());
    return;
  }
  in_flight_.push_back({&st, m.offset});
  st.pending.bytes += static_cast<int64_t>(m.view.key.size() + m.view.value.size());
  ++st.pending.copied;
  report_->Count(*t->chain, t->audit_id, p.tp.partition, m.offset, m.view, loop_->now_ms());
}

// Everything produced since the last flush must be acknowledged before the
// audit says it was delivered and the source offsets move past it.
Status Replicator::Impl::ReadyToFlush(const pipeline::FlushContext& ctx) {
  if (!broken_.ok()) return broken_;
  std::vector<Delivery> deliveries;
  milliseconds timeout = ctx.final ? std::min<milliseconds>(opts_.send_timeout, 10'000ms) : opts_.send_timeout;
  Status flushed = producer_->Flush(timeout, deliveries);
  Status failed;
  int64_t ok = 0;
  for (const Delivery& d : deliveries) {
    if (d.id & kCheckpointId) {
      if (d.status.ok()) metrics_.checkpoints_written.fetch_add(1, std::memory_order_relaxed);
      else log_.Warn(clock_, "checkpoint not written: {}", d.status.message());
      continue;
    }
    if (d.id >= in_flight_.size()) continue;
    const InFlight& f = in_flight_[d.id];
    if (!d.status.ok()) {
      metrics_.delivery_errors.fetch_add(1, std::memory_order_relaxed);
      if (failed.ok())
        failed = Status::Unavailable(fmt::format("{} [{}] offset {} → {} [{}]: {}", f.state->tp.topic,
                                                 f.state->tp.partition, f.source_offset, f.state->destination_topic,
                                                 d.partition.value(), d.status.message()));
      continue;
    }
    ++ok;
    auto& fact = f.state->acked[d.partition.value()];
    if (f.source_offset >= fact.first) fact = {f.source_offset, d.offset.value()};
  }
  metrics_.records_copied.fetch_add(ok, std::memory_order_relaxed);
  if (!failed.ok()) return failed;
  if (!flushed.ok()) return flushed;
  // Everything produced is acknowledged: publish the partitions' counters.
  int64_t bytes = 0;
  {
    std::lock_guard lock(mu_);
    for (auto& [lp, st] : states_) {
      PartitionCounters& g = counters_[st.tp];
      g.copied += st.pending.copied;
      g.bytes += st.pending.bytes;
      g.already_written += st.pending.already_written;
      g.loop_skipped += st.pending.loop_skipped;
      bytes += st.pending.bytes;
      st.pending = {};
    }
  }
  metrics_.bytes_copied.fetch_add(bytes, std::memory_order_relaxed);
  in_flight_.clear();
  if (clock_.MonotonicNs() >= next_checkpoint_ns_) {
    WriteCheckpoints();
    next_checkpoint_ns_ = clock_.MonotonicNs() + std::max<int64_t>(opts_.checkpoint_interval.count(), 1) * 1'000'000;
  }
  return Status::Ok();
}

// Checkpoints from acknowledged facts only (checkpoint.h): they are sent now
// and their acknowledgements read at the next flush.
void Replicator::Impl::WriteCheckpoints() {
  int32_t partitions = CheckpointPartitions();
  for (auto& [lp, st] : states_) {
    for (const auto& [dp, fact] : st.acked) {
      CheckpointKey k{{opts_.source_cluster, st.tp.topic, PartitionId{st.tp.partition}},
                      {st.destination_topic, PartitionId{dp}}};
      Checkpoint c{k, Offset{fact.first + 1}, Offset{fact.second + 1}};
      checkpoints_[k] = c;  // a fact, whether or not it reaches the topic
      if (partitions <= 0) continue;
      auto key = EncodeCheckpointKey(k);
      auto value = EncodeCheckpointValue(c);
      if (!key.ok() || !value.ok()) continue;
      OutRecord r;
      r.topic = kCheckpointTopic;
      r.partition = CheckpointPartition(*key, partitions);
      r.key = *key;
      r.value = *value;
      (void)producer_->Produce(r, kCheckpointId);
    }
    st.acked.clear();
  }
  // Forget partitions no longer assigned (their facts were just written).
  std::set<std::pair<const pipeline::LoopPartition*, uint64_t>> live;
  for (const pipeline::LoopPartition* p : loop_->Assigned()) live.insert({p, p->ownership});
  std::erase_if(states_, [&](const auto& e) { return !live.count({e.first, e.second.ownership}); });
}

Status Replicator::Impl::Report(pipeline::FlushContext& ctx) {
  // An audit record's (destination topic, partition) names the source
  // partition whose chunk it counts: with identity partitioning the same
  // number; with key hashing the source partition (one chunk per source partition).
  return report_->Report(ctx, [this](const pipeline::FlushContext& c, const std::string& dest, int32_t partition)
                                  -> const pipeline::LoopPartition* {
    for (const pipeline::LoopPartition* p : c.to_commit) {
      const auto* t = static_cast<const SourceTopic*>(p->topic);
      if (t && t->destination == dest && p->tp.partition == partition) return p;
    }
    for (const pipeline::LoopPartition* p : loop_->Assigned()) {
      const auto* t = static_cast<const SourceTopic*>(p->topic);
      if (t && t->destination == dest && p->tp.partition == partition) return p;
    }
    return nullptr;
  });
}

// A rewind follows: wait until nothing is in flight (the rescan must see the
// destination's final state), forget the resume points (re-derived from the
// destination at the next message of each partition) and the uncommitted counts.
void Replicator::Impl::Discard() {
  report_->Discard();
  if (Status s = producer_->Reset(); !s.ok()) spdlog::error("replicate: producer reset: {}", s.message());
  in_flight_.clear();
  states_.clear();
  checkpoints_fresh_ = false;
  checkpoint_partitions_ = -1;
  broken_ = Status::Ok();
}

void Replicator::Impl::OnStatus(const pipeline::LoopStatus& status) {
  std::map<kafka::TopicPartition, std::string> owners;
  for (const pipeline::LoopPartition* p : loop_->Assigned()) owners[p->tp] = p->member_id.empty() ? "this" : p->member_id;
  std::lock_guard lock(mu_);
  loop_status_ = status;
  owners_ = std::move(owners);
}

// ---------------------------------------------------------------------------
// Discovery

Status Replicator::Impl::RebuildSync() {
  PartitionMapConfig c = opts_.MapConfig();
  {
    std::lock_guard lock(mu_);
    for (const auto& t : manual_include_) c.include.push_back(RegexEscape(t));
    for (const auto& t : manual_exclude_) c.exclude.push_back(RegexEscape(t));
    sync_dirty_ = false;
  }
  auto map = PartitionMap::Create(c);
  if (!map.ok()) return map.status();
  TopicSyncOptions so;
  so.source = opts_.source_properties;
  so.destination = opts_.destination_properties;
  so.timeout = std::clamp<milliseconds>(opts_.discovery_interval, 1000ms, 10'000ms);
  auto sync = TopicSync::Create(std::move(*map), so);
  if (!sync.ok()) return sync.status();
  sync_ = std::move(*sync);
  return Status::Ok();
}

void Replicator::Impl::Discover() {
  bool dirty;
  {
    std::lock_guard lock(mu_);
    dirty = sync_dirty_ || !sync_;
  }
  if (dirty) {
    if (Status s = RebuildSync(); !s.ok()) {
      metrics_.errors_discovery.fetch_add(1, std::memory_order_relaxed);
      spdlog::error("replicate: topic sync: {}", s.message());
      return;
    }
  }
  auto report = sync_->Sync();
  if (!report.ok()) {
    metrics_.errors_discovery.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("replicate: topic sync failed: {}", report.status().message());
    std::lock_guard lock(mu_);
    sync_error_ = report.status().message();
    return;
  }
  for (const std::string& line : TopicSyncProblems(*report)) spdlog::warn("replicate: waiting: {}", line);
  std::vector<std::string> topics;
  std::map<std::string, TopicStatus> ready;
  for (const TopicStatus& t : report->topics) {
    // kCreated: usable once the destination's metadata lists it (next round).
    if (t.state != TopicState::kReady) continue;
    topics.push_back(t.source_topic);
    ready[t.source_topic] = t;
  }
  std::lock_guard lock(mu_);
  sync_error_.clear();
  // A topic stays replicated with the partition count it started with.
  for (auto& [name, st] : ready) {
    auto it = ready_.find(name);
    if (it != ready_.end()) st.destination_partitions = it->second.destination_partitions;
  }
  ready_ = std::move(ready);
  sync_report_ = std::move(*report);
  have_sync_report_ = true;
  subscription_.Offer(std::move(topics));
}

// ---------------------------------------------------------------------------
// Metrics, health

std::string Replicator::Impl::PrometheusMetrics() {
  auto r = [](const std::atomic<int64_t>& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  auto counter = [&](const char* name, const char* help, int64_t v) { AppendPrometheusSample(out, name, "counter", help, v); };
  auto gauge = [&](const char* name, const char* help, int64_t v) { AppendPrometheusSample(out, name, "gauge", help, v); };
  counter("chaperone_replicate_records_copied_total", "Records written to the destination and acknowledged.",
          r(metrics_.records_copied));
  counter("chaperone_replicate_bytes_copied_total", "Key+value bytes of the records copied.", r(metrics_.bytes_copied));
  counter("chaperone_replicate_records_already_written_total",
          "Records found in the destination on resume: counted as delivered, not written again.",
          r(metrics_.already_written));
  counter("chaperone_replicate_records_loop_skipped_total",
          "Records not copied because their origin is the destination cluster (loop prevention).",
          r(metrics_.loop_skipped));
  counter("chaperone_replicate_malformed_provenance_total", "Records copied whose provenance headers were malformed.",
          r(metrics_.malformed_provenance));
  counter("chaperone_replicate_messages_committed_total",
          "Source messages delivered (or found delivered), reported and committed.", r(metrics_.messages_committed));
  counter("chaperone_replicate_offsets_lost_total",
          "Source offsets deleted by retention before they were replicated (gaps).", r(metrics_.offsets_lost));
  counter("chaperone_replicate_offset_resets_total", "Source consumer offset resets (OFFSET_OUT_OF_RANGE).",
          r(metrics_.offset_resets));
  counter("chaperone_replicate_delivery_errors_total", "Records the destination refused or did not acknowledge.",
          r(metrics_.delivery_errors));
  counter("chaperone_replicate_resume_scans_total", "Resume-point scans of the destination.", r(metrics_.resume_scans));
  counter("chaperone_replicate_checkpoints_written_total", "Checkpoint records acknowledged.",
          r(metrics_.checkpoints_written));
  counter("chaperone_replicate_rewinds_total", "Flushes that failed and rewound to the committed source offsets.",
          r(metrics_.rewinds));
  counter("chaperone_replicate_audit_records_emitted_total", "Audit records acknowledged by the audit topic.",
          r(metrics_.records_emitted));
  out += "# HELP chaperone_replicate_flushes_total Flushes (acks, audit, commit) by result.\n"
         "# TYPE chaperone_replicate_flushes_total counter\n";
  out += fmt::format("chaperone_replicate_flushes_total{{result=\"ok\"}} {}\n", r(metrics_.flushes_ok));
  out += fmt::format("chaperone_replicate_flushes_total{{result=\"failed\"}} {}\n", r(metrics_.flushes_failed));
  out += "# HELP chaperone_replicate_rebalances_total Source consumer-group rebalance events by kind.\n"
         "# TYPE chaperone_replicate_rebalances_total counter\n";
  out += fmt::format("chaperone_replicate_rebalances_total{{kind=\"assign\"}} {}\n", r(metrics_.rebalances_assign));
  out += fmt::format("chaperone_replicate_rebalances_total{{kind=\"revoke\"}} {}\n", r(metrics_.rebalances_revoke));
  out += fmt::format("chaperone_replicate_rebalances_total{{kind=\"lost\"}} {}\n", r(metrics_.rebalances_lost));
  out += "# HELP chaperone_replicate_errors_total Errors by kind (each is handled).\n"
         "# TYPE chaperone_replicate_errors_total counter\n";
  const std::pair<const char*, const std::atomic<int64_t>*> errors[] = {
      {"consume", &metrics_.errors_consume},     {"commit", &metrics_.errors_commit},
      {"rewind", &metrics_.errors_rewind},       {"discovery", &metrics_.errors_discovery},
      {"resume", &metrics_.errors_resume},       {"audit_send", &metrics_.errors_send},
      {"heartbeat", &metrics_.errors_heartbeat}, {"delivery", &metrics_.delivery_errors}};
  for (const auto& [kind, v] : errors) out += fmt::format("chaperone_replicate_errors_total{{kind=\"{}\"}} {}\n", kind, r(*v));

  std::lock_guard lock(mu_);
  gauge("chaperone_replicate_assigned_partitions", "Source partitions assigned to this process.",
        static_cast<int64_t>(loop_status_.partitions.size()));
  gauge("chaperone_replicate_last_good_flush_timestamp_ms", "Wall clock of the last committed flush.",
        loop_status_.last_good_flush_ms);
  out += "# HELP chaperone_replicate_lag Source messages between the high watermark and the replicator's position.\n"
         "# TYPE chaperone_replicate_lag gauge\n";
  int64_t total_lag = 0;
  for (const auto& p : loop_status_.partitions) {
    if (p.lag < 0) continue;
    total_lag += p.lag;
    out += fmt::format("chaperone_replicate_lag{{topic=\"{}\",partition=\"{}\"}} {}\n", p.tp.topic, p.tp.partition, p.lag);
  }
  gauge("chaperone_replicate_lag_total", "Sum of chaperone_replicate_lag over the assigned partitions.", total_lag);
  out += "# HELP chaperone_replicate_partition_records_copied_total Records copied per source partition.\n"
         "# TYPE chaperone_replicate_partition_records_copied_total counter\n";
  for (const auto& [tp, c] : counters_)
    out += fmt::format("chaperone_replicate_partition_records_copied_total{{topic=\"{}\",partition=\"{}\"}} {}\n",
                       tp.topic, tp.partition, c.copied);
  out += "# HELP chaperone_replicate_partition_bytes_copied_total Bytes copied per source partition.\n"
         "# TYPE chaperone_replicate_partition_bytes_copied_total counter\n";
  for (const auto& [tp, c] : counters_)
    out += fmt::format("chaperone_replicate_partition_bytes_copied_total{{topic=\"{}\",partition=\"{}\"}} {}\n",
                       tp.topic, tp.partition, c.bytes);
  if (have_sync_report_) AppendTopicSyncMetrics(out, sync_report_);
  return out;
}

http::HealthVerdict Replicator::Impl::Health() {
  const int64_t now = clock_.NowMs();
  std::lock_guard lock(mu_);
  const auto& st = loop_status_;
  const pipeline::LoopHealth loop = pipeline::JudgeLoop(st, now, opts_.flush_interval, opts_.send_timeout);
  std::vector<std::string> waiting = have_sync_report_ ? TopicSyncProblems(sync_report_) : std::vector<std::string>{};
  bool running = running_.load();
  http::HealthVerdict v;
  v.state = !running || loop.stuck ? http::HealthVerdict::State::kFailing
            : (!waiting.empty() || !sync_error_.empty()) ? http::HealthVerdict::State::kDegraded
                                                          : http::HealthVerdict::State::kOk;
  v.status = !running ? "stopped" : loop.stuck ? "failing" : v.state == http::HealthVerdict::State::kDegraded ? "degraded" : "ok";
  if (!running) v.reasons.push_back("the replicator is not running");
  if (loop.stuck) v.reasons.push_back(loop.stuck_reason);
  for (const auto& w : waiting) v.reasons.push_back("topic waiting: " + w);
  if (!sync_error_.empty()) v.reasons.push_back("topic sync: " + sync_error_);
  v.details = {{"tier", opts_.tier},
               {"source", opts_.source_cluster},
               {"destination", opts_.destination_cluster},
               {"groupId", opts_.EffectiveGroupId()}};
  pipeline::AddLoopDetails(st, loop, v.details);
  v.details["recordsCopied"] = metrics_.records_copied.load(std::memory_order_relaxed);
  v.details["messagesCommitted"] = metrics_.messages_committed.load(std::memory_order_relaxed);
  return v;
}

// ---------------------------------------------------------------------------
// REST (uReplicator's subset; README.md)

void Replicator::Impl::StartRest() {
  http::EndpointOptions eo;
  eo.listen = opts_.listen;
  eo.thread_name = "rep-http";
  endpoint_ = std::make_unique<http::Endpoint>("listen", eo);
  endpoint_->SetHealth([this] { return Health(); });
  endpoint_->SetMetrics([this] { return PrometheusMetrics(); });
  auto topic_json = [](const TopicStatus& t) {
    return nlohmann::json{{"topic", t.source_topic},
                          {"destinationTopic", t.destination_topic},
                          {"state", TopicStateName(t.state)},
                          {"detail", t.detail},
                          {"sourcePartitions", t.source_partitions},
                          {"destinationPartitions", t.destination_partitions}};
  };
  endpoint_->Get("/topics", [this, topic_json](const httplib::Request&, httplib::Response& res) {
    nlohmann::json out = nlohmann::json::array();
    std::lock_guard lock(mu_);
    for (const TopicStatus& t : sync_report_.topics) {
      nlohmann::json j = topic_json(t);
      nlohmann::json assigned = nlohmann::json::array();
      for (const auto& p : loop_status_.partitions)
        if (p.tp.topic == t.source_topic) assigned.push_back(p.tp.partition);
      j["assigned"] = assigned;
      j["replicating"] = ready_.count(t.source_topic) > 0;
      out.push_back(std::move(j));
    }
    res.set_content(nlohmann::json{{"topics", out}}.dump(), "application/json");
  });
  endpoint_->Get(R"(/topics/([^/]+))", [this, topic_json](const httplib::Request& req, httplib::Response& res) {
    std::string topic = req.matches[1];
    std::lock_guard lock(mu_);
    auto it = std::find_if(sync_report_.topics.begin(), sync_report_.topics.end(),
                           [&](const TopicStatus& t) { return t.source_topic == topic; });
    if (it == sync_report_.topics.end()) {
      http::WriteError(res, 404, "not_found", "topic " + topic + " is not replicated");
      return;
    }
    nlohmann::json j = topic_json(*it);
    nlohmann::json parts = nlohmann::json::array();
    for (const auto& p : loop_status_.partitions) {
      if (p.tp.topic != topic) continue;
      auto owner = owners_.find(p.tp);
      auto c = counters_.find(p.tp);
      parts.push_back({{"partition", p.tp.partition},
                       {"owner", owner != owners_.end() ? owner->second : ""},
                       {"position", p.position},
                       {"committed", p.committed},
                       {"highWatermark", p.high_watermark},
                       {"lag", p.lag},
                       {"recordsCopied", c != counters_.end() ? c->second.copied : 0},
                       {"bytesCopied", c != counters_.end() ? c->second.bytes : 0}});
    }
    j["partitions"] = parts;
    res.set_content(j.dump(), "application/json");
  });
  endpoint_->Post("/topics", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("topic") || !body["topic"].is_string()) {
      http::WriteError(res, 400, "bad_request", "expected {\"topic\": \"...\"}");
      return;
    }
    std::string topic = body["topic"];
    if (Status s = common::ValidateTopicName(topic); !s.ok()) {
      http::WriteError(res, 400, "bad_request", s.message());
      return;
    }
    {
      std::lock_guard lock(mu_);
      manual_exclude_.erase(topic);
      manual_include_.insert(topic);
      sync_dirty_ = true;
    }
    discovery_.Wake();
    spdlog::info("replicate: topic {} added by hand", topic);
    res.status = 202;
    res.set_content(nlohmann::json{{"topic", topic}, {"status", "added"}}.dump(), "application/json");
  });
  endpoint_->Delete(R"(/topics/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
    std::string topic = req.matches[1];
    {
      std::lock_guard lock(mu_);
      bool known = manual_include_.count(topic) ||
                   std::any_of(sync_report_.topics.begin(), sync_report_.topics.end(),
                               [&](const TopicStatus& t) { return t.source_topic == topic; });
      if (!known) {
        http::WriteError(res, 404, "not_found", "topic " + topic + " is not replicated");
        return;
      }
      manual_include_.erase(topic);
      manual_exclude_.insert(topic);
      sync_dirty_ = true;
    }
    discovery_.Wake();
    spdlog::info("replicate: topic {} removed by hand", topic);
    res.set_content(nlohmann::json{{"topic", topic}, {"status", "removed"}}.dump(), "application/json");
  });
  endpoint_->Post("/translate", [this](const httplib::Request& req, httplib::Response& res) {
    std::string group = req.get_param_value("group");
    if (group.empty()) {
      http::WriteError(res, 400, "bad_request", "missing ?group=G");
      return;
    }
    bool commit = req.get_param_value("commit") == "true" || req.get_param_value("commit") == "1";
    auto r = TranslateGroup(opts_, group, commit);
    if (!r.ok()) {
      int code = r.status().code() == Status::Code::kNotFound ? 404 : 503;
      http::WriteError(res, code, code == 404 ? "not_found" : "unavailable", r.status().message());
      return;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : r->translations) out.push_back(nlohmann::json::parse(TranslationJson(t)));
    res.set_content(nlohmann::json{{"group", group}, {"committed", r->committed}, {"translations", out}}.dump(),
                    "application/json");
  });
}

// ---------------------------------------------------------------------------

Replicator::Replicator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Replicator::~Replicator() = default;

Result<std::unique_ptr<Replicator>> Replicator::Create(ReplicateOptions options, ReplicatorSeams seams) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(seams));
  if (Status s = impl->Init(); !s.ok()) return s;
  return std::unique_ptr<Replicator>(new Replicator(std::move(impl)));
}

Status Replicator::Run(const std::atomic<bool>& stop) { return impl_->Run(stop); }
int Replicator::rest_port() const { return impl_->rest_port(); }
void Replicator::RequestFlush() { impl_->RequestFlush(); }
std::string Replicator::PrometheusMetrics() { return impl_->PrometheusMetrics(); }
http::HealthVerdict Replicator::Health() { return impl_->Health(); }
int64_t Replicator::records_copied() const { return impl_->metrics().records_copied.load(); }
int64_t Replicator::records_already_written() const { return impl_->metrics().already_written.load(); }
int64_t Replicator::records_loop_skipped() const { return impl_->metrics().loop_skipped.load(); }
int64_t Replicator::messages_committed() const { return impl_->metrics().messages_committed.load(); }

}  // namespace chaperone::replicate
