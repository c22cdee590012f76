#include "interceptor/settings.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <charconv>
#include <regex>
#include <string>

#include "chaperone/event_time.h"
#include "common/topic_name.h"

namespace chaperone::interceptor {
namespace {

std::string Quoted(std::string_view v) { return "\"" + std::string(v) + "\""; }

Status ParseInt(std::string_view name, std::string_view value, int64_t min, int64_t max, int64_t* out) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) {
    return Status::InvalidArgument(std::string(name) + ": expected an integer, got " + Quoted(value));
  }
  if (v < min || v > max) {
    return Status::InvalidArgument(std::string(name) + ": " + std::string(value) + " is out of range [" +
                                   std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  *out = v;
  return Status::Ok();
}

Status ParseBool(std::string_view name, std::string_view value, bool* out) {
  if (value == "true") {
    *out = true;
  } else if (value == "false") {
    *out = false;
  } else {
    return Status::InvalidArgument(std::string(name) + ": expected true or false, got " + Quoted(value));
  }
  return Status::Ok();
}

Status CheckPlainText(std::string_view name, std::string_view value) {
  if (value.size() > 1024) return Status::InvalidArgument(std::string(name) + ": longer than 1024 characters");
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(std::string(name) + ": control characters are not allowed");
    }
  }
  return Status::Ok();
}

Status CheckRegex(std::string_view name, std::string_view value) {
  try {
    std::regex re{std::string(value), std::regex::ECMAScript};
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(std::string(name) + ": invalid regular expression " + Quoted(value) + ": " +
                                   e.what());
  }
  return Status::Ok();
}

Status CheckChain(std::string_view name, std::string_view value) {
  auto chain = TimestampChain::Parse(value);
  if (!chain.ok()) {
    return Status::InvalidArgument(std::string(name) + ": invalid timestamp chain " + Quoted(value) + ": " +
                                   chain.status().message());
  }
  return Status::Ok();
}

// String fields of AuditClientOptions.
template <std::string AuditClientOptions::*Field>
Status SetText(InterceptorSettings& s, std::string_view name, std::string_view value) {
  Status st = CheckPlainText(name, value);
  if (st.ok()) s.client.*Field = std::string(value);
  return st;
}

template <int64_t Min, int64_t Max>
Status SetMs(std::string_view name, std::string_view value, std::chrono::milliseconds* out) {
  int64_t v = 0;
  Status st = ParseInt(name, value, Min, Max, &v);
  if (st.ok()) *out = std::chrono::milliseconds(v);
  return st;
}

template <typename T>
void EraseKey(std::vector<std::pair<std::string, std::string>>& v, std::string_view key) {
  std::erase_if(v, [&](const auto& kv) { return kv.first == key; });
}

// Replaces the value of `key` in place (keeping its position) or appends it.
void Upsert(std::vector<std::pair<std::string, std::string>>& v, std::string_view key, std::string_view value) {
  for (auto& kv : v) {
    if (kv.first == key) {
      kv.second = std::string(value);
      return;
    }
  }
  v.emplace_back(std::string(key), std::string(value));
}

