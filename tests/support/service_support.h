// Test helpers for the audit service: a producer that remembers what it
// produced (per window counts and digests), a reader of the audit topic, and
// an independent implementation of the collector's chunk-replacement rule.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/status.h"
#include "store/store.h"

namespace chaperone::testing {

// Polls `cond` every 20 ms until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

struct WindowSums {
  int64_t count = 0;
  uint64_t digest = 0;
  int64_t malformed = 0;
  int64_t no_time = 0;
  bool operator==(const WindowSums&) const = default;
};
// (topic, partition, window begin sec)
using WindowKey = std::tuple<std::string, int32_t, int64_t>;
using WindowTotals = std::map<WindowKey, WindowSums>;
std::string Describe(const WindowKey& k);
// Sums over partitions: (topic, -1, window).
WindowTotals ByTopicWindow(const WindowTotals& t);
int64_t TotalCount(const WindowTotals& t);

struct TestMessage {
  std::string topic;
  int32_t partition = 0;
  std::optional<std::string> key;    // nullopt: null key
  std::optional<std::string> value;  // nullopt: tombstone
  int64_t timestamp_ms = 0;          // record (create) time, always set
  std::vector<std::pair<std::string, std::string>> headers;
};

// An idempotent producer that keeps the expected audit of what it produced:
// the event time and the malformed flag come from the default timestamp chain
// (the service's own extraction is tested elsewhere); count and digest are
// computed here from the bytes produced.
class TestProducer {
 public:
  static Result<std::unique_ptr<TestProducer>> Create(const std::string& bootstrap,
                                                      std::vector<std::pair<std::string, std::string>> extra = {});
  ~TestProducer();

  // Queues one message (waits while the local queue is full). Delivery
  // failures are reported by Flush().
  Status Produce(const TestMessage& m, int64_t window_sec);
  // Waits until every queued message is acknowledged.
  Status Flush(std::chrono::milliseconds timeout);

  const WindowTotals& expected() const { return expected_; }
  int64_t produced() const { return produced_; }
  int64_t failed() const { return failed_; }

 private:
  TestProducer() = default;
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  rd_kafka_t* rk_ = nullptr;
  WindowTotals expected_;
  int64_t produced_ = 0;
  int64_t failed_ = 0;  // written by delivery callbacks (run inside Produce/Flush on the caller's thread)
};

// Reads every audit record of one topic from the beginning (assign, no group).
class AuditReader {
 public:
  static Result<std::unique_ptr<AuditReader>> Create(const std::string& bootstrap, const std::string& topic,
                                                     int partitions);
  ~AuditReader();
  // Appends what arrives within `timeout` (returns early once the reader is at
  // the end of every partition). Undecodable records are counted in bad().
  void Poll(std::chrono::milliseconds timeout);
  // Reads until the reader's positions reach the high watermarks queried now.
  Status ReadToEnd(std::chrono::milliseconds timeout);
  const std::vector<AuditRecord>& records() const { return records_; }
  int64_t bad() const { return bad_; }

 private:
  AuditReader() = default;
  rd_kafka_t* rk_ = nullptr;
  std::string topic_;
  int partitions_ = 0;
  std::vector<int64_t> next_;  // next offset per partition
  std::vector<AuditRecord> records_;
  int64_t bad_ = 0;
};

// The collector's rule, implemented independently for tests: per (tier,
// cluster, topic, partition), a record whose chunkStart was seen before with
// another flushId replaces that chunk's earlier contribution.
class ChunkMerger {
 public:
  // Records must be applied in audit-topic order (per audit partition).
  void Apply(const AuditRecord& r);
  void ApplyAll(const std::vector<AuditRecord>& rs) {
    for (const auto& r : rs) Apply(r);
  }
  // Merged sums of count records of `tier`.
  WindowTotals Totals(const std::string& tier) const;
  int64_t replacements() const { return replacements_; }
  int64_t heartbeats() const { return heartbeats_; }
  // Problems that break the record contract (missing chunkStart, several partitions).
  const std::vector<std::string>& violations() const { return violations_; }

 private:
  struct Chunk {
    std::string flush_id;
    std::vector<AuditRecord> records;
  };
  // (tier, cluster, topic, partition) → chunkStart → chunk
  std::map<std::tuple<std::string, std::string, std::string, int32_t>, std::map<int64_t, Chunk>> chunks_;
  int64_t replacements_ = 0;
  int64_t heartbeats_ = 0;
  std::vector<std::string> violations_;
};

// A project YAML file for `chaperone service` members of one group on a mock
// cluster, with the short timeouts the end-to-end tests need (session 6 s,
// heartbeat 500 ms, discovery 1 s, send 3 s, REST off), and a 10 s socket
// timeout: the 2.0.2 mock broker now and then never answers a request sent
// around a broker outage, which librdkafka's default (60 s) turned into a
// minute-long stall of a member (a crash test run in CI missed its 120 s
// catch-up that way).
struct ServiceTestConfig {
  std::string bootstrap;
  std::string tier;
  std::string group;
  std::string include;  // topic regex, written as a YAML string (backslashes doubled here)
  int64_t window_sec = 60;
  int flush_interval_ms = 1000;
  int producer_linger_ms = -1;  // the audit producer's linger.ms; -1: librdkafka's default
};
std::string ServiceConfigYaml(const ServiceTestConfig& c);

// What a store holds for `tier`: per (topic, partition, window) the count (the
// partitions table), and per (topic, -1, window) the count, digest, malformed
// and no-time sums (the windows table), each summed over datacenters and
// clusters. Compare it with ComparableWithStore(what was produced).
Result<WindowTotals> StoreTotals(store::Store& s, const std::string& topic, const std::string& tier);
// The produced totals in the shape StoreTotals gives: per partition the count,
// per (topic, -1, window) every sum.
WindowTotals ComparableWithStore(const WindowTotals& produced);

// Compares two totals; returns "" when equal, else a readable list of differences.
std::string DiffTotals(const WindowTotals& expected, const WindowTotals& actual, size_t max_lines = 20);

}  // namespace chaperone::testing
