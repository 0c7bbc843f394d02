// The one place that includes Boost.Asio for the router.
//
// Boost 1.74's coroutine support uses std::exchange without including
// <utility>, so it is included first here. SSL headers live in net/tls.h so
// that files which do not need them compile faster.
#pragma once

#include <utility>

#include <chrono>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace shardline {

namespace asio = boost::asio;
using Tcp = asio::ip::tcp;
using Local = asio::local::stream_protocol;
using ErrorCode = boost::system::error_code;

// Every coroutine, socket and timer of the router runs on one worker's io_context, so they
// all name its executor type. Asio's default, any_io_executor, would type-erase it and pay
// for that (copies, virtual calls) on every asynchronous operation.
using Executor = asio::io_context::executor_type;
template <typename T>
using awaitable = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable;

using TcpSocket = Tcp::socket::rebind_executor<Executor>::other;
using TcpAcceptor = Tcp::acceptor::rebind_executor<Executor>::other;
using LocalSocket = Local::socket::rebind_executor<Executor>::other;
using LocalAcceptor = Local::acceptor::rebind_executor<Executor>::other;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;

}  // namespace shardline
