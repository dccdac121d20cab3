// The progress line of a long command: on a TTY one redrawn line (keys done
// of total, keys/s, ETA, differences so far); elsewhere a plain line every
// 10 s; nothing with --quiet. Between phases, a countdown to the next. Workers only bump atomic
// counters; a ticker thread owned here does the printing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "noncopyable.h"

namespace migcheck {

// 1234567 -> "1,234,567"
std::string grouped(int64_t v);

class Progress : NonCopyable {
 public:
  // enabled=false (--quiet): counters still count, nothing is printed.
  explicit Progress(bool enabled);
  // A line of the caller's own (replicate's phases and counters), printed
  // from `line` at the same pace from construction on; finish() prints it
  // one last time. `line` runs on the ticker thread.
  Progress(bool enabled, std::function<std::string()> line);
  ~Progress();

  // Starts a phase ("round 2"), resetting the counters; total <= 0 = unknown.
  void start(std::string label, int64_t total);
  void add_keys(int64_t n) { keys_.fetch_add(n, std::memory_order_relaxed); }
  void add_differences(int64_t n) { diffs_.fetch_add(n, std::memory_order_relaxed); }
  // Ends the phase with a final line (on a TTY: the redrawn line, kept).
  void finish();
  // Between phases: until start(), the line counts down to the next one
  // ("round 2 in 4s"), so a wait between compare rounds does not look hung.
  void countdown(std::string next_label, std::chrono::steady_clock::time_point at);

  int64_t keys() const { return keys_.load(); }
  int64_t differences() const { return diffs_.load(); }
  // The line as it would be printed now (also for tests).
  std::string line() const;

 private:
  void run();
  std::string line_locked() const;
  const bool enabled_;
  const bool tty_;
  const std::function<std::string()> custom_line_;
  std::atomic<int64_t> keys_{0};
  std::atomic<int64_t> diffs_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string label_;
  int64_t total_ = 0;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point next_at_{};  // countdown: when the next phase starts
  bool counting_down_ = false;
  bool active_ = false;
  bool stop_ = false;
  std::thread ticker_;
};

}  // namespace migcheck
