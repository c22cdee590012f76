// Builds the count record of one window snapshot (counts, latency
// percentiles from the sketch, the encoded sketch, digest, partitions).
// Identity, uuid, seq and flushId are stamped by the Emitter afterwards.
#pragma once

#include "chaperone/audit_record.h"
#include "chaperone/window_tracker.h"

namespace chaperone::service {

AuditRecord CountRecordFromSnapshot(const WindowSnapshot& s);

}  // namespace chaperone::service
