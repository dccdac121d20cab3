// The run's one stop token: every sleeper of a command (rate limiter, backoff
// while a server is LOADING or unreachable, reconnect waits, round interval
// waits) waits on it instead of sleeping, so Ctrl-C / SIGTERM stops any
// command within a fraction of a second. The signal handler only sets the
// lock-free flag of signals.h; waits wake at once on request() and poll the
// flag at least every kPoll otherwise.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>

namespace migcheck::stop_token {

// How long a wait may take to notice a flag set from a signal handler.
inline constexpr std::chrono::milliseconds kPoll{100};

// Whether the run is asked to stop (a signal, or request()).
bool requested();
// Asks to stop, waking every wait at once.
void request();
// Wakes every wait at once without asking to stop: a run raised its own
// abort flag (the `also` of the waits below), which they check on waking.
void wake();

// Sleeps for `d`, returning early when the run is asked to stop or when
// `also` (an engine's own abort flag, may be null) is raised. True when the
// wait ended early because of either.
bool wait_for(std::chrono::steady_clock::duration d, const std::atomic<bool>* also = nullptr);
bool wait_until(std::chrono::steady_clock::time_point t, const std::atomic<bool>* also = nullptr);

// Whether `e` is the Interrupted a wait threw because the run was asked to
// stop: engines then stop as for a signal (checkpoint, resume hint) instead
// of failing.
bool is_stop(const std::exception_ptr& e);

}  // namespace migcheck::stop_token
