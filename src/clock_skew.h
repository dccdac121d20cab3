// Measuring a server's wall clock against this process's, with a bound on
// the error: TIME is sampled a few times on one connection and the sample
// with the shortest round trip wins (the server answered within it, so the
// offset is known to half of it). A measurement never spans a reconnect:
// a lost connection throws, and the caller measures again on a new one.
//
// Expiries are compared on this process's monotonic clock (KeyReader), so a
// skew between the servers never makes a TTL difference; the offsets are
// only needed to write absolute expiries onto a target whose clock differs
// from the source's (copier), and to warn about that skew (compare).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "connection.h"
#include "duration.h"

namespace migcheck {

struct ClockReading {
  bool known = false;     // TIME answered (a user without TIME: unknown)
  int64_t offset_ms = 0;  // server's TIME minus this host's wall clock
  int64_t error_ms = 0;   // |measured - true offset| is at most this
  int64_t rtt_ms = 0;     // round trip of the sample used

  // The offset to move times by: 0 when unknown or within its own error.
  int64_t usable_ms() const;
};

// Samples TIME `samples` times on `c`. An error reply (TIME refused by ACL or
// renamed away) gives an unknown reading; a lost connection throws
// ConnectionError (nothing of it is kept).
ClockReading measure_clock(Connection& c, int samples = 4);

// Clock of `target` minus clock of `source`, and its error bound.
struct ClockSkew {
  bool known = false;
  int64_t skew_ms = 0;
  int64_t error_ms = 0;
  // The skew to move source-clock times onto the target's clock by: 0 when
  // unknown or not larger than its own error (never an invented shift).
  int64_t usable_ms() const;
};
ClockSkew clock_skew(const ClockReading& source, const ClockReading& target);

// The warning compare shows when the servers' clocks differ by more than
// the TTL tolerance (beyond the measurement's error); nullopt otherwise.
std::optional<std::string> skew_warning(const ClockSkew& skew, Millis ttl_tolerance);

}  // namespace migcheck
