// Sizing the in-flight work from the measured round trip (src/in_flight.h):
// the scale for a round trip, and a measurement against a real server.
#include "in_flight.h"

#include <catch2/catch_test_macros.hpp>

#include "server_fixture.h"
#include "uri.h"

using namespace migcheck;
namespace t = migcheck::test;

TEST_CASE("in flight: loopback and LAN round trips keep the defaults", "[in_flight]") {
  CHECK(in_flight_scale(0) == 1);
  CHECK(in_flight_scale(50) == 1);
  CHECK(in_flight_scale(kRoundTripPerScaleUs) == 1);
}

TEST_CASE("in flight: the scale grows with the round trip, bounded", "[in_flight]") {
  CHECK(in_flight_scale(kRoundTripPerScaleUs + 1) == 2);
  CHECK(in_flight_scale(2 * kRoundTripPerScaleUs) == 2);
  CHECK(in_flight_scale(2 * kRoundTripPerScaleUs + 1) == 3);
  CHECK(in_flight_scale(3 * kRoundTripPerScaleUs + 1) == 4);
  // 20 ms (two regions): the cap, 4x, which keeps more than half the
  // loopback throughput.
  CHECK(in_flight_scale(20000) == 4);
  CHECK(in_flight_scale(1000000) == kMaxInFlightScale);
  size_t last = 1;
  for (int64_t us = 0; us < 100000; us += 250) {
    const size_t s = in_flight_scale(us);
    CHECK(s >= last);
    CHECK(s <= kMaxInFlightScale);
    last = s;
  }
}

TEST_CASE("in flight: sizes for a real server's round trip", "[in_flight][integration]") {
  t::TestServer a, b;
  ClientOptions co;
  Client src(parse_uri(a.uri()), co), tgt(parse_uri(b.uri()), co);
  const int64_t rtt = measure_round_trip_us(src);
  CHECK(rtt > 0);
  CHECK(rtt < 1000000);
  const InFlightSizes s = size_in_flight(src, tgt, 500, 1000);
  CHECK(s.round_trip_us > 0);
  CHECK(s.scale == in_flight_scale(s.round_trip_us));
  CHECK(s.batch == 500 * s.scale);
  CHECK(s.scan_count >= 1000);
  CHECK(s.scan_count <= std::max<size_t>(1000, kMaxScaledScanCount));
  if (s.scale == 1) CHECK(s.scan_count == 1000);
}
