#include "support/audit_records.h"

namespace chaperone::test {

AuditRecord MakeCountRecord(Emitter& emitter, const std::string& topic, int64_t window_begin_sec, int64_t count,
                            int partitions, int64_t window_sec) {
  AuditRecord r;
  r.topic = topic;
  r.window_begin_sec = window_begin_sec;
  r.window_end_sec = window_begin_sec + window_sec;
  r.count = count;
  r.total_bytes = count * 100;
  r.no_time_count = 0;
  r.malformed_count = 0;
  r.mean_latency_ms = 12.5;
  r.latency50_ms = 10;
  r.latency95_ms = 30;
  r.latency99_ms = 41;
  r.max_latency_ms = 48;
  r.latency_sketch = "";
  r.digest = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(count + 1);
  int64_t left = count;
  for (int p = 0; p < partitions; ++p) {
    int64_t n = p + 1 == partitions ? left : count / partitions;
    left -= n;
    PartitionCount pc;
    pc.partition = p;
    pc.count = n;
    pc.first_offset = n > 0 ? 1000 : -1;
    pc.last_offset = n > 0 ? 1000 + n - 1 : -1;
    pc.chunk_start = 1000;
    r.partitions.push_back(pc);
  }
  emitter.Stamp(r);
  return r;
}

}  // namespace chaperone::test
