// The dashboard's static files (web/dashboard/dist), embedded in the binary at
// build time by web/dashboard/CMakeLists.txt: no file is read at run time and
// nothing is fetched from the network.
#pragma once

#include <string_view>

namespace chaperone::web {

struct Asset {
  std::string_view content;       // the file's bytes
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
};

// The asset at `path`, or nullptr. `path` is a URL path without query string:
// "/app.js" and "app.js" are the same file, "/" and "" mean "/index.html".
const Asset* FindAsset(std::string_view path);

}  // namespace chaperone::web
