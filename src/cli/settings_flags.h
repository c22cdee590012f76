// The command-line side of the settings mechanism (common/settings.h): every
// subcommand that reads the project YAML file gets --config,
// --config-reference and one flag per setting from its component's table.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "chaperone/status.h"
#include "common/settings.h"

namespace chaperone::cli {

struct SettingsFlags {
  std::string config;      // --config FILE
  bool reference = false;  // --config-reference
  std::vector<config::FlagSpec> specs;
  std::vector<std::vector<std::string>> values;  // one per spec

  // The flags given, in table order (a repeated flag once per value).
  std::vector<config::FlagValue> Given() const;
};

// Adds --config, --config-reference and the table's flags to `cmd`. `section`
// names the component's section in help texts.
std::shared_ptr<SettingsFlags> AddSettingsFlags(CLI::App* cmd, const config::TableBase& table);

// Prints `status`'s message to stderr, each line prefixed "chaperone <cmd>: ",
// and returns the exit code for it (common::ExitCode).
int ReportFailure(const std::string& cmd, const Status& status);

}  // namespace chaperone::cli
