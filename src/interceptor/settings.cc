#include "interceptor/settings.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <string>

#include "chaperone/event_time.h"
#include "common/secrets.h"

namespace chaperone::interceptor {
namespace {

using config::Value;
using std::chrono::milliseconds;

// Property tables have no flags ("-"); `placeholder` documents a family's suffix.
config::SettingDoc Doc(std::string_view key, std::string_view type, std::string_view default_text,
                       std::string_view description, std::string_view placeholder = "") {
  return config::SettingDoc{key, "-", type, default_text, description, false, false, "", placeholder};
}

// A string field: at most 1024 characters, no control characters.
Result<std::string> PlainText(const Value& v) {
  SETTING_VALUE(s, config::AsString(v));
  if (s.size() > 1024) return Status::InvalidArgument(v.where + ": longer than 1024 characters");
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return Status::InvalidArgument(v.where + ": control characters are not allowed");
  }
  return s;
}

Status CheckChain(const Value& v) {
  auto chain = TimestampChain::Parse(v.node.scalar);
  if (!chain.ok()) {
    return Status::InvalidArgument(v.where + ": invalid timestamp chain " + config::Quote(v.node.scalar) + ": " +
                                   chain.status().message());
  }
  return Status::Ok();
}

// `*.ms` settings: milliseconds, or a duration with its unit ("10s").
Status Millis(const Value& v, int64_t min, int64_t max, milliseconds& out) {
  SETTING_VALUE(d, config::AsDuration(v, milliseconds(1), milliseconds(min), milliseconds(max)));
  out = d;
  return Status::Ok();
}

template <typename T>
Status Count(const Value& v, int64_t min, int64_t max, T& out) {
  SETTING_VALUE(n, config::AsInt(v, min, max));
  out = static_cast<T>(n);
  return Status::Ok();
}

// Restores an AuditClientOptions field to its default.
template <auto Field>
void ResetField(InterceptorSettings& s, std::string_view) {
  s.client.*Field = AuditClientOptions{}.*Field;
}

template <std::string AuditClientOptions::*Field>
Status SetText(const Value& v, InterceptorSettings& s) {
  SETTING_VALUE(text, PlainText(v));
  s.client.*Field = text;
  return Status::Ok();
}

// Family members keep their position when replaced (the first matching rule wins).
void Upsert(std::vector<std::pair<std::string, std::string>>& v, std::string_view key, std::string_view value) {
  for (auto& kv : v) {
    if (kv.first == key) {
      kv.second = std::string(value);
      return;
    }
  }
  v.emplace_back(std::string(key), std::string(value));
}

void Erase(std::vector<std::pair<std::string, std::string>>& v, std::string_view key) {
  std::erase_if(v, [&](const auto& kv) { return kv.first == key; });
}

Status SetAuditProducerProperty(const Value& v, InterceptorSettings& s) {
  const std::string& prop = v.suffix;
  const std::string& value = v.node.scalar;
  if (prop.empty()) return Status::InvalidArgument(v.where + ": missing the librdkafka property name");
  if (prop == "plugin.library.paths" || prop.starts_with("chaperone.")) {
    return Status::InvalidArgument(v.where + ": the audit producer never loads plugins");
  }
  if (prop == "bootstrap.servers" || prop == "metadata.broker.list") {
    return Status::InvalidArgument(v.where + ": use chaperone.audit.bootstrap.servers");
  }
  // Let librdkafka judge the property now, so a typo fails at client creation
  // instead of on the reporting thread later.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512] = "";
  rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, prop.c_str(), value.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_destroy(conf);
  if (res != RD_KAFKA_CONF_OK) {
    // librdkafka may quote the value: never a secret's.
    std::string why = common::IsSecretProperty(prop) ? common::RedactText(errstr, {value}) : std::string(errstr);
    return Status::InvalidArgument(v.where + ": " + why);
  }
  Upsert(s.client.audit_producer_properties, prop, value);
  return Status::Ok();
}

}  // namespace

