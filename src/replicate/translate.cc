#include "replicate/translate.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "replicate/checkpoint.h"
#include "replicate/destination_reader.h"
#include "replicate/resume.h"
#include "replicate/topic_sync.h"

namespace chaperone::replicate {
namespace {

constexpr int kTimeoutMs = 10'000;

struct RdKafka {
  rd_kafka_t* rk = nullptr;
  ~RdKafka() {
    if (rk) rd_kafka_destroy(rk);
  }
};

// An assign-only consumer of `group` (never joins it): reads and commits its offsets.
Status OpenGroupClient(const KafkaProperties& cluster, const std::string& group, RdKafka& out) {
  KafkaProperties props = WithoutPluginProperties(cluster);
  props.insert(props.end(), {{"group.id", group},
                             {"enable.auto.commit", "false"},
                             {"allow.auto.create.topics", "false"},
                             {"client.id", "chaperone-replicate-translate"}});
  auto conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  char errstr[512];
  out.rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof errstr);
  if (!out.rk) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(errstr);
  }
  return Status::Ok();
}

}  // namespace

std::string TranslationJson(const GroupTranslation& t) {
  return nlohmann::json{{"topic", t.topic},
                        {"partition", t.partition},
                        {"sourceOffset", t.source_offset},
                        {"destinationTopic", t.destination_topic},
                        {"destinationPartition", t.destination_partition},
                        {"destinationOffset", t.destination_offset},
                        {"found", t.found}}
      .dump();
}

Result<GroupTranslationResult> TranslateGroup(const ReplicateOptions& options, const std::string& group, bool commit) {
  // The replicated topics, and both sides' partition counts.
  auto map = PartitionMap::Create(options.MapConfig());
  if (!map.ok()) return map.status();
  TopicSyncOptions so;
  so.source = options.source_properties;
  so.destination = options.destination_properties;
  so.create_missing = false;
  auto sync = TopicSync::Create(std::move(*map), so);
  if (!sync.ok()) return sync.status();
  auto report = (*sync)->Sync();
  if (!report.ok()) return report.status();

  // The group's committed offsets on the source.
  RdKafka source;
  if (Status s = OpenGroupClient(options.source_properties, group, source); !s.ok()) return s;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(16);
  std::map<std::string, const TopicStatus*> by_topic;
  for (const TopicStatus& t : report->topics) {
    if (t.destination_partitions <= 0) continue;
    by_topic[t.source_topic] = &t;
    for (int32_t p = 0; p < t.source_partitions; ++p) rd_kafka_topic_partition_list_add(list, t.source_topic.c_str(), p);
  }
  rd_kafka_resp_err_t err = list->cnt > 0 ? rd_kafka_committed(source.rk, list, kTimeoutMs) : RD_KAFKA_RESP_ERR_NO_ERROR;
  if (err) {
    rd_kafka_topic_partition_list_destroy(list);
    return Status::Unavailable(std::string("reading the committed offsets of group ") + group + ": " + rd_kafka_err2str(err));
  }
  std::vector<TranslateQuery> queries;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err || e.offset < 0) continue;
    const TopicStatus* t = by_topic[e.topic];
    TranslateQuery q;
    q.origin = {options.source_cluster, e.topic, PartitionId{e.partition}};
    q.committed = Offset{e.offset};
    q.destination_topic = t->destination_topic;
    q.destination_partitions = (*sync)->map().DestinationPartitionsOf(PartitionId{e.partition}, t->destination_partitions);
    queries.push_back(std::move(q));
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (queries.empty()) return Status::NotFound("group " + group + " has no committed offset on a replicated topic");

  // Translate from the destination (with its checkpoints).
  auto reader = KafkaDestinationReader::Create(options.destination_properties, std::chrono::milliseconds(kTimeoutMs));
  if (!reader.ok()) return reader.status();
  int32_t cp_partitions = 0;
  while (cp_partitions < 1024 &&
         (*reader)->Watermarks({std::string(kCheckpointTopic), PartitionId{cp_partitions}}).ok())
    ++cp_partitions;
  CheckpointMap checkpoints;
  if (cp_partitions > 0) {
    auto load = LoadCheckpoints(**reader, kCheckpointTopic, cp_partitions);
    if (load.ok()) checkpoints = std::move(load->checkpoints);
  }
  auto tr = TranslateOffsets(**reader, queries, checkpoints);
  if (!tr.ok()) return tr.status();

  GroupTranslationResult out;
  for (const Translation& t : tr->translations) {
    GroupTranslation g;
    g.topic = t.origin.topic;
    g.partition = t.origin.partition.value();
    g.source_offset = t.committed.value();
    g.destination_topic = t.destination.topic;
    g.destination_partition = t.destination.partition.value();
    g.destination_offset = t.destination_offset.value();
    g.found = t.found;
    out.translations.push_back(std::move(g));
  }
  std::map<DestinationPartition, Offset> positions = CommitPositions(tr->translations);
  for (const auto& [d, o] : positions) {
    GroupTranslation g;
    g.destination_topic = d.topic;
    g.destination_partition = d.partition.value();
    g.destination_offset = o.value();
    out.commits.push_back(std::move(g));
  }
  if (!commit) return out;

  RdKafka destination;
  if (Status s = OpenGroupClient(options.destination_properties, group, destination); !s.ok()) return s;
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(static_cast<int>(positions.size()));
  for (const auto& [d, o] : positions)
    rd_kafka_topic_partition_list_add(offsets, d.topic.c_str(), d.partition.value())->offset = o.value();
  err = rd_kafka_commit(destination.rk, offsets, /*async=*/0);
  std::string failed;
  for (int i = 0; i < offsets->cnt; ++i)
    if (offsets->elems[i].err && failed.empty())
      failed = std::string(offsets->elems[i].topic) + " [" + std::to_string(offsets->elems[i].partition) +
               "]: " + rd_kafka_err2str(offsets->elems[i].err);
  rd_kafka_topic_partition_list_destroy(offsets);
  if (err) return Status::Unavailable(std::string("commit on the destination: ") + rd_kafka_err2str(err));
  if (!failed.empty()) return Status::Unavailable("commit on the destination: " + failed);
  out.committed = true;
  return out;
}

}  // namespace chaperone::replicate
