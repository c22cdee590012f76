#include "chaperone/window_tracker.h"

namespace chaperone {

void FillAuditRecord(const WindowSnapshot& s, AuditRecord* r) {
  r->kind = RecordKind::kCount;
  r->topic = s.topic;
  r->window_begin_sec = s.window_begin_sec;
  r->window_end_sec = s.window_end_sec;
  r->count = s.count;
  r->total_bytes = s.bytes;
  r->no_time_count = s.no_time;
  r->malformed_count = s.malformed;
  r->digest = s.digest;
  r->partitions = s.partitions;
  r->latency_sketch = s.latency.Encode();
  const LatencySketch& l = s.latency;
  const bool any = !l.empty();
  r->mean_latency_ms = any ? l.mean() : 0;
  r->latency50_ms = any ? l.Quantile(0.50) : 0;
  r->latency95_ms = any ? l.Quantile(0.95) : 0;
  r->latency99_ms = any ? l.Quantile(0.99) : 0;
  r->max_latency_ms = any ? l.max() : 0;
}

}  // namespace chaperone
