#include "support/service_support.h"

#include <fmt/format.h>

#include <atomic>
#include <limits>
#include <set>
#include <thread>

#include "chaperone/digest.h"
#include "chaperone/event_time.h"
#include "chaperone/types.h"

namespace chaperone::testing {

bool WaitFor(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string Describe(const WindowKey& k) {
  return fmt::format("{}[{}]@{}", std::get<0>(k), std::get<1>(k), std::get<2>(k));
}

WindowTotals ByTopicWindow(const WindowTotals& t) {
  WindowTotals out;
  for (const auto& [k, v] : t) {
    WindowSums& s = out[WindowKey{std::get<0>(k), -1, std::get<2>(k)}];
    s.count += v.count;
    s.digest += v.digest;
    s.malformed += v.malformed;
    s.no_time += v.no_time;
  }
  return out;
}

int64_t TotalCount(const WindowTotals& t) {
  int64_t n = 0;
  for (const auto& [k, v] : t) n += v.count;
  return n;
}

std::string DiffTotals(const WindowTotals& expected, const WindowTotals& actual, size_t max_lines) {
  std::string out;
  size_t lines = 0;
  auto line = [&](const std::string& s) {
    if (lines++ < max_lines) out += s + "\n";
  };
  for (const auto& [k, e] : expected) {
    auto it = actual.find(k);
    if (it == actual.end()) {
      line(fmt::format("{}: expected count {}, missing", Describe(k), e.count));
    } else if (!(it->second == e)) {
      const WindowSums& a = it->second;
      line(fmt::format("{}: expected count {} digest {:016x} malformed {} no_time {}, got {} {:016x} {} {}",
                       Describe(k), e.count, e.digest, e.malformed, e.no_time, a.count, a.digest, a.malformed,
                       a.no_time));
    }
  }
  for (const auto& [k, a] : actual) {
    if (!expected.count(k)) line(fmt::format("{}: unexpected count {}", Describe(k), a.count));
  }
  if (lines > max_lines) out += fmt::format("... and {} more\n", lines - max_lines);
  return out;
}

// ---------------------------------------------------------------------------

namespace {

rd_kafka_conf_t* Conf(const std::vector<std::pair<std::string, std::string>>& props, std::string* err) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      *err = k + ": " + errstr;
      rd_kafka_conf_destroy(conf);
      return nullptr;
    }
  }
  return conf;
}

}  // namespace

Result<std::unique_ptr<TestProducer>> TestProducer::Create(const std::string& bootstrap,
                                                           std::vector<std::pair<std::string, std::string>> extra) {
  std::vector<std::pair<std::string, std::string>> props = {{"bootstrap.servers", bootstrap},
                                                             {"enable.idempotence", "true"},
                                                             {"linger.ms", "5"},
                                                             {"log_level", "3"}};
  props.insert(props.end(), extra.begin(), extra.end());
  std::string err;
  rd_kafka_conf_t* conf = Conf(props, &err);
  if (!conf) return Status::InvalidArgument(err);
  std::unique_ptr<TestProducer> p(new TestProducer());
  rd_kafka_conf_set_dr_msg_cb(conf, &TestProducer::OnDelivery);
  rd_kafka_conf_set_opaque(conf, p.get());
  char errstr[512];
  p->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!p->rk_) {
    rd_kafka_conf_destroy(conf);
    return Status::Internal(errstr);
  }
  return p;
}

TestProducer::~TestProducer() {
  if (rk_) {
    rd_kafka_flush(rk_, 10000);
    rd_kafka_destroy(rk_);
  }
}

void TestProducer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err) ++static_cast<TestProducer*>(opaque)->failed_;
}

