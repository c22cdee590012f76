// Percent-encoding of text put into a URL (the dashboard links of the web API
// and of the loss detector's alerts).
#pragma once

#include <string>
#include <string_view>

namespace chaperone::common {

// Percent-encodes `s` for a URL's path or query: RFC 3986's unreserved
// characters (letters, digits, - . _ ~) stay, every other byte is %XX.
std::string UrlEncode(std::string_view s);

}  // namespace chaperone::common
