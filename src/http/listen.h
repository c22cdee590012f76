// Binding a cpp-httplib server to a Chaperone listen address, with one rule
// for a port that cannot be had. Endpoint uses these; they are public for
// tests and for the rare server that is not an Endpoint.
#pragma once

#include <string_view>

#include "chaperone/status.h"
#include "common/listen_address.h"

namespace httplib {
class Server;
}

namespace chaperone::http {

// Socket options every Chaperone server shares: SO_REUSEADDR but never
// SO_REUSEPORT (a second process must not silently share the port), and
// TCP_NODELAY (keep-alive clients would otherwise wait on delayed ACKs).
void ConfigureHttpSockets(httplib::Server& server);

// Binds `server` to `listen` (port 0: a free one) and returns the address
// bound. A bad address, a port in use or an address not available at start
// is a configuration error: InvalidArgument "<what>: cannot listen on
// <listen>: ...", which `chaperone` exits 2 for (common::ExitCode). Call
// ConfigureHttpSockets(server) first.
Result<common::ListenAddress> BindHttpServer(httplib::Server& server, std::string_view listen, std::string_view what);

}  // namespace chaperone::http
