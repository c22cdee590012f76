// The unit tests' dashboard: one small index.html in place of the bundle that
// web/dashboard builds with npm (chaperone_dashboard), so that unit_tests
// never waits for npm. The real bundle's own tests are tests/dashboard/.
#include <string_view>

#include "web/assets.h"

namespace chaperone::web {

const Asset* FindAsset(std::string_view path) {
  static const Asset kIndex{"<!doctype html>\n<html><body>unit-test dashboard</body></html>\n",
                            "text/html; charset=utf-8"};
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty() || path == "index.html") return &kIndex;
  return nullptr;
}

}  // namespace chaperone::web
