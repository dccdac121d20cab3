// A condition variable for request() from threads, plus a bounded timed wait
// so a flag set by a signal handler (which may not touch the mutex) is seen
// within kPoll.
#include "stop_token.h"

#include <condition_variable>
#include <mutex>

#include "errors.h"
#include "signals.h"

namespace migcheck::stop_token {
namespace {

std::mutex g_mu;
std::condition_variable g_cv;

bool raised(const std::atomic<bool>* also) {
  return signals::stop_requested() || (also && also->load(std::memory_order_relaxed));
}

}  // namespace

bool requested() {
  return signals::stop_requested();
}

void request() {
  signals::request_stop();
  std::lock_guard lock(g_mu);
  g_cv.notify_all();
}

void wake() {
  std::lock_guard lock(g_mu);
  g_cv.notify_all();
}

bool wait_until(std::chrono::steady_clock::time_point t, const std::atomic<bool>* also) {
  std::unique_lock lock(g_mu);
  for (;;) {
    if (raised(also)) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= t) return false;
    g_cv.wait_until(lock, std::min<std::chrono::steady_clock::time_point>(t, now + kPoll));
  }
}

bool wait_for(std::chrono::steady_clock::duration d, const std::atomic<bool>* also) {
  return wait_until(std::chrono::steady_clock::now() + d, also);
}

bool is_stop(const std::exception_ptr& e) {
  if (!e || !requested()) return false;
  try {
    std::rethrow_exception(e);
  } catch (const Interrupted&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace migcheck::stop_token
