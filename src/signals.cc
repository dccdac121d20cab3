// The signal handler only stores to lock-free atomics (async-signal-safe).
#include "signals.h"

#include <signal.h>

#include <atomic>

namespace migcheck::signals {
namespace {

std::atomic<int> g_signal{0};
std::atomic<bool> g_stop{false};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<bool>::is_always_lock_free);

std::atomic<bool> g_installed{false};

extern "C" void on_signal(int sig) {
  // The next SIGINT or SIGTERM terminates the default way, at once, even
  // while this one is being handled (sigaction is async-signal-safe).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGINT, &dfl, nullptr);
  ::sigaction(SIGTERM, &dfl, nullptr);
  if (!g_stop.exchange(true)) g_signal.store(sig);
}

}  // namespace

void install() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  g_installed.store(true);
}

bool stop_requested() {
  return g_stop.load(std::memory_order_relaxed);
}
const std::atomic<bool>* stop_flag() {
  return &g_stop;
}
int stop_signal() {
  return g_signal.load();
}
void request_stop() {
  g_stop.store(true);
}
void reset() {
  g_stop.store(false);
  g_signal.store(0);
  // The first signal restored the default action: handle the next one again.
  if (g_installed.load()) install();
}

}  // namespace migcheck::signals
