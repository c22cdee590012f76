// An in-memory SpanReader (lib/kafka/span_reader.h) over scripted partition
// logs, with a log start offset per partition (what retention deleted) and a
// fault switch, and the ClusterReaders (read/reader.h) that hands them out by
// cluster name: the reader and diff of src/read, unit-tested in milliseconds.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/kafka/span_reader.h"
#include "read/reader.h"

namespace chaperone::test {

struct FakeRecord {
  int64_t offset = 0;
  std::optional<std::string> key, value;  // nullopt: null
  int64_t timestamp_ms = 0;
  std::vector<std::pair<std::string, std::string>> headers;
};

class FakeSpanReader final : public kafka::SpanReader {
 public:
  // Appends a record at the partition's next offset (or at `offset`, leaving a
  // hole: a transaction marker or a compacted record); returns its offset.
  int64_t Append(const std::string& topic, int32_t partition, FakeRecord r, std::optional<int64_t> offset = {});
  // Removes the record at `offset` (the log lost it; its offset stays used).
  void Erase(const std::string& topic, int32_t partition, int64_t offset);
  // An unclean leader election: the log ends at `end` (records from it on are gone).
  void Truncate(const std::string& topic, int32_t partition, int64_t end);
  // Retention: records before `offset` are gone.
  void SetLogStart(const std::string& topic, int32_t partition, int64_t offset);
  const std::vector<FakeRecord>& Log(const std::string& topic, int32_t partition);
  // The next Read (or QueryWatermarks) fails with `s`.
  void FailNext(Status s) { fail_next_ = std::move(s); }

  Status QueryWatermarks(const std::string& topic, int32_t partition, int64_t* low, int64_t* high,
                         std::chrono::milliseconds timeout) override;
  Status Read(const std::string& topic, const std::vector<kafka::OffsetSpan>& spans, int64_t bytes_hint,
              const std::function<bool(const kafka::Message&)>& on_message,
              std::chrono::milliseconds stall_timeout) override;
  kafka::SpanReadStats stats() const override { return stats_; }

  int reads() const { return reads_; }

 private:
  struct Partition {
    std::vector<FakeRecord> records;  // ascending offsets
    int64_t next = 0;
    int64_t log_start = 0;
  };
  std::map<std::pair<std::string, int32_t>, Partition> logs_;
  kafka::SpanReadStats stats_;
  Status fail_next_ = Status::Ok();
  int reads_ = 0;
};

class FakeClusterReaders final : public read::ClusterReaders {
 public:
  FakeSpanReader& Cluster(const std::string& name) { return clusters_[name]; }
  Result<kafka::SpanReader*> Get(const std::string& cluster) override;

 private:
  std::map<std::string, FakeSpanReader> clusters_;
};

}  // namespace chaperone::test
