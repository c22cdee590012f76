// libchaperone-interceptor.so: the librdkafka plugin (plugin.library.paths).
//
// Life cycle, following librdkafka's interceptor contract (rdkafka.h,
// "Interceptors"):
//
//   conf_init(conf)        plugin loaded for a configuration: attach a ConfState
//                          (on_conf_set/dup/destroy, on_new) to `conf`.
//   on_conf_set            `chaperone.*` properties are validated and kept in
//                          the ConfState; anything else passes through.
//                          librdkafka remembers the accepted ones and replays
//                          them on copies.
//   on_conf_dup(new, old)  rd_kafka_conf_dup(): attach a fresh ConfState to the
//                          copy (librdkafka then replays the properties, and
//                          calls conf_init on the copy too; that second attach
//                          is detected by the CONFLICT of the duplicate
//                          interceptor and ignored).
//   on_new(rk)             rd_kafka_new(): resolve defaults from the client's
//                          final configuration, start an AuditEngine, add the
//                          per-message interceptors with the engine as opaque.
//   on_broker_state_change a client without bootstrap.servers (brokers given
//                          by rd_kafka_brokers_add()): its broker addresses
//                          become the audit producer's bootstrap servers.
//   on_acknowledgement     producer, broker threads: count delivered messages,
//                          count failed deliveries.
//   on_consume             consumer, application thread: count messages.
//   on_destroy(rk)         rd_kafka_destroy(), librdkafka's main thread: the
//                          client is going; its broker threads may still
//                          acknowledge (or fail) messages in flight.
//   on_conf_destroy        the ConfState (and its engines) are freed. For a
//                          client this is the very end of rd_kafka_destroy(),
//                          on the application's thread, after librdkafka's own
//                          threads are gone: every acknowledgement has been
//                          counted, so the final flush happens here (bounded
//                          by chaperone.close.timeout.ms), and no callback can
//                          run on a freed engine.
//
// The audit producer is a separate rd_kafka_t built from scratch (never from
// this client's configuration), so the plugin is never loaded recursively.
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "chaperone/clock.h"
#include "chaperone/event_time.h"
#include "interceptor/audit_engine.h"
#include "interceptor/settings.h"
#include "lib/kafka/message_view.h"

namespace chaperone::interceptor {
namespace {

constexpr const char* kIcName = "chaperone-interceptor";

// One audited client (rd_kafka_t): its engine, and for a producer what the
// application handed to librdkafka against what librdkafka settled, so that
// the messages it discards without a delivery report are known exactly.
struct Client {
  std::unique_ptr<AuditEngine> engine;
  bool producer = false;
  std::atomic<int64_t> produced{0};     // on_send: application threads
  std::atomic<int64_t> settled{0};      // on_acknowledgement, delivered or failed: librdkafka threads
  std::atomic<bool> destroying{false};  // rd_kafka_destroy() started (on_destroy)

  int64_t Unsettled() const { return produced.load() - settled.load(); }

  // The final report, once rd_kafka_destroy() has stopped librdkafka's
  // threads: every message it did not settle was discarded undelivered.
  void CloseDestroyed() {
    if (int64_t lost = Unsettled(); producer && lost > 0) {
      engine->TrackFailedDelivery(lost);
      engine->log().Log(AuditLogLevel::kWarning, DiagLog::kClose,
                        "the producer was destroyed with %lld messages neither delivered nor failed (no "
                        "rd_kafka_flush() before rd_kafka_destroy()): they are reported as failedDeliveries",
                        static_cast<long long>(lost));
    }
    // Undelivered records are counted (droppedRecords) and logged by the engine.
    engine->Close(engine->options().close_timeout).IgnoreError();
  }

