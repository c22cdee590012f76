// Listen addresses of every server Chaperone starts (REST, /metrics, web).
#pragma once

#include <string>
#include <string_view>

#include "chaperone/status.h"

namespace chaperone::common {

// Where a server listens. port 0 asks the kernel for a free port.
struct ListenAddress {
  std::string host;  // without brackets ("::1"); "0.0.0.0" when the address left it out
  int port = 0;

  // "host:port", with an IPv6 host in brackets: "[::1]:9000".
  std::string ToString() const;
};

// Whether "" is a valid setting, meaning "no server".
enum class EmptyListen { kOff, kRejected };

// "HOST:PORT", "[IPv6]:PORT" or ":PORT" (every IPv4 interface); PORT is 0 to
// 65535. No whitespace anywhere. `what` names the setting in errors
// ("collector.listen"). "" is always an error here.
Result<ListenAddress> ParseListenAddress(std::string_view listen, std::string_view what = "listen address");

// As ParseListenAddress, and "" is valid when `empty` is kOff.
Status ValidateListenAddress(std::string_view listen, EmptyListen empty, std::string_view what = "listen address");

}  // namespace chaperone::common
