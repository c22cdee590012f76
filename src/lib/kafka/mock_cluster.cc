#include "chaperone/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <charconv>
#include <vector>

#include "common/topic_name.h"

namespace chaperone {

Result<MockTopic> ParseMockTopic(const std::string& spec) {
  MockTopic t;
  auto colon = spec.rfind(':');
  t.name = spec.substr(0, colon);
  if (Status s = common::ValidateTopicName(t.name); !s.ok())
    return Status::InvalidArgument("topic spec '" + spec + "': " + s.message());
  if (colon != std::string::npos) {
    std::string n = spec.substr(colon + 1);
    auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), t.partitions);
    if (ec != std::errc() || p != n.data() + n.size() || t.partitions < 1 || t.partitions > 10000)
      return Status::InvalidArgument("topic spec '" + spec + "': partitions must be a number from 1 to 10000");
  }
  return t;
}

Result<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers, const std::vector<MockTopic>& topics) {
  if (brokers < 1 || brokers > 64) return Status::InvalidArgument("--brokers must be from 1 to 64");
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The mock cluster needs a handle to live in; a producer with no bootstrap is enough.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return Status::Internal(std::string("mock cluster handle: ") + errstr);
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) {
    rd_kafka_destroy(rk);
    return Status::Internal("could not start the mock cluster");
  }
  std::unique_ptr<MockCluster> c(new MockCluster());
  c->rk_ = rk;
  c->mcluster_ = mc;
  c->brokers_ = brokers;
  c->bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc);
  for (const auto& t : topics) {
    if (Status s = c->CreateTopic(t); !s.ok()) return s;
  }
  return c;
}

MockCluster::~MockCluster() {
  if (mcluster_) rd_kafka_mock_cluster_destroy(mcluster_);
  if (rk_) rd_kafka_destroy(rk_);
}

Status MockCluster::CreateTopic(const MockTopic& topic) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mcluster_, topic.name.c_str(), topic.partitions, 1);
  if (err) return Status::Internal("create topic " + topic.name + ": " + rd_kafka_err2str(err));
  return Status::Ok();
}

Status MockCluster::SetBrokerDown(int broker_id) {
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_down(mcluster_, broker_id);
  if (err) return Status::InvalidArgument(std::string("broker down: ") + rd_kafka_err2str(err));
  return Status::Ok();
}

Status MockCluster::SetBrokerUp(int broker_id) {
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_up(mcluster_, broker_id);
  if (err) return Status::InvalidArgument(std::string("broker up: ") + rd_kafka_err2str(err));
  return Status::Ok();
}

Status MockCluster::SetBrokerRttMs(int broker_id, int rtt_ms) {
  rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_rtt(mcluster_, broker_id, rtt_ms);
  if (err) return Status::InvalidArgument(std::string("broker rtt: ") + rd_kafka_err2str(err));
  return Status::Ok();
}

void MockCluster::PushRequestErrors(int api_key, int count, int error) {
  std::vector<rd_kafka_resp_err_t> errs(static_cast<size_t>(count), static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(mcluster_, static_cast<int16_t>(api_key), errs.size(), errs.data());
}

}  // namespace chaperone
