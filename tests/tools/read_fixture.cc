// chaperone-test-read-fixture: produces a topic's messages into a "regional"
// cluster and copies them into an "aggregate" cluster with some dropped and
// some duplicated, and writes the audit of both tiers into a store as the
// audit service would (the audit library's WindowTracker per partition, its
// Emitter, Store::Apply: the collector's merge), with the offsets the
// brokers acknowledged. For the tests and benchmarks of `chaperone read` and
// `chaperone diff` that need a known loss on real clusters.
//
//   chaperone-test-read-fixture --store URL --topic T --regional BOOTSTRAP
//       [--aggregate BOOTSTRAP] [--messages 1000] [--partitions 4]
//       [--window-sec 60] [--start-sec S] [--windows 3] [--late-windows 2]
//       [--late-percent 10] [--value-bytes 100] [--value-bytes-max B] [--drop 0] [--duplicate 0]
//       [--seed 1] [--datacenter dc1]
//
// Message i has key "k-<i>" and the JSON value {"ts":<event ms>,"id":i,"pad":"..."}
// of --value-bytes bytes (with --value-bytes-max: of a size drawn uniformly
// from --value-bytes to --value-bytes-max);
// event times spread over --windows windows from --start-sec (default: the
// window an hour ago). Messages are produced in arrival order: --late-percent
// of them arrive up to --late-windows windows after their event time, so the
// partitions interleave windows. The dropped and duplicated ids are chosen at
// random (seeded) among all messages; a duplicated id is copied twice.
//
// Prints one JSON object: {"produced":N,"regional":N,"aggregate":N,
//   "dropped":[ids],"duplicated":[ids],"window_sec":W,"start_sec":S,"windows":K,
//   "events":[[id,partition,offset,event_ms],...]} ("events" with --events only).
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "chaperone/audit_record.h"
#include "chaperone/digest.h"
#include "chaperone/emitter.h"
#include "chaperone/window_tracker.h"
#include "store/store.h"

namespace {

using namespace chaperone;  // NOLINT(google-build-using-namespace)

int Usage(const char* argv0, const std::string& why) {
  std::fprintf(stderr, "%s: %s\n(see the comment at the top of tests/tools/read_fixture.cc)\n", argv0, why.c_str());
  return 2;
}

struct Produced {
  int32_t partition = -1;
  int64_t offset = -1;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* out = static_cast<Produced*>(m->_private);
  if (m->err) {
    std::fprintf(stderr, "delivery failed: %s\n", rd_kafka_err2str(m->err));
    return;
  }
  out->partition = m->partition;
  out->offset = m->offset;
}

// Produces `order` (indexes into keys/values) to `topic`, in that order, each
// to partition `partitions[i]`; returns where each copy landed.
bool ProduceAll(const std::string& bootstrap, const std::string& topic, const std::vector<std::string>& keys,
                const std::vector<std::string>& values, const std::vector<int32_t>& partition_of,
                const std::vector<size_t>& order, std::vector<Produced>* landed) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (auto [k, v] : {std::pair{"bootstrap.servers", bootstrap.c_str()}, {"enable.idempotence", "true"},
                      {"linger.ms", "20"}, {"batch.size", "65536"}, {"log_level", "3"}}) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      std::fprintf(stderr, "%s\n", err);
      return false;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &OnDelivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!rk) {
    std::fprintf(stderr, "%s\n", err);
    return false;
  }
  landed->assign(order.size(), Produced{});
  for (size_t n = 0; n < order.size(); ++n) {
    const size_t i = order[n];
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition_of[i]),
          RD_KAFKA_V_KEY(keys[i].data(), keys[i].size()), RD_KAFKA_V_VALUE(const_cast<char*>(values[i].data()), values[i].size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&(*landed)[n]), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (e) {
        std::fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return false;
      }
      break;
    }
    rd_kafka_poll(rk, 0);
  }
  const bool flushed = rd_kafka_flush(rk, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_destroy(rk);
  if (!flushed) return false;
  return std::all_of(landed->begin(), landed->end(), [](const Produced& p) { return p.offset >= 0; });
}