Status TestProducer::Produce(const TestMessage& m, int64_t window_sec) {
  rd_kafka_headers_t* hdrs = nullptr;
  if (!m.headers.empty()) {
    hdrs = rd_kafka_headers_new(m.headers.size());
    for (const auto& [k, v] : m.headers) rd_kafka_header_add(hdrs, k.data(), static_cast<ssize_t>(k.size()), v.data(), static_cast<ssize_t>(v.size()));
  }
  const void* key = m.key ? m.key->data() : nullptr;
  size_t key_len = m.key ? m.key->size() : 0;
  void* value = m.value ? const_cast<char*>(m.value->data()) : nullptr;
  size_t value_len = m.value ? m.value->size() : 0;
  while (true) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(m.topic.c_str()), RD_KAFKA_V_PARTITION(m.partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
        RD_KAFKA_V_TIMESTAMP(m.timestamp_ms), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_, 10);
      continue;
    }
    if (err) {
      if (hdrs) rd_kafka_headers_destroy(hdrs);
      return Status::Internal(std::string("produce: ") + rd_kafka_err2str(err));
    }
    break;
  }
  rd_kafka_poll(rk_, 0);

  MessageView v;
  v.key_null = !m.key;
  if (m.key) v.key = *m.key;
  v.value_null = !m.value;
  if (m.value) v.value = *m.value;
  v.record_timestamp_ms = m.timestamp_ms;
  EventTime et = TimestampChain::Default().Extract(v);
  if (!et.found) return Status::InvalidArgument("test message without an event time (give it a record timestamp)");
  WindowSums& s = expected_[WindowKey{m.topic, m.partition, WindowStartSec(et.ms, window_sec)}];
  s.count += 1;
  s.digest += MessageDigest(v.key, v.key_null, v.value, v.value_null);
  s.malformed += et.malformed;
  ++produced_;
  return Status::Ok();
}

Status TestProducer::Flush(std::chrono::milliseconds timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_, static_cast<int>(timeout.count()));
  if (err) return Status::Unavailable(std::string("flush: ") + rd_kafka_err2str(err));
  if (failed_) return Status::Unavailable(std::to_string(failed_) + " messages not delivered");
  return Status::Ok();
}

// ---------------------------------------------------------------------------

Result<std::unique_ptr<AuditReader>> AuditReader::Create(const std::string& bootstrap, const std::string& topic,
                                                         int partitions) {
  std::string err;
  static std::atomic<int> n{0};
  rd_kafka_conf_t* conf = Conf({{"bootstrap.servers", bootstrap},
                                {"group.id", "audit-reader-" + std::to_string(n++)},
                                {"enable.auto.commit", "false"},
                                {"enable.partition.eof", "false"},
                                {"log_level", "3"}},
                               &err);
  if (!conf) return Status::InvalidArgument(err);
  std::unique_ptr<AuditReader> r(new AuditReader());
  char errstr[512];
  r->rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!r->rk_) {
    rd_kafka_conf_destroy(conf);
    return Status::Internal(errstr);
  }
  rd_kafka_poll_set_consumer(r->rk_);
  r->topic_ = topic;
  r->partitions_ = partitions;
  r->next_.assign(static_cast<size_t>(partitions), 0);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(l, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_resp_err_t e = rd_kafka_assign(r->rk_, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e) return Status::Internal(std::string("assign: ") + rd_kafka_err2str(e));
  return r;
}

AuditReader::~AuditReader() {
  if (rk_) {
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
  }
}

void AuditReader::Poll(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 50);
    if (!m) return;
    if (!m->err && m->partition >= 0 && m->partition < partitions_) {
      next_[static_cast<size_t>(m->partition)] = m->offset + 1;
      auto r = DecodeAuditRecord(std::string_view(static_cast<const char*>(m->payload), m->len));
      if (r.ok()) {
        records_.push_back(std::move(*r));
      } else {
        ++bad_;
      }
    }
    rd_kafka_message_destroy(m);
  }
}

Status AuditReader::ReadToEnd(std::chrono::milliseconds timeout) {
  std::vector<int64_t> high(static_cast<size_t>(partitions_), 0);
  for (int p = 0; p < partitions_; ++p) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), p, &lo, &hi, 5000);
    if (e) return Status::Unavailable(std::string("watermarks: ") + rd_kafka_err2str(e));
    high[static_cast<size_t>(p)] = hi;
  }
  auto done = [&] {
    for (size_t p = 0; p < high.size(); ++p)
      if (next_[p] < high[p]) return false;
    return true;
  };
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return Status::Unavailable("audit topic not read to its end in time");
    Poll(std::chrono::milliseconds(200));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------

