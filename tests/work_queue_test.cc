// Tests of the bounded work queue (src/work_queue.h): FIFO order, the bound
// holding producers back, draining after the input ends, abort ending
// everything at once.
#include <catch2/catch_test_macros.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "work_queue.h"

using namespace migcheck;
using namespace std::chrono_literals;

TEST_CASE("work queue: items come out in order, then the end once the input is closed",
          "[work_queue]") {
  WorkQueue<std::string> q(8);
  CHECK(q.push("a"));
  CHECK(q.push("b"));
  q.close();
  CHECK_FALSE(q.push("c"));  // after the end of the input: dropped
  CHECK(q.pop() == "a");
  CHECK(q.pop() == "b");
  CHECK_FALSE(q.pop().has_value());
}

TEST_CASE("work queue: a full queue holds the producer back until a worker takes an item",
          "[work_queue]") {
  WorkQueue<int> q(2);
  CHECK(q.capacity() == 2);
  REQUIRE(q.push(1));
  REQUIRE(q.push(2));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.push(3);
    pushed = true;
  });
  std::this_thread::sleep_for(150ms);
  CHECK_FALSE(pushed.load());
  CHECK(q.size() == 2);
  CHECK(q.pop() == 1);
  producer.join();
  CHECK(pushed.load());
  CHECK(q.pop() == 2);
  CHECK(q.pop() == 3);
}

TEST_CASE("work queue: the last producer done ends the input; workers drain every item",
          "[work_queue]") {
  WorkQueue<int> q(3);
  constexpr int kPerProducer = 500;
  std::vector<std::thread> producers;
  for (int p = 0; p < 3; ++p) {
    q.add_producer();
    producers.emplace_back([&q, p] {
      for (int i = 0; i < kPerProducer; ++i) q.push(p * kPerProducer + i);
      q.producer_done();
    });
  }
  std::atomic<long> sum{0};
  std::atomic<int> count{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w)
    workers.emplace_back([&] {
      while (auto v = q.pop()) {
        sum += *v;
        ++count;
      }
    });
  for (auto& t : producers) t.join();
  for (auto& t : workers) t.join();
  const long n = 3 * kPerProducer;
  CHECK(count.load() == n);
  CHECK(sum.load() == n * (n - 1) / 2);
}

TEST_CASE("work queue: abort drops what is queued and wakes a blocked producer and worker",
          "[work_queue]") {
  WorkQueue<int> full(1);
  REQUIRE(full.push(1));
  std::atomic<int> push_result{-1};
  std::thread producer([&] { push_result = full.push(2) ? 1 : 0; });
  WorkQueue<int> empty(1);
  std::atomic<int> pop_result{-1};
  empty.add_producer();
  std::thread worker([&] { pop_result = empty.pop().has_value() ? 1 : 0; });
  std::this_thread::sleep_for(100ms);
  CHECK(push_result.load() == -1);
  CHECK(pop_result.load() == -1);
  full.abort();
  empty.abort();
  producer.join();
  worker.join();
  CHECK(push_result.load() == 0);
  CHECK(pop_result.load() == 0);
  CHECK_FALSE(full.pop().has_value());  // the queued item was dropped
  CHECK(full.size() == 0);
}
