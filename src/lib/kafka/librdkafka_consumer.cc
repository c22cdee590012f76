#include "lib/kafka/librdkafka_consumer.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "lib/kafka/fetch_waker.h"
#include "lib/kafka/message_view.h"

namespace chaperone::kafka {
namespace {

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using TpList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

TpList ToList(const std::vector<PartitionOffset>& parts, bool with_offsets) {
  TpList list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (const PartitionOffset& p : parts) {
    rd_kafka_topic_partition_t* e = rd_kafka_topic_partition_list_add(list.get(), p.tp.topic.c_str(), p.tp.partition);
    if (with_offsets) e->offset = p.offset;
  }
  return list;
}

std::vector<TopicPartition> FromList(const rd_kafka_topic_partition_list_t* parts) {
  std::vector<TopicPartition> out;
  out.reserve(static_cast<size_t>(parts->cnt));
  for (int i = 0; i < parts->cnt; ++i) out.push_back({parts->elems[i].topic, parts->elems[i].partition});
  return out;
}

// Copies each partition's outcome (and offset, when `offsets`) back; false
// when one of them failed.
bool CopyBack(const rd_kafka_topic_partition_list_t* list, std::vector<PartitionOffset>& parts, bool offsets,
              std::string* first_error) {
  bool all = true;
  for (PartitionOffset& p : parts) {
    const rd_kafka_topic_partition_t* e =
        rd_kafka_topic_partition_list_find(const_cast<rd_kafka_topic_partition_list_t*>(list), p.tp.topic.c_str(),
                                           p.tp.partition);
    if (e == nullptr) {
      p.status = Status::Internal("partition missing from the answer");
    } else if (e->err) {
      p.status = Status::Unavailable(rd_kafka_err2str(e->err));
    } else {
      p.status = Status::Ok();
      if (offsets) p.offset = e->offset >= 0 ? e->offset : kOffsetInvalid;
      continue;
    }
    if (all && first_error) *first_error = fmt::format("{} [{}]: {}", p.tp.topic, p.tp.partition, p.status.message());
    all = false;
  }
  return all;
}

}  // namespace

Result<std::unique_ptr<LibrdkafkaConsumer>> LibrdkafkaConsumer::Create(KafkaProperties props) {
  const FetchWakerPlan waker_plan = PlanFetchWaker(props);
  // Libraries that have it re-check a full queue this often by themselves
  // (a default: placed before the caller's properties, which may override it).
  if (!waker_plan.needed) props.insert(props.begin(), {"fetch.queue.backoff.ms", "10"});
  auto conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<LibrdkafkaConsumer> c(new LibrdkafkaConsumer());
  rd_kafka_conf_set_rebalance_cb(*conf, &LibrdkafkaConsumer::RebalanceTrampoline);
  rd_kafka_conf_set_opaque(*conf, c.get());
  char errstr[512];
  c->rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof errstr);
  if (!c->rk_) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(std::string("consumer: ") + errstr);
  }
  rd_kafka_poll_set_consumer(c->rk_);
  c->queue_ = rd_kafka_queue_get_consumer(c->rk_);
  if (waker_plan.needed) {
    c->drain_trigger_ = std::make_unique<QueueDrainTrigger>(waker_plan.max_messages, waker_plan.max_bytes);
    LibrdkafkaConsumer* raw = c.get();
    c->waker_ = std::make_unique<FetchWaker>(c->rk_, [raw] { return raw->FetchWakeTargets(); });
  }
  return c;
}

LibrdkafkaConsumer::~LibrdkafkaConsumer() {
  waker_.reset();
  if (queue_) rd_kafka_queue_destroy(queue_);
  if (!rk_) return;
  if (!closed_) rd_kafka_consumer_close(rk_);  // revocations without a handler: only unassigned
  for (auto& [name, ref] : topics_) rd_kafka_topic_destroy(ref.first);
  topics_.clear();
  // librdkafka before 2.3.0 asserts when a cooperative-sticky consumer that
  // joined a group but never received an assignment is destroyed
  // (librdkafka issue #4312). The consumer is closed (it left the group);
  // in that one case its handle is left behind rather than crash the process.
  if (subscribed_ever_ && !assignment_seen_ && rd_kafka_version() < 0x020300ff) {
    spdlog::debug("kafka: not destroying a consumer that never had an assignment (librdkafka #4312)");
  } else {
    rd_kafka_destroy(rk_);
  }
}

