#include "web/window_diff.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "lib/kafka/span_reader.h"
#include "lib/record/json_writer.h"
#include "lib/util/base64.h"
#include "read/diff.h"
#include "web/json_writer.h"

namespace chaperone::web {
namespace {

// The diff's time limit over the clock.
class Deadline {
 public:
  Deadline(const Clock& clock, int64_t limit_ms)
      : clock_(clock), limit_ms_(limit_ms), end_ns_(clock.MonotonicNs() + limit_ms * 1'000'000) {}
  bool Passed() const { return clock_.MonotonicNs() >= end_ns_; }
  // `wait`, or less so that it ends with the time limit.
  std::chrono::milliseconds Cap(std::chrono::milliseconds wait) const {
    const int64_t left_ms = std::max<int64_t>(1, (end_ns_ - clock_.MonotonicNs()) / 1'000'000 + 1);
    return std::min(wait, std::chrono::milliseconds(left_ms));
  }
  int64_t limit_ms() const { return limit_ms_; }

 private:
  const Clock& clock_;
  const int64_t limit_ms_;
  const int64_t end_ns_;
};

class GuardedReaders;

// A span reader that ends its reads at the deadline and remembers why a read failed.
class GuardedSpanReader final : public kafka::SpanReader {
 public:
  GuardedSpanReader(kafka::SpanReader* inner, GuardedReaders* owner) : inner_(inner), owner_(owner) {}
  Status QueryWatermarks(const std::string& topic, int32_t partition, int64_t* low, int64_t* high,
                         std::chrono::milliseconds timeout) override;
  Status Read(const std::string& topic, const std::vector<kafka::OffsetSpan>& spans, int64_t bytes_hint,
              const std::function<bool(const kafka::Message&)>& on_message,
              std::chrono::milliseconds stall_timeout) override;
  kafka::SpanReadStats stats() const override { return inner_->stats(); }

 private:
  kafka::SpanReader* inner_;
  GuardedReaders* owner_;
};

// One diff's cluster readers: each read ends at the deadline, and a failure
// is told apart from the store's (a cluster not configured, a cluster that
// cannot be read, the time limit).
class GuardedReaders final : public read::ClusterReaders {
 public:
  GuardedReaders(std::unique_ptr<read::ClusterReaders> inner, const Deadline& deadline)
      : inner_(std::move(inner)), deadline_(deadline) {}

  Result<kafka::SpanReader*> Get(const std::string& cluster) override {
    if (deadline_.Passed()) return TimedOut();
    if (auto it = guarded_.find(cluster); it != guarded_.end()) return it->second.get();
    auto r = inner_->Get(cluster);
    if (!r.ok()) {
      // Unknown to `clusters:`, or properties librdkafka refuses: the server's configuration.
      const bool config = r.status().code() == Status::Code::kNotFound ||
                          r.status().code() == Status::Code::kInvalidArgument;
      return Failed(r.status(), config ? DiffFailure::kNotConfigured : DiffFailure::kKafka);
    }
    auto g = std::make_unique<GuardedSpanReader>(*r, this);
    kafka::SpanReader* raw = g.get();
    guarded_.emplace(cluster, std::move(g));
    return raw;
  }

  const Deadline& deadline() const { return deadline_; }
  DiffFailure failure() const { return failure_; }

  Status TimedOut() {
    failure_ = DiffFailure::kTimeout;
    return Status::Unavailable(fmt::format("the time limit of {} ms passed", deadline_.limit_ms()));
  }
  // A failed call of a cluster: past the deadline, the time limit ended it.
  Status Failed(Status s, DiffFailure kind) {
    if (deadline_.Passed()) return TimedOut();
    if (failure_ == DiffFailure::kNone) failure_ = kind;
    return s;
  }

