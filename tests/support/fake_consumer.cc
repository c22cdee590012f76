#include "support/fake_consumer.h"

namespace chaperone::test {

FakeConsumer::Log& FakeConsumer::LogOf(const kafka::TopicPartition& tp) {
  Log& l = logs_[tp];
  if (l.name.empty()) l.name = tp.topic;
  return l;
}

int64_t FakeConsumer::Append(const kafka::TopicPartition& tp, std::string value, std::string key) {
  Log& l = LogOf(tp);
  l.records.push_back({std::move(key), std::move(value), -1, {}});
  return static_cast<int64_t>(l.records.size()) - 1;
}

int64_t FakeConsumer::AppendRecord(const kafka::TopicPartition& tp, Record r) {
  Log& l = LogOf(tp);
  l.records.push_back(std::move(r));
  return static_cast<int64_t>(l.records.size()) - 1;
}

void FakeConsumer::SetLogStart(const kafka::TopicPartition& tp, int64_t offset) { LogOf(tp).start = offset; }

void FakeConsumer::Assign(std::vector<kafka::TopicPartition> parts) { events_.push_back({true, false, std::move(parts)}); }

void FakeConsumer::Revoke(std::vector<kafka::TopicPartition> parts, bool lost) {
  events_.push_back({false, lost, std::move(parts)});
}

void FakeConsumer::RevokeAfterMessages(int n, std::vector<kafka::TopicPartition> parts, bool lost) {
  revoke_after_ = Event{false, lost, std::move(parts)};
  revoke_after_n_ = n;
}

std::optional<int64_t> FakeConsumer::committed(const kafka::TopicPartition& tp) const {
  auto it = committed_.find(tp);
  if (it == committed_.end()) return std::nullopt;
  return it->second;
}

Status FakeConsumer::Subscribe(const std::vector<std::string>&) { return Status::Ok(); }

void FakeConsumer::Apply(const Event& e, kafka::ConsumerEvents& events) {
  kafka::AssignmentChange change;
  change.partitions = e.parts;
  change.membership = membership_;
  change.lost = e.lost;
  if (e.assign) {
    events.OnAssigned(change);
    for (const auto& tp : e.parts) {
      assigned_.insert(tp);
      // The committed offset, or the start of the log (auto.offset.reset=earliest).
      auto c = committed_.find(tp);
      const int64_t start = LogOf(tp).start;
      position_[tp] = c != committed_.end() && c->second >= start ? c->second : start;
    }
  } else {
    events.OnRevoked(change);
    for (const auto& tp : e.parts) {
      assigned_.erase(tp);
      position_.erase(tp);
    }
  }
}

int FakeConsumer::Poll(std::chrono::milliseconds, int max_messages, kafka::ConsumerEvents& events) {
  while (!events_.empty()) {
    Event e = std::move(events_.front());
    events_.pop_front();
    Apply(e, events);
  }
  int delivered = 0;
  // Partition by partition, in order, from each position.
  for (bool progress = true; progress && delivered < max_messages;) {
    progress = false;
    for (const auto& tp : std::set<kafka::TopicPartition>(assigned_)) {
      if (delivered >= max_messages || !assigned_.count(tp)) break;
      Log& l = LogOf(tp);
      int64_t& pos = position_[tp];
      if (pos < l.start) pos = l.start;  // retention moved past the reader
      if (pos >= static_cast<int64_t>(l.records.size())) continue;
      const Record& r = l.records[static_cast<size_t>(pos)];
      kafka::Message m;
      m.topic = l.name;
      m.partition = tp.partition;
      m.offset = pos;
      m.view.key = r.key;
      m.view.key_null = false;
      m.view.value = r.value;
      m.view.value_null = false;
      m.view.record_timestamp_ms = r.timestamp_ms;
      m.header_ctx = &r;
      m.header_at = +[](const void* ctx, size_t i, std::string_view* name, std::string_view* value, bool* null) {
        const auto& hs = static_cast<const Record*>(ctx)->headers;
        if (i >= hs.size()) return false;
        *name = hs[i].first;
        *null = !hs[i].second.has_value();
        *value = hs[i].second ? std::string_view(*hs[i].second) : std::string_view();
        return true;
      };
      ++pos;
      ++delivered;
      progress = true;
      events.OnMessage(m);
      if (revoke_after_ && --revoke_after_n_ <= 0) {
        Event e = std::move(*revoke_after_);
        revoke_after_.reset();
        Apply(e, events);
      }
    }
  }
  return delivered;
}

Status FakeConsumer::Committed(std::vector<kafka::PartitionOffset>& partitions, std::chrono::milliseconds) {
  if (fail_committed_) {
    fail_committed_ = false;
    return Status::Unavailable("injected: committed() lookup failed");
  }
  for (auto& p : partitions) {
    auto it = committed_.find(p.tp);
    p.offset = it != committed_.end() ? it->second : kafka::kOffsetInvalid;
    p.status = Status::Ok();
  }
  return Status::Ok();
}

Status FakeConsumer::Commit(std::vector<kafka::PartitionOffset>& offsets) {
  if (fail_commit_) {
    fail_commit_ = false;
    for (auto& p : offsets) p.status = Status::Unavailable("injected");
    return Status::Unavailable("injected: commit failed");
  }
  for (auto& p : offsets) {
    if (!assigned_.count(p.tp)) {
      p.status = Status::Unavailable("not assigned");
      return Status::Unavailable(p.tp.topic + ": not assigned");
    }
    committed_[p.tp] = p.offset;
    p.status = Status::Ok();
  }
  ++commits_;
  return Status::Ok();
}

Status FakeConsumer::Seek(std::vector<kafka::PartitionOffset>& positions, std::chrono::milliseconds) {
  if (fail_seek_) {
    fail_seek_ = false;
    for (auto& p : positions) p.status = Status::Unavailable("injected");
    return Status::Unavailable("injected: seek failed");
  }
  for (auto& p : positions) {
    position_[p.tp] = p.offset == kafka::kOffsetBeginning ? LogOf(p.tp).start : p.offset;
    p.status = Status::Ok();
  }
  ++seeks_;
  return Status::Ok();
}

bool FakeConsumer::Watermarks(const kafka::TopicPartition& tp, int64_t* low, int64_t* high) {
  auto it = logs_.find(tp);
  if (it == logs_.end()) return false;
  *low = it->second.start;
  *high = static_cast<int64_t>(it->second.records.size());
  return true;
}

Result<std::vector<kafka::TopicMetadata>> FakeConsumer::ListTopics(std::chrono::milliseconds) {
  std::map<std::string, int> counts;
  for (const auto& [tp, log] : logs_) counts[tp.topic] = std::max(counts[tp.topic], tp.partition + 1);
  std::vector<kafka::TopicMetadata> out;
  for (const auto& [t, n] : counts) out.push_back({t, n, std::vector<int32_t>(static_cast<size_t>(n), 1)});
  return out;
}

void FakeConsumer::Close(kafka::ConsumerEvents& events) {
  if (closed_) return;
  closed_ = true;
  if (!assigned_.empty()) Apply({false, false, {assigned_.begin(), assigned_.end()}}, events);
}

}  // namespace chaperone::test