Status LibrdkafkaConsumer::Subscribe(const std::vector<std::string>& topics) {
  rd_kafka_resp_err_t err;
  if (topics.empty()) {
    err = rd_kafka_unsubscribe(rk_);
  } else {
    TpList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& t : topics) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(rk_, list.get());
    subscribed_ever_ = true;
  }
  if (err) return Status::Unavailable(rd_kafka_err2str(err));
  return Status::Ok();
}

int LibrdkafkaConsumer::Poll(std::chrono::milliseconds timeout, int max_messages, ConsumerEvents& events) {
  if (static_cast<int>(batch_.size()) < max_messages) batch_.resize(static_cast<size_t>(max_messages));
  events_ = &events;
  // Rebalance callbacks run inside this call, possibly after some of the
  // batch's messages were taken: the handler drops messages of partitions
  // revoked meanwhile, and their new owner reads them.
  ssize_t got = rd_kafka_consume_batch_queue(queue_, static_cast<int>(timeout.count()), batch_.data(),
                                             static_cast<size_t>(max_messages));
  events_ = nullptr;
  for (ssize_t i = 0; i < got; ++i) {
    Deliver(batch_[static_cast<size_t>(i)], events);
    rd_kafka_message_destroy(batch_[static_cast<size_t>(i)]);
  }
  if (got > 0) CheckQueueDrain();
  return got > 0 ? static_cast<int>(got) : 0;
}

void LibrdkafkaConsumer::Deliver(rd_kafka_message_t* m, ConsumerEvents& events) {
  Message msg;
  if (m->rkt) {
    msg.topic = rd_kafka_topic_name(m->rkt);
    msg.partition = m->partition;
  }
  msg.offset = m->offset;
  if (m->err) {
    switch (m->err) {
      case RD_KAFKA_RESP_ERR__PARTITION_EOF: msg.error = Message::Error::kPartitionEof; break;
      case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET: msg.error = Message::Error::kOffsetReset; break;
      default: msg.error = Message::Error::kOther; break;
    }
    msg.error_message = rd_kafka_message_errstr(m);
  } else {
    msg.view = ToMessageView(m);
    msg.header_at = &LibrdkafkaHeaderAt;
    msg.header_ctx = m;
    ++delivered_;
    delivered_bytes_ += static_cast<int64_t>(m->key_len + m->len);
  }
  events.OnMessage(msg);
}

// The consumer queue fell from near its budget to low: librdkafka (< 2.1) may
// have stopped fetching when it was full and not looked again since.
void LibrdkafkaConsumer::CheckQueueDrain() {
  if (!drain_trigger_ || delivered_ == 0) return;
  const int64_t queued = rd_kafka_queue_length(queue_);
  if (drain_trigger_->Observe(queued, std::max<int64_t>(1, delivered_bytes_ / delivered_)) && waker_) waker_->Wake();
}

// One assigned partition per leader broker (every assigned partition whose
// leader the last metadata did not give).
std::vector<std::pair<std::string, int32_t>> LibrdkafkaConsumer::FetchWakeTargets() {
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

int64_t LibrdkafkaConsumer::fetch_wakes() const { return waker_ ? waker_->wakes() : wakes_at_close_; }

void LibrdkafkaConsumer::RebalanceTrampoline(rd_kafka_t*, rd_kafka_resp_err_t err,
                                             rd_kafka_topic_partition_list_t* parts, void* opaque) {
  static_cast<LibrdkafkaConsumer*>(opaque)->OnRebalance(err, parts);
}

void LibrdkafkaConsumer::OnRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
  AssignmentChange change;
  change.partitions = FromList(parts);
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assignment_seen_ = true;
    change.membership = CurrentGroupMembership(rk_);
    for (const TopicPartition& tp : change.partitions) {
      auto& ref = topics_[tp.topic];
      if (!ref.first) ref.first = rd_kafka_topic_new(rk_, tp.topic.c_str(), nullptr);
      ++ref.second;
    }
    if (events_) events_->OnAssigned(change);
    if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk_, parts)) {
      std::string why = std::string("incremental assign failed: ") + rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      if (events_) events_->OnRebalanceError(why);
    }
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    change.lost = rd_kafka_assignment_lost(rk_);
    if (events_) events_->OnRevoked(change);
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts)) {
      std::string why = std::string("incremental unassign failed: ") + rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      if (events_) events_->OnRebalanceError(why);
    }
  } else {
    if (events_) events_->OnRebalanceError(std::string("rebalance error: ") + rd_kafka_err2str(err));
    if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk_, parts)) rd_kafka_error_destroy(e);
  }
  for (const TopicPartition& tp : change.partitions) {
    auto it = topics_.find(tp.topic);
    if (it == topics_.end() || --it->second.second > 0) continue;
    rd_kafka_topic_destroy(it->second.first);
    topics_.erase(it);
  }
}

