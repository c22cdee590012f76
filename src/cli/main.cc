// chaperone: one binary, one subcommand per component (README.md, "Components").
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/allocator.h"
#include "cli/commands.h"
#include "cli/signals.h"
#include "common/exit_code.h"

int main(int argc, char** argv) {
  CLI::App app{"Chaperone: end-to-end audit of Apache Kafka pipelines"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "chaperone 0.1.0\nallocator: " + chaperone::cli::AllocatorDescription());
  int exit_code = 0;

  chaperone::cli::AddMockKafkaCommand(app, &exit_code);
  chaperone::cli::AddCollectorCommand(app, &exit_code);
  chaperone::cli::AddWebCommand(app, &exit_code);
  chaperone::cli::AddServiceCommand(app, &exit_code);
  chaperone::cli::AddUpCommand(app, &exit_code);
  chaperone::cli::AddReplicateCommand(app, &exit_code);
  chaperone::cli::AddConfigCommand(app, &exit_code);
  chaperone::cli::AddStoreCommand(app, &exit_code);
  chaperone::cli::AddDetectCommand(app, &exit_code);
  chaperone::cli::AddReadCommand(app, &exit_code);
  chaperone::cli::AddDiffCommand(app, &exit_code);

  chaperone::cli::InstallShutdownHandlers();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end here with 0; a bad argument is a bad configuration.
    int code = app.exit(e);
    return code == chaperone::common::kExitOk ? code : chaperone::common::kExitBadConfig;
  }
  return exit_code;
}
