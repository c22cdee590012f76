// The SpanReader seam over librdkafka: a consumer without a group, assigned
// to the spans' first offsets, seeking over the gaps between spans and
// pausing each partition once its last span is read. Prefetch is sized from
// the caller's byte estimate so that little is fetched past a span's end
// (the spans of a read are usually a small part of the log).
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>

#include "lib/kafka/fetch_waker.h"
#include "lib/kafka/message_view.h"
#include "lib/kafka/span_reader.h"

namespace chaperone::kafka {
namespace {

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using TpList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// Sums the brokers' rxbytes of a librdkafka statistics document.
int64_t BrokerRxBytes(const char* json, size_t len) {
  auto doc = nlohmann::json::parse(json, json + len, nullptr, false);
  if (!doc.is_object() || !doc["brokers"].is_object()) return -1;
  int64_t sum = 0;
  for (const auto& [name, b] : doc["brokers"].items()) {
    if (b.is_object() && b["rxbytes"].is_number_integer()) sum += b["rxbytes"].get<int64_t>();
  }
  return sum;
}

// librdkafka's own log lines (a broker down, a connection refused) go to the
// debug log: a read reports what stopped it in its Status.
void OnLog(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  spdlog::debug("read: librdkafka {} {}: {}", level, fac, buf);
}

// The prefetch queue's budget for spans of about `bytes_hint` bytes, in
// kilobytes (librdkafka's queued.max.messages.kbytes): a sixteenth of them.
int64_t QueueBudgetKb(int64_t bytes_hint) { return std::clamp<int64_t>(bytes_hint / 16 / 1000, 16, 65536); }

class LibrdkafkaSpanReader final : public SpanReader {
 public:
  explicit LibrdkafkaSpanReader(SpanReaderOptions options) : options_(std::move(options)) {}

  Status Init() {
    auto h = NewHandle(/*bytes_hint=*/0, /*partitions=*/1, /*with_stats=*/false);
    if (!h.ok()) return h.status();
    control_ = std::move(*h);
    return Status::Ok();
  }

  Status QueryWatermarks(const std::string& topic, int32_t partition, int64_t* low, int64_t* high,
                         std::chrono::milliseconds timeout) override {
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(control_.get(), topic.c_str(), partition, low, high,
                                                               static_cast<int>(timeout.count()));
    if (err) return Status::Unavailable(fmt::format("{} [{}]: watermarks: {}", topic, partition, rd_kafka_err2str(err)));
    return Status::Ok();
  }

  Status Read(const std::string& topic, const std::vector<OffsetSpan>& input, int64_t bytes_hint,
              const std::function<bool(const Message&)>& on_message,
              std::chrono::milliseconds stall_timeout) override;

  SpanReadStats stats() const override {
    SpanReadStats s = stats_;
    std::lock_guard lock(stats_mu_);
    s.bytes_fetched = options_.measure_bytes ? rx_bytes_done_ + std::max<int64_t>(0, rx_bytes_current_) : -1;
    return s;
  }

 private:
  static int OnStats(rd_kafka_t*, char* json, size_t len, void* opaque);

  Result<Handle> NewHandle(int64_t bytes_hint, size_t partitions, bool with_stats);

  SpanReaderOptions options_;
  Handle control_;  // watermark queries
  SpanReadStats stats_;
  mutable std::mutex stats_mu_;
  int64_t rx_bytes_done_ = 0;     // guarded by stats_mu_: of finished reads' handles
  int64_t rx_bytes_current_ = 0;  // guarded by stats_mu_: the current read's handle, as last reported
  int64_t stats_events_ = 0;      // guarded by stats_mu_
};

int LibrdkafkaSpanReader::OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  auto* self = static_cast<LibrdkafkaSpanReader*>(opaque);
  const int64_t rx = BrokerRxBytes(json, len);
  std::lock_guard lock(self->stats_mu_);
  if (rx >= 0) self->rx_bytes_current_ = rx;
  ++self->stats_events_;
  return 0;  // librdkafka frees `json`
}

// Our defaults go first: the cluster's properties (-X) may override them.
Result<Handle> LibrdkafkaSpanReader::NewHandle(int64_t bytes_hint, size_t partitions, bool with_stats) {
  KafkaProperties props = {
      {"client.id", "chaperone-read"},
      // librdkafka 2.0 assigns only with a group id; the reader never joins
      // the group (no subscribe) and never commits.
      {"group.id", fmt::format("chaperone-read-{}", static_cast<const void*>(this))},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      {"auto.offset.reset", "earliest"},
      {"queued.min.messages", "1000000"},
      // The spans were written before the audit recorded them: a fetch that
      // finds no data is at the end of the log, and waiting for more (500 ms
      // by default) only holds up the partitions queued behind it, since
      // librdkafka has one fetch in flight per broker.
      {"fetch.wait.max.ms", "10"},
  };
  if (bytes_hint > 0) {
    // Past its last span a partition keeps fetching until the reader pauses
    // it: at most what the queue holds plus one fetch per partition. Both
    // are a sixteenth of the spans' bytes (within librdkafka's bounds).
    const int64_t queue_kb = QueueBudgetKb(bytes_hint);
    const int64_t fetch = std::clamp<int64_t>(bytes_hint / 16 / static_cast<int64_t>(std::max<size_t>(1, partitions)),
                                              16 << 10, 1 << 20);
    props.emplace_back("queued.max.messages.kbytes", std::to_string(queue_kb));
    props.emplace_back("max.partition.fetch.bytes", std::to_string(fetch));
    // At least message.max.bytes (its default), as librdkafka requires.
    props.emplace_back("fetch.max.bytes", std::to_string(std::max<int64_t>({fetch, queue_kb * 1000, 1000000})));
  }
  if (with_stats) props.emplace_back("statistics.interval.ms", "50");
  if (!PlanFetchWaker(props).needed) props.emplace_back("fetch.queue.backoff.ms", "10");
  for (const auto& p : WithoutPluginProperties(options_.properties)) props.push_back(p);
  auto conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_log_cb(*conf, &OnLog);
  if (with_stats) {
    rd_kafka_conf_set_stats_cb(*conf, &LibrdkafkaSpanReader::OnStats);
    rd_kafka_conf_set_opaque(*conf, this);
  }
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(std::string("read consumer: ") + errstr);
  }
  rd_kafka_poll_set_consumer(rk);
  return Handle(rk);
}

