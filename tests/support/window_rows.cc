#include "support/window_rows.h"

namespace chaperone::testing {

store::WindowRow TestWindowRow(const std::string& topic, const std::string& tier, int64_t window, int64_t count,
                               const std::string& dc) {
  store::WindowRow r;
  r.topic = topic;
  r.tier = tier;
  r.datacenter = dc;
  r.cluster = tier + "-" + dc;
  r.window_begin_sec = window;
  r.window_end_sec = window + 600;
  r.count = count;
  r.bytes = count * 10;
  r.digest = static_cast<uint64_t>(count) * 1000003;
  r.records = 2;
  r.updated_ms = (window + 650) * 1000;
  r.latency_mean = 10;
  r.latency_p50 = 9;
  r.latency_p95 = 30;
  r.latency_p99 = 41;
  r.latency_max = 48;
  return r;
}

}  // namespace chaperone::testing
