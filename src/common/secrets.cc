#include "common/secrets.h"

#include <algorithm>
#include <cctype>

namespace chaperone::common {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

bool IsSecretProperty(std::string_view name) {
  std::string n = Lower(name);
  return n.find("password") != std::string::npos || n.find("secret") != std::string::npos ||
         n == "ssl.key.pem" || n == "sasl.oauthbearer.config" || n == "ssl_key" || n == "ssl.keystore.key";
}

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // scheme://user:password@host
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = out.find_first_of("/?#", start);
    size_t at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at != std::string::npos && at >= start) {
      size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, kRedacted);
    }
  }
  // password=... in a query string or a keyword/value connection string.
  std::string lower = Lower(out);
  for (size_t pos = 0; (pos = lower.find("password=", pos)) != std::string::npos;) {
    bool word_start = pos == 0 || lower[pos - 1] == '?' || lower[pos - 1] == '&' || lower[pos - 1] == ' ';
    size_t value = pos + 9;
    if (!word_start) {
      pos = value;
      continue;
    }
    size_t end = out.find_first_of("& ", value);
    if (end == std::string::npos) end = out.size();
    out.replace(value, end - value, kRedacted);
    lower = Lower(out);
    pos = value + kRedacted.size();
  }
  return out;
}

std::string RedactProperty(std::string_view name, std::string_view value) {
  return IsSecretProperty(name) ? std::string(kRedacted) : std::string(value);
}

std::string RedactText(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.size() < 3) continue;
    for (size_t pos = 0; (pos = text.find(s, pos)) != std::string::npos;) {
      text.replace(pos, s.size(), kRedacted);
      pos += kRedacted.size();
    }
  }
  return text;
}

}  // namespace chaperone::common
