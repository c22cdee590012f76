// librdkafka's built-in mock cluster: a real Kafka-protocol broker on loopback
// TCP ports, used by `chaperone mock-kafka`, the embedded demo and the tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "chaperone/status.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace chaperone {

struct MockTopic {
  std::string name;
  int partitions = 1;
};

// Parses "NAME:PARTITIONS" (or "NAME", one partition).
Result<MockTopic> ParseMockTopic(const std::string& spec);

class MockCluster {
 public:
  // Starts `brokers` brokers on 127.0.0.1 (random ports) and creates `topics`.
  static Result<std::unique_ptr<MockCluster>> Start(int brokers, const std::vector<MockTopic>& topics = {});
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:port,127.0.0.1:port,..."
  const std::string& bootstrap_servers() const { return bootstrap_; }
  int broker_count() const { return brokers_; }

  Status CreateTopic(const MockTopic& topic);

  // Fault injection (component tests and the demo's fault switch).
  Status SetBrokerDown(int broker_id);  // broker ids are 1..broker_count()
  Status SetBrokerUp(int broker_id);
  Status SetBrokerRttMs(int broker_id, int rtt_ms);
  // The next `count` requests of Kafka API `api_key` fail with `error` (an rd_kafka_resp_err_t).
  void PushRequestErrors(int api_key, int count, int error);

  rd_kafka_mock_cluster_s* raw() const { return mcluster_; }

 private:
  MockCluster() = default;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_mock_cluster_s* mcluster_ = nullptr;
  std::string bootstrap_;
  int brokers_ = 0;
};

}  // namespace chaperone
