// Resume points and offset translation, found from the destination itself.
//
// Every record the replicator writes carries its provenance (provenance.h).
// An idempotent producer keeps each destination partition in send order, and
// the replicator sends the records of one source partition in offset order,
// so what a killed replicator left in a destination partition D is, for each
// origin partition O, a prefix of what it sent there. Hence:
//
// - written_through(O, D): the highest source offset of O present in D
//   (from the last checkpoint of (O, D) to D's end), or −1.
// - Resume point of O: min over the destination partitions O maps to of
//   written_through + 1. With identity partitioning that is one partition
//   and the answer is exact; with key hashing the replicator re-reads from
//   there and skips a record destined for D when its source offset is at or
//   below written_through(O, D) (ResumePoint::AlreadyWritten).
// - Translation of a committed source position C of O: in each destination
//   partition, the offset of the first record of O with source offset ≥ C,
//   or the partition's end when there is none yet.
//
// Pure functions over a DestinationReader; each destination partition is
// read once per call, from the lowest start any query needs.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "chaperone/status.h"
#include "chaperone/types.h"
#include "replicate/checkpoint.h"
#include "replicate/destination_reader.h"
#include "replicate/provenance.h"

namespace chaperone::replicate {

// What was read (for logs and metrics).
struct ScanStats {
  int64_t partitions = 0;
  int64_t records = 0;
  int64_t foreign = 0;    // records without provenance (not written by a replicator)
  int64_t malformed = 0;  // records with broken provenance (skipped)
  bool operator==(const ScanStats&) const = default;
};

struct ResumeQuery {
  OriginPartition origin;
  std::string destination_topic;
  std::vector<PartitionId> destination_partitions;  // PartitionMap::DestinationPartitionsOf
};

struct DestinationProgress {
  PartitionId partition;
  Offset written_through{-1};  // highest source offset of the origin in this partition; −1: none
  Offset scan_end;             // the destination offset the scan ended at (the high watermark it read to)
  Offset scan_start;           // where it started for this origin (checkpoint or log start)
  bool operator==(const DestinationProgress&) const = default;
};

struct ResumePoint {
  OriginPartition origin;
  std::string destination_topic;
  Offset next_source_offset;  // resume reading the source partition here
  std::vector<DestinationProgress> destinations;
  // The destination's log start is past offset 0 and no checkpoint covers
  // what retention deleted: records of this origin may have been there, so a
  // resume point below them re-copies them. Exposed to the operator.
  bool history_truncated = false;

  // True when a record of `origin` with `source_offset`, destined for
  // `partition`, is already in the destination (skip it: key-hash resume).
  bool AlreadyWritten(PartitionId partition, Offset source_offset) const;
};

struct ResumeResult {
  std::vector<ResumePoint> points;  // one per query, in query order
  ScanStats stats;
};

// NotFound / Unavailable from the reader are returned as they are.
Result<ResumeResult> FindResumePoints(DestinationReader& reader, std::span<const ResumeQuery> queries,
                                      const CheckpointMap& checkpoints);

// The checkpoints a resume scan proved: (source_next = written_through + 1,
// destination_offset = scan_end) per destination partition that holds any
// record of the origin. Written after a scan, they bound the next one.
std::vector<Checkpoint> CheckpointsFrom(const ResumePoint& point);

struct TranslateQuery {
  OriginPartition origin;
  Offset committed;  // a consumer group's committed position on the source
  std::string destination_topic;
  std::vector<PartitionId> destination_partitions;
};

struct Translation {
  OriginPartition origin;
  Offset committed;
  DestinationPartition destination;
  Offset destination_offset;
  // true: the offset of the first destination record of the origin with a
  // source offset ≥ committed; false: none yet, the partition's end.
  bool found = false;
  bool operator==(const Translation&) const = default;
};

struct TranslateResult {
  std::vector<Translation> translations;  // per query, per destination partition, in query order
  ScanStats stats;
};

Result<TranslateResult> TranslateOffsets(DestinationReader& reader, std::span<const TranslateQuery> queries,
                                         const CheckpointMap& checkpoints);

// Per destination partition, the position a group failing over should commit:
// the lowest translation into it (so no record of any translated origin is skipped).
std::map<DestinationPartition, Offset> CommitPositions(std::span<const Translation> translations);

}  // namespace chaperone::replicate
