// KafkaDestinationReader: reads a destination partition range with an
// assign-based consumer (no group.id, nothing committed, no auto-creation).
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "replicate/destination_reader.h"

namespace chaperone::replicate {

std::string ToString(const DestinationPartition& d) { return fmt::format("{}/{}", d.topic, d.partition.value()); }

namespace {

bool IsNotFound(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
         err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
}

Status KafkaError(rd_kafka_resp_err_t err, const DestinationPartition& p, const char* what) {
  std::string msg = fmt::format("{} {}: {}", what, ToString(p), rd_kafka_err2str(err));
  if (IsNotFound(err)) return Status::NotFound(std::move(msg));
  return Status::Unavailable(std::move(msg));
}

}  // namespace

Result<std::unique_ptr<KafkaDestinationReader>> KafkaDestinationReader::Create(const KafkaProperties& properties,
                                                                               std::chrono::milliseconds timeout) {
  KafkaProperties props = WithoutPluginProperties(properties);
  props.emplace_back("enable.auto.commit", "false");
  props.emplace_back("enable.auto.offset.store", "false");
  props.emplace_back("enable.partition.eof", "true");
  props.emplace_back("allow.auto.create.topics", "false");
  props.emplace_back("auto.offset.reset", "error");  // a range that retention took is an error, not a jump
  // librdkafka 2.0.2 refuses assign() without a group.id ("Unknown group").
  // The reader never subscribes or commits, so the group is never joined.
  if (!FindKafkaProperty(props, "group.id")) props.emplace_back("group.id", "chaperone-replicate-reader");
  auto conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(std::string("destination reader: ") + errstr);
  }
  rd_kafka_poll_set_consumer(rk);
  std::unique_ptr<KafkaDestinationReader> r(new KafkaDestinationReader());
  r->rk_ = rk;
  r->timeout_ = timeout;
  return r;
}

KafkaDestinationReader::~KafkaDestinationReader() {
  if (!rk_) return;
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

// Does the partition exist? Asked with a listing of all topics: the 2.0.2
// mock answers Metadata only up to v2, which has no AllowAutoTopicCreation
// flag, so a metadata request naming a missing topic creates it (and so
// would the watermark query's own leader lookup).
Status KafkaDestinationReader::CheckExist(std::span<const DestinationPartition> ps) {
  if (ps.empty()) return Status::Ok();
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, static_cast<int>(timeout_.count()));
  if (err) return KafkaError(err, ps.front(), "metadata of");
  std::map<std::string, int, std::less<>> partitions;
  for (int i = 0; i < md->topic_cnt; ++i)
    if (!md->topics[i].err) partitions[md->topics[i].topic] = md->topics[i].partition_cnt;
  rd_kafka_metadata_destroy(md);
  for (const DestinationPartition& p : ps) {
    auto it = partitions.find(p.topic);
    if (it == partitions.end()) return Status::NotFound(fmt::format("{}: no such topic", ToString(p)));
    if (p.partition.value() < 0 || p.partition.value() >= it->second)
      return Status::NotFound(fmt::format("{}: the topic has {} partitions", ToString(p), it->second));
  }
  return Status::Ok();
}

Result<OffsetRange> KafkaDestinationReader::Watermarks(const DestinationPartition& p) {
  auto r = WatermarksOf(std::span<const DestinationPartition>(&p, 1));
  if (!r.ok()) return r.status();
  return r->front();
}

Result<std::vector<OffsetRange>> KafkaDestinationReader::WatermarksOf(std::span<const DestinationPartition> ps) {
  if (Status s = CheckExist(ps); !s.ok()) return s;
  std::vector<OffsetRange> out(ps.size());
  std::vector<rd_kafka_resp_err_t> errors(ps.size(), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < ps.size();) {
      int64_t low = 0, high = 0;
      errors[i] = rd_kafka_query_watermark_offsets(rk_, ps[i].topic.c_str(), ps[i].partition.value(), &low, &high,
                                                   static_cast<int>(timeout_.count()));
      out[i] = OffsetRange{Offset(low), Offset(high)};
    }
  };
  constexpr size_t kMaxConcurrent = 16;
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < std::min(ps.size(), kMaxConcurrent); ++t) helpers.emplace_back(work);
  work();
  for (auto& t : helpers) t.join();
  for (size_t i = 0; i < ps.size(); ++i)
    if (errors[i]) return KafkaError(errors[i], ps[i], "watermarks of");
  return out;
}

Status KafkaDestinationReader::Read(const DestinationPartition& p, Offset from, Offset to, const RecordVisitor& visit) {
  if (from >= to) return Status::Ok();
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition.value())->offset = from.value();
  rd_kafka_resp_err_t err = rd_kafka_assign(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  if (err) return KafkaError(err, p, "assign");

  Status result = Status::Ok();
  std::vector<HeaderView> headers;
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  bool done = false;
  while (!done) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
    if (!m) {
      if (std::chrono::steady_clock::now() > deadline) {
        result = Status::Unavailable(fmt::format("reading {}: no progress for {} ms (offsets {} to {})", ToString(p),
                                                 timeout_.count(), from.value(), to.value()));
        break;
      }
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      done = m->offset >= to.value();
    } else if (m->err) {
      // Transient errors (a broker down) are retried by the client: wait
      // for progress until the deadline; the others end the read.
      if (IsNotFound(m->err) || m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
          m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || m->err == RD_KAFKA_RESP_ERR__FATAL) {
        result = KafkaError(m->err, p, "reading");
        done = true;
      }
    } else if (m->offset >= to.value()) {
      done = true;
    } else {
      deadline = std::chrono::steady_clock::now() + timeout_;
      headers.clear();
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
          HeaderView h{name, std::nullopt};
          if (val) h.value = std::string_view(static_cast<const char*>(val), size);
          headers.push_back(h);
        }
      }
      DestinationRecordView rec{Offset(m->offset), std::nullopt, std::nullopt, headers};
      if (m->key) rec.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) rec.value = std::string_view(static_cast<const char*>(m->payload), m->len);
      visit(rec);
      done = m->offset + 1 >= to.value();
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_assign(rk_, nullptr);
  return result;
}

}  // namespace chaperone::replicate
