#include "up/pipeline.h"

#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <thread>

#include "chaperone/clock.h"
#include "chaperone/kafka_config.h"
#include "chaperone/mock_cluster.h"
#include "collector/collector.h"
#include "collector/collector_config.h"
#include "common/secrets.h"
#include "common/thread_name.h"
#include "service/audit_service.h"
#include "service/service_config.h"
#include "web/web_config.h"
#include "web/web_server.h"

namespace chaperone::up {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

// Waits until `done()` or `timeout`; true when done.
bool WaitUntil(const std::function<bool()>& done, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  while (!done()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return true;
}

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// A librdkafka client (producer or consumer) with the interceptor plugin loaded.
Result<rd_kafka_t*> NewAuditedClient(rd_kafka_type_t type, KafkaProperties props,
                                     void (*dr_cb)(rd_kafka_t*, const rd_kafka_message_t*, void*), void* opaque) {
  auto conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  if (dr_cb) rd_kafka_conf_set_dr_msg_cb(*conf, dr_cb);
  rd_kafka_conf_set_opaque(*conf, opaque);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, *conf, errstr, sizeof errstr);
  if (!rk) {
    rd_kafka_conf_destroy(*conf);
    return Status::InvalidArgument(std::string("kafka client: ") + errstr);
  }
  return rk;
}

// The demo's synthetic producer: JSON messages with an event time a little in
// the past, at a steady rate per topic, audited as tier `producer`.
class SyntheticProducer {
 public:
  SyntheticProducer(std::vector<std::string> topics, int per_sec) : topics_(std::move(topics)), per_sec_(per_sec) {}
  void Attach(rd_kafka_t* rk) { rk_ = rk; }
  ~SyntheticProducer() { Stop(); }

  void Start() {
    thread_ = NamedThread("up-producer", [this] { Loop(); });
  }

  // Stops producing, waits for every delivery report, destroys the client (the
  // interceptor flushes its counts on destroy).
  void Stop() {
    if (!rk_) return;
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    rd_kafka_flush(rk_, 30'000);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

  int64_t delivered() const { return delivered_.load(); }
  int64_t failed() const { return failed_.load(); }

  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<SyntheticProducer*>(opaque);
    (m->err ? self->failed_ : self->delivered_).fetch_add(1);
  }

 private:
  void Loop() {
    std::mt19937_64 rng(42);
    std::lognormal_distribution<double> jitter_ms(2.0, 1.0);  // event time a few ms before production
    const auto tick = milliseconds(20);
    int64_t owed_per_topic = 0;
    auto start = steady_clock::now();
    int64_t seq = 0;
    char buf[256];
    while (!stop_) {
      auto elapsed = std::chrono::duration_cast<milliseconds>(steady_clock::now() - start).count();
      int64_t due = elapsed * per_sec_ / 1000;
      for (; owed_per_topic < due; ++owed_per_topic) {
        for (const auto& topic : topics_) {
          int64_t now = SystemClock::Instance().NowMs();
          int64_t ts = now - static_cast<int64_t>(jitter_ms(rng));
          int n = snprintf(buf, sizeof buf,
                           "{\"ts\":%lld,\"id\":%lld,\"topic\":\"%s\",\"amount\":%.2f,\"region\":\"dc1\"}",
                           static_cast<long long>(ts), static_cast<long long>(seq), topic.c_str(),
                           static_cast<double>(rng() % 100000) / 100.0);
          std::string key = "user-" + std::to_string(seq % 997);
          ++seq;
          rd_kafka_resp_err_t err;
          do {
            err = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
                                    RD_KAFKA_V_VALUE(buf, static_cast<size_t>(n)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_END);
            if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(rk_, 10);
          } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !stop_);
        }
      }
      rd_kafka_poll(rk_, static_cast<int>(tick.count()));
    }
  }

