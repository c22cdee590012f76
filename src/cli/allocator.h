// The chaperone binary's memory allocator (docs/dependencies.md).
#pragma once

#include <string>

namespace chaperone::cli {

// "jemalloc 5.3.0 (dirty_decay_ms:...)" or "system malloc", for --version.
std::string AllocatorDescription();

}  // namespace chaperone::cli
