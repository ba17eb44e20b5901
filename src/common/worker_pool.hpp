#pragma once
/// A fixed set of worker threads for CPU-heavy or blocking work (speech, DSP,
/// file conversion) so the io thread never runs it. The queue is bounded: a
/// job that would exceed it is refused (post() returns false) and the caller
/// reports overload instead of letting memory grow. Results go back to the io
/// thread with asio::post(io_executor, ...).
///
/// Lifetime: strands from make_strand() must not outlive the pool (asio's
/// strand reaches into its pool when destroyed), and workers post to the io
/// executor. So tear down in this order: stop() the pool (queued jobs are
/// destroyed there, not run, while what they hold — sockets, timers of the io
/// context — is still alive), then destroy the io_context or its pending
/// handlers (they may hold jobs with strands), then the pool.
#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <functional>
#include <memory>

#include "common/asio.hpp"

namespace aa {

class WorkerPool {
 public:
  using Executor = asio::thread_pool::executor_type;
  using Strand = asio::strand<Executor>;

  /// `threads` 0: one per core. `max_queued`: jobs waiting or running at most.
  explicit WorkerPool(size_t threads = 0, size_t max_queued = 1024);
  ~WorkerPool();  // stops and joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Run `job` on a worker. False (the job is dropped, not run) when
  /// `max_queued` jobs are already pending, or after stop().
  bool post(std::function<void()> job);
  /// Same, serialized with the other jobs posted to `strand` (one per session:
  /// its jobs run in order, never two at once).
  bool post(Strand& strand, std::function<void()> job);
  /// A new strand on this pool.
  Strand make_strand();

  size_t threads() const { return threads_; }
  /// Jobs posted and not yet finished.
  size_t pending() const { return pending_->load(); }
  size_t max_queued() const { return max_queued_; }
  /// Stop taking jobs, let the running ones finish, destroy the queued ones
  /// without running them (on the workers, before this returns), join the
  /// threads (idempotent).
  void stop();

 private:
  bool admit();
  std::function<void()> wrap(std::function<void()> job);

  size_t threads_;
  size_t max_queued_;
  std::shared_ptr<std::atomic<size_t>> pending_ = std::make_shared<std::atomic<size_t>>(0);
  std::atomic<bool> stopped_{false};
  asio::thread_pool pool_;
};

}  // namespace aa
