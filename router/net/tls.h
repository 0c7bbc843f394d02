// TLS on either side: the router as a TLS server to clients and as a TLS
// client to backends. Contexts are built once at start and shared read-only.
#pragma once

#include <memory>
#include <string>

#include "router/net/transport.h"

namespace boost::asio::ssl {
class context;
}

namespace shardline::net {

struct TlsContexts;

// Builds the server context from PEM files; returns null and sets `error` on failure.
std::shared_ptr<asio::ssl::context> makeServerTlsContext(const std::string& certFile,
                                                         const std::string& keyFile,
                                                         std::string& error);
// Builds a client context; with a CA file, peers are verified against it.
std::shared_ptr<asio::ssl::context> makeClientTlsContext(const std::string& caFile,
                                                         std::string& error);

// Performs the server handshake over the TCP socket taken from `plain`.
awaitable<std::unique_ptr<Transport>> tlsAccept(std::unique_ptr<Transport> plain,
                                                asio::ssl::context& context);
// Performs the client handshake; with `verifyHost` non-empty the certificate
// must name that host.
awaitable<std::unique_ptr<Transport>> tlsConnect(std::unique_ptr<Transport> plain,
                                                 asio::ssl::context& context,
                                                 const std::string& verifyHost);

}  // namespace shardline::net
