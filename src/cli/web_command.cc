// chaperone web: the REST query API and the dashboard over a store.
#include <cstdio>
#include <memory>
#include <string>

#include "chaperone/clock.h"
#include "cli/commands.h"
#include "cli/signals.h"
#include "common/exit_code.h"
#include "web/params.h"
#include "web/tier_order.h"
#include "web/web_config.h"
#include "web/web_server.h"

namespace chaperone::cli {

void AddWebCommand(CLI::App& app, int* exit_code) {
  struct Opts {
    std::string config;
    web::WebServerOptions web;
    std::string tier_order;
  };
  auto opts = std::make_shared<Opts>();
  CLI::App* cmd =
      app.add_subcommand("web", "Serve the REST query API (/api/v1), /metrics and the dashboard until SIGINT/SIGTERM");
  cmd->add_option("--config", opts->config, "Config file (YAML; its 'web' section); flags override it");
  cmd->add_option("--listen", opts->web.listen, "Listen address HOST:PORT (port 0: any free port)")
      ->default_str(opts->web.listen);
  cmd->add_option("--store", opts->web.store_url, "Store URL: sqlite:PATH, PATH or postgresql://...");
  cmd->add_option("--tier-order", opts->tier_order,
                  "Pipeline order of tiers, e.g. producer,proxy*,regional,aggregate (default: producer, proxy*, "
                  "regional, replicator, aggregate, consumer*, then alphabetical)");
  cmd->add_option("--delay-threshold-ms", opts->web.delay_threshold_ms,
                  "A topic is 'delay' when the p99 of its last final window exceeds this")
      ->check(CLI::NonNegativeNumber)
      ->default_str("60000");
  cmd->add_option("--grace-sec", opts->web.grace_sec, "A window is final once heartbeats pass its end + grace")
      ->check(CLI::Range(0, 86400))
      ->default_str("60");
  cmd->add_option("--stale-emitter-sec", opts->web.stale_emitter_sec,
                  "An emitter silent this long is stale (about 3 flush intervals)")
      ->check(CLI::Range(1, 30 * 86400))
      ->default_str("180");
  cmd->add_option("--window-sec", opts->web.window_sec, "Window size reported when the data does not say")
      ->check(CLI::Range(1, 86400))
      ->default_str("600");
  cmd->add_option("--threads", opts->web.threads, "HTTP worker threads")->check(CLI::Range(1, 256))->default_str("8");

  cmd->callback([opts, cmd, exit_code] {
    auto fail = [&](const std::string& msg, int code = common::kExitBadConfig) {
      std::fprintf(stderr, "chaperone web: %s\n", msg.c_str());
      *exit_code = code;
    };
    web::WebServerOptions o;
    if (!opts->config.empty()) {
      if (Status s = web::LoadWebConfig(opts->config, o); !s.ok()) return fail(s.message());
    }
    // Flags given on the command line override the file.
    const web::WebServerOptions& f = opts->web;
    if (cmd->count("--listen")) o.listen = f.listen;
    if (cmd->count("--store")) o.store_url = f.store_url;
    if (cmd->count("--delay-threshold-ms")) o.delay_threshold_ms = f.delay_threshold_ms;
    if (cmd->count("--grace-sec")) o.grace_sec = f.grace_sec;
    if (cmd->count("--stale-emitter-sec")) o.stale_emitter_sec = f.stale_emitter_sec;
    if (cmd->count("--window-sec")) o.window_sec = f.window_sec;
    if (cmd->count("--threads")) o.threads = f.threads;
    if (cmd->count("--tier-order")) {
      if (auto t = web::TierOrder::Parse(opts->tier_order); !t.ok())
        return fail("--tier-order: " + t.status().message());
      o.tier_order = opts->tier_order.empty() ? std::vector<std::string>() : web::SplitList(opts->tier_order);
    }
    if (Status s = web::ValidateOptions(o); !s.ok()) return fail(s.message());

    web::WebServer server(o, SystemClock::Instance());
    if (Status s = server.Start(); !s.ok()) return fail(s.message(), common::ExitCode(s));
    std::printf("chaperone web: serving %s\n", server.url().c_str());
    std::fflush(stdout);
    WaitForShutdown();
    std::fprintf(stderr, "chaperone web: stopping\n");
    server.Stop();
    *exit_code = common::kExitOk;
  });
}

}  // namespace chaperone::cli
