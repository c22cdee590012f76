// plain_copy_tool: the baseline of bench/replicate_bench.sh. A plain librdkafka
// consume → produce loop between two clusters, the way a hand-written mirror
// (uReplicator's worker, MirrorMaker 1) does it: a group consumer on the
// source; each message produced to the same topic and partition on the
// destination with its key, value, headers and timestamp (copied); every
// flush interval the producer is flushed, then the consumed offsets are
// committed (at least once); it exits once N messages are acknowledged.
//
//   plain_copy_tool --source BOOTSTRAP --destination BOOTSTRAP --topic TOPIC --count N --group GROUP
//                   [--flush-interval-ms 1000] [--timeout-s 300] [--provenance]
//                   [-C KEY=VALUE ...] [-P KEY=VALUE ...]
//
// -C overrides consumer properties (on top of the audit service's consumer
// tuning, pipeline/consumer_defaults.h, which the replicator's loop shares);
// -P overrides producer properties. acks=all and enable.idempotence=true are
// always set, as the replicator sets them. --provenance adds five headers of
// the replicator's provenance shape and size (src/replicate/provenance.h) to
// each copy, to tell the cost of the extra bytes from the rest.
//
// Prints one line: "copied N in S s (R msg/s, first consumed message to last
// acknowledgement) delivered D failed F peak_rss_kb K". Exit 0 when N were
// copied, 1 on a delivery failure or the timeout, 2 on bad arguments.
#include <getopt.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "pipeline/consumer_defaults.h"

namespace {

using Clock = std::chrono::steady_clock;
using Props = std::vector<std::pair<std::string, std::string>>;

long long g_delivered = 0;
long long g_failed = 0;
std::string g_first_error;

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err) {
    if (g_failed++ == 0) g_first_error = rd_kafka_err2str(m->err);
  } else {
    ++g_delivered;
  }
}

bool AddKeyValue(Props& props, const char* kv) {
  const char* eq = std::strchr(kv, '=');
  if (!eq || eq == kv) {
    std::fprintf(stderr, "plain_copy_tool: expected KEY=VALUE, got '%s'\n", kv);
    return false;
  }
  props.emplace_back(std::string(kv, eq), std::string(eq + 1));
  return true;
}

rd_kafka_conf_t* MakeConf(const Props& props) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "plain_copy_tool: %s: %s\n", k.c_str(), err);
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  return conf;
}

long long PeakRssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atoll(line.c_str() + 6);
  return 0;
}