  // The final report at process exit, the client still alive.
  void CloseAtExit() {
    const int64_t unacknowledged = producer ? Unsettled() : 0;
    Status st = engine->Close(engine->options().close_timeout);
    if (destroying.load()) return;  // rd_kafka_destroy() is under way: its report is this one
    AuditClientStats s = engine->stats();
    std::string unsettled;
    if (producer) {
      unsettled = "; " + std::to_string(unacknowledged) +
                  " messages of this producer were not yet acknowledged and are not counted";
    }
    engine->log().Log(AuditLogLevel::kWarning, DiagLog::kClose,
                      "process exiting without rd_kafka_destroy(): final audit records %s (%lld delivered, %lld "
                      "dropped since the start)%s",
                      st.ok() ? "delivered" : st.message().c_str(), static_cast<long long>(s.records_sent),
                      static_cast<long long>(s.dropped_records), unsettled.c_str());
  }
};

struct ConfState {
  InterceptorSettings settings;
  // The client started by on_new() with this configuration (a conf that
  // made a client belongs to it; clients of failed rd_kafka_new() calls are
  // closed by the next on_new()).
  std::vector<std::unique_ptr<Client>> clients;
  ~ConfState();
};

// ---- clients alive in the process, closed at exit if the application never
// destroys them (their engines' threads must stop before static destructors).

struct LiveClients {
  std::mutex mu;
  std::vector<Client*> clients;
};

LiveClients& Live() {
  static LiveClients* live = new LiveClients;  // never destroyed: used at exit
  return *live;
}

// The process exits with clients alive (never destroyed, or an interpreter
// that does not destroy them at shutdown): report what they counted.
void CloseLiveClientsAtExit() {
  LiveClients& live = Live();
  std::lock_guard lock(live.mu);
  for (Client* c : live.clients) c->CloseAtExit();
}

// libchaperone logs through spdlog's default logger. In the plugin that is a
// private copy of spdlog (see CMakeLists.txt): point it at stderr, never at
// the host's stdout, where clients like kcat write the messages they consume.
void ConfigurePrivateLogging() {
  auto logger = std::make_shared<spdlog::logger>("chaperone-interceptor",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%% chaperone-interceptor %l: %v");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

spdlog::level::level_enum SpdlogLevel(AuditLogLevel l) {
  switch (l) {
    case AuditLogLevel::kOff: return spdlog::level::off;
    case AuditLogLevel::kError: return spdlog::level::err;
    case AuditLogLevel::kWarning: return spdlog::level::warn;
    case AuditLogLevel::kInfo: return spdlog::level::info;
  }
  return spdlog::level::warn;
}

void RegisterAtExitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    ConfigurePrivateLogging();
    // Construct the statics the engine threads use before registering the
    // handler, so that they are destroyed after it runs.
    (void)Live();
    (void)SystemClock::Instance();
    (void)TimestampChain::Default();
    std::atexit(CloseLiveClientsAtExit);
  });
}

// Stops `c` being closed by the exit handler; the caller closes or frees it.
void Forget(Client* c) {
  LiveClients& live = Live();
  std::lock_guard lock(live.mu);
  std::erase(live.clients, c);
}

// For a client, the end of rd_kafka_destroy(): the final report.
ConfState::~ConfState() {
  for (auto& c : clients) {
    Forget(c.get());
    c->CloseDestroyed();
  }
}

void CopyError(const Status& st, char* errstr, size_t errstr_size) {
  if (errstr != nullptr && errstr_size > 0) std::snprintf(errstr, errstr_size, "%s", st.message().c_str());
}

// ---- per-message interceptors (hot path) ----------------------------------

inline void TrackMessage(AuditEngine* e, rd_kafka_message_t* msg) {
  e->Track(rd_kafka_topic_name(msg->rkt), kafka::ToMessageView(msg));
}

rd_kafka_resp_err_t OnSend(rd_kafka_t*, rd_kafka_message_t*, void* opaque) {
  static_cast<Client*>(opaque)->produced.fetch_add(1, std::memory_order_relaxed);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t OnAcknowledgement(rd_kafka_t*, rd_kafka_message_t* msg, void* opaque) {
  auto* c = static_cast<Client*>(opaque);
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    c->engine->TrackFailedDelivery(1);
  } else {
    TrackMessage(c->engine.get(), msg);
  }
  c->settled.fetch_add(1, std::memory_order_relaxed);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t OnConsume(rd_kafka_t*, rd_kafka_message_t* msg, void* opaque) {
  // Errors (partition EOF, fetch errors) reach on_consume too: not messages.
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) TrackMessage(static_cast<Client*>(opaque)->engine.get(), msg);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t OnBrokerStateChange(rd_kafka_t*, int32_t, const char*, const char* name, int port, const char*,
                                        void* opaque) {
  static_cast<Client*>(opaque)->engine->LearnBroker(name != nullptr ? name : "", port);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// The final report waits for on_conf_destroy, once librdkafka's threads have
// settled their last messages; here the client is only marked as going.
rd_kafka_resp_err_t OnDestroy(rd_kafka_t*, void* opaque) {
  static_cast<Client*>(opaque)->destroying.store(true);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// ---- configuration interceptors ----------------------------------------------

std::string ConfGet(const rd_kafka_conf_t* conf, const char* name) {
  char buf[4096];
  size_t size = sizeof(buf);
  if (rd_kafka_conf_get(conf, name, buf, &size) != RD_KAFKA_CONF_OK) return "";
  return buf;
}

// Security settings of the client, for an audit producer that talks to the
// same cluster: security.protocol, sasl.*, ssl.* where they differ from
// librdkafka's defaults.
std::vector<std::pair<std::string, std::string>> InheritedSecurity(const rd_kafka_conf_t* conf) {
  std::vector<std::pair<std::string, std::string>> out;
  rd_kafka_conf_t* defaults = rd_kafka_conf_new();
  size_t cnt = 0;
  const char** arr = rd_kafka_conf_dump(const_cast<rd_kafka_conf_t*>(conf), &cnt);
  for (size_t i = 0; i + 1 < cnt; i += 2) {
    std::string_view name = arr[i];
    if (name != "security.protocol" && !name.starts_with("sasl.") && !name.starts_with("ssl.")) continue;
    std::string value = arr[i + 1];
    if (value.empty() || value == ConfGet(defaults, arr[i])) continue;
    out.emplace_back(std::string(name), std::move(value));
  }
  rd_kafka_conf_dump_free(arr, cnt);
  rd_kafka_conf_destroy(defaults);
  return out;
}

rd_kafka_resp_err_t OnNew(rd_kafka_t* rk, const rd_kafka_conf_t* conf, void* opaque, char* errstr,
                          size_t errstr_size) {
  auto* state = static_cast<ConfState*>(opaque);
  if (!state->settings.enable) return RD_KAFKA_RESP_ERR_NO_ERROR;

  // rd_kafka_type() only reads the type, which rd_kafka_new() sets before it
  // calls on_new(); nothing else of the half-built client is touched.
  const bool producer = rd_kafka_type(rk) == RD_KAFKA_PRODUCER;
  AuditClientOptions o = state->settings.client;
  if (o.tier.empty()) {
    std::string group = ConfGet(conf, "group.id");
    o.tier = producer ? "producer" : group.empty() ? "consumer" : "consumer:" + group;
  }
  if (o.audit_bootstrap_servers.empty()) {
    o.audit_bootstrap_servers = ConfGet(conf, "bootstrap.servers");
    // Same cluster as the client: same credentials, unless overridden.
    std::vector<std::pair<std::string, std::string>> props = InheritedSecurity(conf);
    for (auto& kv : o.audit_producer_properties) {
      std::erase_if(props, [&](const auto& p) { return p.first == kv.first; });
      props.push_back(kv);
    }
    o.audit_producer_properties = std::move(props);
  }
  // No bootstrap.servers: the application gives its brokers with
  // rd_kafka_brokers_add() (which calls on_broker_state_change for each);
  // the audit producer starts with them.
  const bool learn_brokers = o.audit_bootstrap_servers.empty();

  // Clients of earlier rd_kafka_new() calls with this conf failed (a conf
  // that made a client belongs to it): close their engines.
  for (auto& old : state->clients) Forget(old.get());
  state->clients.clear();

  // One process-wide logger for libchaperone's own messages: the last client's level.
  spdlog::set_level(SpdlogLevel(o.log_level));
  auto engine = AuditEngine::Create(std::move(o), learn_brokers);
  if (!engine.ok()) {
    CopyError(Status::InvalidArgument("chaperone: " + engine.status().message() + "; this client is not audited"),
              errstr, errstr_size);
    return RD_KAFKA_RESP_ERR__INVALID_ARG;
  }
  auto client = std::make_unique<Client>();
  client->engine = std::move(engine).value();
  client->producer = producer;
  Client* c = client.get();
  state->clients.push_back(std::move(client));
  {
    LiveClients& live = Live();
    std::lock_guard lock(live.mu);
    live.clients.push_back(c);
  }
  if (learn_brokers) rd_kafka_interceptor_add_on_broker_state_change(rk, kIcName, OnBrokerStateChange, c);
  if (producer) {
    rd_kafka_interceptor_add_on_send(rk, kIcName, OnSend, c);
    rd_kafka_interceptor_add_on_acknowledgement(rk, kIcName, OnAcknowledgement, c);
  } else {
    rd_kafka_interceptor_add_on_consume(rk, kIcName, OnConsume, c);
  }
  rd_kafka_interceptor_add_on_destroy(rk, kIcName, OnDestroy, c);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_conf_res_t OnConfSet(rd_kafka_conf_t*, const char* name, const char* val, char* errstr,
                              size_t errstr_size, void* opaque) {
  if (!IsChaperoneSetting(name)) return RD_KAFKA_CONF_UNKNOWN;
  auto* state = static_cast<ConfState*>(opaque);
  Status st = val != nullptr ? ApplySetting(state->settings, name, val) : ResetSetting(state->settings, name);
  if (!st.ok()) {
    CopyError(st, errstr, errstr_size);
    return RD_KAFKA_CONF_INVALID;
  }
  return RD_KAFKA_CONF_OK;
}

rd_kafka_resp_err_t Attach(rd_kafka_conf_t* conf);

rd_kafka_resp_err_t OnConfDup(rd_kafka_conf_t* new_conf, const rd_kafka_conf_t*, size_t, const char**, void*) {
  // librdkafka replays the accepted chaperone.* properties on new_conf next.
  return Attach(new_conf);
}

rd_kafka_resp_err_t OnConfDestroy(void* opaque) {
  delete static_cast<ConfState*>(opaque);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// Attaches a fresh ConfState to `conf`. RD_KAFKA_RESP_ERR__CONFLICT if one is
// attached already (conf_init() on a copy that on_conf_dup() set up).
rd_kafka_resp_err_t Attach(rd_kafka_conf_t* conf) {
  auto state = std::make_unique<ConfState>();
  rd_kafka_resp_err_t err = rd_kafka_conf_interceptor_add_on_conf_set(conf, kIcName, OnConfSet, state.get());
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return err;
  // From here on the conf owns the state (on_conf_destroy frees it).
  ConfState* s = state.release();
  rd_kafka_conf_interceptor_add_on_conf_destroy(conf, kIcName, OnConfDestroy, s);
  rd_kafka_conf_interceptor_add_on_conf_dup(conf, kIcName, OnConfDup, s);
  rd_kafka_conf_interceptor_add_on_new(conf, kIcName, OnNew, s);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

// A plugin must use the librdkafka of the client that loads it: interceptor
// calls made through another copy (a client linked statically, or a Python
// wheel's bundled librdkafka, next to the system's librdkafka.so.1 this
// library is linked with) would corrupt the client's configuration. `caller`
// is an address in the code that called conf_init(), i.e. in the client's
// librdkafka. Returns an error naming both copies when they differ.
Status CheckSameLibrdkafka(const void* caller) {
  Dl_info host{}, ours{};
  if (dladdr(caller, &host) == 0 || dladdr(reinterpret_cast<const void*>(&rd_kafka_conf_new), &ours) == 0) {
    return Status::Ok();  // cannot tell
  }
  if (host.dli_fbase == ours.dli_fbase) return Status::Ok();
  return Status::InvalidArgument(
      std::string("chaperone-interceptor: the client runs its own copy of librdkafka (in ") +
      (host.dli_fname ? host.dli_fname : "?") + "), not the shared " + (ours.dli_fname ? ours.dli_fname : "?") +
      " this plugin uses; plugins need a client linked dynamically against the system librdkafka");
}

}  // namespace
}  // namespace chaperone::interceptor

// The plugin's entry point, called by librdkafka each time a configuration
// sets plugin.library.paths to this library (and for each copy of it).
extern "C" __attribute__((visibility("default"), noinline)) rd_kafka_resp_err_t conf_init(rd_kafka_conf_t* conf,
                                                                                 void** plug_opaquep,
                                                                                 char* errstr,
                                                                                 size_t errstr_size) {
  using namespace chaperone::interceptor;
  *plug_opaquep = nullptr;
  chaperone::Status same = CheckSameLibrdkafka(__builtin_return_address(0));
  if (!same.ok()) {
    CopyError(same, errstr, errstr_size);
    return RD_KAFKA_RESP_ERR__INVALID_ARG;
  }
  RegisterAtExitOnce();
  rd_kafka_resp_err_t err = Attach(conf);
  if (err == RD_KAFKA_RESP_ERR__CONFLICT) return RD_KAFKA_RESP_ERR_NO_ERROR;  // set up by on_conf_dup
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::snprintf(errstr, errstr_size, "chaperone-interceptor: cannot add interceptors: %s", rd_kafka_err2str(err));
  }
  return err;
}
