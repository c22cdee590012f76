#include "service/service_metrics.h"

#include <fmt/format.h>

#include "common/heap_stats.h"
#include "common/prometheus.h"

namespace chaperone::service {
namespace {

// Label values escape backslash, double quote and newline.
std::string Escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void Counter(std::string& out, const char* name, const char* help, int64_t v) {
  AppendPrometheusSample(out, name, "counter", help, v);
}

void Gauge(std::string& out, const char* name, const char* help, int64_t v) {
  AppendPrometheusSample(out, name, "gauge", help, v);
}

}  // namespace

void ServiceMetrics::Publish(ServiceStatus status) {
  std::lock_guard lock(mu_);
  status_ = std::move(status);
}

ServiceStatus ServiceMetrics::Snapshot() const {
  std::lock_guard lock(mu_);
  return status_;
}

std::string ServiceMetrics::RenderPrometheus() const {
  auto r = [](const std::atomic<int64_t>& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  out.reserve(4096);
  Counter(out, "chaperone_service_messages_audited_total",
          "Messages counted into windows (a replay after a rewind counts them again).", r(messages_audited));
  Counter(out, "chaperone_service_bytes_audited_total", "Key+value bytes of the messages counted.", r(bytes_audited));
  Counter(out, "chaperone_service_messages_committed_total",
          "Messages whose counts were reported and whose offsets were committed (each exactly once).",
          r(messages_committed));
  Counter(out, "chaperone_service_messages_discarded_total",
          "Counted messages dropped by a rewind; they are read and counted again.", r(messages_discarded));
  Counter(out, "chaperone_service_malformed_messages_total", "Messages whose payload could not be scanned as JSON.",
          r(malformed_messages));
  Counter(out, "chaperone_service_no_time_messages_total", "Messages without a usable event time.",
          r(no_time_messages));
  Counter(out, "chaperone_service_records_emitted_total", "Audit records acknowledged by the audit topic.",
          r(records_emitted));
  Counter(out, "chaperone_service_heartbeats_emitted_total", "Heartbeats acknowledged by the audit topic.",
          r(heartbeats_emitted));
  out += "# HELP chaperone_service_flushes_total Flushes (report + commit) by result.\n"
         "# TYPE chaperone_service_flushes_total counter\n";
  out += fmt::format("chaperone_service_flushes_total{{result=\"ok\"}} {}\n", r(flushes_ok));
  out += fmt::format("chaperone_service_flushes_total{{result=\"failed\"}} {}\n", r(flushes_failed));
  Counter(out, "chaperone_service_rewinds_total",
          "Times uncommitted counts were discarded and partitions rewound to their committed offsets.", r(rewinds));
  Counter(out, "chaperone_service_offsets_lost_total",
          "Offsets deleted by retention before the service read them (never counted).", r(offsets_lost));
  Counter(out, "chaperone_service_offset_resets_total", "Consumer offset resets after OFFSET_OUT_OF_RANGE.",
          r(offset_resets));
  Counter(out, "chaperone_service_fetch_wakes_total",
          "Requests sent to wake the client library's fetchers after the prefetch queue drained.", r(fetch_wakes));
  out += "# HELP chaperone_service_rebalances_total Consumer-group rebalance events by kind.\n"
         "# TYPE chaperone_service_rebalances_total counter\n";
  out += fmt::format("chaperone_service_rebalances_total{{kind=\"assign\"}} {}\n", r(rebalances_assign));
  out += fmt::format("chaperone_service_rebalances_total{{kind=\"revoke\"}} {}\n", r(rebalances_revoke));
  out += fmt::format("chaperone_service_rebalances_total{{kind=\"lost\"}} {}\n", r(rebalances_lost));
  out += "# HELP chaperone_service_errors_total Errors by kind (each is handled; see docs/service.md).\n"
         "# TYPE chaperone_service_errors_total counter\n";
  const std::pair<const char*, const std::atomic<int64_t>*> errors[] = {
      {"consume", &errors_consume}, {"send", &errors_send},           {"commit", &errors_commit},
      {"rewind", &errors_rewind},   {"discovery", &errors_discovery}, {"heartbeat", &errors_heartbeat}};
  for (const auto& [kind, v] : errors) out += fmt::format("chaperone_service_errors_total{{kind=\"{}\"}} {}\n", kind, r(*v));
  Gauge(out, "chaperone_service_topics", "Topics selected for audit at the last discovery.", r(discovered_topics));

  ServiceStatus st = Snapshot();
  Gauge(out, "chaperone_service_assigned_partitions", "Partitions assigned to this process.",
        static_cast<int64_t>(st.partitions.size()));
  Gauge(out, "chaperone_service_rewind_pending", "1 while a rewind waits for the broker.", st.rewind_pending ? 1 : 0);
  Gauge(out, "chaperone_service_last_good_flush_timestamp_ms", "Wall clock of the last committed flush.",
        st.last_good_flush_ms);
  Gauge(out, "chaperone_service_watermark_ms", "Watermark of the last heartbeat (0: not caught up yet).",
        st.watermark_ms);
  out += "# HELP chaperone_service_consumer_lag Messages between the high watermark and the service's position.\n"
         "# TYPE chaperone_service_consumer_lag gauge\n";
  for (const auto& p : st.partitions) {
    if (p.lag < 0) continue;
    out += fmt::format("chaperone_service_consumer_lag{{topic=\"{}\",partition=\"{}\"}} {}\n", Escape(p.topic),
                       p.partition, p.lag);
  }
  out += RenderHeapStats(ReadHeapStats());
  return out;
}

}  // namespace chaperone::service
