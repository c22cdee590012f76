// Valid audit records for tests that need some (reporters, collector, store).
#pragma once

#include <cstdint>
#include <string>

#include "chaperone/audit_record.h"
#include "chaperone/emitter.h"

namespace chaperone::test {

// A valid, stamped version 1 count record for (topic, window) with `count`
// messages spread over `partitions` partitions (offsets 1000.., chunkStart 1000).
AuditRecord MakeCountRecord(Emitter& emitter, const std::string& topic, int64_t window_begin_sec, int64_t count,
                            int partitions = 1, int64_t window_sec = 600);

}  // namespace chaperone::test
