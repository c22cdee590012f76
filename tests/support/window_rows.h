// A window row as the web and detector tests build them by hand: one topic,
// tier and datacenter (cluster "<tier>-<dc>"), a 600 s window, digest and bytes
// derived from the count, a stored latency summary (p99 41 ms).
#pragma once

#include <string>

#include "store/store.h"

namespace chaperone::testing {

store::WindowRow TestWindowRow(const std::string& topic, const std::string& tier, int64_t window, int64_t count,
                               const std::string& dc = "dc1");

}  // namespace chaperone::testing
