// The configuration of `chaperone up`: the `up:` section of the project YAML
// file (which components to run, and the embedded demo's settings), read
// through one settings table (common/settings.h) that also gives the flags,
// `--config-reference` and the generated reference in docs/configuration.md.
//
//   up:
//     run: [collector, web]     # default: every component with a section
//     demo: {listen: 127.0.0.1:8080, rate: 300}
#pragma once

#include <string>
#include <vector>

#include "chaperone/status.h"
#include "common/settings.h"
#include "config/project_file.h"
#include "up/pipeline.h"

namespace chaperone::up {

struct UpOptions {
  std::vector<std::string> run;  // components to run from the file; empty: every one with a section
  DemoOptions demo;              // with no config file: the embedded demo
};

// The `up:` section, then `flags` (flags win).
Result<UpOptions> ParseUpConfig(const config::ProjectFile& file, const std::vector<config::FlagValue>& flags = {});

const config::TableBase& UpSettingsTable();
std::string UpConfigReference();

// The components `chaperone up --config` can run, in start order.
const std::vector<std::string>& RunnableComponents();

}  // namespace chaperone::up
