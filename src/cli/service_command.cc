// chaperone service: audits every message of one cluster as a tier.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "cli/signals.h"
#include "common/exit_code.h"
#include "service/audit_service.h"
#include "service/service_config.h"

namespace chaperone::cli {

void AddServiceCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "service", "Audit every message of the selected topics of one cluster as a tier (runs until SIGINT/SIGTERM)");
  auto flags = AddSettingsFlags(cmd, service::ServiceSettingsTable());
  auto log_level = std::make_shared<std::string>("info");
  cmd->add_option("--log-level", *log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  cmd->callback([flags, log_level, exit_code] {
    if (flags->reference) {
      std::fputs(service::ServiceConfigReference().c_str(), stdout);
      *exit_code = common::kExitOk;
      return;
    }
    // Logs go to stderr; stdout stays free for output meant for programs.
    spdlog::set_default_logger(spdlog::stderr_color_mt("service"));
    spdlog::set_level(spdlog::level::from_str(*log_level));
    auto options = service::LoadServiceConfig(flags->config, flags->Given());
    if (!options.ok()) {
      *exit_code = ReportFailure("service", options.status());
      return;
    }
#ifndef CHAPERONE_JEMALLOC
    // Without jemalloc: fetch responses (up to fetch.max.bytes each) are
    // allocated by the client library's broker threads and freed by the
    // consume thread. glibc raises its mmap threshold to the size of the
    // first such buffer freed, after which they come from the heap and
    // fragment it: RSS then creeps up with every response. A fixed threshold
    // (which turns the raising off) gives them back each time, at the cost
    // of a page fault per page; see docs/performance.md.
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    auto svc = service::AuditService::Create(std::move(*options));
    if (!svc.ok()) {
      *exit_code = ReportFailure("service", svc.status());
      return;
    }
    if ((*svc)->rest_port() > 0) spdlog::info("service: REST API on port {}", (*svc)->rest_port());
    Status s = RunUntilShutdown([&](const std::atomic<bool>& stop) { return (*svc)->Run(stop); });
    if (!s.ok()) std::fprintf(stderr, "chaperone service: %s\n", s.message().c_str());
    *exit_code = common::ExitCode(s);
  });
}

}  // namespace chaperone::cli
