// Transient server states that a run waits out instead of failing: LOADING
// (a restarted server loading its data), BUSY (a long script), MASTERDOWN,
// TRYAGAIN, CLUSTERDOWN, and on writes READONLY / NOREPLICAS (a failover
// moved the primary). Owns the backoff of one wait (within --retry-for, on
// the run's stop token) and the process-wide tally of what was waited out:
// one warning line per state and endpoint, counts for the run's totals
// ("waited_out") and the report's readiness check.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <string_view>

#include "duration.h"

namespace migcheck::transient {

// An error reply code (Reply::error_code()) that is waited out.
bool is_transient(std::string_view code);
// A write that reached a node that is no longer (or not yet) the primary:
// the topology is refreshed before the write is sent again.
bool is_wrong_primary(std::string_view code);

// One wait: successive calls of pause() back off from 50 ms to 1 s. The
// first pause() of a wait records the state (warning line and count).
class Wait {
 public:
  explicit Wait(Millis retry_for) : retry_for_(retry_for) {}
  // True while the wait has lasted less than retry_for.
  bool more() const;
  // Sleeps one backoff step on the stop token; throws Interrupted when the
  // run is asked to stop meanwhile.
  void pause(std::string_view state, std::string_view endpoint);
  bool started() const { return start_ != std::chrono::steady_clock::time_point{}; }

 private:
  Millis retry_for_;
  std::chrono::steady_clock::time_point start_{};
  int step_ = 0;
};

// Records that `state` was met on `endpoint` (a display name, no password):
// a new episode (none in the last few seconds for this pair) is counted and
// logged as one warning line.
void note(std::string_view state, std::string_view endpoint, Millis retry_for);
// {"LOADING": episodes, ...} over the process so far; {} when none.
nlohmann::json totals_json();
// Forgets the tally (tests run several commands in one process).
void reset();

}  // namespace migcheck::transient
