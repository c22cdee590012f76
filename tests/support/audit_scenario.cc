#include "support/audit_scenario.h"

#include <gtest/gtest.h>

namespace chaperone::test {

uint64_t ScenarioDigest(int64_t count) { return 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(count); }

void AuditScenario::AddEmitter(const std::string& name, const std::string& tier, const std::string& datacenter) {
  Process& p = processes_[name];
  p.tier = tier;
  p.datacenter = datacenter;
  Restart(name);
}

void AuditScenario::Restart(const std::string& name) {
  Process& p = processes_.at(name);
  p.emitter = std::make_unique<Emitter>(MakeEmitterIdentity(p.tier, p.datacenter, p.datacenter + "-" + p.tier, clock_));
  p.alive = true;
  p.dropped = 0;
}

void AuditScenario::Kill(const std::string& name) { processes_.at(name).alive = false; }

void AuditScenario::Drop(const std::string& name, int64_t n) { processes_.at(name).dropped += n; }

AuditRecord AuditScenario::CountRecord(const std::string& name, const std::string& topic, int64_t window_begin_sec,
                                       int64_t count) {
  AuditRecord r;
  r.kind = RecordKind::kCount;
  r.topic = topic;
  r.window_begin_sec = window_begin_sec;
  r.window_end_sec = window_begin_sec + window_sec_;
  r.count = count;
  r.total_bytes = count * 100;
  r.digest = ScenarioDigest(count);
  processes_.at(name).emitter->Stamp(r);
  return r;
}

AuditRecord AuditScenario::HeartbeatRecord(const std::string& name, int64_t watermark_ms, int64_t dropped_records) {
  return processes_.at(name).emitter->Heartbeat(watermark_ms, window_sec_, dropped_records, 0);
}

AuditRecord AuditScenario::LegacyRecord(const std::string& tier, const std::string& topic, int64_t window_begin_sec,
                                        int64_t count) {
  AuditRecord r;
  r.version = 0;
  r.kind = RecordKind::kCount;
  r.topic = topic;
  r.tier = tier;
  r.datacenter = "dc1";
  r.hostname = "legacy-host";
  r.uuid = NewUuid();
  r.window_begin_sec = window_begin_sec;
  r.window_end_sec = window_begin_sec + window_sec_;
  r.count = count;
  r.mean_latency_ms = 10;
  r.latency95_ms = 20;
  r.latency99_ms = 30;
  r.max_latency_ms = 40;
  return r;
}

void AuditScenario::Apply(const std::vector<AuditRecord>& records) {
  std::vector<store::Incoming> batch;
  for (const AuditRecord& r : records) {
    store::Incoming in;
    in.raw = "{\"uuid\":\"" + r.uuid + "\"}";
    in.source = "scenario";
    in.record = r;
    batch.push_back(std::move(in));
  }
  auto s = store_.Apply(batch, {}, clock_.NowMs());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->quarantined, 0);
}

void AuditScenario::HeartbeatAll() {
  std::vector<AuditRecord> beats;
  for (auto& [name, p] : processes_) {
    if (p.alive) beats.push_back(p.emitter->Heartbeat(clock_.NowMs(), window_sec_, p.dropped, 0));
  }
  Apply(beats);
}

}  // namespace chaperone::test