  rd_kafka_t* rk_ = nullptr;
  std::vector<std::string> topics_;
  int per_sec_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
  std::thread thread_;
};

// The demo's consumer group `demo`, audited as tier `consumer:demo`.
class DemoConsumer {
 public:
  explicit DemoConsumer(rd_kafka_t* rk) : rk_(rk) {}
  ~DemoConsumer() { Stop(); }

  Status Start(const std::vector<std::string>& topics) {
    rd_kafka_poll_set_consumer(rk_);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(topics.size()));
    for (const auto& t : topics) rd_kafka_topic_partition_list_add(list, t.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err) return Status::Unavailable(std::string("demo consumer subscribe: ") + rd_kafka_err2str(err));
    thread_ = NamedThread("up-consumer", [this] {
      while (!stop_) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, 100);
        if (!m) continue;
        if (!m->err) consumed_.fetch_add(1);
        rd_kafka_message_destroy(m);
      }
    });
    return Status::Ok();
  }

  // Closes the consumer (the interceptor flushes its counts on destroy).
  void Stop() {
    if (!rk_) return;
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    rd_kafka_consumer_close(rk_);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

  int64_t consumed() const { return consumed_.load(); }

 private:
  rd_kafka_t* rk_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> consumed_{0};
  std::thread thread_;
};

