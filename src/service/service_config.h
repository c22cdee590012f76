// The configuration of `chaperone service`: one table of settings (YAML key,
// flag, type, default, description, validation) from which the parser, the
// command-line flags and the reference in docs/service.md are all derived.
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
// Top-level sections of other components are accepted and ignored; any other
// unknown key, and every bad value, is an error naming the key (and the line).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chaperone/status.h"
#include "service/service_options.h"

namespace chaperone::service {

// One setting given on the command line: the flag's name (without "--", as in
// ServiceFlags()) and its value. Repeatable flags appear once per value.
struct FlagValue {
  std::string flag;
  std::string value;
};

// A command-line flag derived from the settings table.
struct FlagSpec {
  std::string name;  // without "--"
  std::string help;
  bool repeatable = false;
};
const std::vector<FlagSpec>& ServiceFlags();

// Parses YAML text (`source` names it in errors, e.g. the file name), then
// applies `flags` on top (flags win over the file). Errors are
// InvalidArgument with a one-line message: "<source>:<line>: <key>: <why>".
Result<ServiceOptions> ParseServiceConfig(std::string_view yaml_text, std::string_view source,
                                          const std::vector<FlagValue>& flags = {});

// Reads `path` (empty: no file, flags only) and parses it as above.
Result<ServiceOptions> LoadServiceConfig(const std::string& path, const std::vector<FlagValue>& flags = {});

// The configuration reference (Markdown table), generated from the settings
// table. docs/service.md embeds it verbatim between the markers
// "<!-- BEGIN GENERATED: service settings -->" and "<!-- END GENERATED ... -->";
// a unit test keeps the two equal.
std::string ServiceConfigReference();

// Top-level sections owned by other components (accepted and ignored here).
const std::vector<std::string>& OtherComponentSections();

}  // namespace chaperone::service