void PutBe(unsigned char* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) out[i] = static_cast<unsigned char>(v);
}

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --source BOOTSTRAP --destination BOOTSTRAP --topic TOPIC --count N --group GROUP\n"
               "          [--flush-interval-ms MS] [--timeout-s S] [--provenance] [-C KEY=VALUE]... [-P "
               "KEY=VALUE]...\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string source, destination, topic, group;
  long long want = 0;
  long long flush_interval_ms = 1000;
  long long timeout_s = 300;
  bool provenance = false;
  Props consumer_props = chaperone::pipeline::ConsumerTuningDefaults();
  Props producer_props;
  static const option kLong[] = {
      {"source", required_argument, nullptr, 's'},     {"destination", required_argument, nullptr, 'd'},
      {"topic", required_argument, nullptr, 't'},      {"count", required_argument, nullptr, 'n'},
      {"group", required_argument, nullptr, 'g'},      {"flush-interval-ms", required_argument, nullptr, 'f'},
      {"timeout-s", required_argument, nullptr, 'T'},  {"provenance", no_argument, nullptr, 'p'},
      {nullptr, 0, nullptr, 0},
  };
  for (int opt; (opt = getopt_long(argc, argv, "C:P:", kLong, nullptr)) != -1;) {
    switch (opt) {
      case 's': source = optarg; break;
      case 'd': destination = optarg; break;
      case 't': topic = optarg; break;
      case 'n': want = std::atoll(optarg); break;
      case 'g': group = optarg; break;
      case 'f': flush_interval_ms = std::atoll(optarg); break;
      case 'T': timeout_s = std::atoll(optarg); break;
      case 'p': provenance = true; break;
      case 'C':
        if (!AddKeyValue(consumer_props, optarg)) return 2;
        break;
      case 'P':
        if (!AddKeyValue(producer_props, optarg)) return 2;
        break;
      default: return Usage(argv[0]);
    }
  }
  if (optind != argc || source.empty() || destination.empty() || topic.empty() || group.empty() || want <= 0 ||
      flush_interval_ms <= 0 || timeout_s <= 0)
    return Usage(argv[0]);

  consumer_props.insert(consumer_props.end(), {
                                                  {"bootstrap.servers", source},
                                                  {"group.id", group},
                                                  {"client.id", "plain-copy"},
                                                  {"log_level", "3"},
                                                  {"enable.auto.commit", "false"},
                                                  {"enable.auto.offset.store", "false"},
                                                  {"enable.partition.eof", "false"},
                                                  {"partition.assignment.strategy", "cooperative-sticky"},
                                              });
  producer_props.insert(producer_props.begin(), {{"bootstrap.servers", destination},
                                                 {"client.id", "plain-copy"},
                                                 {"log_level", "3"}});
  producer_props.insert(producer_props.end(), {{"acks", "all"}, {"enable.idempotence", "true"}});

  char err[512];
  rd_kafka_conf_t* cconf = MakeConf(consumer_props);
  if (!cconf) return 2;
  rd_kafka_conf_t* pconf = MakeConf(producer_props);
  if (!pconf) return 2;
  rd_kafka_conf_set_dr_msg_cb(pconf, OnDelivery);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err);
  if (!producer) {
    std::fprintf(stderr, "plain_copy_tool: producer: %s\n", err);
    return 1;
  }
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof err);
  if (!consumer) {
    std::fprintf(stderr, "plain_copy_tool: consumer: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* sub = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(sub, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(consumer, sub);
  rd_kafka_topic_partition_list_destroy(sub);

  // Provenance-shaped headers: origin version, cluster, topic, partition, offset.
  const std::string origin_cluster = "src";
  const unsigned char version = 1;

  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(timeout_s);
  const auto interval = std::chrono::milliseconds(flush_interval_ms);
  Clock::time_point first{}, next_flush = Clock::now() + interval;
  long long consumed = 0;
  // Next offset per source partition, committed after each flush.
  std::vector<long long> next(4096, -1);
  bool have_uncommitted = false;
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(consumer);
  rd_kafka_message_t* batch[256];
  int rc = 0;

  // Flush the producer, then commit what it acknowledged.
  auto flush_and_commit = [&]() -> bool {
    while (rd_kafka_outq_len(producer) > 0) {
      if (Clock::now() >= deadline) return false;
      rd_kafka_flush(producer, 100);
    }
    if (g_failed > 0) return false;
    if (have_uncommitted) {
      rd_kafka_topic_partition_list_t* offs = rd_kafka_topic_partition_list_new(64);
      for (size_t p = 0; p < next.size(); ++p)
        if (next[p] >= 0) rd_kafka_topic_partition_list_add(offs, topic.c_str(), static_cast<int>(p))->offset = next[p];
      if (rd_kafka_resp_err_t e = rd_kafka_commit(consumer, offs, 0))
        std::fprintf(stderr, "plain_copy_tool: commit: %s\n", rd_kafka_err2str(e));
      rd_kafka_topic_partition_list_destroy(offs);
      have_uncommitted = false;
    }
    return true;
  };

  while (g_delivered < want) {
    if (Clock::now() >= deadline) {
      std::fprintf(stderr, "plain_copy_tool: timed out after %lld s: %lld consumed, %lld acknowledged of %lld\n",
                   timeout_s, consumed, g_delivered, want);
      rc = 1;
      break;
    }
    if (consumed < want) {
      // The service's loop shape: batches of 256, up to 16 between looks at the flush timer.
      ssize_t got = rd_kafka_consume_batch_queue(queue, 100, batch, 256);
      for (int round = 1; got > 0; ++round) {
        for (ssize_t i = 0; i < got; ++i) {
          rd_kafka_message_t* m = batch[i];
          if (m->err) {
            std::fprintf(stderr, "plain_copy_tool: consume: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
          }
          if (consumed++ == 0) first = Clock::now();
          rd_kafka_headers_t* headers = nullptr;
          rd_kafka_headers_t* src_headers = nullptr;
          if (rd_kafka_message_headers(m, &src_headers) == RD_KAFKA_RESP_ERR_NO_ERROR)
            headers = rd_kafka_headers_copy(src_headers);
          if (provenance) {
            if (!headers) headers = rd_kafka_headers_new(5);
            unsigned char partition[4], offset[8];
            PutBe(partition, static_cast<uint32_t>(m->partition), 4);
            PutBe(offset, static_cast<uint64_t>(m->offset), 8);
            rd_kafka_header_add(headers, "chaperone.origin.v", -1, &version, 1);
            rd_kafka_header_add(headers, "chaperone.origin.cluster", -1, origin_cluster.data(),
                                static_cast<ssize_t>(origin_cluster.size()));
            rd_kafka_header_add(headers, "chaperone.origin.topic", -1, topic.data(), static_cast<ssize_t>(topic.size()));
            rd_kafka_header_add(headers, "chaperone.origin.partition", -1, partition, 4);
            rd_kafka_header_add(headers, "chaperone.origin.offset", -1, offset, 8);
          }
          rd_kafka_timestamp_type_t ts_type;
          int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
          if (ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) ts = 0;
          for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(m->partition),
                RD_KAFKA_V_KEY(m->key, m->key_len), RD_KAFKA_V_VALUE(m->payload, m->len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(headers),
                RD_KAFKA_V_END);
            if (!e) break;  // the producer owns the headers now
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
              std::fprintf(stderr, "plain_copy_tool: produce: %s\n", rd_kafka_err2str(e));
              if (headers) rd_kafka_headers_destroy(headers);
              return 1;
            }
            rd_kafka_poll(producer, 10);
          }
          if (m->partition >= 0 && m->partition < 4096) next[static_cast<size_t>(m->partition)] = m->offset + 1;
          have_uncommitted = true;
          rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(producer, 0);
        if (round >= 16 || consumed >= want) break;
        got = rd_kafka_consume_batch_queue(queue, 0, batch, 256);
      }
    }
    if (Clock::now() >= next_flush || consumed >= want) {
      if (!flush_and_commit()) {
        std::fprintf(stderr, "plain_copy_tool: %s: %lld acknowledged, %lld failed of %lld consumed%s%s\n",
                     g_failed ? "delivery failed" : "flush timed out", g_delivered, g_failed, consumed,
                     g_failed ? ", first error: " : "", g_first_error.c_str());
        rc = 1;
        break;
      }
      next_flush = Clock::now() + interval;
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - first).count();
  if (rc == 0) {
    const std::string per_sec = secs >= 1e-6 ? std::to_string(static_cast<long long>(g_delivered / secs)) : "unmeasured";
    std::printf(
        "copied %lld in %.6f s (%s msg/s, first consumed message to last acknowledgement) delivered %lld failed %lld "
        "peak_rss_kb %lld\n",
        g_delivered, secs, per_sec.c_str(), g_delivered, g_failed, PeakRssKb());
    std::fflush(stdout);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  rd_kafka_flush(producer, 1000);
  rd_kafka_destroy(producer);
  return rc;
}
