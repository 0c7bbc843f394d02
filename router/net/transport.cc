#include "router/net/transport.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>

namespace shardline::net {

namespace {

// Allocates with operator new. Asio otherwise recycles a block per thread for each new
// operation: an idle client's wait, held for as long as the client idles, would get
// whatever larger block the previous operation freed.
template <typename T>
struct PlainAllocator {
  using value_type = T;
  PlainAllocator() = default;
  template <typename U>
  PlainAllocator(const PlainAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, size_t) { ::operator delete(p); }
  template <typename U>
  bool operator==(const PlainAllocator<U>&) const {
    return true;
  }
};

struct ReadableHandler {
  using allocator_type = PlainAllocator<void>;
  allocator_type get_allocator() const { return {}; }
  void operator()(ErrorCode ec) const { waiter->onReadable(ec); }

  std::shared_ptr<ReadableWaiter> waiter;
};

template <typename Socket>
class SocketTransport final : public Transport {
 public:
  explicit SocketTransport(Socket socket) : socket_(std::move(socket)) {
    ErrorCode ignored;
    socket_.non_blocking(true, ignored);  // writeNow must never block
  }

  // The operation's own awaitable, not a coroutine around it: that would cost another frame.
  awaitable<void> waitReadable() override {
    return socket_.async_wait(Socket::wait_read, use_awaitable);
  }

  bool notifyWhenReadable(std::shared_ptr<ReadableWaiter> waiter) override {
    socket_.async_wait(Socket::wait_read, ReadableHandler{std::move(waiter)});
    return true;
  }

  awaitable<size_t> readSome(char* data, size_t size) override {
    return socket_.async_read_some(asio::buffer(data, size), use_awaitable);
  }

  size_t readNow(char* data, size_t size) override {
    ErrorCode ec;
    size_t n = socket_.read_some(asio::buffer(data, size), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      return 0;
    }
    if (ec) {
      throw boost::system::system_error(ec);  // as readSome throws
    }
    return n;
  }

  awaitable<void> writeAll(std::string_view data) override {
    co_await asio::async_write(socket_, asio::buffer(data.data(), data.size()), use_awaitable);
  }

  size_t writeNow(std::string_view data) override {
    ErrorCode ec;
    size_t n = socket_.write_some(asio::buffer(data.data(), data.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      return 0;
    }
    if (ec) {
      throw boost::system::system_error(ec, "write");
    }
    return n;
  }

  void close() override {
    ErrorCode ignored;
    socket_.shutdown(Socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  bool idleIsBroken() override {
    char byte;
    ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }

  void cancel() override {
    ErrorCode ignored;
    socket_.cancel(ignored);
  }

  bool isTcp() const override { return std::is_same_v<Socket, TcpSocket>; }

  TcpSocket takeTcpSocket() override {
    if constexpr (std::is_same_v<Socket, TcpSocket>) {
      return std::move(socket_);
    } else {
      return Transport::takeTcpSocket();
    }
  }

  std::string peer() const override {
    ErrorCode ec;
    auto endpoint = socket_.remote_endpoint(ec);
    if (ec) {
      return "?";
    }
    if constexpr (std::is_same_v<Socket, TcpSocket>) {
      return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    } else {
      return "unix";
    }
  }

 private:
  Socket socket_;
};

}  // namespace

std::unique_ptr<Transport> makeTcpTransport(TcpSocket socket) {
  ErrorCode ignored;
  socket.set_option(Tcp::no_delay(true), ignored);
  return std::make_unique<SocketTransport<TcpSocket>>(std::move(socket));
}

std::unique_ptr<Transport> makeUnixTransport(LocalSocket socket) {
  return std::make_unique<SocketTransport<LocalSocket>>(std::move(socket));
}

TcpSocket Transport::takeTcpSocket() {
  throw boost::system::system_error(asio::error::operation_not_supported, "not a TCP stream");
}

awaitable<std::unique_ptr<Transport>> connectTo(const std::string& host, uint16_t port,
                                                std::chrono::milliseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  Timer timer(executor);
  timer.expires_after(timeout);

  if (!host.empty() && host.front() == '/') {
    LocalSocket socket(executor);
    std::string path = host + "/.s.PGSQL." + std::to_string(port);
    timer.async_wait([&socket](ErrorCode ec) {
      if (!ec) {
        ErrorCode ignored;
        socket.close(ignored);
      }
    });
    ErrorCode ec;
    co_await socket.async_connect(Local::endpoint(path), asio::redirect_error(use_awaitable, ec));
    timer.cancel();
    if (ec || !socket.is_open()) {
      throw boost::system::system_error(ec ? ec : asio::error::timed_out, "connect " + path);
    }
    co_return makeUnixTransport(std::move(socket));
  }

  TcpSocket socket(executor);
  ErrorCode ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) {
    throw boost::system::system_error(ec, "address " + host);
  }
  timer.async_wait([&socket](ErrorCode waitEc) {
    if (!waitEc) {
      ErrorCode ignored;
      socket.close(ignored);
    }
  });
  co_await socket.async_connect(Tcp::endpoint(address, port),
                                asio::redirect_error(use_awaitable, ec));
  timer.cancel();
  if (ec || !socket.is_open()) {
    throw boost::system::system_error(ec ? ec : asio::error::timed_out,
                                      "connect " + host + ":" + std::to_string(port));
  }
  co_return makeTcpTransport(std::move(socket));
}

}  // namespace shardline::net
