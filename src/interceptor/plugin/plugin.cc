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
//   on_acknowledgement     producer, broker threads: count delivered messages,
//                          count failed deliveries.
//   on_consume             consumer, application thread: count messages.
//   on_destroy(rk)         rd_kafka_destroy(): final flush, bounded by
//                          chaperone.close.timeout.ms; threads stopped.
//   on_conf_destroy        the ConfState (and its engines) are freed. For a
//                          client this is the very end of rd_kafka_destroy(),
//                          after librdkafka's own threads are gone, so no
//                          callback can run on a freed engine.
//
// The audit producer is a separate rd_kafka_t built from scratch (never from
// this client's configuration), so the plugin is never loaded recursively.
#include <dlfcn.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

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

namespace chaperone::interceptor {
namespace {

constexpr const char* kIcName = "chaperone-interceptor";

struct ConfState {
  InterceptorSettings settings;
  // Engines started by on_new() with this configuration (one, unless the
  // application retries rd_kafka_new() with the same conf after a failure).
  std::vector<std::unique_ptr<AuditEngine>> engines;
  ~ConfState();
};

// ---- engines alive in the process, closed at exit if the application never
// destroys its clients (their threads must stop before static destructors).

struct LiveEngines {
  std::mutex mu;
  std::vector<AuditEngine*> engines;
};

LiveEngines& Live() {
  static LiveEngines* live = new LiveEngines;  // never destroyed: used at exit
  return *live;
}

void CloseLiveEnginesAtExit() {
  LiveEngines& live = Live();
  std::lock_guard lock(live.mu);
  for (AuditEngine* e : live.engines) e->Close(e->options().close_timeout);
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
    std::atexit(CloseLiveEnginesAtExit);
  });
}

ConfState::~ConfState() {
  LiveEngines& live = Live();
  std::lock_guard lock(live.mu);
  for (auto& e : engines) std::erase(live.engines, e.get());
  engines.clear();  // each engine closes itself (already closed by on_destroy)
}

void CopyError(const Status& st, char* errstr, size_t errstr_size) {
  if (errstr != nullptr && errstr_size > 0) std::snprintf(errstr, errstr_size, "%s", st.message().c_str());
}

// ---- per-message interceptors (hot path) ----------------------------------

bool FindHeader(const void* ctx, std::string_view name, std::string_view* value) {
  auto* msg = static_cast<rd_kafka_message_t*>(const_cast<void*>(ctx));
  rd_kafka_headers_t* hdrs = nullptr;
  if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || hdrs == nullptr) return false;
  char cname[TimestampChain::kMaxNameBytes + 1];
  if (name.size() > TimestampChain::kMaxNameBytes) return false;
  std::memcpy(cname, name.data(), name.size());
  cname[name.size()] = '\0';
  const void* v = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, cname, &v, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || v == nullptr) return false;
  *value = std::string_view(static_cast<const char*>(v), size);
  return true;
}

inline void TrackMessage(AuditEngine* e, rd_kafka_message_t* msg) {
  MessageView v;
  v.key_null = msg->key == nullptr;
  if (!v.key_null) v.key = std::string_view(static_cast<const char*>(msg->key), msg->key_len);
  v.value_null = msg->payload == nullptr;
  if (!v.value_null) v.value = std::string_view(static_cast<const char*>(msg->payload), msg->len);
  v.record_timestamp_ms = rd_kafka_message_timestamp(msg, nullptr);
  v.headers_ctx = msg;
  v.find_header = FindHeader;
  e->Track(rd_kafka_topic_name(msg->rkt), v);
}

rd_kafka_resp_err_t OnAcknowledgement(rd_kafka_t*, rd_kafka_message_t* msg, void* opaque) {
  auto* e = static_cast<AuditEngine*>(opaque);
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    e->TrackFailedDelivery(1);
  } else {
    TrackMessage(e, msg);
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t OnConsume(rd_kafka_t*, rd_kafka_message_t* msg, void* opaque) {
  // Errors (partition EOF, fetch errors) reach on_consume too: not messages.
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) TrackMessage(static_cast<AuditEngine*>(opaque), msg);
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

rd_kafka_resp_err_t OnDestroy(rd_kafka_t*, void* opaque) {
  auto* e = static_cast<AuditEngine*>(opaque);
  e->Close(e->options().close_timeout);  // flush what is left, bounded
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
  if (o.audit_bootstrap_servers.empty()) {
    CopyError(Status::InvalidArgument("chaperone: no audit cluster: set bootstrap.servers or "
                                      "chaperone.audit.bootstrap.servers; this client is not audited"),
              errstr, errstr_size);
    return RD_KAFKA_RESP_ERR__INVALID_ARG;
  }

  // One process-wide logger for libchaperone's own messages: the last client's level.
  spdlog::set_level(SpdlogLevel(o.log_level));
  auto engine = AuditEngine::Create(std::move(o));
  if (!engine.ok()) {
    CopyError(Status::InvalidArgument("chaperone: " + engine.status().message() + "; this client is not audited"),
              errstr, errstr_size);
    return RD_KAFKA_RESP_ERR__INVALID_ARG;
  }
  AuditEngine* e = engine->get();
  {
    LiveEngines& live = Live();
    std::lock_guard lock(live.mu);
    live.engines.push_back(e);
    state->engines.push_back(std::move(engine).value());
  }
  if (producer) {
    rd_kafka_interceptor_add_on_acknowledgement(rk, kIcName, OnAcknowledgement, e);
  } else {
    rd_kafka_interceptor_add_on_consume(rk, kIcName, OnConsume, e);
  }
  rd_kafka_interceptor_add_on_destroy(rk, kIcName, OnDestroy, e);
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