Status SetAuditProducerProperty(InterceptorSettings& s, std::string_view prop, std::string_view value) {
  std::string name = "chaperone.audit.producer." + std::string(prop);
  if (prop.empty()) return Status::InvalidArgument(name + ": missing the librdkafka property name");
  if (prop == "plugin.library.paths" || prop.starts_with("chaperone.")) {
    return Status::InvalidArgument(name + ": the audit producer never loads plugins");
  }
  if (prop == "bootstrap.servers" || prop == "metadata.broker.list") {
    return Status::InvalidArgument(name + ": use chaperone.audit.bootstrap.servers");
  }
  // Let librdkafka judge the property now, so a typo fails at client creation
  // instead of on the reporting thread later.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512] = "";
  rd_kafka_conf_res_t res =
      rd_kafka_conf_set(conf, std::string(prop).c_str(), std::string(value).c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_destroy(conf);
  if (res != RD_KAFKA_CONF_OK) return Status::InvalidArgument(name + ": " + errstr);
  Upsert(s.client.audit_producer_properties, prop, value);
  return Status::Ok();
}

// ---- the table -------------------------------------------------------------

constexpr std::string_view kTimestampPrefix = "chaperone.timestamp.";
constexpr std::string_view kProducerPrefix = "chaperone.audit.producer.";

const SettingDef kSettings[] = {
    {"chaperone.enable", "chaperone.enable", false, true, "boolean", "true", "`true`",
     "`false` loads the plugin but audits nothing.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return ParseBool("chaperone.enable", v, &s.enable);
     },
     nullptr},
    {"chaperone.tier", "chaperone.tier", false, false, "string", "",
     "`producer` for producers; `consumer:<group.id>` for consumers (`consumer` without a group)",
     "Tier this client reports as.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return SetText<&AuditClientOptions::tier>(s, "chaperone.tier", v);
     },
     nullptr},
    {"chaperone.datacenter", "chaperone.datacenter", false, false, "string", "", "empty",
     "Datacenter written in every record.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return SetText<&AuditClientOptions::datacenter>(s, "chaperone.datacenter", v);
     },
     nullptr},
    {"chaperone.cluster", "chaperone.cluster", false, false, "string", "", "empty",
     "Name of the Kafka cluster this client talks to, written in every record.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return SetText<&AuditClientOptions::cluster>(s, "chaperone.cluster", v);
     },
     nullptr},
    {"chaperone.emitter.id", "chaperone.emitter.id", false, false, "string", "", "a new UUID per client instance",
     "Identity of this emitter (records carry it with a gap-free `seq`). Set it only if it is unique per "
     "client instance.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return SetText<&AuditClientOptions::emitter_id>(s, "chaperone.emitter.id", v);
     },
     nullptr},
    {"chaperone.audit.topic", "chaperone.audit.topic", false, false, "string", "chaperone-audit",
     "`chaperone-audit`", "Topic audit records are produced to. It is never audited itself.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       if (Status st = common::ValidateTopicName(v); !st.ok()) {
         return Status::InvalidArgument("chaperone.audit.topic: " + st.message());
       }
       return SetText<&AuditClientOptions::audit_topic>(s, "chaperone.audit.topic", v);
     },
     nullptr},
    {"chaperone.audit.bootstrap.servers", "chaperone.audit.bootstrap.servers", false, false, "string", "",
     "the client's `bootstrap.servers` (and its `security.protocol`, `sasl.*`, `ssl.*`); for a client without "
     "`bootstrap.servers`, the brokers it is given with `rd_kafka_brokers_add()`",
     "Bootstrap servers of the cluster holding the audit topic.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return SetText<&AuditClientOptions::audit_bootstrap_servers>(s, "chaperone.audit.bootstrap.servers", v);
     },
     nullptr},
    {kProducerPrefix, "chaperone.audit.producer.<property>", true, false, "librdkafka property", "", "none",
     "Any librdkafka property of the audit producer (e.g. `chaperone.audit.producer.linger.ms=50`), "
     "checked by librdkafka when set.",
     [](InterceptorSettings& s, std::string_view suffix, std::string_view v) {
       return SetAuditProducerProperty(s, suffix, v);
     },
     [](InterceptorSettings& s, std::string_view suffix) {
       EraseKey<std::string>(s.client.audit_producer_properties, suffix);
     }},
    {"chaperone.window.sec", "chaperone.window.sec", false, false, "integer [1, 86400]", "600", "`600`",
     "Window size in seconds (every tier of a pipeline must use the same).",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return ParseInt("chaperone.window.sec", v, 1, 86400, &s.client.window_sec);
     },
     nullptr},
    {"chaperone.timestamp", "chaperone.timestamp", false, false, "timestamp chain", "", {},
     "How the event time is read from a message, for topics no `chaperone.timestamp.<topic-regex>` matches: "
     "comma-separated sources tried in order, `json:<field>` (top-level or dotted path), `header:<name>`, "
     "`record` (the Kafka timestamp).",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       if (!v.empty()) {
         Status st = CheckChain("chaperone.timestamp", v);
         if (!st.ok()) return st;
       }
       s.client.timestamp_chain = std::string(v);
       return Status::Ok();
     },
     nullptr},
    {kTimestampPrefix, "chaperone.timestamp.<topic-regex>", true, false, "timestamp chain", "", "none",
     "Timestamp chain for topics whose name fully matches the regex (ECMAScript), e.g. "
     "`chaperone.timestamp.orders-.*=json:meta.createdAt,record`. The first rule set wins.",
     [](InterceptorSettings& s, std::string_view suffix, std::string_view v) {
       std::string name = std::string(kTimestampPrefix) + std::string(suffix);
       if (suffix.empty()) return Status::InvalidArgument(name + ": missing the topic regex");
       Status st = CheckRegex(name, suffix);
       if (st.ok()) st = CheckChain(name, v);
       if (st.ok()) Upsert(s.client.timestamp_rules, suffix, v);
       return st;
     },
     [](InterceptorSettings& s, std::string_view suffix) {
       EraseKey<std::string>(s.client.timestamp_rules, suffix);
     }},
    {"chaperone.topic.exclude", "chaperone.topic.exclude", false, false, "regex", "", "none",
     "Topics (full match, ECMAScript) this client does not audit.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       Status st = CheckRegex("chaperone.topic.exclude", v);
       if (st.ok()) s.client.topic_exclude = std::string(v);
       return st;
     },
     nullptr},
    {"chaperone.flush.interval.ms", "chaperone.flush.interval.ms", false, false, "integer [100, 3600000]", "10000",
     "`10000`", "How often records and a heartbeat are sent.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return SetMs<100, 3'600'000>("chaperone.flush.interval.ms", v, &s.client.flush_interval);
     },
     nullptr},
    {"chaperone.close.timeout.ms", "chaperone.close.timeout.ms", false, false, "integer [0, 600000]", "5000",
     "`5000`",
     "How long destroying the client may wait for the last records to be acknowledged: rd_kafka_destroy() "
     "returns within this, plus what is left of a delivery attempt already under way (at most "
     "`chaperone.report.timeout.ms`).",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return SetMs<0, 600'000>("chaperone.close.timeout.ms", v, &s.client.close_timeout);
     },
     nullptr},
    {"chaperone.report.timeout.ms", "chaperone.report.timeout.ms", false, false, "integer [100, 600000]", "2000",
     "`2000`", "One attempt to deliver a batch of records; a batch not acknowledged in time is retried (same "
     "uuids: the collector keeps one copy).",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       return SetMs<100, 600'000>("chaperone.report.timeout.ms", v, &s.client.report_timeout);
     },
     nullptr},
    {"chaperone.report.max.pending.records", "chaperone.report.max.pending.records", false, false,
     "integer [1, 10000000]", "100000", "`100000`",
     "Records waiting for the audit cluster; beyond this, new records are dropped and counted "
     "(`droppedRecords`).",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       int64_t n = 0;
       Status st = ParseInt("chaperone.report.max.pending.records", v, 1, 10'000'000, &n);
       if (st.ok()) s.client.max_pending_records = static_cast<size_t>(n);
       return st;
     },
     nullptr},
    {"chaperone.report.max.pending.bytes", "chaperone.report.max.pending.bytes", false, false,
     "integer [65536, 1073741824]", "4194304", "`4194304` (4 MiB)",
     "Memory the records waiting for the audit cluster may hold; beyond this, new records are dropped and "
     "counted (`droppedRecords`). The audit producer's own queue (`queue.buffering.max.kbytes`) is set to twice "
     "this, at least 1 MiB.",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       int64_t n = 0;
       Status st = ParseInt("chaperone.report.max.pending.bytes", v, 65'536, 1'073'741'824, &n);
       if (st.ok()) s.client.max_pending_bytes = static_cast<size_t>(n);
       return st;
     },
     nullptr},
    {"chaperone.queue.capacity", "chaperone.queue.capacity", false, false, "integer [1024, 16777216]", "65536",
     "`65536`",
     "Observations (48 bytes each) waiting for the background thread, rounded up to a power of two; beyond "
     "this, observations are dropped and counted (`droppedObservations`).",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       int64_t n = 0;
       Status st = ParseInt("chaperone.queue.capacity", v, 1024, 16'777'216, &n);
       if (st.ok()) s.client.queue_capacity = static_cast<size_t>(n);
       return st;
     },
     nullptr},
    {"chaperone.log.level", "chaperone.log.level", false, false, "`off`, `error`, `warning`, `info`", "warning",
     "`warning`", "Diagnostics written to stderr (rate limited).",
     [](InterceptorSettings& s, std::string_view, std::string_view v) {
       if (v == "off") {
         s.client.log_level = AuditLogLevel::kOff;
       } else if (v == "error") {
         s.client.log_level = AuditLogLevel::kError;
       } else if (v == "warning") {
         s.client.log_level = AuditLogLevel::kWarning;
       } else if (v == "info") {
         s.client.log_level = AuditLogLevel::kInfo;
       } else {
         return Status::InvalidArgument("chaperone.log.level: expected off, error, warning or info, got " +
                                        Quoted(v));
       }
       return Status::Ok();
     },
     nullptr},
};

