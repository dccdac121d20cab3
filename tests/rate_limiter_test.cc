// RateLimiter: the long-run rate of a token bucket that goes into debt, the
// cancel flag, and the batch a cap allows per pipelined step.
#include "rate_limiter.h"

#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace migcheck;
using namespace std::chrono_literals;

TEST_CASE("rate limiter: the long-run rate is the cap, bursts one step long") {
  RateLimiter limiter(2000);  // a bucket of 200 tokens
  const auto t0 = std::chrono::steady_clock::now();
  // 1200 tokens in steps of 100: the first 200 are in the bucket, the other
  // 1000 take half a second at 2000/s.
  for (int i = 0; i < 12; ++i) limiter.acquire(100);
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 450ms);
  CHECK(took < 1500ms);
}

TEST_CASE("rate limiter: unlimited returns at once; a raised cancel flag ends a debt") {
  RateLimiter open(0);
  CHECK_FALSE(open.limited());
  auto t0 = std::chrono::steady_clock::now();
  open.acquire(1000000);
  CHECK(std::chrono::steady_clock::now() - t0 < 100ms);

  std::atomic<bool> cancel{false};
  RateLimiter slow(10, &cancel);  // 1000 tokens: 100 s of debt
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    cancel = true;
  });
  t0 = std::chrono::steady_clock::now();
  slow.acquire(1000);
  CHECK(std::chrono::steady_clock::now() - t0 < 1500ms);
  canceller.join();
}

TEST_CASE("rate limiter: a capped step is 1/40 s of budget, within 1 and the batch") {
  CHECK(RateLimiter(0).paced_batch(500) == 500);
  CHECK(RateLimiter(0).paced_batch(0) == 1);
  CHECK(RateLimiter(4000).paced_batch(500) == 100);
  CHECK(RateLimiter(100000).paced_batch(500) == 500);
  CHECK(RateLimiter(10).paced_batch(500) == 1);
}
