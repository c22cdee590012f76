// SpanReader: reads given offset spans of a topic's partitions, outside any
// consumer group (assign mode, nothing committed). `chaperone read` and
// `chaperone diff` read through it the spans the audit recorded for a
// window (src/read). LibrdkafkaSpanReader implements it over a librdkafka
// consumer; tests/support/fake_span_reader.h in memory.
//
// Threads: one thread uses a SpanReader.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "chaperone/kafka_config.h"
#include "chaperone/status.h"
#include "lib/kafka/consumer.h"

namespace chaperone::kafka {

// Offsets [first, last] of one partition, both included.
struct OffsetSpan {
  int32_t partition = 0;
  int64_t first = 0;
  int64_t last = -1;
};

struct SpanReadStats {
  int64_t delivered = 0;       // messages inside a span, handed to the caller
  int64_t skipped = 0;         // messages read outside every span (fetched, not delivered)
  int64_t seeks = 0;           // jumps over the gap between two spans of a partition
  int64_t offset_resets = 0;   // a span began before the log start: read from the log start instead
  int64_t bytes_fetched = -1;  // bytes received from the brokers (-1: not measured)
};

class SpanReader {
 public:
  virtual ~SpanReader() = default;

  // The partition's log start offset and high watermark (a round trip to its leader).
  virtual Status QueryWatermarks(const std::string& topic, int32_t partition, int64_t* low, int64_t* high,
                                 std::chrono::milliseconds timeout) = 0;

  // Reads `spans` of `topic` (per partition: ascending, not overlapping) and
  // hands each message whose offset lies in a span to `on_message`, in offset
  // order within a partition (partitions interleave). Returning false from
  // `on_message` stops the read (OK). A span ends at its last offset or at the
  // end of the log, whichever comes first; offsets that hold no message
  // (transaction markers, compacted or deleted records) are simply absent.
  // Unavailable when no partition made progress for `stall_timeout`.
  // `bytes_hint`: about how many bytes the spans hold (0: unknown); the
  // reader sizes its prefetch by it so that it fetches little past a span.
  virtual Status Read(const std::string& topic, const std::vector<OffsetSpan>& spans, int64_t bytes_hint,
                      const std::function<bool(const Message&)>& on_message,
                      std::chrono::milliseconds stall_timeout) = 0;

  virtual SpanReadStats stats() const = 0;
};

struct SpanReaderOptions {
  KafkaProperties properties;   // the cluster's (bootstrap.servers, security ...)
  bool measure_bytes = false;   // keep SpanReadStats::bytes_fetched (librdkafka statistics)
};

Result<std::unique_ptr<SpanReader>> CreateLibrdkafkaSpanReader(const SpanReaderOptions& options);

// The read spans of one partition: `spans` merged where they overlap or touch
// (sorted by partition, then offset).
std::vector<OffsetSpan> MergeSpans(std::vector<OffsetSpan> spans);

}  // namespace chaperone::kafka
