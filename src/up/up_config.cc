#include "up/up_config.h"

#include <algorithm>

namespace chaperone::up {
namespace {

using config::Value;

struct Draft {
  UpOptions opts;
  bool topics_set = false;
};

const config::Table<Draft>& Settings() {
  static const config::Table<Draft> kTable(
      "up",
      {
          {{"run", "", "list", "every component with a section",
            "The components to run from the file: `service`, `collector`, `web`.", true},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(list, config::AsStringList(v));
             for (const auto& c : list) {
               const auto& known = RunnableComponents();
               if (std::find(known.begin(), known.end(), c) == known.end()) {
                 std::string hint = config::ClosestMatch(c, known);
                 return Status::InvalidArgument(v.where + ": unknown component " + config::Quote(c) +
                                                (hint.empty() ? " (service, collector, web)" : " (did you mean " + hint + "?)"));
               }
             }
             if (!v.from_flag) d.opts.run.clear();
             d.opts.run.insert(d.opts.run.end(), list.begin(), list.end());
             return Status::Ok();
           }},
          {{"demo.listen", "listen", "host:port", "`127.0.0.1:8080`", "Demo: the dashboard's address."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsListen(v, false));
             d.opts.demo.listen = s;
             return Status::Ok();
           }},
          {{"demo.data_dir", "data-dir", "path", "`./chaperone-data`", "Demo: data directory (the SQLite store)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsNonEmptyString(v));
             d.opts.demo.data_dir = s;
             return Status::Ok();
           }},
          {{"demo.interceptor", "interceptor", "path", "next to the `chaperone` binary",
            "Demo: path of `libchaperone-interceptor.so`."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsNonEmptyString(v));
             d.opts.demo.interceptor_path = s;
             return Status::Ok();
           }},
          {{"demo.window_sec", "window-sec", "duration (s)", "`60`", "Demo: window size (1 s to 1 d)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsSeconds(v, 1, 86400));
             d.opts.demo.window_sec = x;
             return Status::Ok();
           }},
          {{"demo.rate", "rate", "integer", "`300`", "Demo: messages per second per topic (1 to 100000)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsInt(v, 1, 100000));
             d.opts.demo.messages_per_sec = static_cast<int>(x);
             return Status::Ok();
           }},
          {{"demo.topics", "topic", "list of NAME:PARTITIONS", "`[orders:6, payments:4, clicks:8]`",
            "Demo: the topics and their partition counts (repeat the flag for several).", true},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(list, config::AsStringList(v));
             for (const auto& t : list) {
               size_t colon = t.rfind(':');
               config::Node name = config::Node::Scalar(colon == std::string::npos ? t : t.substr(0, colon));
               config::Node parts = config::Node::Scalar(colon == std::string::npos ? "" : t.substr(colon + 1));
               if (auto n = config::AsTopic(Value{name, v.where}); !n.ok()) return n.status();
               if (auto p = config::AsInt(Value{parts, v.where + " (partitions of " + t + ")"}, 1, 1000); !p.ok())
                 return p.status();
             }
             if (!v.from_flag || !d.topics_set) d.opts.demo.topics.clear();
             d.topics_set = v.from_flag;
             d.opts.demo.topics.insert(d.opts.demo.topics.end(), list.begin(), list.end());
             return Status::Ok();
           }},
          {{"demo.keep_store", "keep-store", "bool", "`false`",
            "Demo: keep the previous run's store instead of starting afresh."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(b, config::AsBool(v));
             d.opts.demo.fresh_store = !b;
             return Status::Ok();
           }},
      });
  return kTable;
}

}  // namespace

const std::vector<std::string>& RunnableComponents() {
  static const std::vector<std::string> kComponents = {"collector", "web", "service"};
  return kComponents;
}

Result<UpOptions> ParseUpConfig(const config::ProjectFile& file, const std::vector<config::FlagValue>& flags) {
  config::Errors errors;
  Draft d;
  Settings().ApplySection(file.Section("up"), file.source, d, errors);
  Settings().ApplyFlags(flags, d, errors);
  if (!errors.empty()) return errors.ToStatus();
  return std::move(d.opts);
}

const config::TableBase& UpSettingsTable() { return Settings(); }

std::string UpConfigReference() { return Settings().Reference(); }

}  // namespace chaperone::up
