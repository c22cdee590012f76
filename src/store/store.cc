#include "store/store.h"

#include <sstream>

#include "store/backends.h"

namespace chaperone::store {

namespace internal {

std::string UpsertSet(const char* columns, int key_count) {
  std::string out = "DO UPDATE SET ";
  std::stringstream ss(columns);
  std::string col;
  int i = 0;
  bool first = true;
  while (std::getline(ss, col, ',')) {
    size_t b = col.find_first_not_of(' ');
    col = col.substr(b);
    if (i++ < key_count) continue;
    if (!first) out += ", ";
    first = false;
    out += col + " = excluded." + col;
  }
  return out;
}

std::string RedactUrl(const std::string& url) {
  // scheme://user:password@host -> scheme://user:***@host
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t at = url.find('@', scheme + 3);
  if (at == std::string::npos) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace internal

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, OpenMode mode) {
  if (url.empty()) return Status::InvalidArgument("store: empty URL (want sqlite:PATH or postgresql://...)");
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return internal::OpenPostgres(url);
  if (url.rfind("sqlite:", 0) == 0) {
    std::string path = url.substr(7);
    if (path.rfind("//", 0) == 0) path = path.substr(2);  // sqlite://PATH
    if (path.empty()) return Status::InvalidArgument("store: sqlite URL without a path: " + url);
    return internal::OpenSqlite(path, mode);
  }
  size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    return Status::InvalidArgument("store: unsupported URL scheme '" + url.substr(0, scheme) +
                                   "' (want sqlite:PATH or postgresql://...)");
  }
  return internal::OpenSqlite(url, mode);
}

}  // namespace chaperone::store
