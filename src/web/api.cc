#include "web/api.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <limits>
#include <span>
#include <unordered_map>
#include <unordered_set>

#include "common/time_format.h"
#include "common/url_encode.h"
#include "common/topic_name.h"
#include "web/json_writer.h"
#include "web/params.h"

namespace chaperone::web {

struct Api::Ctx {
  const HttpRequest& req;
  QueryParams q;
  int64_t now_ms;
};

namespace {

constexpr const char* kRouteTopics = "/api/v1/topics";
constexpr const char* kRouteSeries = "/api/v1/topics/{topic}/series";
constexpr const char* kRouteLoss = "/api/v1/topics/{topic}/loss";
constexpr const char* kRoutePartitions = "/api/v1/topics/{topic}/windows/{window}/partitions";
constexpr const char* kRouteDiff = "/api/v1/topics/{topic}/windows/{window}/diff";
constexpr const char* kRouteEmitters = "/api/v1/emitters";
constexpr const char* kRouteFinality = "/api/v1/finality";
constexpr const char* kRouteQuarantine = "/api/v1/quarantine";
constexpr const char* kRouteAlerts = "/api/v1/alerts";
constexpr const char* kRouteDashboard = "dashboard";
constexpr const char* kRouteUnmatched = "unmatched";

constexpr int64_t kMaxOffset = 1'000'000'000;
// The diff: items listed by default and at most; seconds a client waits when every diff slot is taken.
constexpr int64_t kDiffDefaultLimit = 100;
constexpr int64_t kDiffMaxLimit = 10'000;
constexpr int kDiffRetryAfterSec = 5;
// The overview reads every firing alert at once (there is at most one per
// topic, tier pair, kind and datacenter: few); a bound all the same.
constexpr int kMaxFiringAlerts = 100'000;

void WriteError(HttpResponse& res, int status, std::string_view code, std::string_view message) {
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject().Field("code", code).Field("message", message).EndObject().EndObject();
  res.status = status;
  res.content_type = "application/json";
  res.body = w.Take();
}

void WriteJson(HttpResponse& res, JsonWriter& w) {
  res.status = 200;
  res.content_type = "application/json";
  res.body = w.Take();
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> out;
  if (path.empty() || path[0] != '/') return out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

std::string DigestHex(uint64_t d) { return fmt::format("{:016x}", d); }

Status ValidateTopic(std::string_view topic, std::string_view what = "topic") {
  Status valid = common::ValidateTopicName(topic);
  if (valid.ok()) return Status::Ok();
  std::string shown(topic.substr(0, 64));
  for (char& ch : shown) {
    if (static_cast<unsigned char>(ch) < 0x20) ch = '?';
  }
  return Status::InvalidArgument(
      fmt::format("{}: invalid topic name '{}'{} ({})", what, shown, topic.size() > 64 ? "..." : "", valid.message()));
}

Status ValidateTier(std::string_view tier, std::string_view what) {
  if (IsValidTierName(tier)) return Status::Ok();
  return Status::InvalidArgument(
      fmt::format("{}: invalid tier name (1-255 bytes, no control characters or commas)", what));
}

// A comma list of datacenters (absent = all).
Result<std::vector<std::string>> ParseDatacenters(const QueryParams& q, const std::string& name) {
  auto v = q.Get(name);
  if (!v.ok()) return v.status();
  std::vector<std::string> out;
  if (!v->has_value()) return out;
  for (auto& dc : SplitList(**v)) {
    if (!IsValidDatacenterName(dc)) {
      return Status::InvalidArgument(name + ": empty or invalid datacenter name in the list");
    }
    if (std::find(out.begin(), out.end(), dc) == out.end()) out.push_back(std::move(dc));
  }
  return out;
}

// Required single-valued tier parameter.
Result<std::string> RequiredTier(const QueryParams& q, const std::string& name) {
  auto v = q.Get(name);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return Status::InvalidArgument(fmt::format("parameter '{}' is required", name));
  if (auto s = ValidateTier(**v, name); !s.ok()) return s;
  return std::move(**v);
}

int64_t InferWindowSec(const std::vector<store::WindowRow>& rows, int64_t dflt) {
  for (const auto& r : rows) {
    if (r.window_end_sec > r.window_begin_sec) return r.window_end_sec - r.window_begin_sec;
  }
  return dflt;
}

void WriteRange(JsonWriter& w, const TimeRange& r) { w.Field("from", r.from_sec).Field("to", r.to_sec); }

void WritePoint(JsonWriter& w, const MergedWindow& p, bool final) {
  w.BeginObject();
  w.Field("window", p.window_begin_sec);
  w.Field("count", p.count);
  w.Field("bytes", p.bytes);
  w.Field("noTime", p.no_time);
  w.Field("malformed", p.malformed);
  if (p.has_latency) {
    w.Field("mean", p.mean).Field("p50", p.p50).Field("p95", p.p95).Field("p99", p.p99).Field("max", p.max);
  } else {
    for (const char* k : {"mean", "p50", "p95", "p99", "max"}) w.Key(k).Null();
  }
  w.Field("latencyUpperBound", p.latency_upper_bound);
  w.Field("final", final);
  if (p.digest) {
    w.Field("digest", DigestHex(*p.digest));
  } else {
    w.Key("digest").Null();
  }
  w.Field("records", p.records);
  w.EndObject();
}

// The loss detector's severities, worst last; 0 for a word it does not write.
int SeverityRank(std::string_view severity) {
  if (severity == "info") return 1;
  if (severity == "warning") return 2;
  if (severity == "critical") return 3;
  return 0;
}

// A topic's firing alerts on the overview: how many, and the worst severity.
struct FiringAlerts {
  int64_t count = 0;
  std::string severity;
};

// The dashboard's topic page at an alert's windows (relative to the
// dashboard's address): its windows with an hour either side (at most the
// longest range), the first of them drilled into.
std::string AlertDashboardPath(const store::AlertRow& a, int64_t window_sec) {
  std::string path = "#/topic/" + common::UrlEncode(a.topic);
  if (a.first_window_sec <= 0) return path;
  int64_t to = std::max(a.first_window_sec, a.last_window_sec) + window_sec + 3600;
  int64_t from = std::max({int64_t{0}, a.first_window_sec - 3600, to - kMaxRangeSec});
  int64_t shown = a.first_window_sec >= from ? a.first_window_sec : a.last_window_sec;
  return path + fmt::format("?range=custom&from={}&to={}&w={}", from, to, shown);
}

void WriteAlert(JsonWriter& w, const store::AlertRow& a, int64_t window_sec) {
  auto window = [&](std::string_view key, int64_t sec) {
    if (a.first_window_sec <= 0) return w.Key(key).Null();
    return w.Field(key, sec);
  };
  auto window_start = [&](std::string_view key, int64_t sec) {
    if (a.first_window_sec <= 0) return w.Key(key).Null();
    return w.Field(key, common::FormatRfc3339(sec * 1000));
  };
  w.BeginObject()
      .Field("id", a.id)
      .Field("fingerprint", a.fingerprint)
      .Field("topic", a.topic)
      .Field("sourceTier", a.source_tier)
      .Field("targetTier", a.target_tier)
      .Field("kind", a.kind)
      .Field("datacenter", a.datacenter.empty() ? std::optional<std::string>() : a.datacenter)
      .Field("state", a.state)
      .Field("severity", a.severity)
      .Field("startsAt", common::FormatRfc3339(a.starts_ms))
      .Field("endsAt", a.ends_ms > 0 ? std::optional<std::string>(common::FormatRfc3339(a.ends_ms)) : std::nullopt)
      .Field("updatedAt", common::FormatRfc3339(a.updated_ms))
      .Field("lost", a.lost)
      .Field("duplicated", a.duplicated)
      .Field("windows", a.windows)
      .Field("sourceMessages", a.source_messages);
  window("firstWindow", a.first_window_sec);
  window("lastWindow", a.last_window_sec);
  window_start("firstWindowStart", a.first_window_sec);
  window_start("lastWindowStart", a.last_window_sec);
  w.Field("dashboardPath", AlertDashboardPath(a, window_sec)).EndObject();
}

}  // namespace

Api::Api(ApiOptions opts, StorePool& stores, const Clock& clock, const AssetBundle& assets, WebMetrics& metrics)
    : opts_(std::move(opts)),
      stores_(stores),
      clock_(clock),
      assets_(assets),
      metrics_(metrics),
      catalog_(clock, opts_.topic_cache_ms, opts_.topic_miss_refresh_ms),
      overview_(clock, opts_.overview, opts_.tier_order),
      differ_(opts_.diff, clock) {}

FinalityOptions Api::finality_options() const {
  FinalityOptions f;
  f.grace_sec = opts_.grace_sec;
  f.stale_after_ms = opts_.stale_emitter_sec * 1000;
  return f;
}

void Api::Error(HttpResponse& res, const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
      return WriteError(res, 400, "bad_request", s.message());
    case Status::Code::kNotFound:
      return WriteError(res, 404, "not_found", s.message());
    default:
      return WriteError(res, 500, "internal", s.message());
  }
}

void Api::StoreError(HttpResponse& res, const Status& s, StorePool::Lease* lease) {
  metrics_.RecordStoreError();
  spdlog::warn("web: store read failed: {}", s.ToString());
  if (lease && s.code() == Status::Code::kUnavailable) lease->Discard();
  WriteError(res, 503, "store_unavailable", "the store cannot be read: " + s.message());
}

HttpResponse Api::Handle(const HttpRequest& req) {
  int64_t start_ns = clock_.MonotonicNs();
  HttpResponse res;
  try {
    Route(req, res);
  } catch (const std::exception& e) {
    spdlog::error("web: {} {} failed: {}", req.method, req.path, e.what());
    std::string route = std::move(res.route);
    res = HttpResponse();
    res.route = std::move(route);
    WriteError(res, 500, "internal", "internal error");
  }
  if (res.route.empty()) res.route = kRouteUnmatched;
  if (res.route != kRouteDashboard) {
    res.headers.emplace_back("Cache-Control", "no-store");
  }
  double seconds = static_cast<double>(clock_.MonotonicNs() - start_ns) / 1e9;
  metrics_.RecordRequest(res.route, res.status, seconds);
  return res;
}

void Api::Route(const HttpRequest& req, HttpResponse& res) {
  bool is_get = req.method == "GET" || req.method == "HEAD";
  auto method_not_allowed = [&] {
    res.headers.emplace_back("Allow", "GET, HEAD");
    WriteError(res, 405, "method_not_allowed", fmt::format("{} is not allowed on {}; use GET", req.method, res.route));
  };

  std::string_view path = req.path;
  bool is_api = path == "/api" || path.starts_with("/api/");
  if (is_api && path.size() > 1 && path.back() == '/') path.remove_suffix(1);  // tolerate one trailing slash
  std::vector<std::string> seg = SplitPath(path);
  Ctx c{req, QueryParams(req.params), clock_.NowMs()};

  auto dispatch = [&](const char* route, auto&& fn) {
    res.route = route;
    if (!is_get) return method_not_allowed();
    fn();
  };

  // /health and /metrics are the endpoint's (WebServer).
  if (!is_api) {
    res.route = kRouteDashboard;
    if (!is_get) return method_not_allowed();
    return Dashboard(req, res);
  }

  if (seg.size() >= 3 && seg[0] == "api" && seg[1] == "v1") {
    const std::string& what = seg[2];
    if (seg.size() == 3) {
      if (what == "topics") return dispatch(kRouteTopics, [&] { Topics(c, res); });
      if (what == "emitters") return dispatch(kRouteEmitters, [&] { Emitters(c, res); });
      if (what == "finality") return dispatch(kRouteFinality, [&] { FinalityReport(c, res); });
      if (what == "quarantine") return dispatch(kRouteQuarantine, [&] { Quarantine(c, res); });
      if (what == "alerts") return dispatch(kRouteAlerts, [&] { Alerts(c, res); });
    }
    if (what == "topics" && seg.size() == 5 && seg[4] == "series") {
      return dispatch(kRouteSeries, [&] { Series(c, seg[3], res); });
    }
    if (what == "topics" && seg.size() == 5 && seg[4] == "loss") {
      return dispatch(kRouteLoss, [&] { Loss(c, seg[3], res); });
    }
    if (what == "topics" && seg.size() == 7 && seg[4] == "windows" && seg[6] == "partitions") {
      return dispatch(kRoutePartitions, [&] { Partitions(c, seg[3], seg[5], res); });
    }
    if (what == "topics" && seg.size() == 7 && seg[4] == "windows" && seg[6] == "diff") {
      return dispatch(kRouteDiff, [&] { Diff(c, seg[3], seg[5], res); });
    }
  }
  res.route = kRouteUnmatched;
  std::string shown(req.path.substr(0, 200));
  WriteError(res, 404, "not_found", fmt::format("no such endpoint: {} (see docs/api.md)", shown));
}

// ---------------------------------------------------------------------------
// GET /api/v1/topics

void Api::Topics(const Ctx& c, HttpResponse& res) {
  if (auto s = c.q.OnlyAllow({"q", "status", "limit", "offset", "sort", "from", "to"}); !s.ok()) return Error(res, s);
  auto needle = c.q.Get("q");
  if (!needle.ok()) return Error(res, needle.status());
  std::string q = needle->value_or("");
  if (q.size() > 249) return Error(res, Status::InvalidArgument("q: longer than a topic name can be (249)"));
  auto status_s = c.q.Get("status");
  if (!status_s.ok()) return Error(res, status_s.status());
  std::optional<TopicStatus> status_filter;
  if (status_s->has_value()) {
    status_filter = ParseStatus(**status_s);
    if (!status_filter) {
      return Error(res,
                   Status::InvalidArgument("status: expected one of healthy, loss, delay, no_data, stale_emitter"));
    }
  }
  auto limit = ParseIntParam(c.q, "limit", 1000, 1, 10000);
  if (!limit.ok()) return Error(res, limit.status());
  auto offset = ParseIntParam(c.q, "offset", 0, 0, kMaxOffset);
  if (!offset.ok()) return Error(res, offset.status());
  auto sort_s = c.q.Get("sort");
  if (!sort_s.ok()) return Error(res, sort_s.status());
  auto sort = ParseTopicSort(sort_s->value_or("topic"));
  if (!sort.ok()) return Error(res, sort.status());
  auto range = ParseTimeRange(c.q, c.now_ms / 1000);
  if (!range.ok()) return Error(res, range.status());

  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  auto summaries = catalog_.Get(**lease);
  if (!summaries.ok()) return StoreError(res, summaries.status(), &*lease);
  auto emitters = (*lease)->QueryEmitters(std::nullopt);
  if (!emitters.ok()) return StoreError(res, emitters.status(), &*lease);
  Finality finality(*emitters, c.now_ms, finality_options());
  AnalysisOptions aopts{opts_.tier_order, opts_.delay_threshold_ms};

  std::vector<const store::TopicSummary*> matching;
  for (const auto& s : **summaries) {
    if (TopicMatches(s.topic, q)) matching.push_back(&s);
  }
  std::unordered_set<std::string> names;
  for (const auto& s : **summaries) names.insert(s.topic);
  overview_.Retain(names);
  // Only the requested page needs analysing when it is cut from the topics in name order.
  const bool by_name = sort->key == TopicSortKey::kTopic && !status_filter;
  std::vector<const store::TopicSummary*> analysed;
  if (by_name) {
    std::sort(matching.begin(), matching.end(), [&](const store::TopicSummary* a, const store::TopicSummary* b) {
      return sort->descending ? a->topic > b->topic : a->topic < b->topic;
    });
    for (int64_t i = *offset; i < static_cast<int64_t>(matching.size()) && i < *offset + *limit; ++i) {
      analysed.push_back(matching[i]);
    }
  } else {
    analysed = matching;
  }
  // The topic summary's days of the range, read now: what changed since the
  // overview cache read it. A page of fewer topics than the store holds reads
  // only the days of its names' span (every database compares names byte by
  // byte there, as std::string does here, so no name of the page falls out).
  std::optional<std::pair<std::string, std::string>> span;
  if (!analysed.empty() && analysed.size() < summaries->get()->size()) {
    auto [lo, hi] = std::minmax_element(analysed.begin(), analysed.end(),
                                        [](const auto* a, const auto* b) { return a->topic < b->topic; });
    span.emplace((*lo)->topic, (*hi)->topic);
  }
  auto days = (*lease)->QueryTopicSummary(range->from_sec, range->to_sec, span);
  if (!days.ok()) return StoreError(res, days.status(), &*lease);
  std::unordered_map<std::string_view, std::span<const store::TopicDay>> days_of;
  for (size_t i = 0, j = 0; i < days->size(); i = j) {
    while (j < days->size() && (*days)[j].topic == (*days)[i].topic) ++j;
    days_of.emplace((*days)[i].topic, std::span<const store::TopicDay>(days->data() + i, j - i));
  }
  Status failure;
  auto analyze = [&](const store::TopicSummary& s) -> std::optional<TopicAnalysis> {
    // The summary says whether the topic has any window in the range at all.
    if (s.last_window_sec < range->from_sec || s.first_window_sec >= range->to_sec) {
      return AnalyzeSeries(s, {}, finality, aopts, range->from_sec);
    }
    auto d = days_of.find(s.topic);
    auto series = overview_.Get(**lease, s.topic, range->from_sec, range->to_sec,
                                d == days_of.end() ? std::span<const store::TopicDay>() : d->second);
    if (!series.ok()) {
      failure = series.status();
      return std::nullopt;
    }
    TopicAnalysis t = AnalyzeSeries(s, **series, finality, aopts, range->from_sec);
    // A window of several rows (datacenters, clusters) has no latency in the
    // series: the window shown has it merged from its rows.
    if (auto shown = ShownWindow(t)) {
      auto latency = overview_.Latency(**lease, s.topic, *shown, **series);
      if (!latency.ok()) {
        failure = latency.status();
        return std::nullopt;
      }
      if (*latency) JudgeLatency(t, **latency, finality, aopts, range->from_sec);
    }
    return t;
  };

  std::vector<TopicAnalysis> page;
  int64_t total = 0;
  if (by_name) {
    total = static_cast<int64_t>(matching.size());
    for (const auto* s : analysed) {
      auto a = analyze(*s);
      if (!a) return StoreError(res, failure, &*lease);
      page.push_back(std::move(*a));
    }
  } else {
    std::vector<TopicAnalysis> all;
    all.reserve(matching.size());
    for (const auto* s : analysed) {
      auto a = analyze(*s);
      if (!a) return StoreError(res, failure, &*lease);
      if (!status_filter || a->status == *status_filter) all.push_back(std::move(*a));
    }
    SortTopics(all, *sort);
    total = static_cast<int64_t>(all.size());
    for (int64_t i = *offset; i < total && i < *offset + *limit; ++i) page.push_back(std::move(all[i]));
  }

  // The page's firing alerts: one read of every firing alert, not one per topic.
  std::vector<store::AlertRow> firing_rows;
  std::unordered_map<std::string_view, FiringAlerts> firing;
  if (!page.empty()) {
    store::AlertQuery aq;
    aq.state = "firing";
    aq.limit = kMaxFiringAlerts;
    auto rows = (*lease)->QueryAlerts(aq);
    if (!rows.ok()) return StoreError(res, rows.status(), &*lease);
    firing_rows = std::move(*rows);
    for (const auto& a : firing_rows) {
      FiringAlerts& f = firing[a.topic];
      ++f.count;
      if (f.count == 1 || SeverityRank(a.severity) > SeverityRank(f.severity)) f.severity = a.severity;
    }
  }

  JsonWriter w;
  w.BeginObject().Field("total", total).Field("windowSec", opts_.window_sec);
  WriteRange(w, *range);
  w.Key("topics").BeginArray();
  for (size_t i = 0; i < page.size(); ++i) {
    const TopicAnalysis& t = page[i];
    w.BeginObject();
    w.Field("topic", t.topic).Field("status", StatusName(t.status));
    w.Key("tiers").BeginArray();
    for (const auto& tier : t.tiers) w.String(tier);
    w.EndArray();
    w.Field("lastWindow", t.latest_window_sec).Field("lastFinalWindow", t.last_final_window_sec);
    w.Key("pairs").BeginArray();
    for (const auto& p : t.pairs) {
      w.BeginObject()
          .Field("source", p.source)
          .Field("target", p.target)
          .Field("lost", p.lost)
          .Field("duplicated", p.duplicated)
          .Field("digestMismatch", p.digest_mismatch)
          .Field("finalWindows", p.final_windows)
          .Field("unknownWindows", p.unknown_windows)
          .EndObject();
    }
    w.EndArray();
    w.Key("p99ByTier").BeginObject();
    for (const auto& [tier, p99] : t.p99_by_tier) w.Field(tier, p99);
    w.EndObject();
    w.Field("lastUpdatedMs", t.last_updated_ms);
    auto f = firing.find(t.topic);
    w.Key("alerts").BeginObject();
    w.Field("firing", f == firing.end() ? int64_t{0} : f->second.count);
    w.Field("severity", f == firing.end() ? std::optional<std::string>() : f->second.severity);
    w.EndObject().EndObject();
  }
  w.EndArray().EndObject();
  WriteJson(res, w);
}

// ---------------------------------------------------------------------------
// GET /api/v1/topics/{topic}/series

void Api::Series(const Ctx& c, const std::string& topic, HttpResponse& res) {
  if (auto s = ValidateTopic(topic); !s.ok()) return Error(res, s);
  if (auto s = c.q.OnlyAllow({"from", "to", "tier", "groupBy"}); !s.ok()) return Error(res, s);
  std::vector<std::string> tiers;
  for (auto& t : c.q.GetAll("tier")) {
    if (auto s = ValidateTier(t, "tier"); !s.ok()) return Error(res, s);
    if (std::find(tiers.begin(), tiers.end(), t) == tiers.end()) tiers.push_back(std::move(t));
  }
  auto group = c.q.Get("groupBy");
  if (!group.ok()) return Error(res, group.status());
  bool by_dc = false;
  if (group->has_value()) {
    if (**group == "tier,datacenter") {
      by_dc = true;
    } else if (**group != "tier") {
      return Error(res, Status::InvalidArgument("groupBy: expected 'tier' or 'tier,datacenter'"));
    }
  }
  auto range = ParseTimeRange(c.q, c.now_ms / 1000);
  if (!range.ok()) return Error(res, range.status());

  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  std::optional<std::string> tier_filter;
  if (tiers.size() == 1) tier_filter = tiers[0];
  auto rows = (*lease)->QueryWindows(topic, tier_filter, range->from_sec, range->to_sec);
  if (!rows.ok()) return StoreError(res, rows.status(), &*lease);
  if (tiers.size() > 1) {
    std::erase_if(
        *rows, [&](const store::WindowRow& r) { return std::find(tiers.begin(), tiers.end(), r.tier) == tiers.end(); });
  }
  if (rows->empty()) {
    auto exists = catalog_.Exists(**lease, topic);
    if (!exists.ok()) return StoreError(res, exists.status(), &*lease);
    if (!*exists) return Error(res, Status::NotFound("unknown topic '" + topic + "'"));
  }
  auto emitters = (*lease)->QueryEmitters(std::nullopt);
  if (!emitters.ok()) return StoreError(res, emitters.status(), &*lease);

  std::vector<analysis::Series> series = BuildSeries(*rows, by_dc, opts_.tier_order);
  Finality all_dcs(*emitters, c.now_ms, finality_options());
  std::map<std::string, Finality> per_dc;  // by datacenter, built on demand
  JsonWriter w;
  w.BeginObject().Field("topic", topic).Field("windowSec", InferWindowSec(*rows, opts_.window_sec));
  WriteRange(w, *range);
  w.Field("groupBy", by_dc ? "tier,datacenter" : "tier");
  w.Key("series").BeginArray();
  for (const auto& s : series) {
    const Finality* fin = &all_dcs;
    if (s.datacenter) {
      auto it = per_dc.find(*s.datacenter);
      if (it == per_dc.end()) {
        it = per_dc.emplace(*s.datacenter, Finality(*emitters, c.now_ms, finality_options(), {*s.datacenter})).first;
      }
      fin = &it->second;
    }
    int64_t final_before_ms = fin->FinalBeforeMs(s.tier);
    w.BeginObject().Field("tier", s.tier).Field("datacenter", s.datacenter);
    w.Key("points").BeginArray();
    for (const auto& p : s.points) WritePoint(w, p, p.window_end_sec * 1000 <= final_before_ms);
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  WriteJson(res, w);
}

// ---------------------------------------------------------------------------
// GET /api/v1/topics/{topic}/loss

void Api::Loss(const Ctx& c, const std::string& topic, HttpResponse& res) {
  if (auto s = ValidateTopic(topic); !s.ok()) return Error(res, s);
  if (auto s = c.q.OnlyAllow({"source", "target", "from", "to", "sourceDatacenters", "targetDatacenters"}); !s.ok()) {
    return Error(res, s);
  }
  LossQuery lq;
  auto source = RequiredTier(c.q, "source");
  if (!source.ok()) return Error(res, source.status());
  auto target = RequiredTier(c.q, "target");
  if (!target.ok()) return Error(res, target.status());
  lq.source = *source;
  lq.target = *target;
  if (lq.source == lq.target) return Error(res, Status::InvalidArgument("source and target must be different tiers"));
  auto sdc = ParseDatacenters(c.q, "sourceDatacenters");
  if (!sdc.ok()) return Error(res, sdc.status());
  auto tdc = ParseDatacenters(c.q, "targetDatacenters");
  if (!tdc.ok()) return Error(res, tdc.status());
  lq.source_datacenters = *sdc;
  lq.target_datacenters = *tdc;
  auto range = ParseTimeRange(c.q, c.now_ms / 1000);
  if (!range.ok()) return Error(res, range.status());

  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  auto rows = (*lease)->QueryWindows(topic, lq.source, range->from_sec, range->to_sec);
  if (!rows.ok()) return StoreError(res, rows.status(), &*lease);
  auto target_rows = (*lease)->QueryWindows(topic, lq.target, range->from_sec, range->to_sec);
  if (!target_rows.ok()) return StoreError(res, target_rows.status(), &*lease);
  rows->insert(rows->end(), std::make_move_iterator(target_rows->begin()), std::make_move_iterator(target_rows->end()));
  if (rows->empty()) {
    auto exists = catalog_.Exists(**lease, topic);
    if (!exists.ok()) return StoreError(res, exists.status(), &*lease);
    if (!*exists) return Error(res, Status::NotFound("unknown topic '" + topic + "'"));
  }
  auto emitters = (*lease)->QueryEmitters(std::nullopt);
  if (!emitters.ok()) return StoreError(res, emitters.status(), &*lease);
  Finality source_fin(*emitters, c.now_ms, finality_options(), lq.source_datacenters);
  Finality target_fin(*emitters, c.now_ms, finality_options(), lq.target_datacenters);
  std::vector<LossWindow> windows = ComputeLoss(*rows, lq, source_fin, target_fin);

  int64_t final_windows = 0, lost = 0, duplicated = 0, mismatches = 0;
  for (const auto& lw : windows) {
    if (!lw.final) continue;
    ++final_windows;
    lost += lw.lost;
    duplicated += lw.duplicated;
    if (lw.source_count == lw.target_count && lw.digest_match == false) ++mismatches;
  }
  JsonWriter w;
  w.BeginObject().Field("topic", topic).Field("source", lq.source).Field("target", lq.target);
  WriteRange(w, *range);
  auto write_dcs = [&](const char* key, const std::vector<std::string>& dcs) {
    w.Key(key);
    if (dcs.empty()) {
      w.Null();
      return;
    }
    w.BeginArray();
    for (const auto& dc : dcs) w.String(dc);
    w.EndArray();
  };
  write_dcs("sourceDatacenters", lq.source_datacenters);
  write_dcs("targetDatacenters", lq.target_datacenters);
  w.Key("summary")
      .BeginObject()
      .Field("finalWindows", final_windows)
      .Field("lost", lost)
      .Field("duplicated", duplicated)
      .Field("digestMismatches", mismatches)
      .EndObject();
  w.Key("windows").BeginArray();
  for (const auto& lw : windows) {
    w.BeginObject()
        .Field("window", lw.window_begin_sec)
        .Field("sourceCount", lw.source_count)
        .Field("targetCount", lw.target_count)
        .Field("lost", lw.lost)
        .Field("duplicated", lw.duplicated)
        .Field("lossRatio", lw.loss_ratio)
        .Field("digestMatch", lw.digest_match)
        .Field("final", lw.final)
        .EndObject();
  }
  w.EndArray().EndObject();
  WriteJson(res, w);
}

// ---------------------------------------------------------------------------
// GET /api/v1/topics/{topic}/windows/{window}/partitions

void Api::Partitions(const Ctx& c, const std::string& topic, const std::string& window, HttpResponse& res) {
  if (auto s = ValidateTopic(topic); !s.ok()) return Error(res, s);
  if (auto s = c.q.OnlyAllow({"tier"}); !s.ok()) return Error(res, s);
  auto tier = RequiredTier(c.q, "tier");
  if (!tier.ok()) return Error(res, tier.status());
  auto window_sec = ParseTimeSec(window);
  if (!window_sec.ok()) return Error(res, Status::InvalidArgument("window: " + window_sec.status().message()));

  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  auto rows = (*lease)->QueryPartitions(topic, *tier, *window_sec);
  if (!rows.ok()) return StoreError(res, rows.status(), &*lease);
  if (rows->empty()) {
    auto exists = catalog_.Exists(**lease, topic);
    if (!exists.ok()) return StoreError(res, exists.status(), &*lease);
    if (!*exists) return Error(res, Status::NotFound("unknown topic '" + topic + "'"));
  }
  // Offsets only compare within one cluster: one entry per (partition,
  // datacenter, cluster), several stored rows of it merged.
  auto key = [](const store::PartitionRow& r) { return std::tie(r.partition, r.datacenter, r.cluster); };
  std::sort(rows->begin(), rows->end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  std::vector<store::PartitionRow> merged;
  for (const auto& r : *rows) {
    if (!merged.empty() && key(merged.back()) == key(r)) {
      auto& m = merged.back();
      m.count += r.count;
      m.overlap += r.overlap;
      if (r.first_offset >= 0)
        m.first_offset = m.first_offset < 0 ? r.first_offset : std::min(m.first_offset, r.first_offset);
      m.last_offset = std::max(m.last_offset, r.last_offset);
    } else {
      merged.push_back(r);
    }
  }
  JsonWriter w;
  w.BeginObject().Field("topic", topic).Field("tier", *tier).Field("window", *window_sec);
  w.Key("partitions").BeginArray();
  for (const auto& p : merged) {
    w.BeginObject()
        .Field("partition", static_cast<int64_t>(p.partition))
        .Field("datacenter", p.datacenter)
        .Field("cluster", p.cluster)
        .Field("count", p.count)
        .Field("firstOffset", p.first_offset)
        .Field("lastOffset", p.last_offset)
        .Field("overlap", p.overlap)
        .EndObject();
  }
  w.EndArray().EndObject();
  WriteJson(res, w);
}

// ---------------------------------------------------------------------------
// GET /api/v1/topics/{topic}/windows/{window}/diff (web/window_diff.h)

void Api::Diff(const Ctx& c, const std::string& topic, const std::string& window, HttpResponse& res) {
  if (auto s = ValidateTopic(topic); !s.ok()) return Error(res, s);
  if (auto s = c.q.OnlyAllow({"source", "target", "datacenter", "limit"}); !s.ok()) return Error(res, s);
  WindowDiffQuery q;
  q.topic = topic;
  auto source = RequiredTier(c.q, "source");
  if (!source.ok()) return Error(res, source.status());
  auto target = RequiredTier(c.q, "target");
  if (!target.ok()) return Error(res, target.status());
  if (*source == *target) return Error(res, Status::InvalidArgument("source and target: the same tier"));
  q.source = std::move(*source);
  q.target = std::move(*target);
  auto dc = c.q.Get("datacenter");
  if (!dc.ok()) return Error(res, dc.status());
  if (dc->has_value()) {
    if (!IsValidDatacenterName(**dc)) return Error(res, Status::InvalidArgument("datacenter: empty or invalid name"));
    q.datacenter = **dc;
  }
  auto limit = ParseIntParam(c.q, "limit", kDiffDefaultLimit, 0, kDiffMaxLimit);
  if (!limit.ok()) return Error(res, limit.status());
  q.limit = *limit;
  auto window_sec = ParseTimeSec(window);
  if (!window_sec.ok()) return Error(res, Status::InvalidArgument("window: " + window_sec.status().message()));
  q.window_sec = *window_sec;

  if (!differ_.configured()) {
    return WriteError(res, 503, "not_configured",
                      "the diff reads the messages from the Kafka clusters the audit names, and this server has none "
                      "configured: add them under `clusters:` in its configuration file (docs/api.md)");
  }
  auto slot = differ_.TryAcquire();
  if (!slot) {
    res.headers.emplace_back("Retry-After", std::to_string(kDiffRetryAfterSec));
    return WriteError(res, 503, "busy",
                      fmt::format("{} diffs are running, as many as this server runs at once (web.diff_concurrency): "
                                  "retry in a few seconds",
                                  differ_.options().max_concurrent));
  }
  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  auto exists = catalog_.Exists(**lease, topic);
  if (!exists.ok()) return StoreError(res, exists.status(), &*lease);
  if (!*exists) return Error(res, Status::NotFound("unknown topic '" + topic + "'"));
  WindowDiffResult r = differ_.Run(**lease, q);
  switch (r.failure) {
    case DiffFailure::kNone:
      if (!r.status.ok()) return Error(res, r.status);
      res.status = 200;
      res.content_type = "application/json";
      res.body = std::move(r.body);
      return;
    case DiffFailure::kStore:
      return StoreError(res, r.status, &*lease);
    case DiffFailure::kNotConfigured:
      return WriteError(res, 503, "not_configured", r.status.message());
    case DiffFailure::kKafka:
      spdlog::warn("web: diff of {} window {}: {}", topic, q.window_sec, r.status.ToString());
      return WriteError(res, 502, "kafka_unavailable", "a Kafka cluster cannot be read: " + r.status.message());
    case DiffFailure::kTimeout:
      return WriteError(res, 504, "timeout", r.status.message());
  }
}

// ---------------------------------------------------------------------------
// GET /api/v1/emitters

void Api::Emitters(const Ctx& c, HttpResponse& res) {
  if (auto s = c.q.OnlyAllow({"tier"}); !s.ok()) return Error(res, s);
  auto tier = c.q.Get("tier");
  if (!tier.ok()) return Error(res, tier.status());
  if (tier->has_value()) {
    if (auto s = ValidateTier(**tier, "tier"); !s.ok()) return Error(res, s);
  }
  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  auto emitters = (*lease)->QueryEmitters(*tier);
  if (!emitters.ok()) return StoreError(res, emitters.status(), &*lease);
  std::sort(emitters->begin(), emitters->end(), [&](const store::EmitterRow& a, const store::EmitterRow& b) {
    if (a.tier != b.tier) return opts_.tier_order.Less(a.tier, b.tier);
    return std::tie(a.datacenter, a.cluster, a.emitter_id) < std::tie(b.datacenter, b.cluster, b.emitter_id);
  });
  FinalityOptions fopts = finality_options();
  int64_t stale_count = 0;
  JsonWriter w;
  w.BeginObject().Field("staleAfterMs", fopts.stale_after_ms);
  w.Key("emitters").BeginArray();
  for (const auto& e : *emitters) {
    bool stale = IsStale(e, c.now_ms, fopts);
    stale_count += stale;
    w.BeginObject()
        .Field("emitterId", e.emitter_id)
        .Field("tier", e.tier)
        .Field("datacenter", e.datacenter)
        .Field("cluster", e.cluster)
        .Field("hostname", e.hostname)
        .Field("lastSeq", e.last_seq)
        .Field("missingRecords", e.missing_records)
        .Field("watermarkMs", e.watermark_ms)
        .Field("windowSec", e.window_sec)
        .Field("lastSeenMs", e.last_seen_ms)
        .Field("stale", stale)
        .Field("droppedRecords", e.dropped_records)
        .Field("failedDeliveries", e.failed_deliveries)
        .Field("droppedObservations", e.dropped_observations)
        .Field("skippedOffsets", e.skipped_offsets)
        .EndObject();
  }
  w.EndArray().Field("stale", stale_count).EndObject();
  WriteJson(res, w);
}

// ---------------------------------------------------------------------------
// GET /api/v1/finality

void Api::FinalityReport(const Ctx& c, HttpResponse& res) {
  if (auto s = c.q.OnlyAllow({"topic", "from", "to"}); !s.ok()) return Error(res, s);
  auto topic = c.q.Get("topic");
  if (!topic.ok()) return Error(res, topic.status());
  if (!topic->has_value()) return Error(res, Status::InvalidArgument("parameter 'topic' is required"));
  if (auto s = ValidateTopic(**topic); !s.ok()) return Error(res, s);
  auto range = ParseTimeRange(c.q, c.now_ms / 1000);
  if (!range.ok()) return Error(res, range.status());

  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  auto rows = (*lease)->QueryWindows(**topic, std::nullopt, range->from_sec, range->to_sec);
  if (!rows.ok()) return StoreError(res, rows.status(), &*lease);
  if (rows->empty()) {
    auto exists = catalog_.Exists(**lease, **topic);
    if (!exists.ok()) return StoreError(res, exists.status(), &*lease);
    if (!*exists) return Error(res, Status::NotFound("unknown topic '" + **topic + "'"));
  }
  auto emitters = (*lease)->QueryEmitters(std::nullopt);
  if (!emitters.ok()) return StoreError(res, emitters.status(), &*lease);
  Finality fin(*emitters, c.now_ms, finality_options());
  std::vector<analysis::Series> series = BuildSeries(*rows, /*by_datacenter=*/false, opts_.tier_order);

  JsonWriter w;
  w.BeginObject().Field("topic", **topic);
  WriteRange(w, *range);
  w.Field("graceSec", opts_.grace_sec).Field("nowMs", c.now_ms);
  w.Key("tiers").BeginArray();
  for (const auto& s : series) {
    const TierFinality* tf = fin.Find(s.tier);
    int64_t final_before_ms = fin.FinalBeforeMs(s.tier);
    std::optional<int64_t> last_final;
    std::vector<int64_t> open;
    for (const auto& p : s.points) {
      if (p.window_end_sec * 1000 <= final_before_ms) {
        last_final = p.window_begin_sec;
      } else {
        open.push_back(p.window_begin_sec);
      }
    }
    w.BeginObject().Field("tier", s.tier);
    bool heartbeat = tf && tf->watermark_ms;
    w.Field("basis", heartbeat ? "heartbeat" : "wall_clock");
    w.Field("watermarkMs", heartbeat ? tf->watermark_ms : std::optional<int64_t>());
    w.Field("finalBeforeMs", final_before_ms);
    w.Field("emitters", static_cast<int64_t>(tf ? tf->emitters : 0));
    w.Field("staleEmitters", static_cast<int64_t>(tf ? tf->stale_emitters : 0));
    w.Field("lastFinalWindow", last_final);
    w.Key("openWindows").BeginArray();
    for (int64_t o : open) w.Int(o);
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  WriteJson(res, w);
}

// ---------------------------------------------------------------------------
// GET /api/v1/quarantine

void Api::Quarantine(const Ctx& c, HttpResponse& res) {
  if (auto s = c.q.OnlyAllow({"limit"}); !s.ok()) return Error(res, s);
  auto limit = ParseIntParam(c.q, "limit", 100, 1, 1000);
  if (!limit.ok()) return Error(res, limit.status());
  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  auto rows = (*lease)->QueryQuarantine(static_cast<int>(*limit));
  if (!rows.ok()) return StoreError(res, rows.status(), &*lease);
  auto total = (*lease)->QuarantineCount();
  if (!total.ok()) return StoreError(res, total.status(), &*lease);
  JsonWriter w;
  w.BeginObject().Field("total", *total);
  w.Key("records").BeginArray();
  for (const auto& r : *rows) {
    w.BeginObject()
        .Field("id", r.id)
        .Field("receivedMs", r.received_ms)
        .Field("reason", r.reason)
        .Field("source", r.source)
        .Field("raw", r.raw)
        .EndObject();
  }
  w.EndArray().EndObject();
  WriteJson(res, w);
}

// ---------------------------------------------------------------------------
// GET /api/v1/alerts

void Api::Alerts(const Ctx& c, HttpResponse& res) {
  if (auto s = c.q.OnlyAllow({"state", "topic", "limit", "before", "since"}); !s.ok()) return Error(res, s);
  store::AlertQuery aq;
  auto state = c.q.Get("state");
  if (!state.ok()) return Error(res, state.status());
  if (state->has_value()) {
    if (**state != "firing" && **state != "resolved") {
      return Error(res, Status::InvalidArgument("state: expected 'firing' or 'resolved'"));
    }
    aq.state = **state;
  }
  auto topic = c.q.Get("topic");
  if (!topic.ok()) return Error(res, topic.status());
  if (topic->has_value()) {
    if (auto s = ValidateTopic(**topic); !s.ok()) return Error(res, s);
    aq.topic = **topic;
  }
  auto limit = ParseIntParam(c.q, "limit", 100, 1, 1000);
  if (!limit.ok()) return Error(res, limit.status());
  auto before = ParseIntParam(c.q, "before", 0, 1, std::numeric_limits<int64_t>::max());
  if (!before.ok()) return Error(res, before.status());
  aq.before_id = *before;
  auto since = c.q.Get("since");
  if (!since.ok()) return Error(res, since.status());
  if (since->has_value()) {
    auto ms = ParseTimeMs(**since);
    if (!ms.ok()) return Error(res, Status::InvalidArgument("since: " + ms.status().message()));
    aq.updated_since_ms = *ms;
  }
  aq.limit = static_cast<int>(*limit) + 1;  // one more: is there a next page?

  auto lease = stores_.Acquire();
  if (!lease.ok()) return StoreError(res, lease.status(), nullptr);
  auto alerts = (*lease)->QueryAlerts(aq);
  if (!alerts.ok()) return StoreError(res, alerts.status(), &*lease);
  std::optional<int64_t> next_before;
  if (static_cast<int64_t>(alerts->size()) > *limit) {
    alerts->resize(static_cast<size_t>(*limit));
    next_before = alerts->back().id;
  }
  JsonWriter w;
  w.BeginObject().Key("alerts").BeginArray();
  for (const auto& a : *alerts) WriteAlert(w, a, opts_.window_sec);
  w.EndArray().Field("nextBefore", next_before).EndObject();
  WriteJson(res, w);
}

// ---------------------------------------------------------------------------
// GET /health (served by the endpoint; /metrics renders WebMetrics there)

http::HealthVerdict Api::Health() {
  auto lease = stores_.Acquire();
  Status failure;
  std::string backend = stores_.backend();
  int schema_version = 0;
  if (!lease.ok()) {
    failure = lease.status();
  } else {
    backend = (*lease)->backend();
    schema_version = (*lease)->schema_version();
    Status probe = (*lease)->Ping();
    if (!probe.ok()) {
      failure = probe;
      if (failure.code() == Status::Code::kUnavailable) lease->Discard();
    }
  }
  http::HealthVerdict v;
  v.details["store"] = backend;
  if (failure.ok()) {
    v.status = "ok";
    v.details["schemaVersion"] = schema_version;
  } else {
    metrics_.RecordStoreError();
    v.state = http::HealthVerdict::State::kFailing;
    v.status = "unavailable";
    v.details["error"] = failure.message();
    v.reasons.push_back("the store cannot be read: " + failure.message());
  }
  return v;
}

// ---------------------------------------------------------------------------
// The dashboard: GET /, /assets/*, and the single-page app's own routes

void Api::Dashboard(const HttpRequest& req, HttpResponse& res) {
  std::string_view path = req.path;
  auto serve = [&](const Asset& a, const char* cache_control) {
    res.status = 200;
    res.content_type = std::string(a.content_type);
    res.body = std::string(a.content);
    res.headers.emplace_back("Cache-Control", cache_control);
  };
  auto not_built = [&] {
    WriteError(res, 404, "not_found",
               "the dashboard was not built into this binary (build web/dashboard, then rebuild chaperone); "
               "the API is at /api/v1/");
  };
  auto not_found = [&] {
    WriteError(res, 404, "not_found", fmt::format("no such file: {}", std::string(path.substr(0, 200))));
  };
  // Bundle paths are plain: anything that looks like traversal or encoding
  // tricks is simply not there.
  bool suspicious =
      path.empty() || path[0] != '/' || path.find("..") != std::string_view::npos ||
      path.find('\\') != std::string_view::npos || path.find("//") != std::string_view::npos ||
      std::any_of(path.begin(), path.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
  if (suspicious) return not_found();
  if (path == "/" || path == "/index.html") {
    auto index = assets_.Lookup("/index.html");
    if (!index) return not_built();
    return serve(*index, "no-cache");
  }
  if (path.starts_with("/assets/")) {
    auto a = assets_.Lookup(path);
    if (!a) return not_found();
    return serve(*a, "public, max-age=31536000, immutable");  // file names carry a content hash
  }
  if (auto a = assets_.Lookup(path)) return serve(*a, "public, max-age=3600");
  // A client-side route (no file extension): the app's index.html.
  std::string_view last = path.substr(path.rfind('/') + 1);
  if (last.find('.') == std::string_view::npos) {
    auto index = assets_.Lookup("/index.html");
    if (!index) return not_built();
    return serve(*index, "no-cache");
  }
  not_found();
}

}  // namespace chaperone::web