const config::Table<InterceptorSettings>& SettingsTable() {
  using S = InterceptorSettings;
  using O = AuditClientOptions;
  static const std::string kDefaultChain = "`" + TimestampChain::Default().ToString() + "`";
  static const config::Table<S> kTable(
      "chaperone",
      {
          {Doc("enable", "boolean", "`true`", "`false` loads the plugin but audits nothing. (plugin only)"),
           +[](const Value& v, S& s) -> Status {
             SETTING_VALUE(b, config::AsBool(v));
             s.enable = b;
             return Status::Ok();
           },
           +[](S& s, std::string_view) { s.enable = true; }},
          {Doc("tier", "string",
               "`producer` for producers; `consumer:<group.id>` for consumers (`consumer` without a group)",
               "Tier this client reports as."),
           &SetText<&O::tier>, &ResetField<&O::tier>},
          {Doc("datacenter", "string", "empty", "Datacenter written in every record."), &SetText<&O::datacenter>,
           &ResetField<&O::datacenter>},
          {Doc("cluster", "string", "empty", "Name of the Kafka cluster this client talks to, written in every record."),
           &SetText<&O::cluster>, &ResetField<&O::cluster>},
          {Doc("emitter.id", "string", "a new UUID per client instance",
               "Identity of this emitter (records carry it with a gap-free `seq`). Set it only if it is unique per "
               "client instance."),
           &SetText<&O::emitter_id>, &ResetField<&O::emitter_id>},
          {Doc("audit.topic", "topic name", "`chaperone-audit`",
               "Topic audit records are produced to. It is never audited itself."),
           +[](const Value& v, S& s) -> Status {
             SETTING_VALUE(t, config::AsTopic(v));
             s.client.audit_topic = t;
             return Status::Ok();
           },
           &ResetField<&O::audit_topic>},
          {Doc("audit.bootstrap.servers", "string",
               "the client's `bootstrap.servers` (and its `security.protocol`, `sasl.*`, `ssl.*`); for a client "
               "without `bootstrap.servers`, the brokers it is given with `rd_kafka_brokers_add()`",
               "Bootstrap servers of the cluster holding the audit topic."),
           &SetText<&O::audit_bootstrap_servers>, &ResetField<&O::audit_bootstrap_servers>},
          {Doc("audit.producer.", "librdkafka property", "none",
               "Any librdkafka property of the audit producer (e.g. `chaperone.audit.producer.linger.ms=50`), "
               "checked by librdkafka when set. The values of secret properties (`sasl.password`, `ssl.key.pem`, "
               "...) never appear in an error.",
               "<property>"),
           &SetAuditProducerProperty,
           +[](S& s, std::string_view suffix) { Erase(s.client.audit_producer_properties, suffix); }},
          {Doc("window.sec", "duration (s) [1, 86400]", "`600`",
               "Window size in seconds, or with a unit (`10m`); every tier of a pipeline must use the same."),
           +[](const Value& v, S& s) -> Status {
             SETTING_VALUE(x, config::AsSeconds(v, 1, 86400));
             s.client.window_sec = x;
             return Status::Ok();
           },
           &ResetField<&O::window_sec>},
          {Doc("timestamp", "timestamp chain", kDefaultChain,
               "How the event time is read from a message, for topics no `chaperone.timestamp.<topic-regex>` "
               "matches: comma-separated sources tried in order, `json:<field>` (top-level or dotted path), "
               "`header:<name>`, `record` (the Kafka timestamp)."),
           +[](const Value& v, S& s) -> Status {
             SETTING_VALUE(chain, config::AsString(v));
             if (!chain.empty()) {
               if (Status st = CheckChain(v); !st.ok()) return st;
             }
             s.client.timestamp_chain = chain;
             return Status::Ok();
           },
           &ResetField<&O::timestamp_chain>},
          {Doc("timestamp.", "timestamp chain", "none",
               "Timestamp chain for topics whose name fully matches the regex (ECMAScript), e.g. "
               "`chaperone.timestamp.orders-.*=json:meta.createdAt,record`. The first rule set wins.",
               "<topic-regex>"),
           +[](const Value& v, S& s) -> Status {
             if (v.suffix.empty()) return Status::InvalidArgument(v.where + ": missing the topic regex");
             config::Node regex = config::Node::Scalar(v.suffix);
             SETTING_VALUE(re, config::AsRegexList(Value{regex, v.where}));
             (void)re;
             if (Status st = CheckChain(v); !st.ok()) return st;
             Upsert(s.client.timestamp_rules, v.suffix, v.node.scalar);
             return Status::Ok();
           },
           +[](S& s, std::string_view suffix) { Erase(s.client.timestamp_rules, suffix); }},
          {Doc("topic.exclude", "regex", "none", "Topics (full match, ECMAScript) this client does not audit."),
           +[](const Value& v, S& s) -> Status {
             SETTING_VALUE(text, config::AsString(v));
             if (!text.empty()) {
               SETTING_VALUE(re, config::AsRegexList(v));
               (void)re;
             }
             s.client.topic_exclude = text;
             return Status::Ok();
           },
           &ResetField<&O::topic_exclude>},
          {Doc("flush.interval.ms", "duration (ms) [100, 3600000]", "`10000`",
               "How often records and a heartbeat are sent."),
           +[](const Value& v, S& s) { return Millis(v, 100, 3'600'000, s.client.flush_interval); },
           &ResetField<&O::flush_interval>},
          {Doc("close.timeout.ms", "duration (ms) [0, 600000]", "`5000`",
               "How long destroying the client may wait for the last records to be acknowledged: rd_kafka_destroy() "
               "returns within this, plus what is left of a delivery attempt already under way (at most "
               "`chaperone.report.timeout.ms`)."),
           +[](const Value& v, S& s) { return Millis(v, 0, 600'000, s.client.close_timeout); },
           &ResetField<&O::close_timeout>},
          {Doc("report.timeout.ms", "duration (ms) [100, 600000]", "`2000`",
               "One attempt to deliver a batch of records; a batch not acknowledged in time is retried (same "
               "uuids: the collector keeps one copy)."),
           +[](const Value& v, S& s) { return Millis(v, 100, 600'000, s.client.report_timeout); },
           &ResetField<&O::report_timeout>},
          {Doc("report.max.pending.records", "integer [1, 10000000]", "`100000`",
               "Records waiting for the audit cluster; beyond this, new records are dropped and counted "
               "(`droppedRecords`)."),
           +[](const Value& v, S& s) { return Count(v, 1, 10'000'000, s.client.max_pending_records); },
           &ResetField<&O::max_pending_records>},
          {Doc("report.max.pending.bytes", "size [64KiB, 1GiB]", "`4194304` (4 MiB)",
               "Memory the records waiting for the audit cluster may hold, in bytes or with a unit (`64MiB`); "
               "beyond this, new records are dropped and counted (`droppedRecords`). The audit producer's own "
               "queue (`queue.buffering.max.kbytes`) is set to twice this, at least 1 MiB."),
           +[](const Value& v, S& s) -> Status {
             SETTING_VALUE(n, config::AsSize(v, 65'536, 1'073'741'824));
             s.client.max_pending_bytes = static_cast<size_t>(n);
             return Status::Ok();
           },
           &ResetField<&O::max_pending_bytes>},
          {Doc("queue.capacity", "integer [1024, 16777216]", "`65536`",
               "Observations (48 bytes each) waiting for the background thread, rounded up to a power of two; "
               "beyond this, observations are dropped and counted (`droppedObservations`)."),
           +[](const Value& v, S& s) { return Count(v, 1024, 16'777'216, s.client.queue_capacity); },
           &ResetField<&O::queue_capacity>},
          {Doc("log.level", "`off`, `error`, `warning`, `info`", "`warning`",
               "Diagnostics written to stderr (rate limited)."),
           +[](const Value& v, S& s) -> Status {
             static const std::pair<std::string_view, AuditLogLevel> kLevels[] = {
                 {"off", AuditLogLevel::kOff},
                 {"error", AuditLogLevel::kError},
                 {"warning", AuditLogLevel::kWarning},
                 {"info", AuditLogLevel::kInfo}};
             for (const auto& [name, level] : kLevels) {
               if (v.node.scalar == name) {
                 s.client.log_level = level;
                 return Status::Ok();
               }
             }
             return Status::InvalidArgument(v.where + ": must be off, error, warning or info, got " +
                                            config::Quote(v.node.scalar));
           },
           &ResetField<&O::log_level>},
      });
  return kTable;
}

Status ApplySetting(InterceptorSettings& s, std::string_view name, std::string_view value) {
  return SettingsTable().ApplyProperty(name, value, s);
}

Status ResetSetting(InterceptorSettings& s, std::string_view name) { return SettingsTable().ResetProperty(name, s); }

std::string SettingsMarkdownTable() { return SettingsTable().PropertyReference(); }

}  // namespace chaperone::interceptor

namespace chaperone {

Status SetAuditClientProperty(AuditClientOptions& options, std::string_view name, std::string_view value) {
  // Settings of the plugin's own (not AuditClientOptions fields).
  if (name == "chaperone.enable") {
    return Status::InvalidArgument(std::string(name) + ": only the interceptor plugin reads this property");
  }
  interceptor::InterceptorSettings s;
  s.client = std::move(options);
  Status st = interceptor::ApplySetting(s, name, value);
  options = std::move(s.client);
  return st;
}

}  // namespace chaperone
