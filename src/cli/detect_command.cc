// chaperone detect: a thin shell over detect::Detector.
#include <cstdio>
#include <memory>
#include <string>

#include "chaperone/clock.h"
#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "cli/signals.h"
#include "common/exit_code.h"
#include "detect/detect_config.h"
#include "detect/detector.h"
#include "store/store.h"

namespace chaperone::cli {

void AddDetectCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "detect", "Judge every final window of every topic, keep alerts in the store and notify until SIGINT/SIGTERM");
  auto flags = AddSettingsFlags(cmd, detect::DetectSettingsTable());
  auto once = std::make_shared<bool>(false);
  cmd->add_flag("--once", *once, "Run one evaluation cycle (with its deliveries), print what it found and exit");

  cmd->callback([flags, once, exit_code] {
    if (flags->reference) {
      std::fputs(detect::DetectConfigReference().c_str(), stdout);
      *exit_code = common::kExitOk;
      return;
    }
    auto o = detect::LoadDetectConfig(flags->config, flags->Given());
    if (!o.ok()) {
      *exit_code = ReportFailure("detect", o.status());
      return;
    }
    auto store = store::Store::Open(o->store_url, store::OpenMode::kMustExist);
    if (!store.ok()) {
      *exit_code = ReportFailure("detect", store.status());
      return;
    }
    // A second connection: a cycle reads the window totals on both at once.
    auto reader = store::Store::Open(o->store_url, store::OpenMode::kMustExist);
    if (!reader.ok()) {
      *exit_code = ReportFailure("detect", reader.status());
      return;
    }
    auto receivers = detect::MakeReceivers(*o);
    if (!receivers.ok()) {
      *exit_code = ReportFailure("detect", receivers.status());
      return;
    }
    detect::Detector detector(std::move(*o), **store, SystemClock::Instance(), std::move(*receivers),
                              detect::Detector::DefaultOwner(), {reader->get()});
    if (*once) {
      auto r = detector.RunCycle();
      detector.ReleaseLease();
      if (!r.ok()) {
        *exit_code = ReportFailure("detect", r.status());
        return;
      }
      if (!r->leader) {
        std::printf("chaperone detect: another detector holds the lease; nothing done\n");
      } else {
        std::printf(
            "chaperone detect: %lld topics, %lld windows judged; alerts: %lld firing, %lld opened, %lld updated, "
            "%lld resolved; notices: %lld delivered, %lld to retry, %lld refused; %lld ms\n",
            static_cast<long long>(r->topics), static_cast<long long>(r->windows), static_cast<long long>(r->firing),
            static_cast<long long>(r->opened), static_cast<long long>(r->updated),
            static_cast<long long>(r->resolved), static_cast<long long>(r->delivered),
            static_cast<long long>(r->retried), static_cast<long long>(r->refused),
            static_cast<long long>(r->duration_ms));
      }
      *exit_code = common::kExitOk;
      return;
    }
    if (Status s = detector.Start(); !s.ok()) {
      *exit_code = ReportFailure("detect", s);
      return;
    }
    std::printf("chaperone detect: serving %s/metrics\n", detector.url().c_str());
    std::fflush(stdout);
    WaitForShutdown();
    std::fprintf(stderr, "chaperone detect: stopping\n");
    detector.Stop();
    *exit_code = common::kExitOk;
  });
}

}  // namespace chaperone::cli
