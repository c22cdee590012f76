#include "web/web_config.h"

#include "analysis/settings.h"
#include "read/read_config.h"

namespace chaperone::web {

// The tier comparison the API serves (src/analysis).
using namespace ::chaperone::analysis;  // NOLINT(google-build-using-namespace)
namespace {

using config::Errors;
using config::Value;

struct Draft {
  WebServerOptions opts;
  bool store_set = false;
};

const config::Table<Draft>& Settings() {
  using std::chrono::milliseconds;
  static const config::Table<Draft> kTable(
      "web",
      {
          {{"listen", "", "host:port", "`127.0.0.1:8080`",
            "Address of the API, the dashboard, `/metrics` and `/health`; port 0 picks a free port."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsListen(v, false));
             d.opts.listen = s;
             return Status::Ok();
           }},
          {{"store", "", "URL", "`store.url`",
            "Store URL: `sqlite:PATH`, `PATH` or `postgresql://user:password@host:port/db` (the password is never "
            "printed back). The web server only reads: a store that does not exist fails the start."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(s, config::AsStoreUrl(v));
             d.opts.store_url = s;
             d.store_set = true;
             return Status::Ok();
           }},
          {kTierOrderDoc, +[](const Value& v, Draft& d) { return ApplyTierOrder(v, d.opts.tier_order); }},
          {{"delay_threshold_ms", "", "duration (ms)", "`60000`",
            "A topic is `delay` when the p99 latency of its last final window exceeds this."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(0), milliseconds(int64_t{1} << 40)));
             d.opts.delay_threshold_ms = x.count();
             return Status::Ok();
           }},
          {kGraceSecDoc, +[](const Value& v, Draft& d) { return ApplyGraceSec(v, d.opts.grace_sec); }},
          {kStaleEmitterSecDoc,
           +[](const Value& v, Draft& d) { return ApplyStaleEmitterSec(v, d.opts.stale_emitter_sec); }},
          {{"window_sec", "", "duration (s)", "`600`", "Window size reported when the data does not say (1 s to 1 d)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsSeconds(v, 1, 86400));
             d.opts.window_sec = x;
             return Status::Ok();
           }},
          {{"threads", "", "integer", "`8`", "HTTP worker threads (1 to 256)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsInt(v, 1, 256));
             d.opts.threads = static_cast<int>(x);
             return Status::Ok();
           }},
          {{"diff_concurrency", "", "integer", "`2`",
            "Window diffs (`GET .../windows/{window}/diff`, which read the window's messages from Kafka) running at "
            "once; more are answered 503 `busy` with `Retry-After` (1 to 64)."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsInt(v, 1, 64));
             d.opts.diff_concurrency = static_cast<int>(x);
             return Status::Ok();
           }},
          {{"diff_timeout_ms", "", "duration (ms)", "`60000`",
            "A window diff's reads from Kafka end after this long, answered 504 `timeout` (1 s to 1 h). The "
            "clusters, event-time chains and memory budget of the diff are `clusters:` and `read:`."},
           +[](const Value& v, Draft& d) -> Status {
             SETTING_VALUE(x, config::AsDuration(v, milliseconds(1), milliseconds(1000), milliseconds(3'600'000)));
             d.opts.diff_timeout_ms = x.count();
             return Status::Ok();
           }},
      });
  return kTable;
}

}  // namespace

Result<WebServerOptions> ParseWebConfig(const config::ProjectFile& file, const std::vector<config::FlagValue>& flags,
                                        WebServerOptions base) {
  Errors errors;
  Draft d;
  d.opts = std::move(base);
  config::StoreSection store = config::ParseStoreSection(file, errors);
  Settings().ApplySection(file.Section("web"), file.source, d, errors);
  Settings().ApplyFlags(flags, d, errors);
  if (!errors.empty()) return errors.ToStatus();
  if (!d.store_set && !store.url.empty()) d.opts.store_url = store.url;
  if (!d.opts.store && d.opts.store_url.empty())
    return Status::InvalidArgument("web.store: no store: give --store, web.store or store.url");
  // The window diff reads the clusters the audit names, as `chaperone diff` does. The read settings want a
  // store; the diff reads the web server's own (any valid URL will do for a store handed in).
  if (file.Has("clusters") || file.Has("read")) {
    auto r = read::ParseReadConfig(file, {{"store", d.opts.store_url.empty() ? "sqlite::memory:" : d.opts.store_url}});
    if (!r.ok()) return r.status();
    d.opts.read = std::move(*r);
  }
  if (Status s = ValidateOptions(d.opts); !s.ok()) return s;
  return std::move(d.opts);
}

Result<WebServerOptions> ParseWebConfig(std::string_view yaml, std::string_view source,
                                        const std::vector<config::FlagValue>& flags, WebServerOptions base) {
  auto file = config::ParseProject(yaml, source);
  if (!file.ok()) return file.status();
  return ParseWebConfig(*file, flags, std::move(base));
}

Result<WebServerOptions> LoadWebConfig(const std::string& path, const std::vector<config::FlagValue>& flags,
                                       WebServerOptions base) {
  auto file = config::LoadProject(path);
  if (!file.ok()) return file.status();
  return ParseWebConfig(*file, flags, std::move(base));
}

const config::TableBase& WebSettingsTable() { return Settings(); }

std::string WebConfigReference() { return Settings().Reference(); }

}  // namespace chaperone::web
