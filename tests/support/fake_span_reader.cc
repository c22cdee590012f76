#include "support/fake_span_reader.h"

#include <algorithm>

namespace chaperone::test {
namespace {

struct HeaderCtx {
  const FakeRecord* r;
};

bool FindHeader(const void* ctx, std::string_view name, std::string_view* value) {
  const FakeRecord* r = static_cast<const HeaderCtx*>(ctx)->r;
  for (auto it = r->headers.rbegin(); it != r->headers.rend(); ++it) {
    if (it->first == name) {
      *value = it->second;
      return true;
    }
  }
  return false;
}

bool HeaderAt(const void* ctx, size_t i, std::string_view* name, std::string_view* value, bool* value_null) {
  const FakeRecord* r = static_cast<const HeaderCtx*>(ctx)->r;
  if (i >= r->headers.size()) return false;
  *name = r->headers[i].first;
  *value = r->headers[i].second;
  *value_null = false;
  return true;
}

}  // namespace

int64_t FakeSpanReader::Append(const std::string& topic, int32_t partition, FakeRecord r, std::optional<int64_t> offset) {
  Partition& p = logs_[{topic, partition}];
  if (offset) p.next = std::max(p.next, *offset);
  r.offset = p.next++;
  p.records.push_back(std::move(r));
  return p.records.back().offset;
}

void FakeSpanReader::Erase(const std::string& topic, int32_t partition, int64_t offset) {
  auto& recs = logs_[{topic, partition}].records;
  std::erase_if(recs, [&](const FakeRecord& r) { return r.offset == offset; });
}

void FakeSpanReader::Truncate(const std::string& topic, int32_t partition, int64_t end) {
  Partition& p = logs_[{topic, partition}];
  p.next = end;
  std::erase_if(p.records, [&](const FakeRecord& r) { return r.offset >= end; });
}

void FakeSpanReader::SetLogStart(const std::string& topic, int32_t partition, int64_t offset) {
  Partition& p = logs_[{topic, partition}];
  p.log_start = offset;
  std::erase_if(p.records, [&](const FakeRecord& r) { return r.offset < offset; });
}

const std::vector<FakeRecord>& FakeSpanReader::Log(const std::string& topic, int32_t partition) {
  return logs_[{topic, partition}].records;
}

Status FakeSpanReader::QueryWatermarks(const std::string& topic, int32_t partition, int64_t* low, int64_t* high,
                                       std::chrono::milliseconds) {
  if (!fail_next_.ok()) return std::exchange(fail_next_, Status::Ok());
  const Partition& p = logs_[{topic, partition}];
  *low = p.log_start;
  *high = p.next;
  return Status::Ok();
}

Status FakeSpanReader::Read(const std::string& topic, const std::vector<kafka::OffsetSpan>& spans, int64_t,
                            const std::function<bool(const kafka::Message&)>& on_message,
                            std::chrono::milliseconds) {
  ++reads_;
  if (!fail_next_.ok()) return std::exchange(fail_next_, Status::Ok());
  // Partition by partition: a real reader interleaves them, which the caller
  // must not depend on.
  for (const kafka::OffsetSpan& s : kafka::MergeSpans(spans)) {
    const Partition& p = logs_[{topic, s.partition}];
    for (const FakeRecord& r : p.records) {
      if (r.offset < std::max(s.first, p.log_start) || r.offset > s.last) continue;
      HeaderCtx ctx{&r};
      kafka::Message m;
      m.topic = topic;
      m.partition = s.partition;
      m.offset = r.offset;
      m.view.key_null = !r.key;
      if (r.key) m.view.key = *r.key;
      m.view.value_null = !r.value;
      if (r.value) m.view.value = *r.value;
      m.view.record_timestamp_ms = r.timestamp_ms;
      m.view.headers_ctx = &ctx;
      m.view.find_header = &FindHeader;
      m.header_at = &HeaderAt;
      m.header_ctx = &ctx;
      ++stats_.delivered;
      if (!on_message(m)) return Status::Ok();
    }
  }
  return Status::Ok();
}

Result<kafka::SpanReader*> FakeClusterReaders::Get(const std::string& cluster) {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return Status::NotFound("cluster '" + cluster + "' is not configured");
  return &it->second;
}

}  // namespace chaperone::test
