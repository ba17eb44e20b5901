#include "common/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace aa {
namespace {

// A job that holds the only worker until release() is called.
struct Gate {
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::function<void()> job() {
    return [this] {
      entered.set_value();
      released.wait();
    };
  }
};

TEST(WorkerPool, AFullQueueRefusesTheJobInsteadOfGrowing) {
  WorkerPool pool(1, 3);
  Gate gate;
  ASSERT_TRUE(pool.post(gate.job()));
  gate.entered.get_future().wait();
  EXPECT_TRUE(pool.post([] {}));
  EXPECT_TRUE(pool.post([] {}));
  EXPECT_FALSE(pool.post([] {})) << "3 pending (1 running, 2 queued) is the bound";
  EXPECT_EQ(pool.pending(), 3u);
  gate.release.set_value();
  pool.stop();
  EXPECT_FALSE(pool.post([] {})) << "nothing is taken after stop()";
}

TEST(WorkerPool, AStrandRunsItsJobsInOrderOneAtATime) {
  WorkerPool pool(2, 1024);
  auto strand = pool.make_strand();
  std::mutex m;
  std::vector<int> order;
  std::atomic<int> inside{0}, overlaps{0};
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(pool.post(strand, [&, i] {
      if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
      {
        std::lock_guard l(m);
        order.push_back(i);
      }
      inside.fetch_sub(1);
    }));
  while (pool.pending() != 0) std::this_thread::yield();
  EXPECT_EQ(overlaps.load(), 0);
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  pool.stop();
}

// Queued jobs may hold sockets and timers of an io_context that is destroyed
// right after stop(): they must be gone (not run) when stop() returns, not
// destroyed later with the pool (an ASan use-after-free in a TTS test).
TEST(WorkerPool, StopDestroysQueuedJobsWithoutRunningThemBeforeReturning) {
  WorkerPool pool(1, 16);
  auto strand = pool.make_strand();
  Gate gate;
  ASSERT_TRUE(pool.post(gate.job()));
  gate.entered.get_future().wait();
  auto held = std::make_shared<int>(0);
  std::atomic<int> ran{0};
  ASSERT_TRUE(pool.post([held, &ran] { ran.fetch_add(1); }));
  ASSERT_TRUE(pool.post(strand, [held, &ran] { ran.fetch_add(1); }));
  EXPECT_EQ(held.use_count(), 3);
  std::thread stopper([&] { pool.stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  gate.release.set_value();  // the running job finishes; stop() was waiting for it
  stopper.join();
  EXPECT_EQ(ran.load(), 0);
  EXPECT_EQ(held.use_count(), 1) << "the queued jobs' captures were released by stop()";
  EXPECT_EQ(pool.pending(), 0u);
}

}  // namespace
}  // namespace aa
