// plain_consumer_tool: the baseline of bench/service_bench.sh. A librdkafka
// group consumer tuned like `chaperone service` (same consumer properties,
// same poll loop, synchronous commit every second) that only touches each
// message. It reports the time from its first message to its Nth.
//
//   plain_consumer_tool BOOTSTRAP TOPIC MESSAGES GROUP [QUEUE_KBYTES [FETCH_MAX_BYTES]]
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 5 || argc > 7) {
    std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC MESSAGES GROUP [QUEUE_KBYTES [FETCH_MAX_BYTES]]\n", argv[0]);
    return 2;
  }
  const std::string topic = argv[2];
  const long long want = std::atoll(argv[3]);
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", argv[1]},
      {"group.id", argv[4]},
      {"client.id", "plain-consumer"},
      {"auto.offset.reset", "earliest"},
      {"queued.min.messages", "1000000"},
      {"queued.max.messages.kbytes", "32768"},
      {"fetch.max.bytes", "16777216"},
      {"max.partition.fetch.bytes", "1048576"},
      {"fetch.wait.max.ms", "100"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "false"},
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"log_level", "3"},
  };
  if (argc > 5) props.emplace_back("queued.max.messages.kbytes", argv[5]);
  if (argc > 6) props.emplace_back("fetch.max.bytes", argv[6]);
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
  while (n < want) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    for (int k = 0; m != nullptr; ++k) {
      if (!m->err) {
        if (n == 0) first = Clock::now();
        ++n;
        checksum += m->len + m->key_len + (m->len ? static_cast<const unsigned char*>(m->payload)[0] : 0);
        if (m->partition >= 0 && m->partition < 4096) next[static_cast<size_t>(m->partition)] = m->offset + 1;
      }
      rd_kafka_message_destroy(m);
      if (k + 1 >= 4096) break;
      m = rd_kafka_consumer_poll(rk, 0);
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
  double secs = std::chrono::duration<double>(Clock::now() - first).count();
  std::printf("consumed %lld in %.3f s (%.0f msg/s) checksum %llu\n", n, secs, static_cast<double>(n) / secs, checksum);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}
