#include "support/fake_store.h"

#include <algorithm>
#include <map>

namespace chaperone::testing {

Status FakeStore::CheckRead() {
  ++reads_;
  return fail_;
}

void FakeStore::FailReads(Status s) {
  std::lock_guard lock(mu_);
  fail_ = std::move(s);
}

void FakeStore::AddWindow(store::WindowRow r) {
  std::lock_guard lock(mu_);
  windows_.push_back(std::move(r));
}
void FakeStore::AddPartition(store::PartitionRow r) {
  std::lock_guard lock(mu_);
  partitions_.push_back(std::move(r));
}
void FakeStore::AddEmitter(store::EmitterRow e) {
  std::lock_guard lock(mu_);
  emitters_.push_back(std::move(e));
}
void FakeStore::AddQuarantine(store::QuarantineRow q) {
  std::lock_guard lock(mu_);
  quarantine_.push_back(std::move(q));
}
void FakeStore::Clear() {
  std::lock_guard lock(mu_);
  windows_.clear();
  partitions_.clear();
  emitters_.clear();
  quarantine_.clear();
}

Result<std::vector<store::TopicSummary>> FakeStore::ListTopics() {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  return store::ListFromSummary(store::SummarizeWindows(windows_));
}

Result<std::vector<store::TopicDay>> FakeStore::QueryTopicSummary(
    int64_t from_sec, int64_t to_sec, const std::optional<std::pair<std::string, std::string>>& topics) {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  std::vector<store::TopicDay> days = store::SummarizeWindows(windows_);
  std::erase_if(days, [&](const store::TopicDay& d) {
    return d.day_sec + 86400 <= from_sec || d.day_sec >= to_sec ||
           (topics && (d.topic < topics->first || d.topic > topics->second));
  });
  return days;
}

Result<std::vector<store::TierTotals>> FakeStore::QueryWindowTotals(int64_t from_sec, int64_t to_sec,
                                                                   std::span<const std::string> topics) {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  std::vector<store::TierTotals> totals = store::TotalWindows(windows_);
  for (auto& t : totals) {
    std::erase_if(t.windows, [&](const store::WindowTotal& w) {
      return w.window_begin_sec < from_sec || w.window_begin_sec >= to_sec ||
             (!topics.empty() && std::find(topics.begin(), topics.end(), t.topic) == topics.end());
    });
  }
  std::erase_if(totals, [](const store::TierTotals& t) { return t.windows.empty(); });
  return totals;
}

Result<std::vector<store::WindowRow>> FakeStore::QueryWindows(const std::string& topic,
                                                              const std::optional<std::string>& tier, int64_t from_sec,
                                                              int64_t to_sec) {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  std::vector<store::WindowRow> out;
  for (const auto& r : windows_) {
    if (r.topic == topic && (!tier || r.tier == *tier) && r.window_begin_sec >= from_sec &&
        r.window_begin_sec < to_sec) {
      out.push_back(r);
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.window_begin_sec, a.tier, a.datacenter, a.cluster) <
           std::tie(b.window_begin_sec, b.tier, b.datacenter, b.cluster);
  });
  return out;
}

Result<std::vector<store::WindowRow>> FakeStore::QueryAllWindows(int64_t from_sec, int64_t to_sec) {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  std::vector<store::WindowRow> out;
  for (const auto& r : windows_) {
    if (r.window_begin_sec >= from_sec && r.window_begin_sec < to_sec) out.push_back(r);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.topic, a.window_begin_sec, a.tier, a.datacenter, a.cluster) <
           std::tie(b.topic, b.window_begin_sec, b.tier, b.datacenter, b.cluster);
  });
  return out;
}

Result<std::vector<store::PartitionRow>> FakeStore::QueryPartitions(const std::string& topic, const std::string& tier,
                                                                    int64_t window_begin_sec) {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  std::vector<store::PartitionRow> out;
  for (const auto& r : partitions_) {
    if (r.topic == topic && r.tier == tier && r.window_begin_sec == window_begin_sec) out.push_back(r);
  }
  return out;
}

Result<std::vector<store::EmitterRow>> FakeStore::QueryEmitters(const std::optional<std::string>& tier) {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  std::vector<store::EmitterRow> out;
  for (const auto& e : emitters_) {
    if (!tier || e.tier == *tier) out.push_back(e);
  }
  return out;
}

Result<std::vector<store::QuarantineRow>> FakeStore::QueryQuarantine(int limit) {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  std::vector<store::QuarantineRow> out(quarantine_.rbegin(), quarantine_.rend());  // newest first
  if (static_cast<int>(out.size()) > limit) out.resize(limit);
  return out;
}

Result<int64_t> FakeStore::QuarantineCount() {
  std::lock_guard lock(mu_);
  if (auto s = CheckRead(); !s.ok()) return s;
  return static_cast<int64_t>(quarantine_.size());
}

void FakeStore::AddAlert(store::AlertRow a) {
  std::lock_guard lock(mu_);
  if (a.id == 0) a.id = static_cast<int64_t>(alerts_.size()) + 1;
  alerts_.push_back(std::move(a));
}

Result<std::vector<store::AlertRow>> FakeStore::QueryAlerts(const store::AlertQuery& q) {
  std::lock_guard lock(mu_);
  ++alert_queries_;
  if (Status s = CheckRead(); !s.ok()) return s;
  std::vector<store::AlertRow> out;
  for (const store::AlertRow& a : alerts_) {
    if ((q.state && a.state != *q.state) || (q.topic && a.topic != *q.topic) || (q.before_id > 0 && a.id >= q.before_id) ||
        a.updated_ms < q.updated_since_ms ||
        (!q.ids.empty() && std::find(q.ids.begin(), q.ids.end(), a.id) == q.ids.end())) {
      continue;
    }
    out.push_back(a);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  if (out.size() > static_cast<size_t>(std::max(0, q.limit))) out.resize(static_cast<size_t>(std::max(0, q.limit)));
  return out;
}

Status FakeStore::ApplyRetention(int64_t before_sec) {
  std::lock_guard lock(mu_);
  std::erase_if(windows_, [&](const auto& r) { return r.window_begin_sec < before_sec; });
  std::erase_if(partitions_, [&](const auto& r) { return r.window_begin_sec < before_sec; });
  return Status::Ok();
}

}  // namespace chaperone::testing