// The audit of one tier as the service reports it: one tracker per
// partition-keyed window, drained into count records, and a heartbeat that
// makes every window final.
bool Audit(store::Store& store, const std::string& tier, const std::string& cluster, const std::string& datacenter,
           const std::string& topic, int64_t window_sec, const std::vector<std::string>& keys,
           const std::vector<std::string>& values, const std::vector<int64_t>& event_ms,
           const std::vector<size_t>& order, const std::vector<Produced>& landed, int64_t now_ms) {
  WindowTracker tracker({.window_sec = window_sec, .by_partition = true});
  const TopicId id = tracker.InternTopic(topic);
  for (size_t n = 0; n < order.size(); ++n) {
    const size_t i = order[n];
    Observation o;
    o.topic = id;
    o.partition = landed[n].partition;
    o.offset = landed[n].offset;
    o.event_ms = event_ms[i];
    o.observed_ms = now_ms;
    o.bytes = static_cast<uint32_t>(keys[i].size() + values[i].size());
    o.digest = MessageDigest(keys[i], false, values[i], false);
    tracker.Add(o);
  }
  Emitter emitter(MakeEmitterIdentity(tier, datacenter, cluster));
  emitter.BeginFlush();
  std::vector<store::Incoming> batch;
  for (const WindowSnapshot& s : tracker.Drain()) {
    AuditRecord r;
    FillAuditRecord(s, &r);
    emitter.Stamp(r);
    batch.push_back({.record = r, .raw = "{\"uuid\":\"" + r.uuid + "\"}", .error = "", .source = "read-fixture"});
  }
  AuditRecord beat = emitter.Heartbeat(now_ms, window_sec, 0, 0);
  batch.push_back({.record = beat, .raw = "{\"uuid\":\"" + beat.uuid + "\"}", .error = "", .source = "read-fixture"});
  auto applied = store.Apply(batch, {}, now_ms);
  if (!applied.ok()) {
    std::fprintf(stderr, "store: %s\n", applied.status().ToString().c_str());
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> opt = {{"messages", "1000"}, {"partitions", "4"},    {"window-sec", "60"},
                                            {"windows", "3"},     {"late-windows", "2"},  {"late-percent", "10"},
                                            {"value-bytes", "100"}, {"drop", "0"},        {"duplicate", "0"},
                                            {"seed", "1"},        {"datacenter", "dc1"}};
  bool events = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--events") {
      events = true;
      continue;
    }
    if (!a.starts_with("--") || i + 1 >= argc) return Usage(argv[0], "bad argument " + a);
    opt[a.substr(2)] = argv[++i];
  }
  for (const char* required : {"store", "topic", "regional"}) {
    if (!opt.contains(required)) return Usage(argv[0], std::string("--") + required + " is required");
  }
  const int64_t n = std::stoll(opt["messages"]);
  const int32_t partitions = static_cast<int32_t>(std::stoi(opt["partitions"]));
  const int64_t window_sec = std::stoll(opt["window-sec"]);
  const int64_t windows = std::stoll(opt["windows"]);
  const int64_t late_windows = std::stoll(opt["late-windows"]);
  const int64_t late_percent = std::stoll(opt["late-percent"]);
  const size_t value_bytes = static_cast<size_t>(std::stoll(opt["value-bytes"]));
  const size_t value_bytes_max =
      opt.contains("value-bytes-max") ? static_cast<size_t>(std::stoll(opt["value-bytes-max"])) : value_bytes;
  if (value_bytes_max < value_bytes) return Usage(argv[0], "--value-bytes-max is less than --value-bytes");
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const int64_t start_sec =
      opt.contains("start-sec") ? std::stoll(opt["start-sec"]) : (now_ms / 1000 - 3600) / window_sec * window_sec;
  std::mt19937_64 rng(std::stoull(opt["seed"]));

  // Event times spread evenly over the windows; arrival = event time, or up
  // to late_windows windows later for late_percent of them.
  std::vector<std::string> keys(static_cast<size_t>(n)), values(static_cast<size_t>(n));
  std::vector<int64_t> event_ms(static_cast<size_t>(n)), arrival_ms(static_cast<size_t>(n));
  std::vector<int32_t> partition_of(static_cast<size_t>(n));
  const int64_t span_ms = windows * window_sec * 1000;
  for (int64_t i = 0; i < n; ++i) {
    const size_t k = static_cast<size_t>(i);
    event_ms[k] = start_sec * 1000 + static_cast<int64_t>(rng() % static_cast<uint64_t>(span_ms));
    arrival_ms[k] = event_ms[k];
    if (static_cast<int64_t>(rng() % 100) < late_percent && late_windows > 0)
      arrival_ms[k] += static_cast<int64_t>(rng() % static_cast<uint64_t>(late_windows * window_sec * 1000));
    partition_of[k] = static_cast<int32_t>(rng() % static_cast<uint64_t>(partitions));
    keys[k] = "k-" + std::to_string(i);
    std::string v = "{\"ts\":" + std::to_string(event_ms[k]) + ",\"id\":" + std::to_string(i) + ",\"pad\":\"";
    const size_t bytes =
        value_bytes_max > value_bytes ? value_bytes + rng() % (value_bytes_max - value_bytes + 1) : value_bytes;
    while (v.size() + 2 < bytes) v.push_back(static_cast<char>('a' + rng() % 26));
    values[k] = v + "\"}";
  }
  std::vector<size_t> order(static_cast<size_t>(n));
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return arrival_ms[a] < arrival_ms[b]; });

  auto store = store::Store::Open(opt["store"]);
  if (!store.ok()) return Usage(argv[0], store.status().ToString());
  std::vector<Produced> regional;
  if (!ProduceAll(opt["regional"], opt["topic"], keys, values, partition_of, order, &regional)) return 1;
  if (!Audit(**store, "regional", "regional", opt["datacenter"], opt["topic"], window_sec, keys, values, event_ms, order,
             regional, now_ms))
    return 1;

  std::vector<int64_t> dropped, duplicated;
  size_t aggregate_count = 0;
  if (opt.contains("aggregate")) {
    std::vector<int64_t> ids(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) ids[static_cast<size_t>(i)] = i;
    std::shuffle(ids.begin(), ids.end(), rng);
    const size_t drop = static_cast<size_t>(std::stoll(opt["drop"]));
    const size_t dup = static_cast<size_t>(std::stoll(opt["duplicate"]));
    if (drop + dup > ids.size()) return Usage(argv[0], "--drop + --duplicate exceeds --messages");
    std::set<int64_t> drop_set(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(drop));
    std::set<int64_t> dup_set(ids.begin() + static_cast<std::ptrdiff_t>(drop),
                              ids.begin() + static_cast<std::ptrdiff_t>(drop + dup));
    dropped.assign(drop_set.begin(), drop_set.end());
    duplicated.assign(dup_set.begin(), dup_set.end());
    std::vector<size_t> copy_order;
    for (size_t i : order) {
      if (drop_set.count(static_cast<int64_t>(i))) continue;
      copy_order.push_back(i);
      if (dup_set.count(static_cast<int64_t>(i))) copy_order.push_back(i);
    }
    aggregate_count = copy_order.size();
    std::vector<Produced> aggregate;
    if (!ProduceAll(opt["aggregate"], opt["topic"], keys, values, partition_of, copy_order, &aggregate)) return 1;
    if (!Audit(**store, "aggregate", "aggregate", opt["datacenter"], opt["topic"], window_sec, keys, values, event_ms,
               copy_order, aggregate, now_ms))
      return 1;
  }

  auto list = [](const std::vector<int64_t>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
    return out + "]";
  };
  std::printf("{\"produced\":%lld,\"regional\":%zu,\"aggregate\":%zu,\"dropped\":%s,\"duplicated\":%s,"
              "\"window_sec\":%lld,\"start_sec\":%lld,\"windows\":%lld",
              static_cast<long long>(n), order.size(), aggregate_count, list(dropped).c_str(), list(duplicated).c_str(),
              static_cast<long long>(window_sec), static_cast<long long>(start_sec), static_cast<long long>(windows));
  if (events) {
    std::printf(",\"events\":[");
    for (size_t k = 0; k < order.size(); ++k) {
      const size_t i = order[k];
      std::printf("%s[%zu,%d,%lld,%lld]", k ? "," : "", i, regional[k].partition,
                  static_cast<long long>(regional[k].offset), static_cast<long long>(event_ms[i]));
    }
    std::printf("]");
  }
  std::printf("}\n");
  return 0;
}
