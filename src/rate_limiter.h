// A token bucket shared by threads: caps the commands per second sent to a
// server (--max-ops-per-sec). A caller asks for the tokens of a whole
// pipelined step at once and may go into debt; it then sleeps until the
// debt is paid, so the long-run rate is exact and bursts stay one step long.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>

#include "metrics.h"
#include "stop_token.h"

namespace migcheck {

class RateLimiter {
 public:
  // per_second <= 0: unlimited (acquire() returns at once).
  explicit RateLimiter(double per_second, const std::atomic<bool>* cancel = nullptr)
      : rate_(per_second), tokens_(std::max(per_second / 10, 1.0)), cancel_(cancel) {}

  bool limited() const { return rate_ > 0; }
  double rate() const { return rate_; }

  // The keys of one pipelined step, at most `batch` (and at least 1): under
  // a cap, a step is a small fraction (1/40) of a second of budget, or the
  // server sees bursts followed by silence.
  size_t paced_batch(size_t batch) const {
    batch = std::max<size_t>(batch, 1);
    return limited() ? std::clamp<size_t>(static_cast<size_t>(rate_ / 40), 1, batch) : batch;
  }

  // Takes n tokens, sleeping as long as the bucket is in debt. Returns early
  // (without the full wait) when the cancel flag is raised or the run is
  // asked to stop (stop_token).
  void acquire(size_t n) {
    if (rate_ <= 0 || n == 0) return;
    std::chrono::duration<double> wait{};
    {
      std::lock_guard lock(mu_);
      refill();
      tokens_ -= static_cast<double>(n);
      if (tokens_ < 0) wait = std::chrono::duration<double>(-tokens_ / rate_);
    }
    // On the run's stop token: Ctrl-C ends even a long debt at once.
    if (wait.count() > 0) Metrics::get().rate_limited_sleep(wait.count());
    stop_token::wait_for(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait),
                         cancel_);
  }

 private:
  void refill() {
    auto now = std::chrono::steady_clock::now();
    if (last_ != std::chrono::steady_clock::time_point{}) {
      double add = std::chrono::duration<double>(now - last_).count() * rate_;
      // A bucket of a tenth of a second: an idle period does not buy a burst.
      tokens_ = std::min(tokens_ + add, std::max(rate_ / 10, 1.0));
    }
    last_ = now;
  }

  const double rate_;
  double tokens_;
  const std::atomic<bool>* cancel_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace migcheck
