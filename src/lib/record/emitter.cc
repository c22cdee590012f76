#include "chaperone/emitter.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <random>

namespace chaperone {
namespace {

// Per-thread generator; reseeded when the process id changes, so a forked
// child never repeats its parent's sequence of UUIDs.
std::mt19937_64& Generator() {
  struct State {
    std::mt19937_64 gen;
    pid_t pid = -1;
  };
  thread_local State state;
  pid_t pid = getpid();
  if (state.pid != pid) {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    state.gen.seed(seq);
    state.pid = pid;
  }
  return state.gen;
}

std::string Hostname() {
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "unknown-host";
  return buf;
}

}  // namespace

std::string NewUuid() {
  std::mt19937_64& gen = Generator();
  uint64_t hi = gen();
  uint64_t lo = gen();
  hi = (hi & 0xFFFFFFFFFFFF0FFFull) | 0x0000000000004000ull;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFull) | 0x8000000000000000ull;  // variant 10xx
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      s[pos++] = kHex[(v >> (i * 4)) & 0xF];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return s;
}

EmitterIdentity MakeEmitterIdentity(std::string tier, std::string datacenter, std::string cluster,
                                    const Clock& clock) {
  EmitterIdentity id;
  id.tier = std::move(tier);
  id.datacenter = std::move(datacenter);
  id.cluster = std::move(cluster);
  id.hostname = Hostname();
  char suffix[64];
  std::snprintf(suffix, sizeof suffix, "-%d-%lld-%08x", static_cast<int>(getpid()),
                static_cast<long long>(clock.NowMs()), static_cast<unsigned>(Generator()() & 0xFFFFFFFFu));
  id.emitter_id = id.hostname + suffix;
  return id;
}

Emitter::Emitter(EmitterIdentity id) : id_(std::move(id)) {}

std::string Emitter::BeginFlush() {
  flush_id_ = NewUuid();
  return flush_id_;
}

const std::string& Emitter::flush_id() {
  if (flush_id_.empty()) BeginFlush();
  return flush_id_;
}

void Emitter::Stamp(AuditRecord& r) {
  r.version = kAuditRecordVersion;
  r.tier = id_.tier;
  r.hostname = id_.hostname;
  r.datacenter = id_.datacenter;
  r.cluster = id_.cluster;
  r.emitter_id = id_.emitter_id;
  r.uuid = NewUuid();
  r.seq = next_seq_++;
  r.flush_id = flush_id();
}

AuditRecord Emitter::Heartbeat(int64_t watermark_ms, int64_t window_sec, int64_t dropped, int64_t failed) {
  AuditRecord r;
  r.kind = RecordKind::kHeartbeat;
  r.watermark_ms = watermark_ms;
  r.window_sec = window_sec;
  r.dropped_records = dropped;
  r.failed_deliveries = failed;
  Stamp(r);
  return r;
}

}  // namespace chaperone
