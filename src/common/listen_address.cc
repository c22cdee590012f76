#include "common/listen_address.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace chaperone::common {

std::string ListenAddress::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

Result<ListenAddress> ParseListenAddress(std::string_view listen, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("{}: '{}': {}", what, listen, why));
  };
  if (listen.empty()) return bad("want HOST:PORT");
  if (std::any_of(listen.begin(), listen.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); })) {
    return bad("must not contain whitespace");
  }
  ListenAddress out;
  std::string_view port;
  if (listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == std::string_view::npos || close == 1 || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return bad("want [IPv6]:PORT");
    }
    out.host = std::string(listen.substr(1, close - 1));
    port = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return bad("want HOST:PORT");
    out.host = std::string(listen.substr(0, colon));
    if (out.host.find_first_of(":[]") != std::string::npos) return bad("an IPv6 host must be in brackets: [::1]:9000");
    port = listen.substr(colon + 1);
  }
  if (out.host.empty()) out.host = "0.0.0.0";
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("the port must be a number from 0 to 65535 (0 picks a free port)");
  }
  int p = 0;
  for (char c : port) p = p * 10 + (c - '0');
  if (p > 65535) return bad("the port must be a number from 0 to 65535 (0 picks a free port)");
  out.port = p;
  return out;
}

Status ValidateListenAddress(std::string_view listen, EmptyListen empty, std::string_view what) {
  if (listen.empty() && empty == EmptyListen::kOff) return Status::Ok();
  auto a = ParseListenAddress(listen, what);
  return a.ok() ? Status::Ok() : a.status();
}

}  // namespace chaperone::common
