#pragma once
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <string_view>

namespace asio = boost::asio;

namespace aa {

template <typename T = void>
using awaitable = asio::awaitable<T>;

using asio::use_awaitable;

/// Completion handler for co_spawn that logs an escaping exception instead of
/// swallowing it (a bare `detached` would hide bugs).
struct log_exception {
  const char* what_task;
  void operator()(std::exception_ptr ep) const;
};

/// co_spawn a task whose exceptions are logged with `name`.
template <typename Executor, typename Awaitable>
void spawn(Executor&& ex, Awaitable&& task, const char* name) {
  asio::co_spawn(std::forward<Executor>(ex), std::forward<Awaitable>(task), log_exception{name});
}

/// Suspend the current coroutine for `d`.
awaitable<void> sleep_for(std::chrono::steady_clock::duration d);

}  // namespace aa
