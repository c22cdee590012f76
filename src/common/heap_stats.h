// What the memory allocator holds, when the allocator can say (jemalloc, which
// the chaperone binary links by default); for the components' /metrics.
#ifndef CHAPERONE_COMMON_HEAP_STATS_H_
#define CHAPERONE_COMMON_HEAP_STATS_H_

#include <cstdint>
#include <string>

namespace chaperone {

struct HeapStats {
  bool known = false;      // false: the allocator has no statistics (the C library's malloc)
  int64_t allocated = 0;   // bytes the program holds
  int64_t active = 0;      // bytes in pages holding them
  int64_t resident = 0;    // bytes of the allocator's pages in physical memory
  int64_t dirty = 0;       // freed bytes still resident, awaiting their return to the system
};

// Thread-safe; costs a few microseconds (it refreshes the allocator's counters).
HeapStats ReadHeapStats();

// Prometheus text for the stats (gauges chaperone_heap_*_bytes), or "" when unknown.
std::string RenderHeapStats(const HeapStats& stats);

}  // namespace chaperone

#endif  // CHAPERONE_COMMON_HEAP_STATS_H_