struct PartitionState {
  std::vector<OffsetSpan> spans;  // this partition's, ascending
  size_t next = 0;                // the span being read
  bool done = false;
};

Status LibrdkafkaSpanReader::Read(const std::string& topic, const std::vector<OffsetSpan>& input,
                                  int64_t bytes_hint, const std::function<bool(const Message&)>& on_message,
                                  std::chrono::milliseconds stall_timeout) {
  std::map<int32_t, PartitionState> parts;
  for (const OffsetSpan& s : MergeSpans(input)) {
    if (s.last >= s.first) parts[s.partition].spans.push_back(s);
  }
  if (parts.empty()) return Status::Ok();
  auto h = NewHandle(bytes_hint, parts.size(), options_.measure_bytes);
  if (!h.ok()) return h.status();
  rd_kafka_t* rk = h->get();
  {
    std::lock_guard lock(stats_mu_);
    rx_bytes_current_ = 0;
  }

  TpList assignment(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (auto& [p, st] : parts) {
    rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset = st.spans.front().first;
  }
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, assignment.get())) {
    return Status::Unavailable(fmt::format("{}: assign: {}", topic, rd_kafka_err2str(err)));
  }

  // librdkafka < 2.1 stops fetching once the queue is full and looks again
  // only when something wakes its broker thread (lib/kafka/fetch_waker.h).
  std::unique_ptr<FetchWaker> waker;
  std::unique_ptr<QueueDrainTrigger> trigger;
  const FetchWakerPlan plan = PlanFetchWaker(WithoutPluginProperties(options_.properties));
  if (plan.needed) {
    const int64_t queue_bytes =
        bytes_hint > 0 ? QueueBudgetKb(bytes_hint) * 1000 : plan.max_bytes;
    trigger = std::make_unique<QueueDrainTrigger>(1000000, queue_bytes);
    waker = std::make_unique<FetchWaker>(rk, [&topic, &parts] {
      std::vector<std::pair<std::string, int32_t>> out;
      for (const auto& [p, st] : parts) {
        if (!st.done) out.emplace_back(topic, p);
      }
      return out;
    });
  }

  rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(512);
  // Partitions sought while a batch is handled: the rest of that batch is
  // from before the seek (librdkafka drops such messages from its queue, not
  // from a batch already taken), and their messages come again from the
  // new position.
  std::set<int32_t> sought;
  size_t remaining = parts.size();
  auto last_progress = std::chrono::steady_clock::now();
  int64_t delivered_bytes = 0;
  Status result = Status::Ok();
  bool stop = false;

  // Moves a partition past its finished span: to the next span (seeking over
  // a gap), or pauses it when it has none left.
  auto finish_span = [&](int32_t partition, PartitionState& st, int64_t next_offset) {
    ++st.next;
    while (st.next < st.spans.size() && st.spans[st.next].last < next_offset) ++st.next;
    if (st.next == st.spans.size()) {
      st.done = true;
      --remaining;
      TpList one(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(one.get(), topic.c_str(), partition);
      rd_kafka_pause_partitions(rk, one.get());
      return;
    }
    if (st.spans[st.next].first > next_offset) {
      TpList one(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(one.get(), topic.c_str(), partition)->offset = st.spans[st.next].first;
      if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk, one.get(), 10000)) {
        result = Status::Unavailable(fmt::format("{} [{}]: seek: {}", topic, partition, rd_kafka_error_string(e)));
        rd_kafka_error_destroy(e);
        stop = true;
      }
      ++stats_.seeks;
      sought.insert(partition);
    }
  };

  while (remaining > 0 && !stop) {
    // What is queued now, without waiting: a batch call with a timeout waits
    // for a full batch, and meanwhile the fetchers run past the spans' ends.
    // With nothing queued, wait for one message.
    ssize_t got = rd_kafka_consume_batch_queue(queue, 0, batch.data(), batch.size());
    if (got == 0) {
      if (rd_kafka_message_t* one = rd_kafka_consume_queue(queue, 100)) {
        batch[0] = one;
        got = 1;
      }
    }
    if (got <= 0) {
      if (std::chrono::steady_clock::now() - last_progress > stall_timeout) {
        std::string where;
        for (const auto& [p, st] : parts) {
          if (!st.done) where += fmt::format("{}{} (span {}-{})", where.empty() ? "" : ", ", p,
                                             st.spans[st.next].first, st.spans[st.next].last);
        }
        result = Status::Unavailable(fmt::format("{}: no progress for {} ms on partitions {}", topic,
                                                      stall_timeout.count(), where));
        break;
      }
      continue;
    }
    last_progress = std::chrono::steady_clock::now();
    sought.clear();
    for (ssize_t i = 0; i < got; ++i) {
      rd_kafka_message_t* m = batch[static_cast<size_t>(i)];
      if (!stop && m->rkt && sought.count(m->partition)) {
        if (!m->err) ++stats_.skipped;
      } else if (!stop) {
        auto it = m->rkt ? parts.find(m->partition) : parts.end();
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
          // The end of the log: every span at or past it is read.
          if (it != parts.end() && !it->second.done) {
            it->second.next = it->second.spans.size() - 1;
            finish_span(m->partition, it->second, m->offset);
          }
        } else if (m->err) {
          if (rd_kafka_fatal_error(rk, nullptr, 0) || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
              m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
              m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
            result = Status::Unavailable(fmt::format("{}: {}", topic, rd_kafka_message_errstr(m)));
            stop = true;
          } else {
            spdlog::warn("read: {}: {}", topic, rd_kafka_message_errstr(m));
          }
        } else if (it != parts.end() && !it->second.done) {
          PartitionState& st = it->second;
          while (st.next < st.spans.size() && st.spans[st.next].last < m->offset) {
            // A message past the span (the span's last offsets held none).
            finish_span(m->partition, st, m->offset);
            if (st.done || stop) break;
          }
          if (!st.done && !stop) {
            const OffsetSpan& span = st.spans[st.next];
            if (m->offset < span.first) {
              ++stats_.skipped;
            } else {
              Message msg;
              msg.topic = topic;
              msg.partition = m->partition;
              msg.offset = m->offset;
              msg.view = ToMessageView(m);
              msg.header_at = &LibrdkafkaHeaderAt;
              msg.header_ctx = m;
              ++stats_.delivered;
              delivered_bytes += static_cast<int64_t>(m->key_len + m->len);
              if (!on_message(msg)) stop = true;
              if (m->offset >= span.last && !stop) finish_span(m->partition, st, m->offset + 1);
            }
          } else {
            ++stats_.skipped;
          }
        } else {
          ++stats_.skipped;
        }
      }
      rd_kafka_message_destroy(m);
    }
    if (trigger && stats_.delivered > 0 &&
        trigger->Observe(static_cast<int64_t>(rd_kafka_queue_length(queue)),
                         std::max<int64_t>(1, delivered_bytes / std::max<int64_t>(1, stats_.delivered))))
      waker->Wake();
  }
  waker.reset();

  if (options_.measure_bytes) {
    // Wait for a statistics report made after the last fetch.
    int64_t seen;
    {
      std::lock_guard lock(stats_mu_);
      seen = stats_events_;
    }
    for (int i = 0; i < 40; ++i) {
      // The main queue is the consumer queue (poll_set_consumer): serving it
      // runs the statistics callback; messages still queued are dropped.
      const ssize_t n = rd_kafka_consume_batch_queue(queue, 10, batch.data(), batch.size());
      for (ssize_t k = 0; k < n; ++k) rd_kafka_message_destroy(batch[static_cast<size_t>(k)]);
      std::lock_guard lock(stats_mu_);
      if (stats_events_ >= seen + 2) break;
    }
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_assign(rk, nullptr);
  rd_kafka_consumer_close(rk);
  h->reset();
  {
    std::lock_guard lock(stats_mu_);
    rx_bytes_done_ += rx_bytes_current_;
    rx_bytes_current_ = 0;
  }
  return result;
}

}  // namespace

std::vector<OffsetSpan> MergeSpans(std::vector<OffsetSpan> spans) {
  std::sort(spans.begin(), spans.end(), [](const OffsetSpan& a, const OffsetSpan& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.first < b.first;
  });
  std::vector<OffsetSpan> out;
  for (const OffsetSpan& s : spans) {
    if (s.last < s.first) continue;
    if (!out.empty() && out.back().partition == s.partition && s.first <= out.back().last + 1) {
      out.back().last = std::max(out.back().last, s.last);
    } else {
      out.push_back(s);
    }
  }
  return out;
}

Result<std::unique_ptr<SpanReader>> CreateLibrdkafkaSpanReader(const SpanReaderOptions& options) {
  auto r = std::make_unique<LibrdkafkaSpanReader>(options);
  if (Status s = r->Init(); !s.ok()) return s;
  return std::unique_ptr<SpanReader>(std::move(r));
}

}  // namespace chaperone::kafka
