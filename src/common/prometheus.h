// One Prometheus text-format sample without labels, with its HELP and TYPE
// lines: what every component's /metrics is made of.
#ifndef CHAPERONE_COMMON_PROMETHEUS_H_
#define CHAPERONE_COMMON_PROMETHEUS_H_

#include <fmt/format.h>

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

namespace chaperone {

// type: "counter" or "gauge".
inline void AppendPrometheusSample(std::string& out, std::string_view name, std::string_view type,
                                   std::string_view help, int64_t value) {
  fmt::format_to(std::back_inserter(out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
}

}  // namespace chaperone

#endif  // CHAPERONE_COMMON_PROMETHEUS_H_
