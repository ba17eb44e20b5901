#include "common/worker_pool.hpp"

#include <thread>

#include "common/log.hpp"

namespace aa {

namespace {
size_t resolve_threads(size_t n) {
  if (n) return n;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? hw : 2;
}
}  // namespace

WorkerPool::WorkerPool(size_t threads, size_t max_queued)
    : threads_(resolve_threads(threads)),
      max_queued_(max_queued ? max_queued : 1),
      pool_(threads_) {}

WorkerPool::~WorkerPool() {
  stop();
}

bool WorkerPool::admit() {
  if (stopped_.load()) return false;
  size_t cur = pending_->load();
  do {
    if (cur >= max_queued_) return false;
  } while (!pending_->compare_exchange_weak(cur, cur + 1));
  return true;
}

std::function<void()> WorkerPool::wrap(std::function<void()> job) {
  return [this, job = std::move(job), pending = pending_]() {
    try {
      if (!stopped_.load()) job();
    } catch (const std::exception& e) {
      log::error("worker job threw: {}", e.what());
    } catch (...) {
      log::error("worker job threw");
    }
    pending->fetch_sub(1);
  };
}

bool WorkerPool::post(std::function<void()> job) {
  if (!admit()) return false;
  asio::post(pool_.get_executor(), wrap(std::move(job)));
  return true;
}

bool WorkerPool::post(Strand& strand, std::function<void()> job) {
  if (!admit()) return false;
  asio::post(strand, wrap(std::move(job)));
  return true;
}

WorkerPool::Strand WorkerPool::make_strand() {
  return asio::make_strand(pool_.get_executor());
}

void WorkerPool::stop() {
  if (stopped_.exchange(true)) return;
  // Not pool_.stop(): that would leave the queued jobs to be destroyed with
  // the pool, maybe after the io_context their captures belong to. Joining runs
  // the queue out instead, each job a no-op now (see wrap()).
  pool_.join();
}

}  // namespace aa
