// Wall-clock time as the store and the servers' TTLs count it: milliseconds
// since the Unix epoch. One definition for every engine, so a round's
// recorded times and a copy's TTL arithmetic agree on the clock they read.
#pragma once

#include <chrono>
#include <cstdint>

namespace migcheck {

inline int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace migcheck
