#include "replicate/destination_producer.h"

#include <librdkafka/rdkafka.h>

#include <thread>

namespace chaperone::replicate {

Result<std::unique_ptr<KafkaDestinationProducer>> KafkaDestinationProducer::Create(KafkaProperties properties) {
  std::unique_ptr<KafkaDestinationProducer> p(new KafkaDestinationProducer());
  KafkaProperties props = {{"client.id", "chaperone-replicate"},
                           {"linger.ms", "5"},
                           {"batch.num.messages", "10000"},
                           {"queue.buffering.max.messages", "500000"},
                           {"message.timeout.ms", "60000"}};
  for (const auto& kv : WithoutPluginProperties(properties)) props.push_back(kv);
  props.insert(props.end(), {{"enable.idempotence", "true"}, {"acks", "all"}});
  p->props_ = std::move(props);
  if (Status s = p->Open(); !s.ok()) return s;
  return p;
}

Status KafkaDestinationProducer::Open() {
  auto conf = BuildKafkaConf(props_);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, &KafkaDestinationProducer::OnDelivery);
  rd_kafka_conf_set_opaque(*conf, this);
  char errstr[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, errstr, sizeof errstr);
  if (!rk_) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(std::string("destination producer: ") + errstr);
  }
  return Status::Ok();
}

KafkaDestinationProducer::~KafkaDestinationProducer() { Close(); }

void KafkaDestinationProducer::Close() {
  if (!rk_) return;
  rd_kafka_flush(rk_, 10'000);
  for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
  topics_.clear();
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
}

rd_kafka_topic_t* KafkaDestinationProducer::Topic(std::string_view name) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return it->second;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, std::string(name).c_str(), nullptr);
  topics_.emplace(std::string(name), rkt);
  return rkt;
}

void KafkaDestinationProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<KafkaDestinationProducer*>(opaque);
  Delivery d;
  d.id = reinterpret_cast<uintptr_t>(m->_private);
  d.partition = PartitionId{m->partition};
  d.offset = Offset{m->err ? -1 : m->offset};
  if (m->err) d.status = Status::Unavailable(std::string("delivery: ") + rd_kafka_err2str(m->err));
  --self->in_flight_;
  self->done_.push_back(std::move(d));
}

Status KafkaDestinationProducer::Produce(const OutRecord& r, uint64_t id) {
  std::vector<rd_kafka_vu_t>& vu = vu_;
  vu.clear();
  rd_kafka_vu_t u{};
  u.vtype = RD_KAFKA_VTYPE_RKT;
  u.u.rkt = Topic(r.topic);
  vu.push_back(u);
  u = {};
  u.vtype = RD_KAFKA_VTYPE_PARTITION;
  u.u.i32 = r.partition.value();
  vu.push_back(u);
  if (r.key) {
    u = {};
    u.vtype = RD_KAFKA_VTYPE_KEY;
    u.u.mem.ptr = const_cast<char*>(r.key->data());
    u.u.mem.size = r.key->size();
    vu.push_back(u);
  }
  if (r.value) {
    u = {};
    u.vtype = RD_KAFKA_VTYPE_VALUE;
    u.u.mem.ptr = const_cast<char*>(r.value->data());
    u.u.mem.size = r.value->size();
    vu.push_back(u);
  }
  if (r.timestamp_ms >= 0) {
    u = {};
    u.vtype = RD_KAFKA_VTYPE_TIMESTAMP;
    u.u.i64 = r.timestamp_ms;
    vu.push_back(u);
  }
  for (const Header& h : r.headers) {
    u = {};
    u.vtype = RD_KAFKA_VTYPE_HEADER;
    u.u.header.name = h.name.c_str();
    u.u.header.val = h.value ? h.value->data() : nullptr;
    u.u.header.size = h.value ? static_cast<ssize_t>(h.value->size()) : 0;
    vu.push_back(u);
  }
  u = {};
  u.vtype = RD_KAFKA_VTYPE_OPAQUE;
  u.u.ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  vu.push_back(u);
  u = {};
  u.vtype = RD_KAFKA_VTYPE_MSGFLAGS;
  u.u.i32 = RD_KAFKA_MSG_F_COPY;
  vu.push_back(u);
  for (;;) {
    rd_kafka_error_t* err = rd_kafka_produceva(rk_, vu.data(), vu.size());
    if (!err) break;
    rd_kafka_resp_err_t code = rd_kafka_error_code(err);
    std::string what = rd_kafka_error_string(err);
    rd_kafka_error_destroy(err);
    if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL) return Status::Unavailable("produce: " + what);
    rd_kafka_poll(rk_, 10);  // serves delivery reports, making room
  }
  ++in_flight_;
  if ((++produced_ & 1023) == 0) rd_kafka_poll(rk_, 0);  // serve delivery reports now and then
  return Status::Ok();
}

Status KafkaDestinationProducer::Flush(std::chrono::milliseconds timeout, std::vector<Delivery>& out) {
  rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  rd_kafka_poll(rk_, 0);
  for (auto& d : done_) out.push_back(std::move(d));
  done_.clear();
  char errstr[256];
  if (rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk_, errstr, sizeof errstr); fatal != RD_KAFKA_RESP_ERR_NO_ERROR)
    return Status::Unavailable(std::string("destination producer fatal error: ") + errstr);
  if (in_flight_ > 0)
    return Status::Unavailable(std::to_string(in_flight_) + " records not acknowledged within " +
                               std::to_string(timeout.count()) + " ms");
  return Status::Ok();
}

Status KafkaDestinationProducer::Reset() {
  // Wait for everything in flight: what a rescan of the destination sees must
  // be final (a record landing after the scan would be written twice).
  while (in_flight_ > 0) {
    rd_kafka_flush(rk_, 1000);
    char errstr[256];
    if (rd_kafka_fatal_error(rk_, errstr, sizeof errstr) != RD_KAFKA_RESP_ERR_NO_ERROR) break;
  }
  done_.clear();
  char errstr[256];
  if (rd_kafka_fatal_error(rk_, errstr, sizeof errstr) == RD_KAFKA_RESP_ERR_NO_ERROR) return Status::Ok();
  // A fatal idempotence error: purge and start a new producer session.
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  Close();
  in_flight_ = 0;
  done_.clear();
  return Open();
}

}  // namespace chaperone::replicate
