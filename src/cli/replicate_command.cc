// chaperone replicate: copies topics from one cluster to another, exactly
// once, audited as tier `replicator` (docs/replicator.md).
// chaperone replicate translate: a consumer group's source offsets → destination offsets.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/settings_flags.h"
#include "cli/signals.h"
#include "common/exit_code.h"
#include "replicate/replicate_config.h"
#include "replicate/replicator.h"
#include "replicate/translate.h"

namespace chaperone::cli {
namespace {

void SetUpLogging(const std::string& level) {
  // Logs go to stderr; stdout stays free for output meant for programs.
  spdlog::set_default_logger(spdlog::stderr_color_mt("replicate"));
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

void AddReplicateCommand(CLI::App& app, int* exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "replicate",
      "Copy the selected topics of one cluster to another, exactly once, audited as tier `replicator` (runs until "
      "SIGINT/SIGTERM)");
  auto flags = AddSettingsFlags(cmd, replicate::ReplicateSettingsTable());
  auto log_level = std::make_shared<std::string>("info");
  cmd->add_option("--log-level", *log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));

  CLI::App* translate = cmd->add_subcommand(
      "translate",
      "Translate a consumer group's committed source offsets into destination offsets (one JSON object per line); "
      "with --commit, commit them for the group on the destination");
  auto tflags = AddSettingsFlags(translate, replicate::ReplicateSettingsTable());
  auto group = std::make_shared<std::string>();
  auto commit = std::make_shared<bool>(false);
  translate->add_option("--group", *group, "The consumer group")->required();
  translate->add_flag("--commit", *commit, "Commit the translated offsets for the group on the destination");
  translate->callback([tflags, group, commit, exit_code] {
    SetUpLogging("warn");
    auto options = replicate::LoadReplicateConfig(tflags->config, tflags->Given());
    if (!options.ok()) {
      *exit_code = ReportFailure("replicate translate", options.status());
      return;
    }
    auto r = replicate::TranslateGroup(*options, *group, *commit);
    if (!r.ok()) {
      *exit_code = ReportFailure("replicate translate", r.status());
      return;
    }
    for (const auto& t : r->translations) std::printf("%s\n", replicate::TranslationJson(t).c_str());
    if (r->committed)
      std::fprintf(stderr, "chaperone replicate translate: committed %zu offsets for group %s on %s\n",
                   r->commits.size(), group->c_str(), options->destination_cluster.c_str());
    *exit_code = common::kExitOk;
  });

  cmd->callback([cmd, translate, flags, log_level, exit_code] {
    if (cmd->got_subcommand(translate)) return;
    if (flags->reference) {
      std::fputs(replicate::ReplicateConfigReference().c_str(), stdout);
      *exit_code = common::kExitOk;
      return;
    }
    SetUpLogging(*log_level);
    auto options = replicate::LoadReplicateConfig(flags->config, flags->Given());
    if (!options.ok()) {
      *exit_code = ReportFailure("replicate", options.status());
      return;
    }
    auto rep = replicate::Replicator::Create(std::move(*options));
    if (!rep.ok()) {
      *exit_code = ReportFailure("replicate", rep.status());
      return;
    }
    if ((*rep)->rest_port() > 0) spdlog::info("replicate: REST API on port {}", (*rep)->rest_port());
    Status s = RunUntilShutdown([&](const std::atomic<bool>& stop) { return (*rep)->Run(stop); });
    if (!s.ok()) std::fprintf(stderr, "chaperone replicate: %s\n", s.message().c_str());
    *exit_code = common::ExitCode(s);
  });
}

}  // namespace chaperone::cli
