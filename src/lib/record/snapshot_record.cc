#include "chaperone/snapshot_record.h"

namespace chaperone {

AuditRecord RecordFromSnapshot(const WindowSnapshot& s) {
  AuditRecord r;
  r.version = kAuditRecordVersion;
  r.kind = RecordKind::kCount;
  r.topic = s.topic;
  r.window_begin_sec = s.window_begin_sec;
  r.window_end_sec = s.window_end_sec;
  r.count = s.count;
  r.total_bytes = s.bytes;
  r.no_time_count = s.no_time;
  r.malformed_count = s.malformed;
  r.digest = s.digest;
  r.partitions = s.partitions;
  const LatencySketch& l = s.latency;
  if (l.empty()) {
    r.latency50_ms = 0.0;
  } else {
    r.mean_latency_ms = l.mean();
    r.latency50_ms = l.Quantile(0.50);
    r.latency95_ms = l.Quantile(0.95);
    r.latency99_ms = l.Quantile(0.99);
    r.max_latency_ms = l.max();
  }
  r.latency_sketch = l.Encode();
  return r;
}

}  // namespace chaperone