void ChunkMerger::Apply(const AuditRecord& r) {
  if (r.kind == RecordKind::kHeartbeat) {
    ++heartbeats_;
    return;
  }
  if (r.partitions.size() != 1) {
    violations_.push_back(fmt::format("record {} of {} has {} partition entries", r.uuid, r.topic, r.partitions.size()));
    return;
  }
  const PartitionCount& pc = r.partitions[0];
  if (pc.chunk_start < 0) violations_.push_back(fmt::format("record {} of {} has no chunkStart", r.uuid, r.topic));
  if (pc.count != r.count) violations_.push_back(fmt::format("record {}: partition count {} != count {}", r.uuid, pc.count, r.count));
  Chunk& c = chunks_[{r.tier, r.cluster, r.topic, pc.partition}][pc.chunk_start];
  if (c.flush_id != r.flush_id) {
    if (!c.flush_id.empty()) ++replacements_;
    c.records.clear();
    c.flush_id = r.flush_id;
  }
  c.records.push_back(r);
}

WindowTotals ChunkMerger::Totals(const std::string& tier) const {
  WindowTotals out;
  for (const auto& [key, chunks] : chunks_) {
    if (std::get<0>(key) != tier) continue;
    for (const auto& [start, chunk] : chunks) {
      for (const auto& r : chunk.records) {
        WindowSums& s = out[WindowKey{r.topic, r.partitions[0].partition, r.window_begin_sec}];
        s.count += r.count;
        s.digest += r.digest.value_or(0);
        s.malformed += r.malformed_count.value_or(0);
        s.no_time += r.no_time_count.value_or(0);
      }
    }
  }
  return out;
}

std::string ServiceConfigYaml(const ServiceTestConfig& c) {
  std::string include;
  for (char ch : c.include) include += ch == '\\' ? std::string("\\\\") : std::string(1, ch);
  std::string y = fmt::format(
      "clusters:\n"
      "  mock:\n"
      "    bootstrap.servers: \"{}\"\n"
      "    log_level: 3\n"
      "    socket.timeout.ms: 10000\n"
      "service:\n"
      "  cluster: mock\n"
      "  tier: {}\n"
      "  group_id: {}\n"
      "  topics: {{include: [\"{}\"]}}\n"
      "  window_sec: {}\n"
      "  flush_interval_ms: {}\n"
      "  discovery_interval_ms: 1000\n"
      "  send_timeout_ms: 3000\n"
      "  listen: \"\"\n"
      "  consumer:\n"
      "    session.timeout.ms: 6000\n"
      "    heartbeat.interval.ms: 500\n",
      c.bootstrap, c.tier, c.group, include, c.window_sec, c.flush_interval_ms);
  if (c.producer_linger_ms >= 0) y += fmt::format("  producer:\n    linger.ms: {}\n", c.producer_linger_ms);
  return y;
}

Result<WindowTotals> StoreTotals(store::Store& s, const std::string& topic, const std::string& tier) {
  auto windows = s.QueryWindows(topic, tier, 0, std::numeric_limits<int64_t>::max());
  if (!windows.ok()) return windows.status();
  WindowTotals out;
  std::set<int64_t> begins;
  for (const store::WindowRow& w : *windows) {
    if (w.count == 0 && w.records == 0) continue;
    WindowSums& sums = out[WindowKey{topic, -1, w.window_begin_sec}];
    sums.count += w.count;
    sums.digest += w.digest;
    sums.malformed += w.malformed;
    sums.no_time += w.no_time;
    begins.insert(w.window_begin_sec);
  }
  for (int64_t begin : begins) {
    auto partitions = s.QueryPartitions(topic, tier, begin);
    if (!partitions.ok()) return partitions.status();
    for (const store::PartitionRow& p : *partitions) {
      if (p.count != 0) out[WindowKey{topic, p.partition, begin}].count += p.count;
    }
  }
  return out;
}

WindowTotals ComparableWithStore(const WindowTotals& produced) {
  WindowTotals out = ByTopicWindow(produced);
  for (const auto& [key, sums] : produced) out[key].count = sums.count;
  return out;
}

}  // namespace chaperone::testing
