#pragma once
// Waiting on conditions in coroutine tests. The predicate is taken by const
// reference: a lambda with reference captures is a trivial temporary, which
// g++ 12 handles in co_await expressions (a std::function temporary is not).
#include <chrono>

#include "common/asio.hpp"

namespace aa::test {

template <typename Pred>
awaitable<bool> until(const Pred& pred, int limit_ms = 5000) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) co_return false;
    co_await sleep_for(std::chrono::milliseconds(2));
  }
  co_return true;
}

}  // namespace aa::test
