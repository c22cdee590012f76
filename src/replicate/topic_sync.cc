#include "replicate/topic_sync.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <iterator>

#include "common/prometheus.h"

namespace chaperone::replicate {

const char* TopicStateName(TopicState s) {
  switch (s) {
    case TopicState::kReady: return "ready";
    case TopicState::kCreated: return "created";
    case TopicState::kCannotCreate: return "cannot_create";
    case TopicState::kPartitionMismatch: return "partition_mismatch";
  }
  return "unknown";
}

std::vector<TopicStatus> PlanTopics(const PartitionMap& map, const ClusterTopics& source,
                                    const ClusterTopics& destination) {
  std::vector<TopicStatus> out;
  for (const auto& [topic, partitions] : source) {
    if (!map.Selects(topic)) continue;
    TopicStatus t;
    t.source_topic = topic;
    t.destination_topic = map.DestinationTopic(topic);
    t.source_partitions = partitions;
    auto it = destination.find(t.destination_topic);
    if (it == destination.end()) {
      t.state = TopicState::kCannotCreate;
      t.detail = "missing";
    } else {
      t.destination_partitions = it->second;
      if (Status s = map.CheckPartitionCounts(partitions, it->second); !s.ok()) {
        t.state = TopicState::kPartitionMismatch;
        t.detail = s.message();
      } else if (it->second != partitions) {
        t.detail = fmt::format("the destination has {} partitions, the source {} ({} partitioning)", it->second,
                               partitions, PartitionStrategyName(map.config().strategy));
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

int TopicSyncReport::ready() const {
  return static_cast<int>(std::count_if(topics.begin(), topics.end(), [](const auto& t) { return t.replicable(); }));
}

int TopicSyncReport::waiting() const { return static_cast<int>(topics.size()) - ready(); }

std::vector<std::string> TopicSyncProblems(const TopicSyncReport& report) {
  std::vector<std::string> out;
  for (const auto& t : report.topics) {
    if (t.replicable()) continue;
    out.push_back(fmt::format("{} → {}: {}: {}", t.source_topic, t.destination_topic, TopicStateName(t.state), t.detail));
  }
  return out;
}

void AppendTopicSyncMetrics(std::string& out, const TopicSyncReport& report) {
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "# HELP chaperone_replicate_topics Selected source topics by the state of their destination topic.\n"
                 "# TYPE chaperone_replicate_topics gauge\n");
  for (TopicState s : {TopicState::kReady, TopicState::kCreated, TopicState::kCannotCreate,
                       TopicState::kPartitionMismatch}) {
    auto n = std::count_if(report.topics.begin(), report.topics.end(), [&](const auto& t) { return t.state == s; });
    fmt::format_to(it, "chaperone_replicate_topics{{state=\"{}\"}} {}\n", TopicStateName(s), n);
  }
  fmt::format_to(it,
                 "# HELP chaperone_replicate_topic_waiting 1 for each source topic not replicated because its "
                 "destination topic is missing or unusable.\n"
                 "# TYPE chaperone_replicate_topic_waiting gauge\n");
  for (const auto& t : report.topics) {
    if (t.replicable()) continue;
    fmt::format_to(it, "chaperone_replicate_topic_waiting{{topic=\"{}\",state=\"{}\"}} 1\n", t.source_topic,
                   TopicStateName(t.state));
  }
}

namespace {

Result<rd_kafka_t*> NewHandle(const KafkaProperties& properties, const char* which) {
  KafkaProperties props = WithoutPluginProperties(properties);
  auto conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(fmt::format("topic sync, {} cluster: {}", which, errstr));
  }
  return rk;
}

}  // namespace

Result<std::unique_ptr<TopicSync>> TopicSync::Create(PartitionMap map, TopicSyncOptions options) {
  std::unique_ptr<TopicSync> t(new TopicSync(std::move(map), std::move(options)));
  auto src = NewHandle(t->options_.source, "source");
  if (!src.ok()) return src.status();
  t->source_ = *src;
  auto dst = NewHandle(t->options_.destination, "destination");
  if (!dst.ok()) return dst.status();
  t->destination_ = *dst;
  return t;
}

TopicSync::~TopicSync() {
  if (source_) rd_kafka_destroy(source_);
  if (destination_) rd_kafka_destroy(destination_);
}

Result<ClusterTopics> TopicSync::ListTopics(rd_kafka_t* rk, const char* which) {
  const rd_kafka_metadata_t* md = nullptr;
  // all_topics=1: a listing, which never asks the broker to auto-create.
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &md, static_cast<int>(options_.timeout.count()));
  if (err) return Status::Unavailable(fmt::format("metadata of the {} cluster: {}", which, rd_kafka_err2str(err)));
  ClusterTopics out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || t.partition_cnt == 0) continue;
    out[t.topic] = t.partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

std::map<std::string, Status> TopicSync::CreateTopics(const std::map<std::string, int32_t>& missing) {
  std::map<std::string, Status> out;
  if (missing.empty()) return out;
  char errstr[512];
  std::vector<rd_kafka_NewTopic_t*> topics;
  for (const auto& [name, partitions] : missing) {
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(name.c_str(), partitions, options_.replication_factor, errstr, sizeof errstr);
    if (!nt) {
      out[name] = Status::InvalidArgument(errstr);
      continue;
    }
    topics.push_back(nt);
  }
  if (!topics.empty()) {
    rd_kafka_queue_t* q = rd_kafka_queue_new(destination_);
    rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(destination_, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_request_timeout(opts, static_cast<int>(options_.timeout.count()), errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_operation_timeout(opts, static_cast<int>(options_.timeout.count()), errstr,
                                                sizeof errstr);
    rd_kafka_CreateTopics(destination_, topics.data(), topics.size(), opts, q);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(q, static_cast<int>(options_.timeout.count()) + 5000);
    if (!ev) {
      for (const auto& [name, p] : missing) out.try_emplace(name, Status::Unavailable("CreateTopics: no answer"));
    } else if (rd_kafka_event_error(ev)) {
      // The whole request failed (the 2.0.2 mock: _UNSUPPORTED_FEATURE, the
      // broker does not offer CreateTopics).
      std::string why = fmt::format("CreateTopics: {} ({})", rd_kafka_event_error_string(ev),
                                    rd_kafka_err2name(rd_kafka_event_error(ev)));
      for (const auto& [name, p] : missing) out.try_emplace(name, Status::Unavailable(why));
    } else {
      size_t n = 0;
      const rd_kafka_topic_result_t** results =
          rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
      for (size_t i = 0; i < n; ++i) {
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
        const char* name = rd_kafka_topic_result_name(results[i]);
        if (!err || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
          out.try_emplace(name, Status::Ok());
        } else {
          const char* msg = rd_kafka_topic_result_error_string(results[i]);
          out.try_emplace(name, Status::Unavailable(fmt::format("CreateTopics: {} ({})", msg ? msg : rd_kafka_err2str(err),
                                                                rd_kafka_err2name(err))));
        }
      }
      for (const auto& [name, p] : missing) out.try_emplace(name, Status::Unavailable("CreateTopics: no result"));
    }
    if (ev) rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy_array(topics.data(), topics.size());
  }
  return out;
}

Result<TopicSyncReport> TopicSync::Sync() {
  auto source = ListTopics(source_, "source");
  if (!source.ok()) return source.status();
  auto destination = ListTopics(destination_, "destination");
  if (!destination.ok()) return destination.status();
  TopicSyncReport report;
  report.topics = PlanTopics(map_, *source, *destination);

  std::map<std::string, int32_t> missing;  // destination topic → partitions (the largest source's, when merged)
  for (const auto& t : report.topics) {
    if (t.state != TopicState::kCannotCreate) continue;
    int32_t& n = missing[t.destination_topic];
    n = std::max(n, t.source_partitions);
  }
  if (!options_.create_missing) {
    for (auto& t : report.topics)
      if (t.state == TopicState::kCannotCreate) t.detail = "missing, and topic creation is turned off";
    return report;
  }
  auto created = CreateTopics(missing);
  for (auto& t : report.topics) {
    if (t.state != TopicState::kCannotCreate) continue;
    const Status& s = created[t.destination_topic];
    if (s.ok()) {
      t.state = TopicState::kCreated;
      t.destination_partitions = missing[t.destination_topic];
      t.detail = fmt::format("created with {} partitions", t.destination_partitions);
    } else {
      t.detail = "missing, cannot create: " + s.message();
    }
  }
  return report;
}

}  // namespace chaperone::replicate
