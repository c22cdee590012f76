// Every subcommand of the chaperone binary registers itself here. A command
// is a thin shell: it parses options into a component's options struct and
// calls the component (STYLE: CLIs are thin shells over library calls).
#pragma once

#include <CLI/CLI.hpp>

namespace chaperone::cli {

// Adds one subcommand to `app`. When it runs, its exit code goes to *exit_code.
void AddMockKafkaCommand(CLI::App& app, int* exit_code);
void AddCollectorCommand(CLI::App& app, int* exit_code);
void AddWebCommand(CLI::App& app, int* exit_code);
void AddServiceCommand(CLI::App& app, int* exit_code);
void AddUpCommand(CLI::App& app, int* exit_code);
void AddReplicateCommand(CLI::App& app, int* exit_code);
void AddConfigCommand(CLI::App& app, int* exit_code);
void AddStoreCommand(CLI::App& app, int* exit_code);
void AddDetectCommand(CLI::App& app, int* exit_code);
void AddReadCommand(CLI::App& app, int* exit_code);
void AddDiffCommand(CLI::App& app, int* exit_code);

}  // namespace chaperone::cli
