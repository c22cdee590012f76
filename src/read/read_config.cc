#include "read/read_config.h"

#include <fmt/format.h>

#include <algorithm>

namespace chaperone::read {
namespace {

using config::Errors;
using config::Value;

struct Draft {
  ReadOptions opts;
  bool store_set = false;
  bool timestamps_set = false;
  std::vector<std::pair<std::string, std::string>> bootstrap_flags;  // --cluster-bootstrap NAME=SERVERS
  KafkaProperties property_flags;                                    // -X, every cluster
};

const config::Table<Draft>& Settings() {
  using std::chrono::milliseconds;
  static const config::Table<Draft> kTable(
      "read",
      {
          {{"store", "", "URL", "`store.url`",
            "Store URL whose audit gives the offset spans: `sqlite:PATH`, `PATH`, `postgresql://...` or "
            "`mysql://...` (only read)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsStoreUrl(v));
             d.opts.store_url = s;
             d.store_set = true;
             return Status::Ok();
           }},
          {{"timestamps", "-", "list of {topic, chain}", "`service.timestamps`",
            "Event-time chain per topic, as in `service.timestamps` (the first rule whose regex matches the whole "
            "topic name wins). Must be the chains the audit used, or messages land in other windows than it "
            "counted them in."},
           +[](const Value& v, Draft& d) -> Status {
             d.timestamps_set = true;
             return config::ApplyTimestampRules(v, d.opts.timestamps);
           }},
          {{"stall_timeout_ms", "", "duration (ms)", "`30000`",
            "A read fails when no partition made progress for this long (1 s to 1 h)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(1000), milliseconds(3'600'000)));
             d.opts.stall_timeout = x;
             return Status::Ok();
           }},
          {{"memory_budget", "", "size", "`256MiB`",
            "`chaperone diff`: bytes of message digests kept in memory (24 bytes a message); past it they are "
            "sorted and spilled to `spill_dir` (1 MiB to 64 GiB)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsSize(v, int64_t{1} << 20, int64_t{64} << 30));
             d.opts.memory_budget = x;
             return Status::Ok();
           }},
          {{"spill_dir", "", "path", "`$TMPDIR` or `/tmp`", "`chaperone diff`: where spilled digests go (deleted at the end)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsNonEmptyString(v));
             d.opts.spill_dir = s;
             return Status::Ok();
           }},
          {{"", "cluster-bootstrap", "NAME=HOST:PORT", "`clusters:`",
            "Flag only (repeatable): bootstrap servers of the cluster the audit names NAME (adds it, or overrides "
            "`clusters.NAME`).",
            true},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(kv, config::AsKeyValue(v));
             d.bootstrap_flags.push_back(kv);
             return Status::Ok();
           }},
          {{"", "property", "KEY=VALUE", "", "Flag only (repeatable): a librdkafka property of every cluster read.",
            true, false, "X"},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(kv, config::AsKeyValue(v));
             d.property_flags.push_back(kv);
             return Status::Ok();
           }},
      });
  return kTable;
}

}  // namespace

Result<ReadOptions> ParseReadConfig(const config::ProjectFile& file, const std::vector<config::FlagValue>& flags) {
  Errors errors;
  Draft d;
  d.opts.clusters = config::ParseClusters(file, errors);
  config::StoreSection store = config::ParseStoreSection(file, errors);
  Settings().ApplySection(file.Section("read"), file.source, d, errors);
  Settings().ApplyFlags(flags, d, errors);
  if (!d.timestamps_set) {
    // The audit service's chains, so that a read windows messages as it did.
    const config::Node& service = file.Section("service");
    if (const config::Node* ts = service.IsMap() ? service.Find("timestamps") : nullptr) {
      Value v{*ts, config::TableBase::Where(file.source, ts->line, "service.timestamps")};
      if (Status s = config::ApplyTimestampRules(v, d.opts.timestamps); !s.ok()) errors.Add(s);
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  if (!d.store_set) d.opts.store_url = store.url;
  if (d.opts.store_url.empty()) return Status::InvalidArgument("read.store: no store: give --store, read.store or store.url");
  for (const auto& flag : d.bootstrap_flags) {
    const std::string& name = flag.first;  // (captured below: not a structured binding)
    const std::string& servers = flag.second;
    auto it = std::find_if(d.opts.clusters.begin(), d.opts.clusters.end(), [&](const auto& c) { return c.first == name; });
    if (it == d.opts.clusters.end()) it = d.opts.clusters.insert(d.opts.clusters.end(), {name, {}});
    config::SetProperty(it->second, "bootstrap.servers", servers);
  }
  for (auto& [name, props] : d.opts.clusters) {
    for (const auto& [k, v] : d.property_flags) config::SetProperty(props, k, v);
  }
  for (const auto& r : d.opts.timestamps) {
    if (Status s = d.opts.rules.Add(r.topic_regex, r.chain); !s.ok()) return s;
  }
  return std::move(d.opts);
}

Result<ReadOptions> LoadReadConfig(const std::string& path, const std::vector<config::FlagValue>& flags) {
  auto file = config::LoadProject(path);
  if (!file.ok()) return file.status();
  return ParseReadConfig(*file, flags);
}

const config::TableBase& ReadSettingsTable() { return Settings(); }

std::string ReadConfigReference() { return Settings().Reference(); }

}  // namespace chaperone::read
