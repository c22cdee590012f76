// Emitter identity: who writes audit records, and the stamps that let the
// collector deduplicate (uuid), detect missing records (emitterId + gap-free
// seq) and recognise replays (flushId). See docs/audit-record-format.md.
#pragma once

#include <cstdint>
#include <string>

#include "chaperone/audit_record.h"
#include "chaperone/clock.h"

namespace chaperone {

struct EmitterIdentity {
  std::string tier;
  std::string datacenter;
  std::string cluster;
  std::string hostname;
  // One per emitting process incarnation; seq restarts at 0 with every new id,
  // so it must never be reused by a restarted process.
  // MakeEmitterIdentity: "<hostname>-<pid>-<start ms>-<8 random hex digits>".
  std::string emitter_id;
};

// Fills hostname (gethostname) and a fresh emitter_id.
EmitterIdentity MakeEmitterIdentity(std::string tier, std::string datacenter, std::string cluster,
                                    const Clock& clock = SystemClock::Instance());

// A random (version 4) UUID, "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lowercase.
// Fast: a per-thread PRNG seeded from std::random_device, reseeded after fork().
std::string NewUuid();

// Stamps the records of one emitter: identity, uuid, gap-free seq, flushId.
// Not thread-safe: one flusher thread owns it.
class Emitter {
 public:
  explicit Emitter(EmitterIdentity id);

  // Starts a new flush and returns its id (a fresh UUID: unique even if an
  // emitter_id were reused, so a replayed chunk always has another flushId).
  std::string BeginFlush();
  // The current flush id (BeginFlush is called on first use if needed).
  const std::string& flush_id();

  // Sets version, tier, hostname, datacenter, cluster, emitter_id, a new uuid,
  // seq = next_seq() (then increments it) and flush_id = the current flush.
  // Counts, window and latency fields are the caller's.
  void Stamp(AuditRecord& r);

  // A stamped heartbeat: everything this emitter observed before watermark_ms
  // has been reported in records with a smaller seq.
  AuditRecord Heartbeat(int64_t watermark_ms, int64_t window_sec, int64_t dropped, int64_t failed);

  // The seq the next stamped record gets (= records stamped so far).
  int64_t next_seq() const { return next_seq_; }
  const EmitterIdentity& identity() const { return id_; }

 private:
  EmitterIdentity id_;
  int64_t next_seq_ = 0;
  std::string flush_id_;
};

}  // namespace chaperone
