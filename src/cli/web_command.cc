// chaperone web: the REST query API and the dashboard over a store.
#include <cstdio>
#include <memory>
#include <string>

#include "chaperone/clock.h"
#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "cli/signals.h"
#include "common/exit_code.h"
#include "web/web_config.h"
#include "web/web_server.h"

namespace chaperone::cli {

void AddWebCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd =
      app.add_subcommand("web", "Serve the REST query API (/api/v1), /metrics and the dashboard until SIGINT/SIGTERM");
  auto flags = AddSettingsFlags(cmd, web::WebSettingsTable());

  cmd->callback([flags, exit_code] {
    if (flags->reference) {
      std::fputs(web::WebConfigReference().c_str(), stdout);
      *exit_code = common::kExitOk;
      return;
    }
    auto o = web::LoadWebConfig(flags->config, flags->Given());
    if (!o.ok()) {
      *exit_code = ReportFailure("web", o.status());
      return;
    }
    web::WebServer server(std::move(*o), SystemClock::Instance());
    if (Status s = server.Start(); !s.ok()) {
      *exit_code = ReportFailure("web", s);
      return;
    }
    std::printf("chaperone web: serving %s\n", server.url().c_str());
    std::fflush(stdout);
    WaitForShutdown();
    std::fprintf(stderr, "chaperone web: stopping\n");
    server.Stop();
    *exit_code = common::kExitOk;
  });
}

}  // namespace chaperone::cli
