#include "replicate/resume.h"

#include <algorithm>
#include <functional>

namespace chaperone::replicate {

bool ResumePoint::AlreadyWritten(PartitionId partition, Offset source_offset) const {
  for (const auto& d : destinations)
    if (d.partition == partition) return source_offset <= d.written_through;
  return false;
}

namespace {

// One planned read of a destination partition, shared by every query into it.
struct PartitionScan {
  OffsetRange range;
  Offset from{-1};  // −1 until a query asks
};

// Watermarks of every destination partition the queries name.
template <typename Query>
Result<std::map<DestinationPartition, PartitionScan>> PlanScans(DestinationReader& reader,
                                                                std::span<const Query> queries) {
  std::map<DestinationPartition, PartitionScan> scans;
  for (const auto& q : queries)
    for (PartitionId p : q.destination_partitions) scans[DestinationPartition{q.destination_topic, p}];
  std::vector<DestinationPartition> partitions;
  partitions.reserve(scans.size());
  for (const auto& [dp, scan] : scans) partitions.push_back(dp);
  auto ranges = reader.WatermarksOf(partitions);
  if (!ranges.ok()) return ranges.status();
  for (size_t i = 0; i < partitions.size(); ++i) {
    PartitionScan& scan = scans[partitions[i]];
    scan.range = (*ranges)[i];
    scan.from = scan.range.high;
  }
  return scans;
}

// A checkpoint that still fits the partition: one past its end means the
// topic was deleted and created again (or truncated); then it is ignored.
const Checkpoint* UsableCheckpoint(const CheckpointMap& checkpoints, const OriginPartition& origin,
                                   const DestinationPartition& dp, const OffsetRange& range) {
  auto it = checkpoints.find(CheckpointKey{origin, dp});
  if (it == checkpoints.end() || it->second.destination_offset > range.high) return nullptr;
  return &it->second;
}

// Reads every planned partition once and hands each record's provenance
// (when it decodes) to `on_record`.
Status RunScans(DestinationReader& reader, const std::map<DestinationPartition, PartitionScan>& scans,
                ScanStats& stats,
                const std::function<void(const DestinationPartition&, Offset, const Provenance&)>& on_record) {
  for (const auto& [partition, scan] : scans) {
    const DestinationPartition& dp = partition;  // a lambda may not capture a structured binding (clang)
    ++stats.partitions;
    if (scan.from >= scan.range.high) continue;
    Status s = reader.Read(dp, scan.from, scan.range.high, [&](const DestinationRecordView& rec) {
      ++stats.records;
      auto p = DecodeProvenance(rec.headers);
      if (!p.ok()) {
        ++(p.status().code() == Status::Code::kNotFound ? stats.foreign : stats.malformed);
        return;
      }
      on_record(dp, rec.offset, *p);
    });
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

Result<ResumeResult> FindResumePoints(DestinationReader& reader, std::span<const ResumeQuery> queries,
                                      const CheckpointMap& checkpoints) {
  auto planned = PlanScans(reader, queries);
  if (!planned.ok()) return planned.status();
  auto& scans = *planned;

  ResumeResult result;
  // (origin, destination partition) → its entry in result.points[i].destinations
  std::map<std::pair<OriginPartition, DestinationPartition>, DestinationProgress*> progress;
  result.points.reserve(queries.size());
  for (const auto& q : queries) {
    ResumePoint& point = result.points.emplace_back();
    point.origin = q.origin;
    point.destination_topic = q.destination_topic;
    point.destinations.reserve(q.destination_partitions.size());
    for (PartitionId p : q.destination_partitions) {
      DestinationPartition dp{q.destination_topic, p};
      PartitionScan& scan = scans[dp];
      DestinationProgress d{p, Offset(-1), scan.range.high, scan.range.low};
      if (const Checkpoint* c = UsableCheckpoint(checkpoints, q.origin, dp, scan.range)) {
        d.written_through = Offset(c->source_next.value() - 1);
        d.scan_start = std::max(c->destination_offset, scan.range.low);
      } else if (scan.range.low.value() > 0) {
        point.history_truncated = true;
      }
      scan.from = std::min(scan.from, d.scan_start);
      point.destinations.push_back(d);
    }
  }
  for (auto& point : result.points)
    for (auto& d : point.destinations) progress[{point.origin, {point.destination_topic, d.partition}}] = &d;

  Status s = RunScans(reader, scans, result.stats, [&](const DestinationPartition& dp, Offset, const Provenance& p) {
    auto it = progress.find({p.origin, dp});
    if (it != progress.end()) it->second->written_through = std::max(it->second->written_through, p.offset);
  });
  if (!s.ok()) return s;

  for (auto& point : result.points) {
    int64_t next = -1;
    for (const auto& d : point.destinations) {
      int64_t n = d.written_through.value() + 1;
      next = next < 0 ? n : std::min(next, n);
    }
    point.next_source_offset = Offset(std::max<int64_t>(next, 0));
  }
  return result;
}

std::vector<Checkpoint> CheckpointsFrom(const ResumePoint& point) {
  std::vector<Checkpoint> out;
  for (const auto& d : point.destinations) {
    if (d.written_through.value() < 0) continue;
    out.push_back(Checkpoint{CheckpointKey{point.origin, {point.destination_topic, d.partition}},
                             Offset(d.written_through.value() + 1), d.scan_end});
  }
  return out;
}

Result<TranslateResult> TranslateOffsets(DestinationReader& reader, std::span<const TranslateQuery> queries,
                                         const CheckpointMap& checkpoints) {
  auto planned = PlanScans(reader, queries);
  if (!planned.ok()) return planned.status();
  auto& scans = *planned;

  TranslateResult result;
  // Per (origin, destination partition): the indices of translations still looking for their record.
  std::map<std::pair<OriginPartition, DestinationPartition>, std::vector<size_t>> open;
  for (const auto& q : queries) {
    for (PartitionId p : q.destination_partitions) {
      DestinationPartition dp{q.destination_topic, p};
      PartitionScan& scan = scans[dp];
      Offset start = scan.range.low;
      // A checkpoint below the committed position proves nothing of O at or
      // past it lies before its destination offset.
      if (const Checkpoint* c = UsableCheckpoint(checkpoints, q.origin, dp, scan.range);
          c && c->source_next <= q.committed)
        start = std::max(c->destination_offset, scan.range.low);
      scan.from = std::min(scan.from, start);
      open[{q.origin, dp}].push_back(result.translations.size());
      result.translations.push_back(Translation{q.origin, q.committed, dp, scan.range.high, false});
    }
  }

  Status s =
      RunScans(reader, scans, result.stats, [&](const DestinationPartition& dp, Offset offset, const Provenance& p) {
        auto it = open.find({p.origin, dp});
        if (it == open.end()) return;
        auto& waiting = it->second;
        std::erase_if(waiting, [&](size_t i) {
          Translation& t = result.translations[i];
          if (p.offset < t.committed) return false;
          t.destination_offset = offset;
          t.found = true;
          return true;
        });
        if (waiting.empty()) open.erase(it);
      });
  if (!s.ok()) return s;
  return result;
}

std::map<DestinationPartition, Offset> CommitPositions(std::span<const Translation> translations) {
  std::map<DestinationPartition, Offset> out;
  for (const auto& t : translations) {
    auto [it, inserted] = out.try_emplace(t.destination, t.destination_offset);
    if (!inserted) it->second = std::min(it->second, t.destination_offset);
  }
  return out;
}

}  // namespace chaperone::replicate
