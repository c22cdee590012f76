// The configuration of `chaperone replicate`: the `replicate:` section of the
// project YAML file, one settings table (common/settings.h) from which the
// parser, the flags and the reference in docs/configuration.md are derived.
//
//   clusters:
//     dc1: {bootstrap.servers: 10.0.0.1:9092}
//     agg: {bootstrap.servers: 10.0.9.1:9092}
//   replicate:
//     source.cluster: dc1
//     destination.cluster: agg
//     rename: {orders: dc1.orders}
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"
#include "common/settings.h"
#include "config/project_file.h"
#include "replicate/replicate_options.h"

namespace chaperone::replicate {

// Parses the `replicate:` and `clusters:` sections, then `flags` on top.
// Errors are InvalidArgument, one line per error ("<source>:<line>: <key>: <why>").
Result<ReplicateOptions> ParseReplicateConfig(const config::ProjectFile& file,
                                              const std::vector<config::FlagValue>& flags = {});
Result<ReplicateOptions> ParseReplicateConfig(std::string_view yaml_text, std::string_view source,
                                              const std::vector<config::FlagValue>& flags = {});
// Reads `path` (empty: flags only) and parses it as above.
Result<ReplicateOptions> LoadReplicateConfig(const std::string& path, const std::vector<config::FlagValue>& flags = {});

std::string ReplicateConfigReference();
const config::TableBase& ReplicateSettingsTable();

}  // namespace chaperone::replicate
