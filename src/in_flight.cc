// Round-trip measurement and the in-flight scale it gives (in_flight.h).
#include "in_flight.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <string>

#include "log.h"

namespace migcheck {

int64_t measure_round_trip_us(Client& c, int samples) {
  const auto nodes = c.scan_nodes();
  const size_t node = nodes.empty() ? 0 : nodes.front();
  const Command ping{"PING"};
  int64_t best = std::numeric_limits<int64_t>::max();
  for (int i = 0; i < std::max(samples, 1); ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    c.on_node(node, ping);
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    best = std::min<int64_t>(best, us);
  }
  return best;
}

size_t in_flight_scale(int64_t round_trip_us) {
  if (round_trip_us <= kRoundTripPerScaleUs) return 1;
  // One more per started kRoundTripPerScaleUs beyond the first.
  const auto extra = static_cast<size_t>((round_trip_us - 1) / kRoundTripPerScaleUs);
  return std::min(kMaxInFlightScale, 1 + extra);
}

InFlightSizes size_in_flight(Client& source, Client& target, size_t batch, size_t scan_count) {
  InFlightSizes s;
  s.round_trip_us = std::max(measure_round_trip_us(source), measure_round_trip_us(target));
  s.scale = in_flight_scale(s.round_trip_us);
  s.batch = batch * s.scale;
  s.scan_count = scan_count;
  if (s.scale > 1) {
    s.scan_count = std::max(scan_count, std::min(scan_count * s.scale, kMaxScaledScanCount));
    char rtt[32];
    std::snprintf(rtt, sizeof rtt, "%.1f", static_cast<double>(s.round_trip_us) / 1000.0);
    log::info(std::string("round trip ") + rtt + " ms: " + std::to_string(s.batch) +
              " keys per batch, SCAN COUNT " + std::to_string(s.scan_count) +
              " (--batch, --scan-count or --connections keep the sizes as given)");
  }
  return s;
}

}  // namespace migcheck
