// The `web:` section of a chaperone config file (docs/api.md, "Configuration").
// Keys are the command-line flag names:
//
//   web:
//     listen: 127.0.0.1:8080
//     store: sqlite:/var/lib/chaperone/audit.db
//     tier-order: [producer, regional, replicator, aggregate]   # or "a,b,c"
//     delay-threshold-ms: 60000
//     grace-sec: 60
//     stale-emitter-sec: 180
//     window-sec: 600
//     threads: 8
//
// A file without a `web:` key is read as that section alone.
#pragma once

#include <string>
#include <string_view>

#include "chaperone/status.h"
#include "web/web_server.h"

namespace chaperone::web {

// Applies the settings found in the file to `options` (others keep their value).
Status LoadWebConfig(const std::string& path, WebServerOptions& options);
// Same, from YAML text; `origin` names it in error messages.
Status ParseWebConfig(std::string_view yaml, WebServerOptions& options, const std::string& origin = "config");

}  // namespace chaperone::web
