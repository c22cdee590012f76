// Binding an HTTP server (service REST, collector metrics, web) to its listen
// address, with one rule for a port that cannot be had.
// Header-only: included only by components that link cpp-httplib.
#pragma once

#include <httplib.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "chaperone/status.h"
#include "common/listen_address.h"

namespace chaperone::common {

// Binds `server` to `listen` (port 0: a free one) and returns the address
// bound. A port in use or an address not available at start is a
// configuration error: InvalidArgument "<what>: cannot listen on <listen>: ...",
// which `chaperone` exits 2 for. Call ConfigureHttpSockets(server) first.
inline Result<ListenAddress> BindHttpServer(httplib::Server& server, std::string_view listen, std::string_view what) {
  auto addr = ParseListenAddress(listen, what);
  if (!addr.ok()) return addr.status();
  errno = 0;
  int bound = addr->port == 0 ? server.bind_to_any_port(addr->host)
                              : (server.bind_to_port(addr->host, addr->port) ? addr->port : -1);
  if (bound <= 0) {
    int err = errno;
    return Status::InvalidArgument(std::string(what) + ": cannot listen on " + std::string(listen) + ": " +
                                   (err ? std::strerror(err) : "address in use or not available"));
  }
  addr->port = bound;
  return addr;
}

}  // namespace chaperone::common