Status LibrdkafkaConsumer::Committed(std::vector<PartitionOffset>& partitions, std::chrono::milliseconds timeout) {
  if (partitions.empty()) return Status::Ok();
  TpList list = ToList(partitions, /*with_offsets=*/false);
  if (rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list.get(), static_cast<int>(timeout.count())); err)
    return Status::Unavailable(rd_kafka_err2str(err));
  std::string why;
  if (!CopyBack(list.get(), partitions, /*offsets=*/true, &why)) return Status::Unavailable("committed offset of " + why);
  return Status::Ok();
}

Status LibrdkafkaConsumer::Commit(std::vector<PartitionOffset>& offsets) {
  if (offsets.empty()) return Status::Ok();
  TpList list = ToList(offsets, /*with_offsets=*/true);
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list.get(), /*async=*/0);
  if (err) {
    for (PartitionOffset& p : offsets) p.status = Status::Unavailable(rd_kafka_err2str(err));
    return Status::Unavailable(rd_kafka_err2str(err));
  }
  std::string why;
  if (!CopyBack(list.get(), offsets, /*offsets=*/false, &why)) return Status::Unavailable(why);
  return Status::Ok();
}

Status LibrdkafkaConsumer::Seek(std::vector<PartitionOffset>& positions, std::chrono::milliseconds timeout) {
  if (positions.empty()) return Status::Ok();
  TpList list = ToList(positions, /*with_offsets=*/true);
  for (int i = 0; i < list->cnt; ++i)
    if (list->elems[i].offset == kOffsetBeginning) list->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list.get(), static_cast<int>(timeout.count()))) {
    Status s = Status::Unavailable(rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    for (PartitionOffset& p : positions) p.status = s;
    return s;
  }
  if (!CopyBack(list.get(), positions, /*offsets=*/false, nullptr))
    return Status::Unavailable("seek failed for some partitions");
  return Status::Ok();
}

bool LibrdkafkaConsumer::Watermarks(const TopicPartition& tp, int64_t* low, int64_t* high) {
  return rd_kafka_get_watermark_offsets(rk_, tp.topic.c_str(), tp.partition, low, high) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

std::optional<GroupMembership> LibrdkafkaConsumer::Membership() { return CurrentGroupMembership(rk_); }

Status LibrdkafkaConsumer::FatalError() {
  rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk_, nullptr, 0);
  if (fatal == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  return Status::Internal(std::string("fatal consumer error: ") + rd_kafka_err2str(fatal));
}

Result<std::vector<TopicMetadata>> LibrdkafkaConsumer::ListTopics(std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, /*all_topics=*/1, nullptr, &md, static_cast<int>(timeout.count()));
  if (err) return Status::Unavailable(rd_kafka_err2str(err));
  std::vector<TopicMetadata> out;
  std::map<std::string, std::vector<int32_t>> leaders;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (t.err && t.partition_cnt == 0) continue;  // being created or deleted
    TopicMetadata tm;
    tm.topic = t.topic;
    tm.partitions = t.partition_cnt;
    for (int p = 0; p < t.partition_cnt; ++p) {
      const auto& pm = t.partitions[p];
      if (pm.id < 0 || pm.id > 1'000'000) continue;
      if (static_cast<size_t>(pm.id) >= tm.leaders.size()) tm.leaders.resize(static_cast<size_t>(pm.id) + 1, -1);
      tm.leaders[static_cast<size_t>(pm.id)] = pm.leader;
    }
    leaders[tm.topic] = tm.leaders;
    out.push_back(std::move(tm));
  }
  rd_kafka_metadata_destroy(md);
  std::lock_guard lock(mu_);
  leaders_ = std::move(leaders);
  return out;
}

void LibrdkafkaConsumer::Close(ConsumerEvents& events) {
  if (closed_) return;
  wakes_at_close_ = fetch_wakes();
  waker_.reset();
  events_ = &events;
  rd_kafka_consumer_close(rk_);
  events_ = nullptr;
  closed_ = true;
}

}  // namespace chaperone::kafka
