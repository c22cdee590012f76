// An in-memory Store for unit tests of the readers (the web service): rows are
// put in directly, reads filter them like the real stores do, and a switch
// makes every read fail. Apply() is not supported: the collector's merging is
// tested against the real stores.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "store/store.h"

namespace chaperone::testing {

class FakeStore final : public store::Store {
 public:
  std::string backend() const override { return "fake"; }
  int schema_version() const override { return 1; }

  Result<store::ApplyStats> Apply(const std::vector<store::Incoming>&, const std::vector<store::ConsumerPosition>&,
                                  int64_t) override {
    return Status::Internal("FakeStore does not merge records; add rows with AddWindow()");
  }
  Result<std::vector<store::ConsumerPosition>> LoadPositions(const std::string&, const std::string&) override {
    return std::vector<store::ConsumerPosition>();
  }

  Status Ping() override { return CheckReadLocked(); }
  Result<std::vector<store::WindowRow>> QueryAllWindows(int64_t from_sec, int64_t to_sec) override;

  // ListTopics, the topic summary and the window totals are derived from the window rows.
  Result<std::vector<store::TopicSummary>> ListTopics() override;
  Result<std::vector<store::TopicDay>> QueryTopicSummary(
      int64_t from_sec, int64_t to_sec,
      const std::optional<std::pair<std::string, std::string>>& topics = std::nullopt) override;
  Result<std::vector<store::WindowRow>> QueryWindows(const std::string& topic, const std::optional<std::string>& tier,
                                                     int64_t from_sec, int64_t to_sec) override;
  Result<std::vector<store::TierTotals>> QueryWindowTotals(int64_t from_sec, int64_t to_sec,
                                                           std::span<const std::string> topics = {}) override;
  Result<std::vector<store::PartitionRow>> QueryPartitions(const std::string& topic, const std::string& tier,
                                                           int64_t window_begin_sec) override;
  Result<std::vector<store::EmitterRow>> QueryEmitters(const std::optional<std::string>& tier) override;
  Result<std::vector<store::QuarantineRow>> QueryQuarantine(int limit) override;
  Result<int64_t> QuarantineCount() override;
  Status ApplyRetention(int64_t before_sec) override;

  // Alerts: QueryAlerts reads what AddAlert put in; the detector's writes are
  // tested against the real stores.
  Result<bool> TakeLease(const std::string&, const std::string&, int64_t, int64_t) override {
    return Status::Internal("FakeStore has no leases");
  }
  Status SaveAlerts(std::vector<store::AlertChange>&, const std::string&, const std::string&, int64_t) override {
    return Status::Internal("FakeStore does not save alerts; add them with AddAlert()");
  }
  Result<std::vector<store::AlertRow>> QueryAlerts(const store::AlertQuery& q) override;
  Result<std::vector<store::AlertNotice>> DueNotices(int64_t, int) override {
    return std::vector<store::AlertNotice>();
  }
  Status SettleNotices(const std::vector<store::AlertNotice>&, const std::vector<store::AlertNotice>&) override {
    return Status::Internal("FakeStore has no outbox");
  }

  void AddWindow(store::WindowRow r);
  void AddPartition(store::PartitionRow r);
  void AddEmitter(store::EmitterRow e);
  void AddQuarantine(store::QuarantineRow q);
  void AddAlert(store::AlertRow a);  // a.id 0: the next id
  void Clear();

  // Every read fails with `s` (OK to heal).
  void FailReads(Status s);
  // Reads served so far (successful or not).
  int64_t reads() const { return reads_.load(); }
  // QueryAlerts calls so far (successful or not).
  int64_t alert_queries() const { return alert_queries_.load(); }

 private:
  Status CheckRead();  // mu_ held
  Status CheckReadLocked() {
    std::lock_guard lock(mu_);
    return CheckRead();
  }

  mutable std::mutex mu_;
  std::vector<store::WindowRow> windows_;
  std::vector<store::PartitionRow> partitions_;
  std::vector<store::EmitterRow> emitters_;
  std::vector<store::QuarantineRow> quarantine_;
  std::vector<store::AlertRow> alerts_;
  Status fail_;
  std::atomic<int64_t> reads_{0};
  std::atomic<int64_t> alert_queries_{0};
};

}  // namespace chaperone::testing
