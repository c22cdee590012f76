#include "pipeline/consume_loop.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace chaperone::pipeline {

const LoopPartition* FlushContext::Find(const std::string& topic, int32_t partition) const {
  return loop ? loop->Find(topic, partition) : nullptr;
}

ConsumeLoop::ConsumeLoop(kafka::Consumer& consumer, LoopHooks& hooks, LoopMetrics& metrics, LoopOptions options)
    : consumer_(consumer),
      hooks_(hooks),
      metrics_(metrics),
      opts_(std::move(options)),
      clock_(opts_.clock ? *opts_.clock : SystemClock::Instance()),
      log_consume_(opts_.log_prefix),
      log_stale_(opts_.log_prefix),
      log_loss_(opts_.log_prefix),
      log_flush_(opts_.log_prefix),
      log_rewind_(opts_.log_prefix) {}

ConsumeLoop::~ConsumeLoop() = default;

// ---------------------------------------------------------------------------
// The loop

Status ConsumeLoop::Run(const std::atomic<bool>& stop) {
  const int64_t interval_ns = opts_.flush_interval.count() * 1'000'000;
  next_flush_ns_ = clock_.MonotonicNs() + interval_ns;
  Status result;
  while (!stop.load(std::memory_order_relaxed)) {
    hooks_.OnIteration();
    if (rewind_pending_ && clock_.MonotonicNs() >= next_rewind_ns_) TryRewind();

    now_ms_ = clock_.NowMs();
    int got = consumer_.Poll(opts_.poll_timeout, opts_.consume_batch, *this);
    for (int round = 1; got > 0; ++round) {
      now_ms_ = clock_.NowMs();
      if (round >= opts_.batches_per_loop) break;
      got = consumer_.Poll(std::chrono::milliseconds(0), opts_.consume_batch, *this);
    }
    hooks_.AfterPoll();
    if (Status fatal = consumer_.FatalError(); !fatal.ok()) {
      result = fatal;
      break;
    }

    int64_t mono = clock_.MonotonicNs();
    if (mono >= next_flush_ns_ || hooks_.FlushDue() || flush_requested_.exchange(false)) {
      FlushCycle("interval");
      next_flush_ns_ = clock_.MonotonicNs() + interval_ns;
    }
    if (mono >= next_status_ns_) {
      PublishStatus();
      next_status_ns_ = mono + opts_.status_interval.count() * 1'000'000;
    }
  }

  // Shutdown: report and commit what was counted, then leave the group (the
  // revoke flushes again, with nothing left).
  FlushCycle("shutdown");
  hooks_.OnStopping();
  consumer_.Close(*this);
  hooks_.AfterPoll();
  return result;
}

bool ConsumeLoop::FlushNow() { return FlushCycle("requested"); }

ConsumeLoop::TopicState* ConsumeLoop::LookupTopic(std::string_view topic) {
  if (topic.data() == last_topic_ptr_ && last_topic_) return last_topic_;
  auto it = topics_.find(topic);
  if (it == topics_.end()) return nullptr;
  last_topic_ptr_ = topic.data();
  last_topic_ = it->second.get();
  return last_topic_;
}

void ConsumeLoop::OnMessage(const kafka::Message& m) {
  if (m.error != kafka::Message::Error::kNone) {
    OnConsumerError(m);
    return;
  }
  TopicState* ts = LookupTopic(m.topic);
  LoopPartition* p = ts ? ts->Find(m.partition) : nullptr;
  if (!p) {
    // A message of a partition no longer assigned (the consumer drops those;
    // this is a second line of defence). It is counted by its new owner.
    log_stale_.Warn(clock_, "dropped a message of unassigned partition {} [{}] at offset {}", m.topic, m.partition,
                    m.offset);
    return;
  }
  bool first = p->ledger.first_since_start();
  switch (p->ledger.OnMessage(m.offset)) {
    case PartitionLedger::Verdict::kCount:
      break;
    case PartitionLedger::Verdict::kRewinding:
      return;
    case PartitionLedger::Verdict::kStale:
      log_stale_.Warn(clock_, "dropped {} [{}] offset {}: at or below an offset already counted ({})", ts->name,
                      m.partition, m.offset, p->ledger.commit_offset());
      return;
  }
  if (first) CheckRetentionLoss(*p, m.offset);
  hooks_.OnMessage(m, *p);
}

