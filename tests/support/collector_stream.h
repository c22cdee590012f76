// A known stream of audit records for tests of the real `chaperone collector`
// (collector_kill_test.cc, collector_outage_test.cc): legacy records with
// redeliveries and garbage mixed in, and service-tier chunks with replays,
// with the totals per window computed independently of the collector; producing
// it to the audit topic, starting the collector, and checking a store against it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/store.h"
#include "support/process.h"

namespace chaperone::test {

// The first window of the stream (6 topics x 3 windows of 600 s from here).
constexpr int64_t kStreamWindow = 1795303800;

struct AuditStream {
  using Key = std::tuple<std::string, std::string, int64_t>;  // topic, tier, window begin
  std::vector<std::pair<std::string, std::string>> messages;  // (key, value) in produce order
  std::map<Key, int64_t> expect_count, expect_records;       // per window: messages counted, records merged
  int garbage = 0;                                            // messages that go to quarantine
  int64_t expected_total() const;
};

// `legacy` legacy-shaped records over 6 topics x 2 tiers x 3 windows (every
// tenth one delivered twice, every fortieth followed by garbage), and per
// topic and partition (3) a service chunk, its replay and the next chunk,
// spread through the stream in order.
AuditStream MakeAuditStream(int legacy = 6000);

// Produces (key, value) pairs to the audit topic; the end offsets (partition -> offset after the last).
std::map<int32_t, int64_t> ProduceToAuditTopic(const std::string& bootstrap,
                                               const std::vector<std::pair<std::string, std::string>>& messages);

// `chaperone collector` against `bootstrap` and `store_url` as consumer group
// `group`, its log in the test output; `extra` are more flags.
Result<std::unique_ptr<Process>> StartCollectorProcess(const std::string& bootstrap, const std::string& store_url,
                                                       const std::string& group, int batch_records,
                                                       const std::vector<std::string>& extra = {});

// The sum of every stored window's count (-1 when the store cannot be read).
int64_t StoredTotal(store::Store& store);
// The group's positions in the store (partition -> next offset; empty when the store cannot be read).
std::map<int32_t, int64_t> StoredPositions(store::Store& store, const std::string& group);
// The group's offsets committed to Kafka for partitions 0..partitions-1 (-1: none).
std::map<int32_t, int64_t> KafkaCommittedOffsets(const std::string& bootstrap, const std::string& group,
                                                 int partitions);

// Checks (gtest EXPECTs) that `store` holds exactly `stream`: every window's
// count, records, bytes, digest and sketch, the service partitions, the
// emitters' sequences and the quarantine.
void ExpectStoreHolds(store::Store& store, const AuditStream& stream);

}  // namespace chaperone::test