 private:
  std::unique_ptr<read::ClusterReaders> inner_;
  const Deadline& deadline_;
  std::map<std::string, std::unique_ptr<GuardedSpanReader>> guarded_;
  DiffFailure failure_ = DiffFailure::kNone;
};

Status GuardedSpanReader::QueryWatermarks(const std::string& topic, int32_t partition, int64_t* low, int64_t* high,
                                          std::chrono::milliseconds timeout) {
  if (owner_->deadline().Passed()) return owner_->TimedOut();
  Status s = inner_->QueryWatermarks(topic, partition, low, high, owner_->deadline().Cap(timeout));
  return s.ok() ? s : owner_->Failed(s, DiffFailure::kKafka);
}

Status GuardedSpanReader::Read(const std::string& topic, const std::vector<kafka::OffsetSpan>& spans,
                               int64_t bytes_hint, const std::function<bool(const kafka::Message&)>& on_message,
                               std::chrono::milliseconds stall_timeout) {
  const Deadline& deadline = owner_->deadline();
  if (deadline.Passed()) return owner_->TimedOut();
  bool expired = false;
  Status s = inner_->Read(
      topic, spans, bytes_hint,
      [&](const kafka::Message& m) {
        if (deadline.Passed()) {
          expired = true;
          return false;
        }
        return on_message(m);
      },
      deadline.Cap(stall_timeout));
  if (expired) return owner_->TimedOut();
  return s.ok() ? s : owner_->Failed(s, DiffFailure::kKafka);
}

// A key, value or header value of a listed message, cut at kMaxFieldBytes.
struct Field {
  bool null = true;
  std::string bytes;  // its first bytes (all of them unless cut)
  int64_t size = 0;   // its full size
  bool cut() const { return static_cast<int64_t>(bytes.size()) < size; }
};

// At most `max` bytes of `s`, not ending inside a UTF-8 sequence.
std::string_view Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  // s[n] would begin the rest: while it continues a sequence, cut before that sequence's lead byte.
  for (size_t back = 0; back < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80; ++back) --n;
  return s.substr(0, n);
}

Field MakeField(std::string_view bytes, bool null) {
  Field f;
  f.null = null;
  if (null) return f;
  f.size = static_cast<int64_t>(bytes.size());
  f.bytes = std::string(Prefix(bytes, WindowDiffer::kMaxFieldBytes));
  return f;
}

// A listed copy's message, as read again.
struct Content {
  bool read = false;     // the message was found at its offset
  bool omitted = false;  // found, but the listing's budget was spent: no key, value or headers
  int64_t timestamp_ms = -1;
  Field key, value;
  std::vector<std::pair<std::string, Field>> headers;
  int64_t Bytes() const {
    int64_t n = static_cast<int64_t>(key.bytes.size() + value.bytes.size());
    for (const auto& [name, v] : headers) n += static_cast<int64_t>(name.size() + v.bytes.size());
    return n;
  }
};

struct Listed {
  read::DiffItem item;
  std::vector<Content> source, target;  // parallel to item.source, item.target
};

// Reads the listed copies again (one message each), keeping at most
// kMessageBudgetBytes of their bytes; counts the copies left without them.
Status ReadListed(read::ClusterReaders& readers, const std::string& topic, std::chrono::milliseconds stall_timeout,
                  std::vector<Listed>& listed, int64_t* omitted) {
  std::map<std::tuple<std::string, int32_t, int64_t>, std::vector<Content*>> wanted;
  for (Listed& l : listed) {
    l.source.resize(l.item.source.size());
    l.target.resize(l.item.target.size());
    for (size_t i = 0; i < l.item.source.size(); ++i) {
      const read::DiffCopy& c = l.item.source[i];
      wanted[{c.cluster, c.partition, c.offset}].push_back(&l.source[i]);
    }
    for (size_t i = 0; i < l.item.target.size(); ++i) {
      const read::DiffCopy& c = l.item.target[i];
      wanted[{c.cluster, c.partition, c.offset}].push_back(&l.target[i]);
    }
  }
  int64_t budget = WindowDiffer::kMessageBudgetBytes;
  for (auto first = wanted.begin(); first != wanted.end();) {
    const std::string cluster = std::get<0>(first->first);
    auto last = first;
    std::vector<kafka::OffsetSpan> spans;
    for (; last != wanted.end() && std::get<0>(last->first) == cluster; ++last)
      spans.push_back({std::get<1>(last->first), std::get<2>(last->first), std::get<2>(last->first)});
    first = last;
    auto reader = readers.Get(cluster);
    if (!reader.ok()) return reader.status();
    Status s = (*reader)->Read(
        topic, kafka::MergeSpans(std::move(spans)), 0,
        [&](const kafka::Message& m) {
          auto w = wanted.find({cluster, m.partition, m.offset});
          if (w == wanted.end()) return true;
          Content c;
          c.read = true;
          c.timestamp_ms = m.view.record_timestamp_ms;
          c.key = MakeField(m.view.key, m.view.key_null);
          c.value = MakeField(m.view.value, m.view.value_null);
          std::string_view name, value;
          bool null = false;
          for (size_t i = 0; m.header_at && m.header_at(m.header_ctx, i, &name, &value, &null); ++i)
            c.headers.emplace_back(std::string(name), MakeField(value, null));
          for (Content* out : w->second) {
            if (c.Bytes() > budget) {
              out->read = true;
              out->omitted = true;
              out->timestamp_ms = c.timestamp_ms;
              out->key.null = c.key.null;
              out->key.size = c.key.size;
              out->value.null = c.value.null;
              out->value.size = c.value.size;
              ++*omitted;
              continue;
            }
            budget -= c.Bytes();
            *out = c;
          }
          return true;
        },
        stall_timeout);
    if (!s.ok()) return s.Annotate(fmt::format("reading the listed messages again: cluster '{}'", cluster));
  }
  return Status::Ok();
}

// "name": text, or "nameBase64" for bytes that are not UTF-8, null for null;
// a cut field adds "nameTruncated": true and "nameBytes": its full size.
void WriteField(JsonWriter& w, const std::string& name, const Field& f, bool with_bytes) {
  if (!with_bytes) {
    if (!f.null) w.Field(name + "Bytes", f.size);
    return;
  }
  if (f.null) {
    w.Key(name).Null();
  } else if (json::IsValidUtf8(f.bytes)) {
    w.Field(name, f.bytes);
  } else {
    std::string b64;
    util::Base64EncodeTo(f.bytes, &b64);
    w.Field(name + "Base64", b64);
  }
  if (f.cut()) w.Field(name + "Truncated", true).Field(name + "Bytes", f.size);
}

void WriteCopies(JsonWriter& w, const char* key, const std::vector<read::DiffCopy>& copies,
                 const std::vector<Content>& contents) {
  w.Key(key).BeginArray();
  for (size_t i = 0; i < copies.size(); ++i) {
    const read::DiffCopy& c = copies[i];
    const Content& m = contents[i];
    w.BeginObject()
        .Field("cluster", c.cluster)
        .Field("datacenter", c.datacenter)
        .Field("partition", static_cast<int64_t>(c.partition))
        .Field("offset", c.offset);
    if (m.read) {
      w.Field("timestamp", m.timestamp_ms);
      WriteField(w, "key", m.key, !m.omitted);
      WriteField(w, "value", m.value, !m.omitted);
      if (m.omitted) w.Field("contentOmitted", true);
      if (!m.headers.empty()) {
        w.Key("headers").BeginArray();
        for (const auto& [name, value] : m.headers) {
          w.BeginObject().Field("name", name);
          WriteField(w, "value", value, true);
          w.EndObject();
        }
        w.EndArray();
      }
    }
    w.EndObject();
  }
  w.EndArray();
}

void WriteSide(JsonWriter& w, const char* key, const read::DiffSide& s) {
  w.Key(key).BeginObject().Field("tier", s.tier).Field("messages", s.messages).Field("audited", s.audited);
  w.Field("spans", static_cast<int64_t>(s.checks.size()));
  w.Key("spansNotMatching").BeginArray();
  for (const read::SpanCheck& c : s.checks) {
    if (c.state == read::SpanState::kComplete) continue;
    w.BeginObject()
        .Field("cluster", c.cluster)
        .Field("datacenter", c.datacenter)
        .Field("window", c.window_begin_sec)
        .Field("partition", static_cast<int64_t>(c.partition))
        .Field("firstOffset", c.first_offset)
        .Field("lastOffset", c.last_offset)
        .Field("audited", c.audited)
        .Field("read", c.read)
        .Field("expiredOffsets", c.expired_offsets)
        .Field("state", read::SpanStateName(c.state))
        .EndObject();
  }
  w.EndArray().EndObject();
}

}  // namespace

