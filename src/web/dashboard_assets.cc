// The dashboard bundle when the front-end was not built into this binary: empty,
// so `/` answers 404 with a JSON error saying so. A build that embeds
// web/dashboard replaces this file with a generated one defining the same function.
#include "web/assets.h"

namespace chaperone::web {

const AssetBundle& DashboardAssets() {
  static const StaticAssetBundle kEmpty{std::span<const StaticAsset>()};
  return kEmpty;
}

}  // namespace chaperone::web
