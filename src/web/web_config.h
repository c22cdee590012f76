// The configuration of `chaperone web`: the `web:` section of the project YAML
// file, read through one settings table (common/settings.h) that also gives the
// flags, `--config-reference` and the generated reference in docs/configuration.md.
//
//   store:
//     url: postgresql://chaperone:secret@db/chaperone   # shared with the collector
//   web:
//     listen: 127.0.0.1:8080
//     tier_order: [producer, regional, replicator, aggregate]   # or "a,b,c"
//     grace_sec: 60
//
// The web server's store is `web.store`, else the shared `store.url`, else the
// --store flag's default. It only reads: a store that does not exist is an error.
// The window diff (GET .../windows/{window}/diff) reads the clusters the audit
// names: `clusters:` and `read:` (read::ParseReadConfig) give them, in
// WebServerOptions::read; without `clusters:` the endpoint says it is not configured.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "chaperone/status.h"
#include "common/settings.h"
#include "config/project_file.h"
#include "web/web_server.h"

namespace chaperone::web {

// The `web:`, `store:`, `clusters:` and `read:` sections, then `flags` (flags win), over `base`
// (which keeps a caller's store handle, assets and store mode). Errors are
// InvalidArgument, one line each: "<file>:<line>: web.<key>: <why>".
Result<WebServerOptions> ParseWebConfig(const config::ProjectFile& file, const std::vector<config::FlagValue>& flags = {},
                                        WebServerOptions base = {});
// Reads `path` ("" = flags only) and parses it as above.
Result<WebServerOptions> LoadWebConfig(const std::string& path, const std::vector<config::FlagValue>& flags = {},
                                       WebServerOptions base = {});
// From YAML text; `source` names it in messages.
Result<WebServerOptions> ParseWebConfig(std::string_view yaml, std::string_view source,
                                        const std::vector<config::FlagValue>& flags = {}, WebServerOptions base = {});

const config::TableBase& WebSettingsTable();
std::string WebConfigReference();

}  // namespace chaperone::web