// Sum of the high watermarks of `topic` (how many messages it holds in all).
Result<int64_t> TopicEndOffsets(const std::string& bootstrap, const std::string& topic) {
  auto rk = NewAuditedClient(RD_KAFKA_PRODUCER, {{"bootstrap.servers", bootstrap}}, nullptr, nullptr);
  if (!rk.ok()) return rk.status();
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(*rk, topic.c_str(), nullptr);
  rd_kafka_resp_err_t err = rd_kafka_metadata(*rk, 0, rkt, &md, 5000);
  int64_t total = 0;
  if (!err && md->topic_cnt == 1) {
    for (int i = 0; i < md->topics[0].partition_cnt && !err; ++i) {
      int64_t lo = 0, hi = 0;
      err = rd_kafka_query_watermark_offsets(*rk, topic.c_str(), md->topics[0].partitions[i].id, &lo, &hi, 5000);
      total += hi;
    }
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(*rk);
  if (err) return Status::Unavailable(std::string("watermarks of ") + topic + ": " + rd_kafka_err2str(err));
  return total;
}

// The running components; each optional so that a config can name a subset.
class RunningPipeline final : public Pipeline {
 public:
  // Stop logs what fails; a destructor has nobody to tell.
  ~RunningPipeline() override { Stop().IgnoreError(); }

  Status Stop() override {
    if (stopped_) return Status::Ok();
    stopped_ = true;
    Status first;
    auto note = [&](const Status& s) {
      if (!s.ok() && first.ok()) first = s;
    };
    int64_t produced = 0;
    if (producer_) {
      producer_->Stop();
      produced = producer_->delivered();
      log_("stopped producer: " + std::to_string(produced) + " messages delivered");
    }
    // Let the consumer and the service see every produced message before they close.
    if (consumer_) {
      if (!WaitUntil([&] { return consumer_->consumed() >= produced; }, milliseconds(20'000)))
        note(Status::Unavailable("demo consumer did not catch up before shutdown"));
      consumer_->Stop();
      log_("stopped consumer: " + std::to_string(consumer_->consumed()) + " messages consumed");
    }
    if (service_) {
      if (producer_ && !WaitUntil([&] { return service_->metrics().messages_audited.load() -
                                                   service_->metrics().messages_discarded.load() >= produced; },
                                  milliseconds(20'000)))
        note(Status::Unavailable("audit service did not catch up before shutdown"));
      service_stop_ = true;
      if (service_thread_.joinable()) service_thread_.join();
      note(service_status_);
      log_("stopped audit service: " + std::to_string(service_->metrics().messages_committed.load()) +
           " messages committed");
      service_.reset();  // its consumer and reporter close before the cluster goes
    }
    if (collector_) {
      // Drain the audit topic: every record written so far gets applied.
      if (!endpoints_.bootstrap_servers.empty()) {
        auto end = TopicEndOffsets(endpoints_.bootstrap_servers, endpoints_.audit_topic);
        if (end.ok()) {
          if (!WaitUntil([&] { return collector_->metrics().messages.load() >= *end + collector_start_messages_ &&
                                      collector_->metrics().lag.load() == 0; },
                         milliseconds(20'000)))
            note(Status::Unavailable("collector did not drain the audit topic before shutdown"));
        } else {
          note(end.status());
        }
      }
      collector_stop_ = true;
      if (collector_thread_.joinable()) collector_thread_.join();
      note(collector_status_);
      log_("stopped collector: " + std::to_string(collector_->metrics().applied.load()) + " records applied");
      collector_.reset();
    }
    if (web_) {
      web_->Stop();
      web_.reset();
      log_("stopped web service");
    }
    cluster_.reset();
    return first;
  }

  const Endpoints& endpoints() const override { return endpoints_; }

  std::function<void(const std::string&)> log_;
  Endpoints endpoints_;
  std::unique_ptr<MockCluster> cluster_;
  std::unique_ptr<SyntheticProducer> producer_;
  std::unique_ptr<DemoConsumer> consumer_;

  std::unique_ptr<service::AuditService> service_;
  std::thread service_thread_;
  std::atomic<bool> service_stop_{false};
  Status service_status_;

  std::unique_ptr<collector::Collector> collector_;
  std::thread collector_thread_;
  std::atomic<bool> collector_stop_{false};
  Status collector_status_;
  int64_t collector_start_messages_ = 0;

  std::unique_ptr<web::WebServer> web_;

  void StartService(std::unique_ptr<service::AuditService> svc) {
    service_ = std::move(svc);
    service_thread_ = NamedThread("up-service", [this] { service_status_ = service_->Run(service_stop_); });
    endpoints_.service_rest_port = service_->rest_port();
  }

  void StartCollector(std::unique_ptr<collector::Collector> c) {
    collector_ = std::move(c);
    collector_thread_ = NamedThread("up-collector", [this] { collector_status_ = collector_->Run(collector_stop_); });
  }

 private:
  bool stopped_ = false;
};

}  // namespace

std::string FindInterceptorPlugin(const std::string& argv0) {
  std::vector<fs::path> candidates;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) exe = fs::absolute(argv0, ec);
  if (!exe.empty()) {
    candidates.push_back(exe.parent_path().parent_path() / "lib" / "libchaperone-interceptor.so");
    candidates.push_back(exe.parent_path() / "libchaperone-interceptor.so");
  }
  candidates.push_back("/usr/local/lib/libchaperone-interceptor.so");
  candidates.push_back("/usr/lib/libchaperone-interceptor.so");
  for (const auto& c : candidates) {
    if (fs::exists(c, ec)) return fs::canonical(c, ec).string();
  }
  return "";
}

Result<std::unique_ptr<Pipeline>> StartDemo(const DemoOptions& o, const std::function<void(const std::string&)>& log) {
  if (o.interceptor_path.empty() || !fs::exists(o.interceptor_path))
    return Status::NotFound("interceptor plugin not found (build it, or pass --interceptor PATH): " +
                            (o.interceptor_path.empty() ? std::string("libchaperone-interceptor.so") : o.interceptor_path));
  auto p = std::make_unique<RunningPipeline>();
  p->log_ = log;

  // 1. Kafka: an in-process mock cluster with the demo topics and the audit topic.
  std::vector<MockTopic> topics;
  std::vector<std::string> topic_names;
  for (const auto& spec : o.topics) {
    auto t = ParseMockTopic(spec);
    if (!t.ok()) return t.status();
    topics.push_back(*t);
    topic_names.push_back(t->name);
  }
  topics.push_back({kDefaultAuditTopic, 4});
  auto cluster = MockCluster::Start(o.brokers, topics);
  if (!cluster.ok()) return cluster.status();
  p->cluster_ = std::move(*cluster);
  const std::string bootstrap = p->cluster_->bootstrap_servers();
  p->endpoints_.bootstrap_servers = bootstrap;
  p->endpoints_.audit_topic = kDefaultAuditTopic;
  log("mock Kafka cluster (" + std::to_string(o.brokers) + " brokers): " + bootstrap + "  topics: " +
      Join(o.topics, ", ") + ", " + kDefaultAuditTopic + ":4");

  // 2. The store: a fresh SQLite file (the demo's cluster lives in memory).
  std::error_code ec;
  fs::create_directories(o.data_dir, ec);
  if (ec) return Status::InvalidArgument("cannot create data directory " + o.data_dir + ": " + ec.message());
  fs::path db = fs::path(o.data_dir) / "chaperone.db";
  if (o.fresh_store) {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix, ec);
  }
  p->endpoints_.store_url = "sqlite:" + db.string();

  const std::string window = std::to_string(o.window_sec);
  const std::string flush_ms = std::to_string(o.flush_interval.count());
  auto audited = [&](KafkaProperties extra) {
    KafkaProperties props = {{"bootstrap.servers", bootstrap},
                             {"plugin.library.paths", o.interceptor_path},
                             {"chaperone.datacenter", "dc1"},
                             {"chaperone.cluster", "regional"},
                             {"chaperone.window.sec", window},
                             {"chaperone.flush.interval.ms", flush_ms}};
    props.insert(props.end(), extra.begin(), extra.end());
    return props;
  };

  // 3. The collector and the web service first, so no record waits for them.
  collector::CollectorOptions co;
  co.bootstrap_servers = bootstrap;
  co.store_url = p->endpoints_.store_url;
  co.group = "chaperone-up-collector";
  co.metrics_listen = "127.0.0.1:0";
  auto col = collector::Collector::Create(co);
  if (!col.ok()) return col.status();
  p->StartCollector(std::move(*col));

  web::WebServerOptions wo;
  wo.listen = o.listen;
  wo.store_url = p->endpoints_.store_url;
  wo.store_mode = store::OpenMode::kCreate;  // the collector creates it on its own thread
  wo.grace_sec = o.grace_sec;
  wo.window_sec = o.window_sec;
  wo.stale_emitter_sec = std::max<int64_t>(15, 5 * o.flush_interval.count() / 1000);
  p->web_ = std::make_unique<web::WebServer>(wo, SystemClock::Instance());
  if (Status s = p->web_->Start(); !s.ok()) return s;
  p->endpoints_.web_url = p->web_->url();

  // 4. The audit service on the cluster, tier `regional`.
  service::ServiceOptions so;
  so.tier = "regional";
  so.datacenter = "dc1";
  so.cluster_name = "regional";
  so.cluster_properties = {{"bootstrap.servers", bootstrap}};
  so.window_sec = o.window_sec;
  so.flush_interval = o.flush_interval;
  so.discovery_interval = milliseconds(2000);
  so.listen = "127.0.0.1:0";
  auto svc = service::AuditService::Create(so);
  if (!svc.ok()) return svc.status();
  p->StartService(std::move(*svc));

  // 5. A consumer group `demo` and the synthetic producer, both through the interceptor.
  auto crk = NewAuditedClient(RD_KAFKA_CONSUMER,
                              audited({{"group.id", "demo"}, {"auto.offset.reset", "earliest"},
                                       {"enable.partition.eof", "false"}}),
                              nullptr, nullptr);
  if (!crk.ok()) return crk.status();
  p->consumer_ = std::make_unique<DemoConsumer>(*crk);
  if (Status s = p->consumer_->Start(topic_names); !s.ok()) return s;

  // The delivery callback's opaque is the producer object: create it, then its client.
  auto producer = std::make_unique<SyntheticProducer>(topic_names, o.messages_per_sec);
  auto prk = NewAuditedClient(RD_KAFKA_PRODUCER,
                              audited({{"chaperone.tier", "producer"}, {"linger.ms", "20"},
                                       {"enable.idempotence", "true"}}),
                              &SyntheticProducer::OnDelivery, producer.get());
  if (!prk.ok()) return prk.status();
  producer->Attach(*prk);
  p->producer_ = std::move(producer);
  p->producer_->Start();

  log("synthetic producer: " + std::to_string(o.messages_per_sec) + " msg/s per topic, tier producer (interceptor " +
      o.interceptor_path + ")");
  log("audit service: tier regional, REST http://127.0.0.1:" + std::to_string(p->endpoints_.service_rest_port));
  log("consumer group demo: tier consumer:demo");
  log("collector: " + common::RedactUrl(p->endpoints_.store_url));
  log("web: " + p->endpoints_.web_url + "  (windows " + window + " s, flush every " + flush_ms + " ms)");
  return std::unique_ptr<Pipeline>(std::move(p));
}

Result<std::unique_ptr<Pipeline>> StartFromConfig(const config::ProjectFile& file, const std::vector<std::string>& run,
                                                  const std::function<void(const std::string&)>& log) {
  auto wanted = [&](const std::string& component) {
    if (run.empty()) return file.Has(component);
    return std::find(run.begin(), run.end(), component) != run.end();
  };
  if (!wanted("service") && !wanted("collector") && !wanted("web"))
    return Status::InvalidArgument(file.source +
                                   ": names no component to run (expected sections service, collector, web, or up.run)");
  // Every section is checked before anything starts.
  Result<collector::CollectorOptions> co = Status::Internal("not parsed");
  Result<web::WebServerOptions> wo = Status::Internal("not parsed");
  Result<service::ServiceOptions> so = Status::Internal("not parsed");
  config::Errors errors;
  if (wanted("collector")) {
    co = collector::ParseCollectorConfig(file);
    if (!co.ok()) errors.Add(co.status());
  }
  if (wanted("web")) {
    web::WebServerOptions base;
    // Beside a collector, which creates the store on its own thread, the web server may create it too.
    if (wanted("collector")) base.store_mode = store::OpenMode::kCreate;
    if (co.ok()) base.store_url = co->store_url;
    wo = web::ParseWebConfig(file, {}, base);
    if (!wo.ok()) errors.Add(wo.status());
  }
  if (wanted("service")) {
    so = service::ParseServiceConfig(file);
    if (!so.ok()) errors.Add(so.status());
  }
  if (!errors.empty()) return errors.ToStatus();

  auto p = std::make_unique<RunningPipeline>();
  p->log_ = log;
  if (co.ok()) {
    p->endpoints_.bootstrap_servers = co->bootstrap_servers;
    p->endpoints_.audit_topic = co->audit_topic;
    p->endpoints_.store_url = co->store_url;
    auto col = collector::Collector::Create(*co);
    if (!col.ok()) return col.status();
    p->StartCollector(std::move(*col));
    log("collector: cluster " + co->cluster_name + " topic " + co->audit_topic + " -> " +
        common::RedactUrl(co->store_url));
  }
  if (wo.ok()) {
    p->web_ = std::make_unique<web::WebServer>(std::move(*wo), SystemClock::Instance());
    if (Status s = p->web_->Start(); !s.ok()) return s;
    p->endpoints_.web_url = p->web_->url();
    log("web: " + p->endpoints_.web_url);
  }
  if (so.ok()) {
    auto svc = service::AuditService::Create(*so);
    if (!svc.ok()) return svc.status();
    std::string tier = so->tier;
    p->StartService(std::move(*svc));
    log("audit service: tier " + tier + ", REST port " + std::to_string(p->endpoints_.service_rest_port));
  }
  return std::unique_ptr<Pipeline>(std::move(p));
}

}  // namespace chaperone::up
