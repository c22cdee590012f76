// The web server's own metrics, rendered at /metrics in Prometheus text format:
// requests by route and status, request latency per route, store errors.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace chaperone::web {

class WebMetrics {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

  // `route` is a route pattern ("/api/v1/topics/{topic}/series"), never a raw path.
  void RecordRequest(std::string_view route, int status, double seconds);
  void RecordStoreError();

  int64_t requests(std::string_view route, int status) const;
  int64_t store_errors() const;

  std::string RenderPrometheus() const;

 private:
  struct Histogram {
    std::array<int64_t, kBuckets.size()> buckets{};  // non-cumulative counts
    int64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, int64_t> requests_;  // guarded by mu_
  std::map<std::string, Histogram, std::less<>> latency_;    // guarded by mu_
  int64_t store_errors_ = 0;                                 // guarded by mu_
};

}  // namespace chaperone::web
