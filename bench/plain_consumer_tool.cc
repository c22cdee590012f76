// plain_consumer_tool: the baseline of bench/service_bench.sh. A librdkafka
// group consumer tuned like `chaperone service` (the service's own consumer
// defaults, pipeline/consumer_defaults.h; the same batch consume loop; a synchronous
// commit every second) that only touches each message. It reports the time
// from its first message to its Nth.
//
//   plain_consumer_tool BOOTSTRAP TOPIC MESSAGES GROUP [KEY=VALUE ...]
//
// KEY=VALUE pairs override consumer properties, as `service.consumer` does
// for the service.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "pipeline/consumer_defaults.h"

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC MESSAGES GROUP [KEY=VALUE ...]\n", argv[0]);
    return 2;
  }
  const std::string topic = argv[2];
  const long long want = std::atoll(argv[3]);
  std::vector<std::pair<std::string, std::string>> props = chaperone::pipeline::ConsumerTuningDefaults();
  props.insert(props.end(), {
                                {"bootstrap.servers", argv[1]},
                                {"group.id", argv[4]},
                                {"client.id", "plain-consumer"},
                                {"log_level", "3"},
                            });
  for (int i = 5; i < argc; ++i) {
    const std::string kv = argv[i];
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "expected KEY=VALUE, got '%s'\n", argv[i]);
      return 2;
    }
    props.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  props.insert(props.end(), {
                                {"enable.auto.commit", "false"},
                                {"enable.auto.offset.store", "false"},
                                {"enable.partition.eof", "false"},
                                {"partition.assignment.strategy", "cooperative-sticky"},
                            });
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s: %s\n", k.c_str(), err);
      return 2;
    }
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "consumer: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, sub);
  rd_kafka_topic_partition_list_destroy(sub);

  using Clock = std::chrono::steady_clock;
  long long n = 0;
  unsigned long long checksum = 0;
  Clock::time_point first{}, next_commit = Clock::now() + std::chrono::seconds(1);
  // Next offset per (partition), committed every second like the service.
  std::vector<long long> next(4096, -1);
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
  rd_kafka_message_t* batch[256];
  while (n < want) {
    // The service's loop: batches of 256 from the consumer queue, up to 16
    // batches between looks at the commit timer.
    ssize_t got = rd_kafka_consume_batch_queue(queue, 100, batch, 256);
    for (int round = 1; got > 0; ++round) {
      for (ssize_t i = 0; i < got; ++i) {
        rd_kafka_message_t* m = batch[i];
        if (!m->err) {
          if (n == 0) first = Clock::now();
          ++n;
          checksum += m->len + m->key_len + (m->len ? static_cast<const unsigned char*>(m->payload)[0] : 0);
          if (m->partition >= 0 && m->partition < 4096) next[static_cast<size_t>(m->partition)] = m->offset + 1;
        }
        rd_kafka_message_destroy(m);
      }
      if (round >= 16) break;
      got = rd_kafka_consume_batch_queue(queue, 0, batch, 256);
    }
    if (Clock::now() >= next_commit) {
      rd_kafka_topic_partition_list_t* offs = rd_kafka_topic_partition_list_new(64);
      for (size_t p = 0; p < next.size(); ++p)
        if (next[p] >= 0) rd_kafka_topic_partition_list_add(offs, topic.c_str(), static_cast<int>(p))->offset = next[p];
      if (offs->cnt) rd_kafka_commit(rk, offs, 0);
      rd_kafka_topic_partition_list_destroy(offs);
      next_commit = Clock::now() + std::chrono::seconds(1);
    }
  }
  // To the microsecond (bench/service_bench.sh's plain_tick); no rate for a run shorter than that.
  const double secs = std::chrono::duration<double>(Clock::now() - first).count();
  const std::string per_sec = secs >= 1e-6 ? std::to_string(static_cast<long long>(n / secs)) : "unmeasured";
  std::printf("consumed %lld in %.6f s (%s msg/s) checksum %llu\n", n, secs, per_sec.c_str(), checksum);
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}