WindowDiffer::WindowDiffer(DiffOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}

std::optional<WindowDiffer::Slot> WindowDiffer::TryAcquire() {
  int n = running_.load();
  do {
    if (n >= options_.max_concurrent) return std::nullopt;
  } while (!running_.compare_exchange_weak(n, n + 1));
  return Slot(&running_);
}

WindowDiffResult WindowDiffer::Run(store::Store& store, const WindowDiffQuery& q) {
  const int64_t start_ns = clock_.MonotonicNs();
  Deadline deadline(clock_, options_.timeout_ms);
  GuardedReaders readers(options_.readers ? options_.readers(options_.clusters)
                                          : std::make_unique<read::LibrdkafkaClusterReaders>(options_.clusters),
                         deadline);
  auto failed = [&](const Status& s) {
    WindowDiffResult r;
    r.failure = readers.failure();
    if (r.failure == DiffFailure::kTimeout) {
      r.status = Status::Unavailable(fmt::format(
          "the diff did not finish within its time limit of {} ms (web.diff_timeout_ms): compare one "
          "datacenter (datacenter=), or run chaperone diff",
          deadline.limit_ms()));
    } else {
      r.status = s;
      // Not the clusters': the store's.
      if (r.failure == DiffFailure::kNone && s.code() == Status::Code::kUnavailable) r.failure = DiffFailure::kStore;
    }
    return r;
  };

  read::DiffRequest req;
  req.topic = q.topic;
  req.window_ms = q.window_sec * 1000;
  req.source_tier = q.source;
  req.target_tier = q.target;
  req.datacenter = q.datacenter;
  req.limit = q.limit;
  req.with_messages = false;  // read again below, within the listing's budget
  req.max_locations = kMaxCopies;
  req.memory_budget = options_.memory_budget;
  req.spill_dir = options_.spill_dir;
  req.stall_timeout = options_.stall_timeout;
  std::vector<Listed> listed;
  auto report = read::DiffWindow(store, readers, options_.rules, req,
                                 [&](const read::DiffItem& it) { listed.push_back(Listed{it, {}, {}}); });
  if (!report.ok()) return failed(report.status());
  int64_t omitted = 0;
  if (Status s = ReadListed(readers, q.topic, options_.stall_timeout, listed, &omitted); !s.ok()) return failed(s);

  const read::DiffReport& r = *report;
  JsonWriter w;
  w.BeginObject()
      .Field("topic", r.topic)
      .Field("window", r.window_begin_sec)
      .Field("windowSec", r.window_sec)
      .Field("source", q.source)
      .Field("target", q.target)
      .Field("datacenter", q.datacenter)
      .Field("limit", q.limit);
  w.Key("summary").BeginObject();
  WriteSide(w, "sourceTier", r.source);
  WriteSide(w, "targetTier", r.target);
  w.Field("missing", r.missing)
      .Field("duplicated", r.duplicated)
      .Field("extra", r.extra)
      .Field("differing", r.items)
      .Field("listed", static_cast<int64_t>(listed.size()))
      .Field("truncated", r.truncated)
      .Field("contentOmitted", omitted)
      .Field("elapsedMs", (clock_.MonotonicNs() - start_ns) / 1'000'000)
      .EndObject();
  w.Key("items").BeginArray();
  for (const Listed& l : listed) {
    const read::DiffItem& it = l.item;
    w.BeginObject()
        .Field("kind", read::DiffKindName(it.kind))
        .Field("copies", it.copies)
        .Field("sourceCopies", it.source_copies)
        .Field("targetCopies", it.target_copies)
        .Field("digest", fmt::format("{:016x}", it.digest));
    WriteCopies(w, "source", it.source, l.source);
    WriteCopies(w, "target", it.target, l.target);
    w.EndObject();
  }
  w.EndArray().EndObject();
  WindowDiffResult out;
  out.body = w.Take();
  return out;
}

}  // namespace chaperone::web
