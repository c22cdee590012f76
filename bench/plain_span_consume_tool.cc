// plain_span_consume_tool: the baseline of bench/read_bench.sh. A plain
// librdkafka consumer (librdkafka's defaults, no group: assign mode) that
// reads given offset spans of a topic the way `chaperone read` reads the
// audit's spans: each partition is assigned at its first span's first
// offset, seeks over the gaps between spans, and is paused after its last
// span's last offset. It counts the messages inside the spans and their key
// + value bytes, and touches each one.
//
//   plain_span_consume_tool BOOTSTRAP TOPIC SPANS [--filter-ts FROM_MS TO_MS] [--stats] [KEY=VALUE ...]
//
// SPANS: a file of "PARTITION FIRST LAST" lines (offsets included; spans
// that overlap or touch are merged, as the reader merges them), "-" for
// standard input, or "all": every partition of the topic from its log start
// to its high watermark (a full scan).
// --filter-ts: also count the messages whose JSON value's first "ts" field
// (epoch ms) is in [FROM_MS, TO_MS), and their key + value bytes: a full
// scan that filters by event time.
// --stats: librdkafka statistics every 50 ms; prints the bytes received
// from the brokers (the sum of the brokers' rxbytes after the last fetch).
// KEY=VALUE pairs override consumer properties.
//
// Prints one line:
//   "messages N bytes B seconds S first_s F matching M matching_bytes MB fetched_bytes R"
// S: from before the consumer is created to the last span's last message;
// F: from the first message to the last; R is -1 without --stats.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Span {
  long long first, last;
};
struct PartitionState {
  std::vector<Span> spans;
  size_t next = 0;
  bool done = false;
};

std::atomic<long long> g_rx_bytes{-1};
std::atomic<long long> g_stats_events{0};

// The sum of the brokers' "rxbytes" in a statistics document (a plain scan:
// the tool has no JSON library). The "brokers" object comes before "topics",
// whose partitions have an "rxbytes" of their own (message bytes).
int OnStats(rd_kafka_t*, char* json, size_t len, void*) {
  std::string doc(json, len);
  doc.resize(std::min(doc.size(), doc.find("\"topics\":")));
  long long sum = 0;
  for (size_t at = doc.find("\"rxbytes\":"); at != std::string::npos; at = doc.find("\"rxbytes\":", at + 1))
    sum += std::atoll(doc.c_str() + at + 10);
  g_rx_bytes = sum;
  ++g_stats_events;
  return 0;
}

// The first "ts": number of a JSON value, or -1.
long long EventMs(const char* p, size_t len) {
  static const char kKey[] = "\"ts\":";
  const char* end = p + len;
  const char* at = std::search(p, end, kKey, kKey + sizeof kKey - 1);
  if (at == end) return -1;
  long long v = 0;
  bool any = false;
  for (at += sizeof kKey - 1; at < end && *at >= '0' && *at <= '9'; ++at) {
    v = v * 10 + (*at - '0');
    any = true;
  }
  return any ? v : -1;
}

int Usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC SPANS|-|all [--filter-ts FROM_MS TO_MS] [--stats] [KEY=VALUE ...]\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return Usage(argv[0]);
  const std::string topic = argv[2];
  const std::string spans_arg = argv[3];
  long long from_ms = -1, to_ms = -1;
  bool stats = false;
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", argv[1]},
      {"client.id", "plain-span-consumer"},
      // librdkafka 2.0 assigns only with a group id; nothing joins or commits.
      {"group.id", "plain-span-consumer"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"log_level", "3"},
  };
  for (int i = 4; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--filter-ts" && i + 2 < argc) {
      from_ms = std::atoll(argv[i + 1]);
      to_ms = std::atoll(argv[i + 2]);
      i += 2;
    } else if (a == "--stats") {
      stats = true;
    } else if (const size_t eq = a.find('='); eq != std::string::npos && eq > 0) {
      props.emplace_back(a.substr(0, eq), a.substr(eq + 1));
    } else {
      return Usage(argv[0]);
    }
  }
  if (stats) props.emplace_back("statistics.interval.ms", "50");

  const Clock::time_point start = Clock::now();
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s: %s\n", k.c_str(), err);
      return 2;
    }
  }
  if (stats) rd_kafka_conf_set_stats_cb(conf, &OnStats);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "consumer: %s\n", err);
    return 1;
  }
  rd_kafka_poll_set_consumer(rk);

  // The spans, merged per partition.
  std::map<int, std::vector<Span>> raw;
  if (spans_arg == "all") {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
      std::fprintf(stderr, "%s: metadata: %s\n", topic.c_str(), rd_kafka_err2str(e ? e : md->topics[0].err));
      return 1;
    }
    for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
      const int p = md->topics[0].partitions[i].id;
      int64_t low = 0, high = 0;
      if ((e = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high, 10000))) {
        std::fprintf(stderr, "%s [%d]: watermarks: %s\n", topic.c_str(), p, rd_kafka_err2str(e));
        return 1;
      }
      if (high > low) raw[p].push_back({low, high - 1});
    }
    rd_kafka_metadata_destroy(md);
  } else {
    std::ifstream file;
    if (spans_arg != "-") {
      file.open(spans_arg);
      if (!file) {
        std::fprintf(stderr, "cannot read %s\n", spans_arg.c_str());
        return 2;
      }
    }
    std::istream& in = spans_arg == "-" ? std::cin : file;
    int p;
    long long first, last;
    while (in >> p >> first >> last) {
      if (last >= first) raw[p].push_back({first, last});
    }
  }
  std::map<int, PartitionState> parts;
  for (auto& [p, spans] : raw) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.first < b.first; });
    std::vector<Span>& out = parts[p].spans;
    for (const Span& s : spans) {
      if (!out.empty() && s.first <= out.back().last + 1) out.back().last = std::max(out.back().last, s.last);
      else out.push_back(s);
    }
  }
  if (parts.empty()) {
    std::fprintf(stderr, "no spans\n");
    return 2;
  }

  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
  for (const auto& [p, st] : parts)
    rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset = st.spans.front().first;
  if (rd_kafka_resp_err_t e = rd_kafka_assign(rk, assignment)) {
    std::fprintf(stderr, "assign: %s\n", rd_kafka_err2str(e));
    return 1;
  }
  rd_kafka_topic_partition_list_destroy(assignment);

  size_t remaining = parts.size();
  // Past a span: to the next one (seeking over a gap), or pause the partition.
  auto finish_span = [&](int partition, PartitionState& st, long long next_offset) {
    ++st.next;
    while (st.next < st.spans.size() && st.spans[st.next].last < next_offset) ++st.next;
    rd_kafka_topic_partition_list_t* one = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t* tp = rd_kafka_topic_partition_list_add(one, topic.c_str(), partition);
    if (st.next == st.spans.size()) {
      st.done = true;
      --remaining;
      rd_kafka_pause_partitions(rk, one);
    } else if (st.spans[st.next].first > next_offset) {
      tp->offset = st.spans[st.next].first;
      if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk, one, 10000)) {
        std::fprintf(stderr, "seek: %s\n", rd_kafka_error_string(e));
        std::exit(1);
      }
    }
    rd_kafka_topic_partition_list_destroy(one);
  };

  long long n = 0, bytes = 0, matching = 0, matching_bytes = 0, checksum = 0;
  Clock::time_point first{}, last{};
  auto idle_since = Clock::now();
  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(512);
  while (remaining > 0) {
    const ssize_t got = rd_kafka_consume_batch_queue(queue, 100, batch.data(), batch.size());
    if (got <= 0) {
      if (Clock::now() - idle_since > std::chrono::seconds(30)) {
        std::fprintf(stderr, "no progress for 30 s\n");
        return 1;
      }
      continue;
    }
    idle_since = Clock::now();
    for (ssize_t i = 0; i < got; ++i) {
      rd_kafka_message_t* m = batch[static_cast<size_t>(i)];
      auto it = parts.find(m->partition);
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (it != parts.end() && !it->second.done) {
          it->second.next = it->second.spans.size() - 1;
          finish_span(m->partition, it->second, m->offset);
        }
      } else if (m->err) {
        std::fprintf(stderr, "%s\n", rd_kafka_message_errstr(m));
      } else if (it != parts.end() && !it->second.done) {
        PartitionState& st = it->second;
        while (!st.done && st.spans[st.next].last < m->offset) finish_span(m->partition, st, m->offset);
        if (!st.done && m->offset >= st.spans[st.next].first) {
          if (n == 0) first = Clock::now();
          ++n;
          bytes += static_cast<long long>(m->key_len + m->len);
          checksum += static_cast<long long>(m->len ? static_cast<const unsigned char*>(m->payload)[0] : 0);
          if (from_ms >= 0) {
            const long long ts = EventMs(static_cast<const char*>(m->payload), m->len);
            if (ts >= from_ms && ts < to_ms) {
              ++matching;
              matching_bytes += static_cast<long long>(m->key_len + m->len);
            }
          }
          if (m->offset >= st.spans[st.next].last) finish_span(m->partition, st, m->offset + 1);
        }
      }
      rd_kafka_message_destroy(m);
    }
    last = Clock::now();
  }
  const double secs = std::chrono::duration<double>(last - start).count();
  const double first_secs = std::chrono::duration<double>(last - first).count();
  if (stats) {
    // A statistics report made after the last fetch (as `chaperone read --measure-fetch` waits for one).
    const long long seen = g_stats_events;
    for (int i = 0; i < 40 && g_stats_events < seen + 2; ++i) {
      const ssize_t got = rd_kafka_consume_batch_queue(queue, 10, batch.data(), batch.size());
      for (ssize_t k = 0; k < got; ++k) rd_kafka_message_destroy(batch[static_cast<size_t>(k)]);
    }
  }
  std::printf("messages %lld bytes %lld seconds %.6f first_s %.6f matching %lld matching_bytes %lld fetched_bytes %lld"
              " (checksum %lld)\n",
              n, bytes, secs, first_secs, matching, matching_bytes, stats ? g_rx_bytes.load() : -1LL, checksum);
  rd_kafka_queue_destroy(queue);
  rd_kafka_assign(rk, nullptr);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}
