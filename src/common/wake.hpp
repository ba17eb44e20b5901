#pragma once
/// Wakes coroutines parked on a condition (single-threaded, io thread only).
/// A waiter re-checks its condition after every wake-up: notify_all() wakes
/// every current waiter, each on its own timer (so one waiter re-arming never
/// cancels another). Boost 1.74 has no channels; this is the small piece we need.
#include <chrono>
#include <memory>
#include <vector>

#include "common/asio.hpp"

namespace aa {

class Wake {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Wake(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  Wake(const Wake&) = delete;
  Wake& operator=(const Wake&) = delete;
  ~Wake() { notify_all(); }

  /// Wake every coroutine currently in wait_until().
  void notify_all() {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters)
      if (auto t = w.lock()) t->cancel();
  }

  /// Park until notify_all() or `deadline`. True when woken, false on timeout.
  awaitable<bool> wait_until(Clock::time_point deadline) {
    if (Clock::now() >= deadline) co_return false;
    auto timer = std::make_shared<asio::steady_timer>(ex_);
    timer->expires_at(deadline);
    if (waiters_.size() >= 16) std::erase_if(waiters_, [](const auto& w) { return w.expired(); });
    waiters_.push_back(timer);
    boost::system::error_code ec;
    co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
    co_return ec == asio::error::operation_aborted;
  }
  awaitable<bool> wait_for(Clock::duration d) { return wait_until(Clock::now() + d); }

 private:
  asio::any_io_executor ex_;
  std::vector<std::weak_ptr<asio::steady_timer>> waiters_;
};

}  // namespace aa