void ConsumeLoop::OnConsumerError(const kafka::Message& m) {
  switch (m.error) {
    case kafka::Message::Error::kPartitionEof:
      return;
    case kafka::Message::Error::kOffsetReset:
      metrics_.offset_resets.fetch_add(1, std::memory_order_relaxed);
      log_loss_.Warn(clock_, "offset reset: {}", m.error_message);
      return;
    default:
      break;
  }
  metrics_.errors_consume.fetch_add(1, std::memory_order_relaxed);
  std::string where = !m.topic.empty() ? fmt::format(" ({} [{}])", m.topic, m.partition) : "";
  last_error_ = "consume: " + m.error_message + where;
  log_consume_.Warn(clock_, "consumer error{}: {}", where, m.error_message);
}

void ConsumeLoop::CheckRetentionLoss(LoopPartition& p, int64_t first_offset) {
  int64_t committed = p.ledger.committed();
  if (committed < 0 || first_offset <= committed) return;
  // Offsets may be skipped legitimately (transaction markers, compaction): it
  // is a loss only if the log no longer starts at or before the committed offset.
  int64_t low = -1, high = -1;
  if (!consumer_.Watermarks(p.tp, &low, &high) || low <= committed) return;
  int64_t lost = std::min(first_offset, low) - committed;
  metrics_.offsets_lost.fetch_add(lost, std::memory_order_relaxed);
  log_loss_.Warn(clock_, "{} [{}]: {} offsets from {} were deleted by retention before they were audited", p.tp.topic,
                 p.tp.partition, lost, committed);
}

std::vector<LoopPartition*> ConsumeLoop::AssignedMutable() const {
  std::vector<LoopPartition*> out;
  for (const auto& [name, ts] : topics_)
    for (const auto& p : ts->partitions)
      if (p) out.push_back(p.get());
  return out;
}

std::vector<const LoopPartition*> ConsumeLoop::Assigned() const {
  std::vector<LoopPartition*> all = AssignedMutable();
  return {all.begin(), all.end()};
}

const LoopPartition* ConsumeLoop::Find(const std::string& topic, int32_t partition) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : it->second->Find(partition);
}

