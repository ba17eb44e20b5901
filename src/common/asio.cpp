#include "common/asio.hpp"

#include "common/log.hpp"

namespace aa {

void log_exception::operator()(std::exception_ptr ep) const {
  if (!ep) return;
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    log::error("task {} failed: {}", what_task, e.what());
  } catch (...) {
    log::error("task {} failed with an unknown exception", what_task);
  }
}

awaitable<void> sleep_for(std::chrono::steady_clock::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
}

}  // namespace aa
