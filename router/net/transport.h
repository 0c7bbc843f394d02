// A byte stream to a client or a backend: TCP, Unix socket, or TLS over TCP.
//
// Owned by one connection and used only from its worker's io_context.
// I/O failures surface as boost::system::system_error from the awaitables;
// the connection's top-level coroutine catches them and closes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "router/asio.h"

namespace shardline::net {

// Told when a connection becomes readable, for a connection that waits without a coroutine:
// an idle client's session holds none.
class ReadableWaiter {
 public:
  // `ec` is set when the wait failed, operation_aborted when the connection was closed.
  virtual void onReadable(ErrorCode ec) = 0;

 protected:
  ~ReadableWaiter() = default;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Completes when a read would not block. Waiting first, then reading, spares
  // a read that fails with EAGAIN and lets an idle connection hold no buffer.
  virtual awaitable<void> waitReadable() = 0;
  // Calls waiter->onReadable once, when a read would not block, keeping `waiter` alive until
  // then. False when the transport cannot tell without reading (TLS may hold decrypted
  // bytes already); the caller must wait with readSome then.
  virtual bool notifyWhenReadable(std::shared_ptr<ReadableWaiter> waiter) {
    (void)waiter;
    return false;
  }
  virtual awaitable<size_t> readSome(char* data, size_t size) = 0;
  // Reads what has arrived without waiting; returns how much, 0 when nothing has. Meant for
  // after waitReadable: it spares readSome's trip through the event loop. Transports that
  // cannot (TLS) read nothing. Throws on a broken stream and at its end.
  virtual size_t readNow(char* data, size_t size) {
    (void)data;
    (void)size;
    return 0;
  }
  virtual awaitable<void> writeAll(std::string_view data) = 0;
  // Writes what the socket takes now without waiting; returns how much.
  // Transports that cannot (TLS) take nothing. Throws on a broken stream.
  virtual size_t writeNow(std::string_view data) {
    (void)data;
    return 0;
  }
  virtual void close() = 0;
  // True when the peer closed the connection or sent bytes nobody waits for:
  // for an idle backend, it died (a FATAL then EOF). Never blocks.
  virtual bool idleIsBroken() { return false; }
  // Aborts pending reads and writes; they complete with operation_aborted.
  virtual void cancel() = 0;
  virtual bool isTls() const { return false; }
  // tls-server-end-point channel-binding data (hash of our certificate); empty without TLS.
  virtual std::string tlsServerEndPoint() const { return {}; }
  // Whether this is a plain TCP stream, over which TLS can start.
  virtual bool isTcp() const { return false; }
  // Hands the TCP socket over for a TLS upgrade; the transport is unusable afterwards.
  // Requires: isTcp().
  virtual TcpSocket takeTcpSocket();
  // A short description of the peer for logs, e.g. "127.0.0.1:51234".
  virtual std::string peer() const = 0;
};

std::unique_ptr<Transport> makeTcpTransport(TcpSocket socket);
std::unique_ptr<Transport> makeUnixTransport(LocalSocket socket);

// Connects to a node: `host` is an address or a Unix socket directory.
// Requires: a non-zero timeout.
awaitable<std::unique_ptr<Transport>> connectTo(const std::string& host, uint16_t port,
                                                std::chrono::milliseconds timeout);

}  // namespace shardline::net
