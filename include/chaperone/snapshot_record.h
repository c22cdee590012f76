// From the window tracker's partial sums to the wire format.
#pragma once

#include "chaperone/audit_record.h"
#include "chaperone/window_tracker.h"

namespace chaperone {

// A version 1 count record for one snapshot: topic, window, count, totalBytes,
// noTimeCount, malformedCount, digest, partitions, the latency sketch
// (encoded) and the latencies it gives (mean, p50, p95, p99, max; all 0 when
// no message of the window had an event time). Identity, uuid, seq and flushId
// are left for Emitter::Stamp.
AuditRecord RecordFromSnapshot(const WindowSnapshot& s);

}  // namespace chaperone
