// Loss forensics (`chaperone diff`, the web API's window diff): which
// messages of one window are missing from a target tier, and which are
// duplicated there.
//
// Both tiers' spans of the window are read (read/reader.h), every message
// whose event time is in the window is taken as its content digest (the
// digest the audit sums: key and value, chaperone/digest.h), and the two
// multisets are compared (read/multiset_diff.h: bounded memory, spilled to
// disk past a budget). A source tier audited in several datacenters is
// summed, as the aggregate rule says; `datacenter` narrows both sides to one.
// Loss masked by duplicates (equal counts, different content) shows as both.
//
// Threads: DiffWindow runs on the caller's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "chaperone/event_time.h"
#include "chaperone/status.h"
#include "read/multiset_diff.h"
#include "read/reader.h"
#include "store/store.h"

namespace chaperone::read {

struct DiffRequest {
  std::string topic;
  int64_t window_ms = 0;  // any time inside the window
  std::string source_tier, target_tier;
  std::optional<std::string> datacenter;
  int64_t limit = 1000;           // report at most this many differing messages (-1: all)
  bool with_messages = true;      // read the listed copies again for their key, value and headers
  int64_t max_message_bytes = int64_t{64} << 20;  // of those, at most this many bytes kept (the rest: locations only)
  size_t max_locations = 16;      // copies listed per digest and side
  int64_t memory_budget = int64_t{256} << 20;
  std::string spill_dir;
  std::chrono::milliseconds stall_timeout{30'000};
};

enum class DiffKind {
  kMissing,     // fewer copies in the target than in the source
  kDuplicated,  // more copies in the target than in the source (at least one in the source)
  kExtra,       // in the target only
};
const char* DiffKindName(DiffKind k);

struct DiffCopy {
  std::string cluster, datacenter;
  int32_t partition = 0;
  int64_t offset = 0;
  // With DiffRequest::with_messages: the message as read again (false past
  // max_message_bytes: the location alone).
  bool have_message = false;
  std::optional<std::string> key, value;  // nullopt: null
  int64_t timestamp_ms = -1;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct DiffItem {
  DiffKind kind = DiffKind::kMissing;
  uint64_t digest = 0;
  int64_t copies = 0;  // how many copies are missing (kMissing) or too many (kDuplicated, kExtra)
  int64_t source_copies = 0, target_copies = 0;
  std::vector<DiffCopy> source, target;  // where the copies were read (at most max_locations each)
};

struct DiffSide {
  std::string tier;
  int64_t messages = 0;  // messages read whose event time is in the window
  int64_t audited = 0;   // the audit's count of the spans read
  std::vector<SpanCheck> checks;
  bool Complete() const;
};

struct DiffReport {
  std::string topic;
  int64_t window_begin_sec = 0, window_sec = 0;
  DiffSide source, target;
  int64_t missing = 0, duplicated = 0, extra = 0;  // messages
  int64_t items = 0;                               // differing digests
  bool truncated = false;                          // more items than the limit
  MultisetDiffStats diff;
  bool Differs() const { return missing > 0 || duplicated > 0 || extra > 0; }
};

// Compares the window of `req.window_ms` between the two tiers. Items go to
// `sink` in digest order (at most `limit`); the counts in the report are
// complete regardless. NotFound when a tier has no spans in that window.
Result<DiffReport> DiffWindow(store::Store& store, ClusterReaders& readers, const TimestampRules& rules,
                              const DiffRequest& req, const std::function<void(const DiffItem&)>& sink);

}  // namespace chaperone::read
