// chaperone collector: a thin shell over collector::Collector.
#include <atomic>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "cli/signals.h"
#include "collector/collector_config.h"
#include "common/exit_code.h"
#include "collector/collector.h"
#include "common/thread_name.h"

namespace chaperone::cli {

void AddCollectorCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "collector", "Consume the audit topic and apply every audit record exactly once to the store");
  auto flags = AddSettingsFlags(cmd, collector::CollectorSettingsTable());

  cmd->callback([flags, exit_code] {
    if (flags->reference) {
      std::fputs(collector::CollectorConfigReference().c_str(), stdout);
      *exit_code = common::kExitOk;
      return;
    }
    auto o = collector::LoadCollectorConfig(flags->config, flags->Given());
    if (!o.ok()) {
      *exit_code = ReportFailure("collector", o.status());
      return;
    }
    auto c = collector::Collector::Create(std::move(*o));
    if (!c.ok()) {
      *exit_code = ReportFailure("collector", c.status());
      return;
    }

    std::atomic<bool> stop{false};
    std::atomic<bool> done{false};
    std::thread watcher = NamedThread("cli-signals", [&] {
      while (!done.load()) {
        if (WaitForShutdown(std::chrono::milliseconds(100))) {
          stop = true;
          return;
        }
      }
    });
    Status s = (*c)->Run(stop);
    done = true;
    watcher.join();
    *exit_code = s.ok() ? common::kExitOk : ReportFailure("collector", s);
  });
}

}  // namespace chaperone::cli
