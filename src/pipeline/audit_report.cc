#include "pipeline/audit_report.h"

#include <algorithm>

#include "pipeline/message_audit.h"

namespace chaperone::pipeline {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

Result<std::shared_ptr<Reporter>> MakeAuditReporter(const std::string& topic, const KafkaProperties& cluster,
                                                    const KafkaProperties& producer_overrides) {
  KafkaReporterOptions ro;
  ro.topic = topic;
  ro.properties = WithoutPluginProperties(cluster);
  for (const auto& kv : WithoutPluginProperties(producer_overrides)) ro.properties.push_back(kv);
  if (const std::string* b = FindKafkaProperty(ro.properties, "bootstrap.servers")) ro.bootstrap_servers = *b;
  auto rep = MakeKafkaReporter(ro);
  if (!rep.ok()) return rep.status();
  return std::shared_ptr<Reporter>(std::move(*rep));
}

AuditReport::AuditReport(AuditReportOptions options, std::shared_ptr<Reporter> reporter, AuditMetrics& metrics)
    : opts_(std::move(options)),
      clock_(opts_.clock ? *opts_.clock : SystemClock::Instance()),
      reporter_(std::move(reporter)),
      metrics_(metrics),
      log_(opts_.log_prefix) {
  TrackerOptions topts;
  topts.window_sec = opts_.window_sec;
  topts.by_partition = true;
  tracker_ = std::make_unique<WindowTracker>(topts);
  emitter_ = std::make_unique<Emitter>(MakeEmitterIdentity(opts_.tier, opts_.datacenter, opts_.cluster_name, clock_));
}

EventTime AuditReport::Count(const TimestampChain& chain, TopicId topic, int32_t partition, int64_t offset,
                             const MessageView& v, int64_t observed_ms) {
  return AuditMessage(chain, *tracker_, topic, partition, offset, v, observed_ms);
}

// The report of one flush: one record per (topic, window, partition) counted
// since the last flush, each carrying its partition's chunk start and fencing
// epoch, after the heartbeat stamped at the previous commit.
Status AuditReport::Report(FlushContext& ctx, const PartitionOf& partition_of) {
  std::vector<WindowSnapshot> snaps = tracker_->Drain();
  // The heartbeat prepared at the previous commit rides with this flush's
  // records (one round trip per flush); it was stamped first, so its seq is
  // below theirs.
  std::vector<AuditRecord> records;
  records.reserve(snaps.size() + 1);
  const bool with_heartbeat = pending_heartbeat_.has_value();
  if (with_heartbeat) records.push_back(*pending_heartbeat_);
  if (!snaps.empty() || !ctx.to_commit.empty()) emitter_->BeginFlush();
  for (const WindowSnapshot& snap : snaps) {
    AuditRecord r;
    FillAuditRecord(snap, &r);
    const LoopPartition* p = nullptr;
    if (r.partitions.size() == 1) {
      p = partition_of ? partition_of(ctx, snap.topic, r.partitions[0].partition)
                       : ctx.Find(snap.topic, r.partitions[0].partition);
    }
    if (!p) {
      // Cannot happen: every counted message belongs to an assigned partition,
      // and revoked partitions are flushed before they go.
      return Status::Internal("window snapshot of " + snap.topic + " has no assigned partition");
    }
    r.partitions[0].chunk_start = p->ledger.chunk_start();
    r.partitions[0].generation = p->generation;
    r.partitions[0].assigned_ms = p->assigned_ms;
    emitter_->Stamp(r);
    records.push_back(std::move(r));
  }
  const int64_t count_records = static_cast<int64_t>(records.size()) - (with_heartbeat ? 1 : 0);
  // A heartbeat alone never holds the consume loop for long, and shutdown is
  // bounded even when the audit cluster is gone (what is not committed is
  // replayed by the next owner).
  milliseconds timeout = opts_.send_timeout;
  if (count_records == 0) timeout = std::min(timeout, std::max<milliseconds>(opts_.flush_interval, 1000ms));
  if (ctx.final) timeout = std::min<milliseconds>(timeout, 10'000ms);
  if (records.empty()) return Status::Ok();
  if (Status s = reporter_->Send(records, timeout); !s.ok()) {
    if (count_records == 0) {
      // Only the heartbeat was at stake: keep it for the next flush (its
      // uuid lets the collector drop a second copy).
      metrics_.errors_heartbeat.fetch_add(1, std::memory_order_relaxed);
      log_.Warn(clock_, "heartbeat not delivered: {}", s.ToString());
      ctx.skip_commit = true;
      return Status::Ok();
    }
    metrics_.errors_send.fetch_add(1, std::memory_order_relaxed);
    if (s.code() == Status::Code::kInvalidArgument) return Status::Internal("audit record rejected: " + s.message());
    return Status::Unavailable("send: " + s.message());
  }
  if (with_heartbeat) {
    metrics_.heartbeats_emitted.fetch_add(1, std::memory_order_relaxed);
    watermark_ms_ = pending_heartbeat_->watermark_ms;
    pending_heartbeat_.reset();
  }
  metrics_.records_emitted.fetch_add(count_records, std::memory_order_relaxed);
  return Status::Ok();
}

// The heartbeat's watermark (ConsumeLoop: everything appended to this
// process's partitions before it was counted, reported and committed) is
// stamped now, after the commit, and sent with the next flush; at the final
// flush, at once.
void AuditReport::AfterCommit(const FlushContext& ctx, int64_t watermark_ms, int64_t skipped_offsets) {
  if (watermark_ms > 0) {
    pending_heartbeat_ = emitter_->Heartbeat(watermark_ms, opts_.window_sec, /*dropped=*/0, /*failed=*/0);
    pending_heartbeat_->skipped_offsets = skipped_offsets;
  }
  if (!ctx.final || !pending_heartbeat_) return;
  milliseconds timeout = std::min<milliseconds>(opts_.send_timeout, 10'000ms);
  if (Status s = reporter_->Send({*pending_heartbeat_}, std::min<milliseconds>(timeout, 5'000ms)); s.ok()) {
    metrics_.heartbeats_emitted.fetch_add(1, std::memory_order_relaxed);
    watermark_ms_ = pending_heartbeat_->watermark_ms;
    pending_heartbeat_.reset();
  } else {
    metrics_.errors_heartbeat.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace chaperone::pipeline
