#include "common/heap_stats.h"

#include <dlfcn.h>

#include <cstddef>
#include <mutex>

#include "common/prometheus.h"

namespace chaperone {
namespace {

// jemalloc's control interface, found at run time so that this library
// neither requires nor links jemalloc.
using MallctlFn = int (*)(const char*, void*, size_t*, void*, size_t);

MallctlFn FindMallctl() {
  static const MallctlFn fn = reinterpret_cast<MallctlFn>(dlsym(RTLD_DEFAULT, "mallctl"));
  return fn;
}

bool ReadSize(MallctlFn mallctl, const char* name, int64_t* out) {
  size_t v = 0;
  size_t len = sizeof v;
  if (mallctl(name, &v, &len, nullptr, 0) != 0) return false;
  *out = static_cast<int64_t>(v);
  return true;
}

}  // namespace

HeapStats ReadHeapStats() {
  HeapStats s;
  MallctlFn mallctl = FindMallctl();
  if (mallctl == nullptr) return s;
  // The counters are snapshots taken when the epoch advances; one writer at a time.
  static std::mutex mu;
  std::lock_guard lock(mu);
  uint64_t epoch = 1;
  size_t len = sizeof epoch;
  if (mallctl("epoch", &epoch, &len, &epoch, len) != 0) return s;
  int64_t pdirty = 0, page = 0;
  s.known = ReadSize(mallctl, "stats.allocated", &s.allocated) && ReadSize(mallctl, "stats.active", &s.active) &&
            ReadSize(mallctl, "stats.resident", &s.resident);
  // Dirty pages of all arenas together (MALLCTL_ARENAS_ALL is 4096).
  if (s.known && ReadSize(mallctl, "stats.arenas.4096.pdirty", &pdirty) && ReadSize(mallctl, "arenas.page", &page))
    s.dirty = pdirty * page;
  return s;
}

std::string RenderHeapStats(const HeapStats& stats) {
  if (!stats.known) return "";
  std::string out;
  AppendPrometheusSample(out, "chaperone_heap_allocated_bytes", "gauge",
                         "Bytes the process holds from its memory allocator.", stats.allocated);
  AppendPrometheusSample(out, "chaperone_heap_active_bytes", "gauge",
                         "Bytes in the allocator's pages that hold allocations.", stats.active);
  AppendPrometheusSample(out, "chaperone_heap_resident_bytes", "gauge",
                         "Bytes of the allocator's pages in physical memory.", stats.resident);
  AppendPrometheusSample(out, "chaperone_heap_dirty_bytes", "gauge",
                         "Freed bytes still resident, until the allocator returns them.", stats.dirty);
  return out;
}

}  // namespace chaperone
