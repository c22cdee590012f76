#include "read/diff.h"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "chaperone/digest.h"

namespace chaperone::read {

const char* DiffKindName(DiffKind k) {
  switch (k) {
    case DiffKind::kMissing: return "missing";
    case DiffKind::kDuplicated: return "duplicated";
    case DiffKind::kExtra: return "extra";
  }
  return "?";
}

bool DiffSide::Complete() const {
  return std::all_of(checks.begin(), checks.end(), [](const SpanCheck& c) { return c.state == SpanState::kComplete; });
}

namespace {

// The clusters both sides read, numbered for MultisetDiff's locations.
struct ClusterTable {
  std::vector<std::pair<std::string, std::string>> entries;  // (cluster, datacenter)
  uint16_t IndexOf(const std::string& cluster, const std::string& datacenter) {
    for (size_t i = 0; i < entries.size(); ++i)
      if (entries[i].first == cluster) return static_cast<uint16_t>(i);
    entries.emplace_back(cluster, datacenter);
    return static_cast<uint16_t>(entries.size() - 1);
  }
};

// Reads the listed copies again (one span per offset) for their content.
Status FillMessages(ClusterReaders& readers, const DiffRequest& req, const ClusterTable& clusters,
                    std::vector<DiffItem>& items) {
  std::map<std::tuple<std::string, int32_t, int64_t>, std::vector<DiffCopy*>> wanted;
  for (DiffItem& it : items) {
    for (auto* side : {&it.source, &it.target})
      for (DiffCopy& c : *side) wanted[{c.cluster, c.partition, c.offset}].push_back(&c);
  }
  int64_t kept = 0;  // bytes of keys and values kept
  for (const auto& entry : clusters.entries) {
    const std::string& cluster = entry.first;  // (captured below: not a structured binding)
    std::vector<kafka::OffsetSpan> spans;
    for (const auto& [key, copies] : wanted)
      if (std::get<0>(key) == cluster) spans.push_back({std::get<1>(key), std::get<2>(key), std::get<2>(key)});
    if (spans.empty()) continue;
    auto reader = readers.Get(cluster);
    if (!reader.ok()) return reader.status();
    Status s = (*reader)->Read(
        req.topic, spans, 0,
        [&](const kafka::Message& m) {
          auto w = wanted.find({cluster, m.partition, m.offset});
          if (w == wanted.end()) return true;
          kept += static_cast<int64_t>(w->second.size() * (m.view.key.size() + m.view.value.size()));
          if (kept > req.max_message_bytes) return true;  // locations only from here on
          for (DiffCopy* c : w->second) {
            c->have_message = true;
            if (!m.view.key_null) c->key = std::string(m.view.key);
            if (!m.view.value_null) c->value = std::string(m.view.value);
            c->timestamp_ms = m.view.record_timestamp_ms;
            std::string_view name, value;
            bool null = false;
            for (size_t i = 0; m.header_at && m.header_at(m.header_ctx, i, &name, &value, &null); ++i)
              c->headers.emplace_back(std::string(name), null ? std::string() : std::string(value));
          }
          return true;
        },
        req.stall_timeout);
    if (!s.ok()) return s.Annotate(fmt::format("cluster '{}'", cluster));
  }
  return Status::Ok();
}

}  // namespace

Result<DiffReport> DiffWindow(store::Store& store, ClusterReaders& readers, const TimestampRules& rules,
                              const DiffRequest& req, const std::function<void(const DiffItem&)>& sink) {
  if (req.source_tier.empty() || req.target_tier.empty())
    return Status::InvalidArgument("give both tiers: --source and --target");
  if (req.source_tier == req.target_tier) return Status::InvalidArgument("the source and target tiers are the same");
  DiffReport report;
  report.topic = req.topic;
  // The window that holds `window_ms`, as the source tier's rows give it.
  const int64_t at_sec = req.window_ms >= 0 ? req.window_ms / 1000 : -((-req.window_ms + 999) / 1000);
  auto rows = store.QueryWindows(req.topic, req.source_tier, at_sec - 86400, at_sec + 1);
  if (!rows.ok()) return rows.status();
  for (const auto& r : *rows) {
    if (r.window_begin_sec <= at_sec && at_sec < r.window_end_sec) {
      report.window_begin_sec = r.window_begin_sec;
      report.window_sec = r.window_end_sec - r.window_begin_sec;
    }
  }
  if (report.window_sec == 0) {
    return Status::NotFound(fmt::format("tier '{}' has no window of topic '{}' at {}", req.source_tier, req.topic,
                                        Rfc3339(req.window_ms)));
  }

  auto diff = MultisetDiff::Create(
      {.memory_budget_bytes = static_cast<size_t>(req.memory_budget), .spill_dir = req.spill_dir,
       .max_locations = req.max_locations});
  if (!diff.ok()) return diff.status();
  ClusterTable clusters;
  Status add_error = Status::Ok();
  for (Side side : {Side::kSource, Side::kTarget}) {
    DiffSide& out = side == Side::kSource ? report.source : report.target;
    out.tier = side == Side::kSource ? req.source_tier : req.target_tier;
    ReadRequest r;
    r.topic = req.topic;
    r.from_ms = report.window_begin_sec * 1000;
    r.to_ms = (report.window_begin_sec + report.window_sec) * 1000;
    r.tier = out.tier;
    r.datacenter = req.datacenter;
    r.stall_timeout = req.stall_timeout;
    auto read = ReadEventTime(store, readers, rules, r, [&](const ReadMessage& m) {
      const kafka::Message& msg = m.message;
      const uint64_t digest = MessageDigest(msg.view.key, msg.view.key_null, msg.view.value, msg.view.value_null);
      Status s = (*diff)->Add(side, digest, {clusters.IndexOf(m.cluster, m.datacenter), msg.partition, msg.offset});
      if (!s.ok()) {
        add_error = s;
        return false;
      }
      return true;
    });
    if (!add_error.ok()) return add_error;
    if (!read.ok()) {
      return read.status().Annotate(
          fmt::format("{} tier '{}'", side == Side::kSource ? "source" : "target", out.tier));
    }
    out.messages = read->handed;
    out.checks = std::move(read->checks);
    for (const SpanCheck& c : out.checks) out.audited += c.audited;
  }

  std::vector<DiffItem> items;
  auto locations = [&](const std::vector<Location>& in) {
    std::vector<DiffCopy> out;
    for (const Location& l : in) {
      DiffCopy c;
      c.cluster = clusters.entries[l.cluster].first;
      c.datacenter = clusters.entries[l.cluster].second;
      c.partition = l.partition;
      c.offset = l.offset;
      out.push_back(std::move(c));
    }
    return out;
  };
  Status finished = (*diff)->Finish([&](const DiffGroup& g) {
    DiffItem it;
    it.digest = g.digest;
    it.source_copies = g.source_copies;
    it.target_copies = g.target_copies;
    if (g.source_copies > g.target_copies) {
      it.kind = DiffKind::kMissing;
      it.copies = g.source_copies - g.target_copies;
      report.missing += it.copies;
    } else {
      it.kind = g.source_copies == 0 ? DiffKind::kExtra : DiffKind::kDuplicated;
      it.copies = g.target_copies - g.source_copies;
      (g.source_copies == 0 ? report.extra : report.duplicated) += it.copies;
    }
    ++report.items;
    if (req.limit >= 0 && static_cast<int64_t>(items.size()) >= req.limit) {
      report.truncated = true;
      return true;  // keep counting
    }
    it.source = locations(g.source);
    it.target = locations(g.target);
    items.push_back(std::move(it));
    return true;
  });
  if (!finished.ok()) return finished;
  report.diff = (*diff)->stats();
  if (req.with_messages && !items.empty()) {
    if (Status s = FillMessages(readers, req, clusters, items); !s.ok()) return s;
  }
  for (const DiffItem& it : items) sink(it);
  return report;
}

}  // namespace chaperone::read
