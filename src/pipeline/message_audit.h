// The per-message step of the audit service and the replicator, kept apart so the benchmark
// (bench/service_audit_bench.cc) measures exactly what the consume loop runs:
// event-time extraction, content digest, one tracker update.
#pragma once

#include <algorithm>
#include <cstdint>

#include "chaperone/digest.h"
#include "chaperone/event_time.h"
#include "chaperone/window_tracker.h"

namespace chaperone::pipeline {

// Counts one message into `tracker`; returns what extraction found.
inline EventTime AuditMessage(const TimestampChain& chain, WindowTracker& tracker, TopicId topic, int32_t partition,
                              int64_t offset, const MessageView& v, int64_t observed_ms) {
  EventTime et = chain.Extract(v);
  Observation o;
  o.topic = topic;
  o.partition = partition;
  o.offset = offset;
  o.event_ms = et.found ? et.ms : -1;
  o.observed_ms = observed_ms;
  o.bytes = static_cast<uint32_t>(std::min<size_t>(v.key.size() + v.value.size(), UINT32_MAX));
  o.digest = MessageDigest(v.key, v.key_null, v.value, v.value_null);
  o.malformed = et.malformed;
  tracker.Add(o);
  return et;
}

}  // namespace chaperone::pipeline
