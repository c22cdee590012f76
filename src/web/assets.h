// The dashboard's static files, served by the web server at `/` and
// `/assets/*`. The front-end (web/dashboard, bundled with esbuild) is embedded
// into the binary by web/dashboard/CMakeLists.txt as a generated C++ source that
// defines FindAsset(); DashboardAssets() is the bundle over it. No file is read
// at run time and nothing is fetched from the network.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace chaperone::web {

struct Asset {
  std::string_view content;
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
};

class AssetBundle {
 public:
  virtual ~AssetBundle() = default;
  // `path` as requested, beginning with '/': "/index.html", "/assets/index-4f2a.js".
  virtual std::optional<Asset> Lookup(std::string_view path) const = 0;
};

// One embedded file; generated code defines a static array of these.
struct StaticAsset {
  const char* path;  // "/index.html"
  const char* content_type;
  const unsigned char* data;
  size_t size;
};

// A bundle over a static table (no copies: the table must outlive the bundle).
class StaticAssetBundle final : public AssetBundle {
 public:
  explicit StaticAssetBundle(std::span<const StaticAsset> files);
  std::optional<Asset> Lookup(std::string_view path) const override;
  size_t size() const { return files_.size(); }

 private:
  std::map<std::string, Asset, std::less<>> files_;
};

// The content type for a file name by its extension ("application/octet-stream" if unknown).
std::string_view ContentTypeForPath(std::string_view path);

// One file of the embedded dashboard, or nullptr (generated code). `path` is a URL
// path without query string: "/app.js" and "app.js" are the same file, "/" and ""
// mean "/index.html".
const Asset* FindAsset(std::string_view path);

// The dashboard built into this binary, as a bundle over FindAsset().
const AssetBundle& DashboardAssets();

}  // namespace chaperone::web
