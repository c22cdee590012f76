#include "read/reader.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <set>
#include <tuple>
#include <unordered_map>

#include "common/settings.h"
#include "common/topic_name.h"

namespace chaperone::read {
namespace {

// The largest event time the audit windows (window_tracker.cc: the end of year 9999).
constexpr int64_t kMaxEventMs = 253402300799999;

int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

std::string Join(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

struct CheckKey {
  size_t cluster;
  int64_t window;
  int32_t partition;
  bool operator==(const CheckKey&) const = default;
};
struct CheckKeyHash {
  size_t operator()(const CheckKey& k) const {
    return std::hash<int64_t>()(k.window * 1000003 + k.partition) ^ (k.cluster * 0x9e3779b97f4a7c15ULL);
  }
};

}  // namespace

const char* SpanStateName(SpanState s) {
  switch (s) {
    case SpanState::kComplete: return "complete";
    case SpanState::kDiffers: return "differs";
    case SpanState::kExpired: return "expired";
    case SpanState::kPartlyExpired: return "partly-expired";
    case SpanState::kNotRead: return "not-read";
  }
  return "?";
}

bool ReadReport::Complete() const {
  return std::all_of(checks.begin(), checks.end(), [](const SpanCheck& c) { return c.state == SpanState::kComplete; });
}

Result<kafka::SpanReader*> LibrdkafkaClusterReaders::Get(const std::string& cluster) {
  if (auto it = open_.find(cluster); it != open_.end()) return it->second.get();
  auto c = std::find_if(clusters_.begin(), clusters_.end(), [&](const auto& e) { return e.first == cluster; });
  if (c == clusters_.end()) {
    return Status::NotFound(fmt::format(
        "cluster '{}' (named by the audit) is not configured: add it to `clusters:` in the configuration file, or "
        "give --cluster-bootstrap {}=HOST:PORT",
        cluster, cluster));
  }
  auto r = kafka::CreateLibrdkafkaSpanReader({.properties = c->second, .measure_bytes = measure_bytes_});
  if (!r.ok()) return r.status().Annotate(fmt::format("cluster '{}'", cluster));
  kafka::SpanReader* raw = r->get();
  open_.emplace(cluster, std::move(*r));
  return raw;
}

std::string Rfc3339(int64_t ms) {
  const std::time_t sec = static_cast<std::time_t>(FloorDiv(ms, 1000));
  const int64_t frac = ms - FloorDiv(ms, 1000) * 1000;
  return frac ? fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", fmt::gmtime(sec), frac)
              : fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(sec));
}

Result<int64_t> ParseTimeMs(std::string_view text) {
  if (auto iso = ParseIso8601Ms(text)) return *iso;
  double v = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec == std::errc() && p == end) {
    if (auto ms = NormalizeEpochToMs(v)) return *ms;
  }
  return Status::InvalidArgument(fmt::format(
      "{} is not a time: give RFC 3339 (2026-12-07T10:40:00Z) or Unix epoch seconds or milliseconds",
      config::Quote(text)));
}

