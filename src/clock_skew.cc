// TIME sampling and the skew between two servers' clocks (see clock_skew.h).
#include "clock_skew.h"

#include <charconv>
#include <chrono>
#include <cstdlib>

namespace migcheck {
namespace {

int64_t to_int(const std::string& s) {
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int64_t ClockReading::usable_ms() const {
  return known && std::llabs(offset_ms) > error_ms ? offset_ms : 0;
}

int64_t ClockSkew::usable_ms() const {
  return known && std::llabs(skew_ms) > error_ms ? skew_ms : 0;
}

ClockReading measure_clock(Connection& c, int samples) {
  ClockReading best;
  int64_t best_rtt_us = -1, best_offset_us = 0;
  for (int i = 0; i < std::max(samples, 1); ++i) {
    const auto s0 = std::chrono::steady_clock::now();
    const int64_t w0 = wall_us();
    Reply r = c.command({"TIME"});
    const int64_t rtt_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - s0)
            .count();
    if (r.is_error() || !r.is_array() || r.elements.size() != 2) return {};
    const int64_t server_us = to_int(r.elements[0].str) * 1000000 + to_int(r.elements[1].str);
    // The server read its clock somewhere within the round trip: the
    // midpoint is off by half of it at most.
    if (best_rtt_us < 0 || rtt_us < best_rtt_us) {
      best_rtt_us = rtt_us;
      best_offset_us = server_us - (w0 + rtt_us / 2);
    }
  }
  best.known = true;
  best.offset_ms = best_offset_us / 1000;
  best.rtt_ms = best_rtt_us / 1000;
  // Half the round trip, plus a millisecond for the rounding above.
  best.error_ms = (best_rtt_us / 2 + 999) / 1000 + 1;
  return best;
}

ClockSkew clock_skew(const ClockReading& source, const ClockReading& target) {
  ClockSkew s;
  if (!source.known || !target.known) return s;
  s.known = true;
  s.skew_ms = target.offset_ms - source.offset_ms;
  s.error_ms = source.error_ms + target.error_ms;
  return s;
}

std::optional<std::string> skew_warning(const ClockSkew& skew, Millis ttl_tolerance) {
  if (!skew.known || std::llabs(skew.skew_ms) <= skew.error_ms ||
      std::llabs(skew.skew_ms) <= ttl_tolerance.count())
    return std::nullopt;
  const int64_t a = std::llabs(skew.skew_ms);
  return "the target's clock is " + std::to_string(a) + " ms (+/- " +
         std::to_string(skew.error_ms) + " ms) " + (skew.skew_ms > 0 ? "ahead of" : "behind") +
         " the source's: remaining TTLs are compared on this host's clock, so this does not make "
         "differences, but absolute expiries copied as they are (RESTORE ABSTTL, PEXPIREAT from "
         "the source's clock) expire " +
         std::to_string(a) + " ms " + (skew.skew_ms > 0 ? "early" : "late") + " on the target";
}

}  // namespace migcheck