void ConsumeLoop::PublishStatus() {
  LoopStatus st;
  for (LoopPartition* p : AssignedMutable()) {
    PartitionStatus g;
    g.tp = p->tp;
    g.position = p->ledger.position();
    g.committed = p->ledger.committed();
    int64_t low = -1, high = -1;
    if (consumer_.Watermarks(p->tp, &low, &high) && high >= 0) {
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
  st.last_error = last_error_;
  hooks_.OnStatus(st);
}

// ---------------------------------------------------------------------------
// Flush: report, then commit; any failure rewinds.

bool ConsumeLoop::FlushCycle(const char* reason) {
  Status s = Flush(/*final=*/std::string_view(reason) == "shutdown");
  if (s.ok()) return true;
  last_error_ = "flush (" + std::string(reason) + "): " + s.ToString();
  log_flush_.Warn(clock_, "flush ({}) failed, rewinding to the committed offsets: {}", reason, s.ToString());
  StartRewind({});
  return false;
}

Status ConsumeLoop::FailFlush(Status s) {
  metrics_.flushes_failed.fetch_add(1, std::memory_order_relaxed);
  last_flush_ok_ = false;
  return s;
}

Status ConsumeLoop::Flush(bool final) {
  FlushContext ctx;
  ctx.final = final;
  ctx.flush_ms = clock_.NowMs();
  ctx.loop = this;
  last_flush_ms_ = ctx.flush_ms;
  for (LoopPartition* p : AssignedMutable())
    if (p->ledger.has_pending()) ctx.to_commit.push_back(p);

  // Fencing (docs/architecture.md, "Zombies"): every chunk carries the group
  // generation under which its partition was assigned, so the collector can
  // refuse the chunk of a member that was cut off while a newer owner counted
  // the same offsets. A member that is no longer in the group, or rejoined
  // under another member id since the assignment, reports nothing: it rewinds,
  // and the lost-partitions event that follows discards the counts.
  if (!ctx.to_commit.empty()) {
    std::optional<kafka::GroupMembership> member = consumer_.Membership();
    if (!member) log_flush_.Warn(clock_, "the client library's group metadata has an unknown format: not fenced");
    if (member && member->generation < 0)
      return FailFlush(Status::Unavailable("not a member of the group's current generation (session expired or fenced)"));
    for (const LoopPartition* p : ctx.to_commit) {
      if (!member || p->member_id.empty() || p->member_id == member->member_id) continue;
      return FailFlush(Status::Unavailable(fmt::format("{} [{}] was assigned to member {}; this process is now member {}",
                                                       p->tp.topic, p->tp.partition, p->member_id, member->member_id)));
    }
  }
  if (Status s = hooks_.ReadyToFlush(ctx); !s.ok()) return FailFlush(s);
  if (Status s = hooks_.Report(ctx); !s.ok()) return FailFlush(s);
  if (ctx.skip_commit) return Status::Ok();

  if (!ctx.to_commit.empty()) {
    std::vector<kafka::PartitionOffset> offsets;
    offsets.reserve(ctx.to_commit.size());
    for (const LoopPartition* p : ctx.to_commit) offsets.push_back({p->tp, p->ledger.commit_offset(), Status::Ok()});
    if (Status s = consumer_.Commit(offsets); !s.ok()) {
      metrics_.errors_commit.fetch_add(1, std::memory_order_relaxed);
      return FailFlush(Status::Unavailable("commit: " + s.message()));
    }
    int64_t committed = 0;
    for (const LoopPartition* cp : ctx.to_commit) {
      auto* p = const_cast<LoopPartition*>(cp);
      committed += p->ledger.pending();
      p->ledger.OnCommitted();
    }
    metrics_.messages_committed.fetch_add(committed, std::memory_order_relaxed);
  }
  metrics_.flushes_ok.fetch_add(1, std::memory_order_relaxed);
  last_flush_ok_ = true;
  last_good_flush_ms_ = ctx.flush_ms;
  hooks_.AfterCommit(ctx, HeartbeatWatermark());
  return Status::Ok();
}

// The watermark W promises: every message appended to this process's
// partitions before W has been handled, reported and committed.
// At every flush each partition samples the high watermark H its consumer last
// saw (refreshed by every fetch response, so it covers everything appended
// until hwm_staleness_ms before the sample time T). When a later commit
// reaches H, everything appended before T - hwm_staleness_ms is committed:
// that is the partition's caught-up time. W is the minimum over the assigned
// partitions, so a lagging partition holds W back by its lag; a partition that
// has not caught up once since its assignment holds it at 0 (no watermark). A
// member without partitions reports its flush time once it has joined the
// group. Partitions moving between members are covered by neither side for
// the moment of the move, which the finality grace period absorbs.
int64_t ConsumeLoop::HeartbeatWatermark() {
  // Before the group gave us an assignment we cannot speak for any partition.
  if (!joined_) return 0;
  const int64_t now = last_good_flush_ms_;
  int64_t watermark = now;
  for (LoopPartition* p : AssignedMutable()) {
    int64_t low = -1, high = -1;
    bool have = consumer_.Watermarks(p->tp, &low, &high) && high >= 0;
    if (!p->ledger.rewinding() && p->sampled_high >= 0) {
      int64_t pos = p->ledger.position();
      if (pos >= p->sampled_high || (pos < 0 && p->sampled_high == p->sampled_low))
        p->caught_up_ms = std::max(p->caught_up_ms, p->sampled_ms - opts_.hwm_staleness_ms);
    }
    // A fresh sample, once the fetcher has surely answered since the assignment.
    if (have && now >= p->assigned_ms + opts_.hwm_staleness_ms) {
      p->sampled_high = high;
      p->sampled_low = low;
      p->sampled_ms = now;
    }
    p->high_watermark = high;
    watermark = std::min(watermark, p->caught_up_ms);
  }
  return std::max<int64_t>(0, watermark);
}

// ---------------------------------------------------------------------------
// Rewind: discard what was counted since the last commit and read it again.

void ConsumeLoop::StartRewind(const std::set<kafka::TopicPartition>& exclude) {
  hooks_.Discard();  // the uncommitted counts
  int64_t discarded = 0;
  for (LoopPartition* p : AssignedMutable()) {
    discarded += p->ledger.Discard();
    if (exclude.count(p->tp)) p->ledger.OnRewound(p->ledger.committed());
  }
  metrics_.messages_discarded.fetch_add(discarded, std::memory_order_relaxed);
  metrics_.rewinds.fetch_add(1, std::memory_order_relaxed);
  rewind_pending_ = true;
  next_rewind_ns_ = 0;
}

void ConsumeLoop::TryRewind() {
  std::vector<LoopPartition*> pending;
  for (LoopPartition* p : AssignedMutable())
    if (p->ledger.rewinding()) pending.push_back(p);
  if (pending.empty()) {
    rewind_pending_ = false;
    return;
  }
  auto fail = [&](const std::string& why) {
    metrics_.errors_rewind.fetch_add(1, std::memory_order_relaxed);
    last_error_ = "rewind: " + why;
    log_rewind_.Warn(clock_, "rewind of {} partitions failed (retrying every {} ms): {}", pending.size(),
                     opts_.rewind_retry.count(), why);
    next_rewind_ns_ = clock_.MonotonicNs() + opts_.rewind_retry.count() * 1'000'000;
  };
  std::vector<kafka::PartitionOffset> list;
  list.reserve(pending.size());
  for (LoopPartition* p : pending) list.push_back({p->tp, kafka::kOffsetInvalid, Status::Ok()});
  if (Status s = consumer_.Committed(list, opts_.broker_timeout); !s.ok()) {
    fail("reading the committed offsets: " + s.message());
    return;
  }
  // Nothing committed yet: back to the start of the log (auto.offset.reset=earliest).
  std::vector<int64_t> committed(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    committed[i] = list[i].offset >= 0 ? list[i].offset : kUnknownOffset;
    if (list[i].offset < 0) list[i].offset = kafka::kOffsetBeginning;
  }
  Status seek = consumer_.Seek(list, opts_.broker_timeout);
  for (size_t i = 0; i < list.size(); ++i)
    if (list[i].status.ok()) pending[i]->ledger.OnRewound(committed[i]);
  if (!seek.ok()) {
    fail("seek: " + seek.message());
    return;
  }
  // A member that rejoined under another member id while keeping its
  // partitions (the coordinator gave it a new id and no lost-partitions event
  // came) would otherwise fail every flush from now on. The rewind dropped
  // every count of the old ownership, so the partitions it still holds are
  // owned under the current membership from here; a lost event, if one
  // follows, still discards them.
  if (std::optional<kafka::GroupMembership> m = consumer_.Membership(); m && m->generation >= 0 && !m->member_id.empty()) {
    for (LoopPartition* p : pending) {
      if (p->member_id.empty() || p->member_id == m->member_id) continue;
      spdlog::info("{}: {} [{}] now owned as member {} (generation {}), after member {}", opts_.log_prefix, p->tp.topic,
                   p->tp.partition, m->member_id, m->generation, p->member_id);
      p->member_id = m->member_id;
      p->generation = m->generation;
    }
  }
  rewind_pending_ = false;
  spdlog::info("{}: rewound {} partitions to their committed offsets", opts_.log_prefix, pending.size());
}

// ---------------------------------------------------------------------------
// Rebalances (inside Poll / Close on the consume thread).

void ConsumeLoop::OnAssigned(const kafka::AssignmentChange& change) {
  metrics_.rebalances_assign.fetch_add(1, std::memory_order_relaxed);
  joined_ = true;
  // The committed offsets, for retention-loss detection (best effort).
  std::vector<kafka::PartitionOffset> committed;
  committed.reserve(change.partitions.size());
  for (const auto& tp : change.partitions) committed.push_back({tp, kafka::kOffsetInvalid, Status::Ok()});
  bool have_committed = consumer_.Committed(committed, opts_.broker_timeout).ok();
  const int64_t now = clock_.NowMs();
  for (size_t i = 0; i < change.partitions.size(); ++i) {
    const kafka::TopicPartition& tp = change.partitions[i];
    auto& ts = topics_[tp.topic];
    if (!ts) {
      ts = std::make_unique<TopicState>();
      ts->name = tp.topic;
      ts->context = hooks_.NewTopic(tp.topic);
    }
    if (tp.partition < 0) continue;
    if (static_cast<size_t>(tp.partition) >= ts->partitions.size())
      ts->partitions.resize(static_cast<size_t>(tp.partition) + 1);
    auto& slot = ts->partitions[static_cast<size_t>(tp.partition)];
    if (slot) continue;  // already ours
    int64_t c = kUnknownOffset;
    if (have_committed && committed[i].status.ok() && committed[i].offset >= 0) c = committed[i].offset;
    slot = std::make_unique<LoopPartition>();
    slot->tp = tp;
    slot->topic = ts->context.get();
    slot->ledger = PartitionLedger(c);
    slot->assigned_ms = now;
    slot->ownership = ++next_ownership_;
    if (change.membership) {
      slot->generation = change.membership->generation;
      slot->member_id = change.membership->member_id;
    }
    ++ts->assigned;
  }
  spdlog::info("{}: assigned {} partitions (now {})", opts_.log_prefix, change.partitions.size(),
               AssignedMutable().size());
  PublishStatus();
}

void ConsumeLoop::OnRevoked(const kafka::AssignmentChange& change) {
  std::set<kafka::TopicPartition> revoked(change.partitions.begin(), change.partitions.end());
  if (change.lost) {
    // The group moved on without us: the partitions may already be read by
    // another member, so nothing of them may be committed. Discard everything
    // uncommitted; the rest is rewound.
    metrics_.rebalances_lost.fetch_add(1, std::memory_order_relaxed);
    joined_ = false;
    log_flush_.Warn(clock_, "lost {} partitions (session expired); their uncommitted counts are discarded",
                    change.partitions.size());
    StartRewind(revoked);
  } else {
    metrics_.rebalances_revoke.fetch_add(1, std::memory_order_relaxed);
    // Report and commit before the partitions go, so their next owner starts
    // exactly where our counts end.
    Status s = Flush(/*final=*/false);
    if (!s.ok()) {
      last_error_ = "flush (revoke): " + s.ToString();
      log_flush_.Warn(clock_, "flush before revoke failed; the next owner replays from the committed offsets: {}",
                      s.ToString());
      StartRewind(revoked);
    }
  }
  for (const auto& tp : revoked) {
    auto it = topics_.find(tp.topic);
    if (it == topics_.end()) continue;
    TopicState* ts = it->second.get();
    if (ts->Find(tp.partition)) {
      ts->partitions[static_cast<size_t>(tp.partition)].reset();
      --ts->assigned;
    }
    if (ts->assigned <= 0) topics_.erase(it);
  }
  last_topic_ptr_ = nullptr;
  last_topic_ = nullptr;
  spdlog::info("{}: revoked {} partitions (now {})", opts_.log_prefix, change.partitions.size(),
               AssignedMutable().size());
  bool any_rewinding = false;
  for (LoopPartition* p : AssignedMutable()) any_rewinding |= p->ledger.rewinding();
  if (!any_rewinding) rewind_pending_ = false;
  PublishStatus();
}

void ConsumeLoop::OnRebalanceError(const std::string& what) {
  metrics_.errors_consume.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("{}: {}", opts_.log_prefix, what);
  PublishStatus();
}

}  // namespace chaperone::pipeline
