#include "http/listen.h"

#include <httplib.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace chaperone::http {

void ConfigureHttpSockets(httplib::Server& server) {
  // cpp-httplib sets SO_REUSEPORT by default, which lets a second process
  // bind the same port and silently take half the connections: a port
  // conflict must be an error, so only SO_REUSEADDR.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof yes);
  });
  // Clients keep connections alive (scrapers, browsers): without TCP_NODELAY
  // each response after the first waits on the client's delayed ACK (tens
  // of milliseconds).
  server.set_tcp_nodelay(true);
}

Result<common::ListenAddress> BindHttpServer(httplib::Server& server, std::string_view listen, std::string_view what) {
  auto addr = common::ParseListenAddress(listen, what);
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

}  // namespace chaperone::http
