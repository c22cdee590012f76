#include "web/metrics.h"

#include <fmt/format.h>

#include "common/heap_stats.h"

namespace chaperone::web {

void WebMetrics::RecordRequest(std::string_view route, int status, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_[{std::string(route), status}];
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.emplace(std::string(route), Histogram{}).first;
  Histogram& h = it->second;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

void WebMetrics::RecordStoreError() {
  std::lock_guard lock(mu_);
  ++store_errors_;
}

int64_t WebMetrics::requests(std::string_view route, int status) const {
  std::lock_guard lock(mu_);
  auto it = requests_.find({std::string(route), status});
  return it == requests_.end() ? 0 : it->second;
}

int64_t WebMetrics::store_errors() const {
  std::lock_guard lock(mu_);
  return store_errors_;
}

std::string WebMetrics::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  auto it = std::back_inserter(out);
  // Route patterns are fixed strings of ours: no label escaping needed.
  out += "# HELP chaperone_web_requests_total HTTP requests served, by route pattern and status code.\n";
  out += "# TYPE chaperone_web_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    fmt::format_to(it, "chaperone_web_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, n);
  }
  out += "# HELP chaperone_web_request_duration_seconds Time to answer a request, by route pattern.\n";
  out += "# TYPE chaperone_web_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    int64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      fmt::format_to(it, "chaperone_web_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", route,
                     kBuckets[i], cumulative);
    }
    fmt::format_to(it, "chaperone_web_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route,
                   h.count);
    fmt::format_to(it, "chaperone_web_request_duration_seconds_sum{{route=\"{}\"}} {}\n", route, h.sum);
    fmt::format_to(it, "chaperone_web_request_duration_seconds_count{{route=\"{}\"}} {}\n", route, h.count);
  }
  out += "# HELP chaperone_web_store_errors_total Store reads that failed.\n";
  out += "# TYPE chaperone_web_store_errors_total counter\n";
  fmt::format_to(it, "chaperone_web_store_errors_total {}\n", store_errors_);
  out += RenderHeapStats(ReadHeapStats());
  return out;
}

}  // namespace chaperone::web
