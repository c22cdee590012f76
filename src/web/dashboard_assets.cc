// DashboardAssets(): the AssetBundle the web server serves, over the files
// that web/dashboard/CMakeLists.txt embeds (FindAsset, generated code).
#include "web/assets.h"

namespace chaperone::web {
namespace {

class EmbeddedDashboard final : public AssetBundle {
 public:
  std::optional<Asset> Lookup(std::string_view path) const override {
    const Asset* a = FindAsset(path);
    if (!a) return std::nullopt;
    return *a;
  }
};

}  // namespace

const AssetBundle& DashboardAssets() {
  static const EmbeddedDashboard kDashboard;
  return kDashboard;
}

}  // namespace chaperone::web
