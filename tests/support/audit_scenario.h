// A scripted audit: emitters of several tiers report counts and heartbeats
// through the audit library's Emitter (uuids, seq numbers, flush ids) and the
// records are merged by the real store (Store::Apply, what the collector does
// with each batch), on a fake clock. The script decides what reaches the
// store: records can be dropped (sequence gaps), sent twice (duplicates),
// delayed (late data) or never sent (a killed emitter). The loss detector's
// scenario tests judge what results.
//
// Counts carry a digest that is a function of the count alone (count × K
// modulo 2^64), so two tiers that saw the same number of messages of a
// window agree on the digest as well.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/clock.h"
#include "chaperone/emitter.h"
#include "store/store.h"

namespace chaperone::test {

class AuditScenario {
 public:
  AuditScenario(store::Store& store, FakeClock& clock, int64_t window_sec = 600)
      : store_(store), clock_(clock), window_sec_(window_sec) {}

  // A new emitter named `name` in the script (a process of tier `tier` in `datacenter`).
  void AddEmitter(const std::string& name, const std::string& tier, const std::string& datacenter = "dc1");
  // The process behind `name` restarts: a new emitter id, seq from 0.
  void Restart(const std::string& name);
  // The process behind `name` is gone: HeartbeatAll skips it.
  void Kill(const std::string& name);
  // The process behind `name` could not deliver `n` more audit records: its
  // heartbeats report them from now on (droppedRecords, since it started).
  void Drop(const std::string& name, int64_t n);

  // A stamped count record of `count` messages of `topic` in the window
  // beginning at `window_begin_sec`, from emitter `name` (not applied).
  AuditRecord CountRecord(const std::string& name, const std::string& topic, int64_t window_begin_sec, int64_t count);
  // A stamped heartbeat of emitter `name` (not applied).
  AuditRecord HeartbeatRecord(const std::string& name, int64_t watermark_ms, int64_t dropped_records = 0);
  // A legacy record (no emitter, no seq, no heartbeat: Chaperone's own format).
  AuditRecord LegacyRecord(const std::string& tier, const std::string& topic, int64_t window_begin_sec, int64_t count);

  // Applies `records` in one batch at the clock's time; fails the test on error.
  void Apply(const std::vector<AuditRecord>& records);
  void Count(const std::string& name, const std::string& topic, int64_t window_begin_sec, int64_t count) {
    Apply({CountRecord(name, topic, window_begin_sec, count)});
  }
  // A heartbeat of every live emitter with watermark = the clock's time.
  void HeartbeatAll();

  int64_t window_sec() const { return window_sec_; }

 private:
  struct Process {
    std::string tier, datacenter;
    std::unique_ptr<Emitter> emitter;
    bool alive = true;
    int64_t dropped = 0;
  };
  store::Store& store_;
  FakeClock& clock_;
  const int64_t window_sec_;
  std::map<std::string, Process> processes_;
};

// The digest of `count` messages in a scenario.
uint64_t ScenarioDigest(int64_t count);

}  // namespace chaperone::test
