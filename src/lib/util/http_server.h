// Socket settings every Chaperone HTTP server (service REST, collector
// metrics, web) shares.
// Header-only: included only by components that link cpp-httplib.
#ifndef CHAPERONE_LIB_UTIL_HTTP_SERVER_H_
#define CHAPERONE_LIB_UTIL_HTTP_SERVER_H_

#include <httplib.h>
#include <sys/socket.h>

namespace chaperone {

inline void ConfigureHttpSockets(httplib::Server& server) {
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

}  // namespace chaperone

#endif  // CHAPERONE_LIB_UTIL_HTTP_SERVER_H_
