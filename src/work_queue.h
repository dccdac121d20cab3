// A bounded FIFO between producer threads and worker threads: producers
// block while it is full, so a fast producer (a SCAN, a store read) never
// runs ahead of the workers by more than `cap` items, and memory stays
// bounded whatever the number of keys.
//
// Two ways to end: the input ends (close(), or the last registered producer
// is done) and workers drain what is queued; or abort() drops everything,
// fails every push and ends every pop at once (an error, a stop).
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include "noncopyable.h"

namespace migcheck {

template <typename T>
class WorkQueue : NonCopyable {
 public:
  explicit WorkQueue(size_t cap) : cap_(std::max<size_t>(cap, 1)) {}

  // Blocks while the queue is full. False when it was aborted or its input
  // closed: the item is dropped.
  bool push(T item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < cap_ || aborted_ || closed_; });
    if (aborted_ || closed_) return false;
    q_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }

  // The next item; nullopt once the input is over and the queue drained, or
  // at once after abort().
  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_ || aborted_; });
    if (aborted_ || q_.empty()) return std::nullopt;
    T item = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return item;
  }

  // Producers that register end the input together: the last producer_done()
  // closes it.
  void add_producer() {
    std::lock_guard lock(mu_);
    ++producers_;
  }
  void producer_done() {
    std::lock_guard lock(mu_);
    if (--producers_ == 0) close_locked();
  }

  // No more input: pops drain what is queued, then end.
  void close() {
    std::lock_guard lock(mu_);
    close_locked();
  }

  // Drops what is queued; pushes fail and pops end, at once.
  void abort() {
    std::lock_guard lock(mu_);
    aborted_ = true;
    q_.clear();
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return q_.size();
  }
  size_t capacity() const { return cap_; }

 private:
  void close_locked() {
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  const size_t cap_;
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> q_;
  int producers_ = 0;
  bool closed_ = false;
  bool aborted_ = false;
};

}  // namespace migcheck
