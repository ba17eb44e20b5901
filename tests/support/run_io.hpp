#pragma once
// Test helper: run a coroutine to completion on a fresh io_context with a deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <functional>

#include "common/asio.hpp"

namespace aa::test {

/// Runs `body` on `io` until it finishes; fails the test if it takes longer than `limit`.
inline void run_coro(asio::io_context& io, std::function<awaitable<void>()> body,
                     std::chrono::seconds limit = std::chrono::seconds(20)) {
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    error = e;
    io.stop();
  });
  io.run_for(limit);
  if (!done) {
    ADD_FAILURE() << "test coroutine did not finish within " << limit.count() << " s";
    io.stop();
  }
  io.restart();
  if (error) std::rethrow_exception(error);
}

/// Poll `pred` every few ms until it is true or `limit` passes. Returns pred().
inline awaitable<bool> wait_until(std::function<bool()> pred,
                                  std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) co_return false;
    co_await sleep_for(std::chrono::milliseconds(2));
  }
  co_return true;
}

}  // namespace aa::test

/// ASSERT_* for coroutine bodies (gtest's ASSERT_ uses `return`).
#define CO_ASSERT_TRUE(cond)                          \
  do {                                                \
    if (!(cond)) {                                    \
      ADD_FAILURE() << "CO_ASSERT_TRUE(" #cond ")";   \
      co_return;                                      \
    }                                                 \
  } while (0)
#define CO_ASSERT_FALSE(cond) CO_ASSERT_TRUE(!(cond))
#define CO_ASSERT_EQ(a, b)                                                        \
  do {                                                                            \
    if (!((a) == (b))) {                                                          \
      ADD_FAILURE() << "CO_ASSERT_EQ(" #a ", " #b ")";                           \
      co_return;                                                                  \
    }                                                                             \
  } while (0)
