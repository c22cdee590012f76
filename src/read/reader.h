// Event-time reads over the audit's offset index (`chaperone read`).
//
// Kafka can seek by record timestamp only, which is not the payload's event
// time. The audit knows, per (tier, cluster, topic, partition, window), how
// many messages the tier counted and their first and last offset: the
// reader reads exactly those spans for the windows that cover the asked
// range, extracts each message's event time with the topic's chain (the one
// the audit used), hands over the messages whose event time is in the range,
// and proves completeness: per window and partition, the messages read whose
// event time falls in the window must equal the audited count.
//
// Threads: ReadEventTime runs on the caller's thread, one read at a time per
// ClusterReaders.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chaperone/event_time.h"
#include "chaperone/kafka_config.h"
#include "chaperone/status.h"
#include "lib/kafka/span_reader.h"
#include "store/store.h"

namespace chaperone::read {

// The span readers of the audited clusters, by the name the audit gives them
// (the `cluster` of its records, which is their name in `clusters:`).
class ClusterReaders {
 public:
  virtual ~ClusterReaders() = default;
  // NotFound (naming the cluster and how to configure it) when unknown.
  virtual Result<kafka::SpanReader*> Get(const std::string& cluster) = 0;
};

// Readers over librdkafka, created on first use from `clusters` (name →
// properties).
class LibrdkafkaClusterReaders final : public ClusterReaders {
 public:
  explicit LibrdkafkaClusterReaders(std::vector<std::pair<std::string, KafkaProperties>> clusters,
                                    bool measure_bytes = false)
      : clusters_(std::move(clusters)), measure_bytes_(measure_bytes) {}
  Result<kafka::SpanReader*> Get(const std::string& cluster) override;

 private:
  std::vector<std::pair<std::string, KafkaProperties>> clusters_;
  bool measure_bytes_;
  std::map<std::string, std::unique_ptr<kafka::SpanReader>> open_;
};

struct ReadRequest {
  std::string topic;
  int64_t from_ms = 0, to_ms = 0;  // event time [from, to)
  // The tier whose spans are read; "" = `aggregate` when the topic has it in
  // the range, else `regional`, else the first tier in name order whose rows
  // carry offsets.
  std::string tier;
  std::optional<std::string> cluster;     // only this cluster's spans
  std::optional<std::string> datacenter;  // only this datacenter's
  std::optional<int32_t> partition;
  std::optional<std::string> key;  // hand over only messages with this key (all are still checked)
  int64_t limit = -1;              // stop after handing over this many (-1: no limit)
  std::chrono::milliseconds stall_timeout{30'000};
};

// One message handed over, with where it was read.
struct ReadMessage {
  const std::string& cluster;
  const std::string& datacenter;
  const kafka::Message& message;
  int64_t event_ms;
  int64_t window_begin_sec;
};

enum class SpanState {
  kComplete,      // read == audited
  kDiffers,       // read != audited (the log holds other messages than the audit counted)
  kExpired,       // the whole span is before the log start: deleted by retention
  kPartlyExpired, // its first offsets are deleted: `read` counts the rest
  kNotRead,       // the read stopped (--limit) before the span's end
};
const char* SpanStateName(SpanState s);

// One (cluster, window, partition) of the audit and what was read of it.
struct SpanCheck {
  std::string cluster, datacenter;
  int64_t window_begin_sec = 0;
  int32_t partition = 0;
  int64_t first_offset = 0, last_offset = -1;
  int64_t audited = 0;          // the partition row's count
  int64_t read = 0;             // messages read whose event time is in the window
  int64_t expired_offsets = 0;  // offsets of the span before the log start
  SpanState state = SpanState::kComplete;
};

struct ReadProgress {
  int64_t read = 0;      // messages read so far (every window)
  int64_t audited = 0;   // messages the covering windows hold, as audited
  int64_t handed = 0;    // messages handed over so far
};

struct ReadReport {
  std::string tier;
  int64_t window_sec = 0;
  std::vector<int64_t> windows;  // begin second of each covering window
  std::vector<SpanCheck> checks; // by cluster, window, partition
  int64_t handed = 0;            // messages handed over
  int64_t handed_bytes = 0;      // their key + value bytes
  int64_t no_time = 0;           // messages read without an event time (the audit windows them by arrival)
  int64_t window_no_time = 0;    // the covering windows' no-time count, as audited
  bool limited = false;          // stopped by the limit
  kafka::SpanReadStats fetch;    // summed over the clusters read
  // True when every check is kComplete.
  bool Complete() const;
};

using MessageSink = std::function<bool(const ReadMessage&)>;  // false: stop
using ProgressSink = std::function<void(const ReadProgress&)>;

// Reads the messages of `req.topic` whose event time is in [from, to) from
// the spans the audit of `req.tier` recorded. InvalidArgument for a bad
// request, or a tier whose records carry no offsets; NotFound when the store
// has no windows of the topic in the range (naming the tiers it has). A cluster that cannot be read fails the read.
Result<ReadReport> ReadEventTime(store::Store& store, ClusterReaders& readers, const TimestampRules& rules,
                                 const ReadRequest& req, const MessageSink& sink, const ProgressSink& progress = {});

// "2026-12-07T10:40:00Z", with ".123" when the milliseconds are not zero.
std::string Rfc3339(int64_t ms);

// Parses a time for --from/--to: RFC 3339 / ISO-8601 ("2026-12-07T10:40:00Z"),
// or a Unix epoch number in s, ms, µs or ns (told apart by magnitude).
Result<int64_t> ParseTimeMs(std::string_view text);

}  // namespace chaperone::read