const SettingDef* Find(std::string_view name, std::string_view* suffix) {
  for (const SettingDef& d : kSettings) {
    if (d.is_prefix ? name.starts_with(d.name) : name == d.name) {
      *suffix = d.is_prefix ? name.substr(d.name.size()) : std::string_view();
      return &d;
    }
  }
  return nullptr;
}

std::string KnownNames() {
  std::string out;
  for (const SettingDef& d : kSettings) {
    if (!out.empty()) out += ", ";
    out += d.name_doc;
  }
  return out;
}

std::string EscapeCell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::span<const SettingDef> SettingDefs() { return kSettings; }

Status ApplySetting(InterceptorSettings& s, std::string_view name, std::string_view value) {
  std::string_view suffix;
  const SettingDef* d = Find(name, &suffix);
  if (d == nullptr) {
    return Status::InvalidArgument("unknown property " + std::string(name) + " (known: " + KnownNames() + ")");
  }
  return d->set(s, suffix, value);
}

Status ResetSetting(InterceptorSettings& s, std::string_view name) {
  std::string_view suffix;
  const SettingDef* d = Find(name, &suffix);
  if (d == nullptr) {
    return Status::InvalidArgument("unknown property " + std::string(name) + " (known: " + KnownNames() + ")");
  }
  if (d->erase != nullptr) {
    d->erase(s, suffix);
    return Status::Ok();
  }
  return d->set(s, suffix, d->default_value);
}

std::string SettingsMarkdownTable() {
  std::string out = "| Property | Type | Default | Description |\n|---|---|---|---|\n";
  for (const SettingDef& d : kSettings) {
    std::string def = d.default_doc.data() != nullptr ? std::string(d.default_doc)
                                                       : "`" + TimestampChain::Default().ToString() + "`";
    out += "| `" + EscapeCell(d.name_doc) + "` | " + EscapeCell(d.type) + " | " + EscapeCell(def) + " | " +
           EscapeCell(d.description) + (d.plugin_only ? " (plugin only)" : "") + " |\n";
  }
  return out;
}

}  // namespace chaperone::interceptor

namespace chaperone {

Status SetAuditClientProperty(AuditClientOptions& options, std::string_view name, std::string_view value) {
  for (const interceptor::SettingDef& d : interceptor::SettingDefs()) {
    if (d.plugin_only && name == d.name) {
      return Status::InvalidArgument(std::string(name) + ": only the interceptor plugin reads this property");
    }
  }
  interceptor::InterceptorSettings s;
  s.client = std::move(options);
  Status st = interceptor::ApplySetting(s, name, value);
  options = std::move(s.client);
  return st;
}

}  // namespace chaperone
