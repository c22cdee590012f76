#include "store/store.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "common/store_url.h"
#include "store/dialect.h"
#include "store/schema.h"

namespace chaperone::store {

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, OpenMode mode) {
  auto parsed = common::ParseStoreUrl(url);
  if (!parsed.ok()) return Status::InvalidArgument("store: " + parsed.status().message());
  using Kind = common::StoreUrl::Kind;
  auto dialect = parsed->kind == Kind::kPostgres ? internal::OpenPostgres(url)
                 : parsed->kind == Kind::kMysql  ? internal::OpenMysql(url)
                                                 : internal::OpenSqlite(parsed->sqlite_path, mode);
  if (!dialect.ok()) return dialect.status();
  return internal::OpenSqlStore(std::move(*dialect));
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
