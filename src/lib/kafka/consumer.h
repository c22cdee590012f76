// Consumer: the consumer seam of Chaperone, in our own types. The exactly-once
// loop (pipeline/consume_loop.h) is written against it; LibrdkafkaConsumer
// (lib/kafka/librdkafka_consumer.h) implements it over a librdkafka
// KafkaConsumer, and tests/support/fake_consumer.h in memory, with fault
// switches, for unit tests that run in milliseconds.
//
// The contract follows a cooperative-sticky group consumer with manual
// commits: assignment changes are delivered, on the polling thread, from
// inside Poll() and Close() through ConsumerEvents; the consumer applies them
// (incremental assign / unassign) after the handler returns, so a handler may
// still commit the partitions being revoked.
//
// Threads: one thread owns a Consumer (Poll, Commit, Seek, Close ...);
// ListTopics and Membership may be called from any thread.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chaperone/event_time.h"
#include "chaperone/status.h"
#include "lib/kafka/group_membership.h"

namespace chaperone::kafka {

// Seek / Committed: "the start of the log" (nothing committed yet).
inline constexpr int64_t kOffsetBeginning = -2;
// Committed: no committed offset.
inline constexpr int64_t kOffsetInvalid = -1001;

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
};

// One partition's offset, and the outcome of a call for that partition.
struct PartitionOffset {
  TopicPartition tp;
  int64_t offset = kOffsetInvalid;
  Status status;  // per-partition error of Committed / Commit / Seek
};

// One consumed message, or an error the consumer reported in its place.
// Valid only during the OnMessage call that receives it.
struct Message {
  enum class Error {
    kNone,
    kPartitionEof,  // end of a partition (not a message)
    kOffsetReset,   // the consumer reset a partition's offset (auto.offset.reset): data may be lost
    kOther,         // any other consumer error
  };
  // The topic name: the same pointer for every message of a topic while it
  // stays assigned (callers may cache lookups by data()).
  std::string_view topic;
  int32_t partition = -1;  // -1 when the error concerns no partition
  int64_t offset = -1;
  MessageView view;  // key, value, headers, record timestamp
  // Every header in record order, for copying a record byte for byte
  // (the replicator): header `i` (0-based) into *name / *value; *value_null
  // for a null value. False past the last header. Null: no headers.
  bool (*header_at)(const void* ctx, size_t i, std::string_view* name, std::string_view* value,
                    bool* value_null) = nullptr;
  const void* header_ctx = nullptr;
  Error error = Error::kNone;
  std::string error_message;  // set when error != kNone
};

// Partitions gained or lost, with the group membership as the consumer knew
// it when the change arrived (the fencing epoch, lib/kafka/group_membership.h).
struct AssignmentChange {
  std::vector<TopicPartition> partitions;
  // nullopt: the client library cannot tell (the loop cannot fence then).
  std::optional<GroupMembership> membership;
  // Revocations only: the group moved on without us (session expired), so
  // nothing of these partitions may be committed any more.
  bool lost = false;
};

// What Poll and Close deliver, on the polling thread.
class ConsumerEvents {
 public:
  virtual ~ConsumerEvents() = default;
  virtual void OnMessage(const Message& m) = 0;
  // Called before the consumer starts fetching `change.partitions`.
  virtual void OnAssigned(const AssignmentChange& change) = 0;
  // Called before the consumer stops fetching them; a non-lost revocation may
  // still commit them here.
  virtual void OnRevoked(const AssignmentChange& change) = 0;
  // A rebalance or (un)assignment error; the consumer has already reacted.
  virtual void OnRebalanceError(const std::string& what) = 0;
};

struct TopicMetadata {
  std::string topic;
  int partitions = 0;
  std::vector<int32_t> leaders;  // leader broker id per partition (-1 unknown)
};

class Consumer {
 public:
  virtual ~Consumer() = default;

  // Joins the group for these topics (empty: leaves every subscription).
  virtual Status Subscribe(const std::vector<std::string>& topics) = 0;

  // Waits up to `timeout` for messages and delivers at most `max_messages`
  // (and any assignment change) to `events`. Returns how many messages (errors
  // included) were delivered.
  virtual int Poll(std::chrono::milliseconds timeout, int max_messages, ConsumerEvents& events) = 0;

  // The group's committed offsets of `partitions` (offset kOffsetInvalid when
  // none). A failed call returns an error; a failed partition sets its status.
  virtual Status Committed(std::vector<PartitionOffset>& partitions, std::chrono::milliseconds timeout) = 0;

  // Commits synchronously. Per-partition failures set their status and fail the call.
  virtual Status Commit(std::vector<PartitionOffset>& offsets) = 0;

  // Moves the fetch positions (offset kOffsetBeginning: the start of the log).
  virtual Status Seek(std::vector<PartitionOffset>& positions, std::chrono::milliseconds timeout) = 0;

  // The partition's log start and high watermark as the consumer last saw
  // them (cached, no round trip); false when unknown.
  virtual bool Watermarks(const TopicPartition& tp, int64_t* low, int64_t* high) = 0;

  // The current group membership; nullopt when the library cannot tell.
  virtual std::optional<GroupMembership> Membership() = 0;

  // A fatal client error (the consumer cannot go on), or OK.
  virtual Status FatalError() = 0;

  // The cluster's topics (any thread).
  virtual Result<std::vector<TopicMetadata>> ListTopics(std::chrono::milliseconds timeout) = 0;

  // Leaves the group: revokes everything through `events` first. Idempotent.
  virtual void Close(ConsumerEvents& events) = 0;
};

}  // namespace chaperone::kafka
