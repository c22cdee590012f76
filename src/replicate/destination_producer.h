// DestinationProducer: the seam through which the replicator writes to the
// destination. KafkaDestinationProducer is an idempotent librdkafka producer
// (acks=all, enable.idempotence): each destination partition keeps the send
// order with no gap and no duplicate, which the resume scan relies on
// (resume.h). Unit tests use a fake with fault switches.
//
// Threads: one thread (the consume thread) calls everything.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "chaperone/kafka_config.h"
#include "chaperone/status.h"
#include "chaperone/types.h"
#include "replicate/provenance.h"

namespace chaperone::replicate {

// One record to write; views into the caller's memory for key and value.
struct OutRecord {
  std::string_view topic;
  PartitionId partition{0};
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::span<const Header> headers;
  int64_t timestamp_ms = -1;  // CreateTime to keep; -1: the producer's clock
};

// What became of a produced record.
struct Delivery {
  uint64_t id = 0;  // as given to Produce
  PartitionId partition{0};
  Offset offset{-1};  // in the destination partition (-1 when failed)
  Status status;
};

class DestinationProducer {
 public:
  virtual ~DestinationProducer() = default;
  // Queues one record (waits while the producer's queue is full). An error
  // here means the record was not queued.
  virtual Status Produce(const OutRecord& r, uint64_t id) = 0;
  // Waits up to `timeout` until every queued record is acknowledged or
  // failed, and appends their deliveries (and those that arrived earlier) to
  // `out`. Unavailable when records are still in flight at the timeout.
  virtual Status Flush(std::chrono::milliseconds timeout, std::vector<Delivery>& out) = 0;
  virtual int64_t in_flight() const = 0;
  // After a failure: makes the producer usable again (a new idempotent
  // producer session when the old one hit a fatal error). Nothing in flight.
  virtual Status Reset() = 0;
};

class KafkaDestinationProducer final : public DestinationProducer {
 public:
  // `properties`: the destination cluster's, then the overrides; acks=all and
  // enable.idempotence=true are forced.
  static Result<std::unique_ptr<KafkaDestinationProducer>> Create(KafkaProperties properties);
  ~KafkaDestinationProducer() override;

  Status Produce(const OutRecord& r, uint64_t id) override;
  Status Flush(std::chrono::milliseconds timeout, std::vector<Delivery>& out) override;
  int64_t in_flight() const override { return in_flight_; }
  Status Reset() override;

 private:
  KafkaDestinationProducer() = default;
  Status Open();
  void Close();
  rd_kafka_topic_t* Topic(std::string_view name);
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void* opaque);

  KafkaProperties props_;
  rd_kafka_t* rk_ = nullptr;
  int64_t in_flight_ = 0;
  std::vector<Delivery> done_;
  std::map<std::string, rd_kafka_topic_t*, std::less<>> topics_;  // handles by name
  std::vector<rd_kafka_vu_t> vu_;                                       // reused per Produce
  uint64_t produced_ = 0;
};

}  // namespace chaperone::replicate
