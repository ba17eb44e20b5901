#pragma once
/// Run blocking work (disk reads) on the WorkerPool from a coroutine on the io
/// thread, and resume there with its result:
///   Outcome<T> r = co_await offload<T>(pool, std::move(job), busy_error);
/// A pool that refuses the job (saturated or stopped) gives `busy`. Not a
/// coroutine itself (g++ 12 mishandles by-value class arguments of coroutines
/// called inside co_await, docs/CODING.md): it returns the awaitable operation.
#include <functional>
#include <memory>

#include "common/asio.hpp"
#include "common/error.hpp"
#include "common/worker_pool.hpp"

namespace aa {

template <typename T>
auto offload(WorkerPool& pool, std::function<Outcome<T>()> job, Error busy) {
  auto init = [&pool](auto handler, std::function<Outcome<T>()> fn, Error refused) {
    using H = decltype(handler);
    auto ex = asio::get_associated_executor(handler);
    auto h = std::make_shared<H>(std::move(handler));
    const bool queued = pool.post([h, ex, fn = std::move(fn)] {
      auto r = std::make_shared<Outcome<T>>(fn());
      asio::post(ex, [h, r] { (*h)(std::move(*r)); });
    });
    if (!queued) asio::post(ex, [h, refused] { (*h)(Outcome<T>(refused)); });
  };
  return asio::async_initiate<const asio::use_awaitable_t<>, void(Outcome<T>)>(
      init, use_awaitable, std::move(job), std::move(busy));
}

}  // namespace aa