Result<ReadReport> ReadEventTime(store::Store& store, ClusterReaders& readers, const TimestampRules& rules,
                                 const ReadRequest& req, const MessageSink& sink, const ProgressSink& progress) {
  if (Status s = common::ValidateTopicName(req.topic); !s.ok()) return s.Annotate("--topic");
  if (req.to_ms <= req.from_ms) return Status::InvalidArgument("the range is empty: --to must be after --from");
  ReadReport report;

  // The windows of the range, every tier: a window overlaps [from, to) when
  // it begins before `to` and ends after `from` (windows are at most a day).
  const int64_t from_sec = FloorDiv(req.from_ms, 1000);
  const int64_t to_sec = FloorDiv(req.to_ms + 999, 1000);
  auto rows = store.QueryWindows(req.topic, std::nullopt, from_sec - 86400, to_sec);
  if (!rows.ok()) return rows.status();
  std::set<std::string> tiers;
  std::erase_if(*rows, [&](const store::WindowRow& r) {
    return !(r.window_begin_sec * 1000 < req.to_ms && r.window_end_sec * 1000 > req.from_ms);
  });
  for (const auto& r : *rows) tiers.insert(r.tier);
  report.tier = req.tier;
  if (report.tier.empty()) {
    report.tier = tiers.count("aggregate") ? "aggregate" : tiers.count("regional") ? "regional" : "";
    if (report.tier.empty() && !tiers.empty()) report.tier = *tiers.begin();
  }
  auto selected = [&](const std::string& cluster, const std::string& dc) {
    return (!req.cluster || *req.cluster == cluster) && (!req.datacenter || *req.datacenter == dc);
  };
  std::set<int64_t> windows;
  std::map<std::string, std::pair<int64_t, int64_t>> cluster_bytes;  // cluster -> (bytes, count) of its rows
  for (const auto& r : *rows) {
    if (r.tier != report.tier || !selected(r.cluster, r.datacenter)) continue;
    windows.insert(r.window_begin_sec);
    report.window_sec = r.window_end_sec - r.window_begin_sec;
    report.window_no_time += r.no_time;
    auto& [bytes, count] = cluster_bytes[r.cluster];
    bytes += r.bytes;
    count += r.count;
  }
  if (windows.empty() || report.window_sec <= 0) {
    return Status::NotFound(fmt::format("no audited windows of topic '{}'{} between {} and {} (tiers with windows then: {})",
                                        req.topic, report.tier.empty() ? "" : " in tier '" + report.tier + "'",
                                        Rfc3339(req.from_ms), Rfc3339(req.to_ms), Join(tiers)));
  }
  report.windows.assign(windows.begin(), windows.end());

  // The audit's spans of those windows.
  std::vector<std::string> clusters;
  std::map<std::string, std::string> datacenter_of;
  for (int64_t w : report.windows) {
    auto parts = store.QueryPartitions(req.topic, report.tier, w);
    if (!parts.ok()) return parts.status();
    for (const store::PartitionRow& p : *parts) {
      if (!selected(p.cluster, p.datacenter) || (req.partition && *req.partition != p.partition)) continue;
      if (p.first_offset < 0 || p.last_offset < p.first_offset) continue;  // no offsets (legacy records)
      if (!datacenter_of.count(p.cluster)) clusters.push_back(p.cluster);
      datacenter_of[p.cluster] = p.datacenter;
      SpanCheck c;
      c.cluster = p.cluster;
      c.datacenter = p.datacenter;
      c.window_begin_sec = w;
      c.partition = p.partition;
      c.first_offset = p.first_offset;
      c.last_offset = p.last_offset;
      c.audited = p.count;
      report.checks.push_back(std::move(c));
    }
  }
  if (report.checks.empty()) {
    return Status::InvalidArgument(fmt::format(
        "tier '{}' of topic '{}' has windows in the range but no partition offsets (its audit records carry none)",
        report.tier, req.topic));
  }
  std::sort(clusters.begin(), clusters.end());
  std::sort(report.checks.begin(), report.checks.end(), [](const SpanCheck& a, const SpanCheck& b) {
    return std::tie(a.cluster, a.window_begin_sec, a.partition) < std::tie(b.cluster, b.window_begin_sec, b.partition);
  });
  std::unordered_map<CheckKey, size_t, CheckKeyHash> index;
  for (size_t i = 0; i < report.checks.size(); ++i) {
    const SpanCheck& c = report.checks[i];
    const size_t ci = static_cast<size_t>(std::lower_bound(clusters.begin(), clusters.end(), c.cluster) - clusters.begin());
    index.emplace(CheckKey{ci, c.window_begin_sec, c.partition}, i);
  }

  ReadProgress prog;
  for (const SpanCheck& c : report.checks) prog.audited += c.audited;
  const TimestampChain& chain = rules.ForTopic(req.topic);
  const int64_t window_ms = report.window_sec * 1000;
  auto last_progress = std::chrono::steady_clock::now();
  bool stopped = false;

  for (size_t ci = 0; ci < clusters.size() && !stopped; ++ci) {
    const std::string& cluster = clusters[ci];
    const std::string& datacenter = datacenter_of[cluster];
    auto reader = readers.Get(cluster);
    if (!reader.ok()) return reader.status();
    // Clip the spans to the log: what retention deleted is reported as
    // expired; offsets at or past the log end (a truncated log) are not
    // there to read, and their span then differs.
    std::map<int32_t, std::pair<int64_t, int64_t>> log;  // partition -> (start, end)
    std::vector<kafka::OffsetSpan> spans;
    int64_t span_offsets = 0;
    for (SpanCheck& c : report.checks) {
      if (c.cluster != cluster) continue;
      if (!log.count(c.partition)) {
        int64_t low = 0, high = 0;
        if (Status s = (*reader)->QueryWatermarks(req.topic, c.partition, &low, &high, req.stall_timeout); !s.ok())
          return s.Annotate(fmt::format("cluster '{}'", cluster));
        log[c.partition] = {low, high};
      }
      const auto [low, high] = log[c.partition];
      int64_t first = c.first_offset;
      if (c.last_offset < low) {
        c.expired_offsets = c.last_offset - c.first_offset + 1;
        c.state = SpanState::kExpired;
        continue;
      }
      if (first < low) {
        c.expired_offsets = low - first;
        c.state = SpanState::kPartlyExpired;
        first = low;
      }
      const int64_t last = std::min(c.last_offset, high - 1);
      if (last < first) continue;
      spans.push_back({c.partition, first, last});
      span_offsets += last - first + 1;
    }
    spans = kafka::MergeSpans(std::move(spans));
    const auto& [bytes, count] = cluster_bytes[cluster];
    const int64_t bytes_hint = count > 0 ? span_offsets * (bytes / count + 1) : 0;

    auto on_message = [&](const kafka::Message& m) {
      ++prog.read;
      if ((prog.read & 4095) == 0 && progress &&
          std::chrono::steady_clock::now() - last_progress >= std::chrono::seconds(1)) {
        last_progress = std::chrono::steady_clock::now();
        progress(prog);
      }
      const EventTime et = chain.Extract(m.view);
      if (!et.found || et.ms < 0 || et.ms > kMaxEventMs) {
        ++report.no_time;
        return true;
      }
      const int64_t window = et.ms / window_ms * report.window_sec;
      if (auto it = index.find(CheckKey{ci, window, m.partition}); it != index.end()) ++report.checks[it->second].read;
      if (et.ms < req.from_ms || et.ms >= req.to_ms) return true;
      if (req.key && (m.view.key_null || m.view.key != *req.key)) return true;
      if (req.limit >= 0 && report.handed >= req.limit) {
        report.limited = true;
        return false;
      }
      ++report.handed;
      ++prog.handed;
      report.handed_bytes += static_cast<int64_t>(m.view.key.size() + m.view.value.size());
      if (!sink(ReadMessage{cluster, datacenter, m, et.ms, window})) {
        report.limited = true;
        return false;
      }
      return true;
    };
    // A reader's statistics add up over its reads: this read's are the difference.
    const kafka::SpanReadStats before = (*reader)->stats();
    Status s = (*reader)->Read(req.topic, spans, bytes_hint, on_message, req.stall_timeout);
    const kafka::SpanReadStats after = (*reader)->stats();
    report.fetch.delivered += after.delivered - before.delivered;
    report.fetch.skipped += after.skipped - before.skipped;
    report.fetch.seeks += after.seeks - before.seeks;
    if (after.bytes_fetched >= 0) {
      report.fetch.bytes_fetched =
          std::max<int64_t>(0, report.fetch.bytes_fetched) + after.bytes_fetched - std::max<int64_t>(0, before.bytes_fetched);
    }
    if (!s.ok()) return s.Annotate(fmt::format("cluster '{}'", cluster));
    if (report.limited) stopped = true;
  }
  for (SpanCheck& c : report.checks) {
    if (c.state == SpanState::kExpired) continue;
    if (c.state == SpanState::kPartlyExpired) continue;
    c.state = c.read == c.audited ? SpanState::kComplete : report.limited ? SpanState::kNotRead : SpanState::kDiffers;
  }
  if (progress) progress(prog);
  return report;
}

}  // namespace chaperone::read
