// The replication lag histogram (replicate/lag_histogram.h): exact below 32
// microseconds, within its ~3% bucket resolution above (and never below the
// true value), capped at the largest value seen, mergeable across workers.
#include "lag_histogram.h"

#include <catch2/catch_approx.hpp>
#include <catch2/catch_test_macros.hpp>

#include <cstdint>
#include <random>
#include <vector>

using migcheck::LagHistogram;

namespace {

// The p-th value of `sorted` as the histogram defines it (rank p*n rounded, at least 1).
double true_percentile_ms(const std::vector<uint64_t>& sorted, double p) {
  auto rank = static_cast<size_t>(std::max(1.0, p * static_cast<double>(sorted.size()) + 0.5));
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

}  // namespace

TEST_CASE("lag histogram: empty says zero everywhere") {
  LagHistogram h;
  CHECK(h.count() == 0);
  const auto s = h.stats();
  CHECK(s.count == 0);
  CHECK(s.p50_ms == 0);
  CHECK(s.p99_ms == 0);
  CHECK(s.max_ms == 0);
}

TEST_CASE("lag histogram: small lags are exact, one value is every percentile") {
  LagHistogram h;
  for (uint64_t us = 1; us <= 20; ++us) h.add(us);  // 1..20 us, one each
  CHECK(h.count() == 20);
  CHECK(h.percentile_ms(0.5) == Catch::Approx(0.010));
  CHECK(h.percentile_ms(0.9) == Catch::Approx(0.018));
  CHECK(h.max_ms() == Catch::Approx(0.020));

  LagHistogram one;
  one.add(1234567);
  const auto s = one.stats();
  CHECK(s.count == 1);
  // The bucket bound is above the value, but no percentile exceeds the max.
  CHECK(s.p50_ms == Catch::Approx(1234.567));
  CHECK(s.p99_ms == Catch::Approx(1234.567));
  CHECK(s.max_ms == Catch::Approx(1234.567));
}

TEST_CASE("lag histogram: percentiles within the bucket resolution, never below the truth") {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> values;
  LagHistogram h;
  for (int i = 0; i < 20000; ++i) {
    // Log-uniform from 1 us to about 17 minutes: every bucket range is used.
    const uint64_t v = uint64_t{1} << (rng() % 30);
    const uint64_t x = v + rng() % v;
    values.push_back(x);
    h.add(x);
  }
  std::sort(values.begin(), values.end());
  for (double p : {0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    INFO("p = " << p);
    const double truth = true_percentile_ms(values, p);
    const double got = h.percentile_ms(p);
    CHECK(got >= truth);
    CHECK(got <= truth * (1 + 1.0 / 32) + 0.001);
  }
  const auto s = h.stats();
  CHECK(s.count == values.size());
  CHECK(s.p50_ms <= s.p90_ms);
  CHECK(s.p90_ms <= s.p99_ms);
  CHECK(s.p99_ms <= s.max_ms);
  CHECK(s.max_ms == Catch::Approx(static_cast<double>(values.back()) / 1000.0));
}

TEST_CASE("lag histogram: a slow tail shows in p99, not in p50 or p90") {
  LagHistogram h;
  for (int i = 0; i < 900; ++i) h.add(1000);    // 1 ms
  for (int i = 0; i < 100; ++i) h.add(500000);  // 500 ms
  const auto s = h.stats();
  CHECK(s.p50_ms >= 1.0);
  CHECK(s.p50_ms < 1.04);
  CHECK(s.p90_ms >= 1.0);
  CHECK(s.p90_ms < 1.04);
  CHECK(s.p99_ms == Catch::Approx(500.0));
  CHECK(s.max_ms == Catch::Approx(500.0));
}

TEST_CASE("lag histogram: merging workers' histograms equals one histogram of everything") {
  LagHistogram a, b, all;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 5000; ++i) {
    const uint64_t x = rng() % 2000000;
    (i % 3 == 0 ? a : b).add(x);
    all.add(x);
  }
  LagHistogram merged;
  merged.merge(a);
  merged.merge(b);
  CHECK(merged.count() == all.count());
  for (double p : {0.1, 0.5, 0.9, 0.99}) CHECK(merged.percentile_ms(p) == all.percentile_ms(p));
  CHECK(merged.max_ms() == all.max_ms());
}

TEST_CASE("lag histogram: huge lags land in the last bucket without overflow") {
  LagHistogram h;
  h.add(UINT64_MAX);
  h.add(uint64_t{1} << 62);
  h.add(5);
  CHECK(h.count() == 3);
  CHECK(h.max_ms() == Catch::Approx(static_cast<double>(UINT64_MAX) / 1000.0));
  CHECK(h.percentile_ms(0.1) == Catch::Approx(0.005));
  CHECK(h.percentile_ms(1.0) <= h.max_ms());
  CHECK(h.percentile_ms(1.0) >= static_cast<double>(uint64_t{1} << 62) / 1000.0);
}
