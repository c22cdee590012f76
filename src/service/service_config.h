// The configuration of `chaperone service`: one settings table
// (common/settings.h) from which the parser, the command-line flags and the
// reference in docs/configuration.md are all derived.
//
// The file is the project-wide YAML file; the service reads two sections:
//
//   clusters:                 # shared by every component
//     regional:
//       bootstrap.servers: 10.0.0.1:9092
//       security.protocol: SASL_SSL       # any librdkafka property
//   service:
//     cluster: regional
//     tier: regional
//     ...
//
// Other components' sections are ignored; an unknown key or section, and every
// bad value, is an error naming the file, the line and the key. All errors are
// reported at once, one per line of the status message.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chaperone/status.h"
#include "common/settings.h"
#include "config/project_file.h"
#include "service/service_options.h"

namespace chaperone::service {

using config::FlagSpec;
using config::FlagValue;

// The flags derived from the settings table.
std::vector<FlagSpec> ServiceFlags();

// Parses YAML text (`source` names it in errors, e.g. the file name), then
// applies `flags` on top (flags win over the file). Errors are
// InvalidArgument, one line per error: "<source>:<line>: <key>: <why>".
Result<ServiceOptions> ParseServiceConfig(std::string_view yaml_text, std::string_view source,
                                          const std::vector<FlagValue>& flags = {});

// Parses the `service:` and `clusters:` sections of a loaded project file.
Result<ServiceOptions> ParseServiceConfig(const config::ProjectFile& file, const std::vector<FlagValue>& flags = {});

// Reads `path` (empty: no file, flags only) and parses it as above.
Result<ServiceOptions> LoadServiceConfig(const std::string& path, const std::vector<FlagValue>& flags = {});

// The configuration reference (Markdown table), generated from the settings
// table; docs/configuration.md embeds it between its markers and a unit test
// keeps the two equal.
std::string ServiceConfigReference();
const config::TableBase& ServiceSettingsTable();

}  // namespace chaperone::service
