// Sizing what a run keeps in flight from the measured round trip to the
// servers. The default batch and SCAN COUNT keep a loopback or same-rack
// server busy without big bursts; across a slow link the same sizes leave
// both ends idle most of the time, waiting for the next round trip. The
// round trip is measured once at start (the best of a few PINGs) and the
// defaults are scaled with it; an explicit --batch / --scan-count /
// --connections keeps every size as given.
#pragma once

#include <cstddef>
#include <cstdint>

#include "client.h"

namespace migcheck {

// The best of `samples` PING round trips to the client's first scan node,
// in microseconds (PING is answered at once: what remains is the link).
int64_t measure_round_trip_us(Client& c, int samples = 5);

// The factor the default batch and SCAN COUNT are multiplied by for a round
// trip: 1 up to kRoundTripPerScaleUs (a loopback, LAN or same-zone link),
// then one more per further kRoundTripPerScaleUs, at most kMaxInFlightScale
// (memory stays bounded: what a batch holds grows with it).
inline constexpr int64_t kRoundTripPerScaleUs = 4000;
// 4: a compare at 4x its default batch peaks near 45 MiB of RSS (6x: 58 MiB,
// too close to the 64 MiB goal).
inline constexpr size_t kMaxInFlightScale = 4;
size_t in_flight_scale(int64_t round_trip_us);

// The largest SCAN COUNT a scaled default reaches: one SCAN call stays a
// short piece of server work.
inline constexpr size_t kMaxScaledScanCount = 10000;

struct InFlightSizes {
  size_t batch = 0;
  size_t scan_count = 0;
  size_t scale = 1;
  int64_t round_trip_us = 0;  // the slower side's
};
// The batch and SCAN COUNT for the round trip to the slower of the two
// servers: `batch` and `scan_count` times in_flight_scale (logged when > 1).
InFlightSizes size_in_flight(Client& source, Client& target, size_t batch, size_t scan_count);

}  // namespace migcheck
