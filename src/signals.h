// SIGINT/SIGTERM as a polled flag, so long-running commands stop cleanly at
// a batch boundary (drain, store, print totals) instead of dying mid-write.
// The first signal restores the default action: a second one kills the
// process at once.
#pragma once

#include <atomic>

namespace migcheck::signals {

// Installs the handlers (idempotent). Commands that poll stop_requested()
// call this first; others keep the default behaviour.
void install();
bool stop_requested();
// The same flag, for engines that take a `const std::atomic<bool>*` stop.
const std::atomic<bool>* stop_flag();
// The signal that asked to stop (SIGINT/SIGTERM), 0 if none.
int stop_signal();
// Makes stop_requested() true as if a signal came (tests, internal stops).
void request_stop();
// Clears the flag (tests run several commands in one process).
void reset();

}  // namespace migcheck::signals
