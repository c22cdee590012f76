#include "store/store.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "common/secrets.h"
#include "common/store_url.h"
#include "store/dialect.h"
#include "store/schema.h"

namespace chaperone::store {
namespace {

Result<std::unique_ptr<internal::Dialect>> OpenDialect(const std::string& url, OpenMode mode) {
  auto parsed = common::ParseStoreUrl(url);
  if (!parsed.ok()) return Status::InvalidArgument("store: " + parsed.status().message());
  using Kind = common::StoreUrl::Kind;
  return parsed->kind == Kind::kPostgres ? internal::OpenPostgres(url)
         : parsed->kind == Kind::kMysql  ? internal::OpenMysql(url)
                                         : internal::OpenSqlite(parsed->sqlite_path, mode);
}

// Whether the database holds the schema's bookkeeping table (changes nothing).
Result<bool> HasSchema(internal::Dialect& db) {
  bool has_table = false;
  Status s = db.Run(db.TableExistsSql(), {std::string("schema_migrations")}, [&](const internal::Row&) {
    has_table = true;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return has_table;
}

// An in-memory SQLite database, in any spelling of its URL: empty whenever it
// is opened, so a reader opens it as it is.
bool InMemory(const std::string& url) {
  auto parsed = common::ParseStoreUrl(url);
  return parsed.ok() && parsed->kind == common::StoreUrl::Kind::kSqlite && parsed->sqlite_path == ":memory:";
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, OpenMode mode) {
  auto dialect = OpenDialect(url, mode);
  if (!dialect.ok()) return dialect.status();
  if (mode == OpenMode::kMustExist && !InMemory(url)) {
    // A reader never creates a store, not even in an existing empty file or
    // database: a mistyped database name would show a healthy, empty dashboard.
    auto has = HasSchema(**dialect);
    if (!has.ok()) return has.status();
    if (!*has)
      return Status::NotFound("store: " + common::RedactUrl(url) +
                              " holds no Chaperone store (no schema_migrations table; the collector creates it)");
  }
  return internal::OpenSqlStore(std::move(*dialect));
}

Result<SchemaState> Store::InspectSchema(const std::string& url) {
  auto dialect = OpenDialect(url, OpenMode::kMustExist);
  if (!dialect.ok()) return dialect.status();
  internal::Dialect& db = **dialect;
  SchemaState st;
  st.backend = db.name();
  st.latest = internal::LatestSchemaVersion();
  auto has_table = HasSchema(db);
  if (!has_table.ok()) return has_table.status();
  if (*has_table) {
    Status s = db.Run("SELECT version, applied_ms, description FROM schema_migrations ORDER BY version", {},
                      [&](const internal::Row& r) {
                        SchemaMigration m;
                        m.version = static_cast<int>(r.Int(0));
                        m.applied_ms = r.Int(1);
                        m.description = r.Text(2);
                        st.current = std::max(st.current, m.version);
                        st.migrations.push_back(std::move(m));
                        return Status::Ok();
                      });
    if (!s.ok()) return s;
  }
  for (const internal::Migration& m : internal::Migrations())
    if (m.version > st.current) st.migrations.push_back({m.version, m.description, -1});
  return st;
}

std::vector<TopicDay> SummarizeWindows(const std::vector<WindowRow>& rows) {
  std::map<std::tuple<std::string, std::string, int64_t>, TopicDay> days;
  for (const WindowRow& r : rows) {
    int64_t day = internal::DayOf(r.window_begin_sec);
    auto [it, fresh] = days.try_emplace({r.topic, r.tier, day});
    TopicDay& d = it->second;
    if (fresh) {
      d.topic = r.topic;
      d.tier = r.tier;
      d.day_sec = day;
      d.first_window_sec = d.last_window_sec = r.window_begin_sec;
    }
    ++d.windows;
    d.first_window_sec = std::min(d.first_window_sec, r.window_begin_sec);
    d.last_window_sec = std::max(d.last_window_sec, r.window_begin_sec);
    d.count += r.count;
    d.records += r.records;
    d.last_updated_ms = std::max(d.last_updated_ms, r.updated_ms);
  }
  std::vector<TopicDay> out;
  out.reserve(days.size());
  for (auto& [key, d] : days) out.push_back(std::move(d));
  return out;
}

bool HasLatency(const WindowRow& r) {
  return !r.latency_sketch.empty() || r.latency_upper_bound || r.latency_max > 0 || r.latency_mean > 0 ||
         r.latency_p99 > 0 || r.latency_p95 > 0 || r.latency_p50 > 0;
}

void MergeSpans(std::vector<std::pair<int64_t, int64_t>>& spans, size_t max_spans) {
  std::erase_if(spans, [](const auto& s) { return s.second < s.first; });
  std::sort(spans.begin(), spans.end());
  size_t n = 0;  // spans[0, n) are merged
  for (const auto& s : spans) {
    if (n > 0 && s.first <= spans[n - 1].second) {
      spans[n - 1].second = std::max(spans[n - 1].second, s.second);
    } else {
      spans[n++] = s;
    }
  }
  spans.resize(n);
  if (max_spans > 0 && n > max_spans) {
    // The oldest n - max_spans + 1 become one.
    const size_t k = n - max_spans;
    spans[0].second = spans[k].second;
    spans.erase(spans.begin() + 1, spans.begin() + static_cast<std::ptrdiff_t>(k) + 1);
  }
}

std::vector<TierTotals> TotalWindows(const std::vector<WindowRow>& rows) {
  std::map<std::pair<std::string_view, std::string_view>, std::map<int64_t, WindowTotal>> tiers;
  for (const WindowRow& r : rows) {
    WindowTotal& t = tiers[{r.topic, r.tier}][r.window_begin_sec];
    t.window_begin_sec = r.window_begin_sec;
    t.window_end_sec = std::max(t.window_end_sec, r.window_end_sec);
    t.count += r.count;
    t.digest += r.digest;
    t.unknown_digests += r.digest_known ? 0 : 1;
    t.updated_ms = std::max(t.updated_ms, r.updated_ms);
    if (++t.rows == 1) {
      t.latency = HasLatency(r) ? WindowTotal::Latency::kOne : WindowTotal::Latency::kNone;
      t.p99 = HasLatency(r) ? r.latency_p99 : 0;
    } else {
      t.latency = WindowTotal::Latency::kRows;
      t.p99 = 0;
    }
  }
  std::vector<TierTotals> out;
  out.reserve(tiers.size());
  for (auto& [key, windows] : tiers) {
    TierTotals& t = out.emplace_back(TierTotals{std::string(key.first), std::string(key.second), {}});
    t.windows.reserve(windows.size());
    for (auto& [begin, w] : windows) t.windows.push_back(w);
  }
  return out;
}

std::vector<TopicSummary> ListFromSummary(const std::vector<TopicDay>& days) {
  std::vector<TopicSummary> out;
  for (const TopicDay& d : days) {
    if (out.empty() || out.back().topic != d.topic) {
      out.push_back({d.topic, {}, d.first_window_sec, d.last_window_sec, d.last_updated_ms});
    } else {
      TopicSummary& t = out.back();
      t.first_window_sec = std::min(t.first_window_sec, d.first_window_sec);
      t.last_window_sec = std::max(t.last_window_sec, d.last_window_sec);
      t.last_updated_ms = std::max(t.last_updated_ms, d.last_updated_ms);
    }
    if (out.back().tiers.empty() || out.back().tiers.back() != d.tier) out.back().tiers.push_back(d.tier);
  }
  return out;
}

}  // namespace chaperone::store
