#include "service/snapshot_record.h"

#include <cmath>

namespace chaperone::service {
namespace {

double OrZero(double v) { return std::isfinite(v) ? v : 0.0; }

}  // namespace

AuditRecord CountRecordFromSnapshot(const WindowSnapshot& s) {
  AuditRecord r;
  r.kind = RecordKind::kCount;
  r.topic = s.topic;
  r.window_begin_sec = s.window_begin_sec;
  r.window_end_sec = s.window_end_sec;
  r.count = s.count;
  r.total_bytes = s.bytes;
  r.no_time_count = s.no_time;
  r.malformed_count = s.malformed;
  const LatencySketch& l = s.latency;
  r.mean_latency_ms = OrZero(l.count() ? l.sum() / static_cast<double>(l.count()) : 0.0);
  r.latency50_ms = OrZero(l.Quantile(0.50));
  r.latency95_ms = OrZero(l.Quantile(0.95));
  r.latency99_ms = OrZero(l.Quantile(0.99));
  r.max_latency_ms = OrZero(l.max());
  r.latency_sketch = l.Encode();
  r.digest = s.digest;
  r.partitions = s.partitions;
  return r;
}

}  // namespace chaperone::service
