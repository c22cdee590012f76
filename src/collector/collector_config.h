// The configuration of `chaperone collector`: the `collector:` section of the
// project YAML file, read through one settings table (common/settings.h) that
// also gives the flags, `--config-reference` and the generated reference in
// docs/configuration.md.
//
//   clusters:
//     audit: {bootstrap.servers: "10.0.0.9:9092"}
//   store:
//     url: postgresql://chaperone:secret@db/chaperone
//   collector:
//     cluster: audit          # the cluster holding the audit topic
//     audit_topic: chaperone-audit
//     listen: 127.0.0.1:9100  # /metrics and /health
//
// The collector's store is `collector.store`, else the shared `store.url`, else
// sqlite:./chaperone-data/chaperone.db.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"
#include "collector/collector.h"
#include "common/settings.h"
#include "config/project_file.h"

namespace chaperone::collector {

// The `collector:` section (with `clusters:` and `store:`) and then `flags`
// (flags win). Errors are InvalidArgument, one line each: "<file>:<line>: <key>: <why>".
Result<CollectorOptions> ParseCollectorConfig(const config::ProjectFile& file,
                                              const std::vector<config::FlagValue>& flags = {});
// Reads `path` ("" = flags only), then parses as above.
Result<CollectorOptions> LoadCollectorConfig(const std::string& path, const std::vector<config::FlagValue>& flags = {});
// Same, from YAML text; `source` names it in messages.
Result<CollectorOptions> ParseCollectorConfig(std::string_view yaml_text, std::string_view source,
                                              const std::vector<config::FlagValue>& flags = {});

const config::TableBase& CollectorSettingsTable();
// The Markdown reference (between its BEGIN/END GENERATED markers).
std::string CollectorConfigReference();

}  // namespace chaperone::collector
