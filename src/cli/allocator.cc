// The chaperone binary's memory allocator and its settings.
//
// With jemalloc (the default build), freed pages go back to the system after
// about 100 ms instead of jemalloc's default 10 s, so the audit service's
// footprint is the client library's prefetch plus what it audits, not the
// peak of recent fetch responses; and a background thread does that
// returning, so the client library's fetch thread does not stop to do it.
// Both measured in docs/performance.md. MALLOC_CONF in the environment still
// overrides these.
#include "cli/allocator.h"

#ifdef CHAPERONE_JEMALLOC
#include <jemalloc/jemalloc.h>

#define CHAPERONE_MALLOC_CONF "dirty_decay_ms:100,muzzy_decay_ms:0,background_thread:true"

extern "C" {
// Read by jemalloc at its first allocation; the name is its public interface.
const char* malloc_conf = CHAPERONE_MALLOC_CONF;
}
#endif

namespace chaperone::cli {

std::string AllocatorDescription() {
#ifdef CHAPERONE_JEMALLOC
  const char* version = "?";
  size_t len = sizeof version;
  mallctl("version", &version, &len, nullptr, 0);
  std::string v = version;
  v = v.substr(0, v.find('-'));  // "5.3.0-0-g<commit>"
  return "jemalloc " + v + " (" CHAPERONE_MALLOC_CONF ")";
#else
  return "system malloc";
#endif
}

}  // namespace chaperone::cli
