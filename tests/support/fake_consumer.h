// FakeConsumer: the consumer seam (lib/kafka/consumer.h) in memory, for unit
// tests of the exactly-once loop (pipeline/consume_loop.h) that run in
// milliseconds. Test-only (it lives in tests/support, not in libchaperone):
// the real client's behaviour is covered by LibrdkafkaConsumer against the
// mock cluster in the component tests.
//
// It holds partitions of messages, a group assignment that the test changes
// (assign, revoke, lose), committed offsets, and fault switches in the style
// of leveldb's fault-injection env: the next commit fails, the next
// committed() lookup fails, the next seek fails, a rebalance happens after
// message N, retention moves a log start, the membership changes.
//
// Single-threaded: the test and the loop share one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/kafka/consumer.h"

namespace chaperone::test {

class FakeConsumer final : public kafka::Consumer {
 public:
  struct Record {
    std::string key, value;
    int64_t timestamp_ms = -1;
    // name → value (nullopt: a null value), in record order
    std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  };

  // ---- the log ----
  // Appends to the partition (created on first use); returns the offset.
  int64_t Append(const kafka::TopicPartition& tp, std::string value, std::string key = "");
  // Retention: offsets below `offset` are deleted; a reader below it resumes there.
  // Appends a whole record (headers, timestamp); returns the offset.
  int64_t AppendRecord(const kafka::TopicPartition& tp, Record r);
  void SetLogStart(const kafka::TopicPartition& tp, int64_t offset);

  // ---- the group ----
  // Queued, delivered at the next Poll (in order).
  void Assign(std::vector<kafka::TopicPartition> parts);
  void Revoke(std::vector<kafka::TopicPartition> parts, bool lost = false);
  // After `n` more messages are delivered, revoke `parts` in the middle of that Poll.
  void RevokeAfterMessages(int n, std::vector<kafka::TopicPartition> parts, bool lost = false);
  // What Membership() answers from now on, and what the next assignments carry.
  void SetMembership(int32_t generation, std::string member_id) { membership_ = {generation, std::move(member_id)}; }
  void SetCommitted(const kafka::TopicPartition& tp, int64_t offset) { committed_[tp] = offset; }

  // ---- fault switches (each applies once) ----
  void FailNextCommit() { fail_commit_ = true; }
  void FailNextCommitted() { fail_committed_ = true; }
  void FailNextSeek() { fail_seek_ = true; }

  // ---- what happened ----
  std::optional<int64_t> committed(const kafka::TopicPartition& tp) const;
  int commits() const { return commits_; }
  int seeks() const { return seeks_; }
  bool closed() const { return closed_; }
  const std::set<kafka::TopicPartition>& assignment() const { return assigned_; }

  // kafka::Consumer
  Status Subscribe(const std::vector<std::string>& topics) override;
  int Poll(std::chrono::milliseconds timeout, int max_messages, kafka::ConsumerEvents& events) override;
  Status Committed(std::vector<kafka::PartitionOffset>& partitions, std::chrono::milliseconds timeout) override;
  Status Commit(std::vector<kafka::PartitionOffset>& offsets) override;
  Status Seek(std::vector<kafka::PartitionOffset>& positions, std::chrono::milliseconds timeout) override;
  bool Watermarks(const kafka::TopicPartition& tp, int64_t* low, int64_t* high) override;
  std::optional<kafka::GroupMembership> Membership() override { return membership_; }
  Status FatalError() override { return Status::Ok(); }
  Result<std::vector<kafka::TopicMetadata>> ListTopics(std::chrono::milliseconds timeout) override;
  void Close(kafka::ConsumerEvents& events) override;

 private:
  struct Log {
    std::string name;  // stable storage for Message::topic
    int64_t start = 0;
    std::vector<Record> records;  // records[i] is offset i (below `start`: deleted)
  };
  struct Event {
    bool assign = true;
    bool lost = false;
    std::vector<kafka::TopicPartition> parts;
  };
  void Apply(const Event& e, kafka::ConsumerEvents& events);
  Log& LogOf(const kafka::TopicPartition& tp);

  std::map<kafka::TopicPartition, Log> logs_;
  std::map<kafka::TopicPartition, int64_t> committed_;
  std::map<kafka::TopicPartition, int64_t> position_;
  std::set<kafka::TopicPartition> assigned_;
  std::deque<Event> events_;
  std::optional<Event> revoke_after_;
  int revoke_after_n_ = 0;
  std::optional<kafka::GroupMembership> membership_ = kafka::GroupMembership{1, "member-1"};
  bool fail_commit_ = false, fail_committed_ = false, fail_seek_ = false;
  int commits_ = 0, seeks_ = 0;
  bool closed_ = false;
};

}  // namespace chaperone::test
