#include "common/store_url.h"

#include "common/secrets.h"

namespace chaperone::common {

Result<StoreUrl> ParseStoreUrl(std::string_view url) {
  constexpr std::string_view kWant = "want sqlite:PATH, postgresql://user:pass@host:port/db or mysql://user:pass@host:port/db";
  if (url.empty()) return Status::InvalidArgument("empty store URL (" + std::string(kWant) + ")");
  StoreUrl out;
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    out.kind = StoreUrl::Kind::kPostgres;
    return out;
  }
  if (url.starts_with("mysql://")) {
    std::string_view rest = url.substr(8);
    rest = rest.substr(rest.find('@') == std::string_view::npos ? 0 : rest.rfind('@') + 1);
    size_t slash = rest.find('/');
    if (slash == 0 || slash == std::string_view::npos || slash + 1 == rest.size()) {
      return Status::InvalidArgument("mysql URL without a host or a database: " + RedactUrl(url) + " (" +
                                     std::string(kWant) + ")");
    }
    out.kind = StoreUrl::Kind::kMysql;
    return out;
  }
  if (url.starts_with("sqlite:")) {
    std::string_view path = url.substr(7);
    if (path.starts_with("//")) path.remove_prefix(2);
    if (path.empty()) return Status::InvalidArgument("sqlite URL without a path: " + RedactUrl(url));
    out.sqlite_path = std::string(path);
    return out;
  }
  if (size_t scheme = url.find("://"); scheme != std::string_view::npos) {
    return Status::InvalidArgument("unsupported store URL scheme '" + std::string(url.substr(0, scheme)) + "' (" +
                                   std::string(kWant) + ")");
  }
  out.sqlite_path = std::string(url);
  return out;
}

}  // namespace chaperone::common
