// Pieces shared by the reporters.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/reporter.h"

namespace chaperone {

// ReporterStats as relaxed atomics, so stats() can be read from any thread.
struct AtomicReporterStats {
  std::atomic<int64_t> sent{0}, acked{0}, failed{0}, bytes_sent{0}, bytes_acked{0}, send_timeouts{0};

  void AddFailed(int64_t n) { failed.fetch_add(n, std::memory_order_relaxed); }
  ReporterStats Snapshot() const {
    ReporterStats s;
    s.records_sent = sent.load(std::memory_order_relaxed);
    s.records_acked = acked.load(std::memory_order_relaxed);
    s.records_failed = failed.load(std::memory_order_relaxed);
    s.bytes_sent = bytes_sent.load(std::memory_order_relaxed);
    s.bytes_acked = bytes_acked.load(std::memory_order_relaxed);
    s.send_timeouts = send_timeouts.load(std::memory_order_relaxed);
    return s;
  }
};

// OK if every record passes ValidateAuditRecord; otherwise the first failure,
// naming the record: "audit record 3 of 10 (topic 'orders'): field 'count': ...".
inline Status ValidateBatch(const std::vector<AuditRecord>& records) {
  for (size_t i = 0; i < records.size(); ++i) {
    Status s = ValidateAuditRecord(records[i]);
    if (!s.ok()) {
      std::string what = "audit record " + std::to_string(i + 1) + " of " + std::to_string(records.size());
      if (records[i].kind == RecordKind::kHeartbeat) {
        what += " (heartbeat)";
      } else if (!records[i].topic.empty()) {
        what += " (topic '" + records[i].topic + "')";
      }
      return Status::InvalidArgument(what + ": " + s.message());
    }
  }
  return Status::Ok();
}

}  // namespace chaperone
