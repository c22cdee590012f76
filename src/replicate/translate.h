// Offset translation of a consumer group (`chaperone replicate translate`,
// POST /translate): the group's committed offsets on the source, for the
// replicated topics, become exact destination offsets (resume.h,
// TranslateOffsets), which can be committed for the same group on the
// destination so that a consumer fails over without skipping or re-reading.
#pragma once

#include <string>
#include <vector>

#include "chaperone/status.h"
#include "replicate/replicate_options.h"

namespace chaperone::replicate {

struct GroupTranslation {
  std::string topic;  // source
  int32_t partition = 0;
  int64_t source_offset = 0;  // the group's committed position
  std::string destination_topic;
  int32_t destination_partition = 0;
  int64_t destination_offset = 0;
  bool found = false;  // false: nothing of the origin at or past the position yet (the partition's end)
};

struct GroupTranslationResult {
  std::vector<GroupTranslation> translations;
  // What was (or would be) committed on the destination: the lowest
  // translation per destination partition.
  std::vector<GroupTranslation> commits;  // destination_topic/partition/offset set
  bool committed = false;
};

// One JSON object per line: {"topic","partition","sourceOffset","destinationTopic",
// "destinationPartition","destinationOffset","found"}.
std::string TranslationJson(const GroupTranslation& t);

// Reads `group`'s committed offsets on the source (partitions without one
// are left out), translates them, and with `commit` commits them for `group`
// on the destination. NotFound when the group has no committed offset on a
// replicated topic.
Result<GroupTranslationResult> TranslateGroup(const ReplicateOptions& options, const std::string& group, bool commit);

}  // namespace chaperone::replicate
