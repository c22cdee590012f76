// chaperone up: the whole pipeline in one process; with no config, the embedded demo.
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "cli/signals.h"
#include "common/exit_code.h"
#include "up/pipeline.h"
#include "up/up_config.h"

namespace chaperone::cli {

void AddUpCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "up", "Run every component in one process. With no --config: the embedded demo (mock cluster, audited "
            "producer and consumer, audit service, collector on SQLite, dashboard)");
  auto flags = AddSettingsFlags(cmd, up::UpSettingsTable());
  cmd->callback([flags, exit_code, argv0 = app.get_name()] {
    if (flags->reference) {
      std::fputs(up::UpConfigReference().c_str(), stdout);
      *exit_code = common::kExitOk;
      return;
    }
    auto log = [](const std::string& line) {
      std::printf("chaperone up: %s\n", line.c_str());
      std::fflush(stdout);
    };
    auto file = config::LoadProject(flags->config);
    if (!file.ok()) {
      *exit_code = ReportFailure("up", file.status());
      return;
    }
    auto options = up::ParseUpConfig(*file, flags->Given());
    if (!options.ok()) {
      *exit_code = ReportFailure("up", options.status());
      return;
    }
    Result<std::unique_ptr<up::Pipeline>> pipeline = Status::Internal("not started");
    if (!flags->config.empty()) {
      pipeline = up::StartFromConfig(*file, options->run, log);
    } else {
      up::DemoOptions demo = options->demo;
      if (demo.interceptor_path.empty()) demo.interceptor_path = up::FindInterceptorPlugin(argv0);
      pipeline = up::StartDemo(demo, log);
    }
    if (!pipeline.ok()) {
      *exit_code = ReportFailure("up", pipeline.status());
      return;
    }
    log("running; Ctrl-C to stop");
    WaitForShutdown();
    log("stopping");
    Status s = (*pipeline)->Stop();
    if (!s.ok()) {
      std::fprintf(stderr, "chaperone up: %s\n", s.message().c_str());
      *exit_code = common::kExitFailure;
      return;
    }
    log("stopped cleanly");
    *exit_code = common::kExitOk;
  });
}

}  // namespace chaperone::cli
