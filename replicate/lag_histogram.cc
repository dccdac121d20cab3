// The lag histogram's buckets and percentiles (see lag_histogram.h).
#include "lag_histogram.h"

#include <algorithm>
#include <bit>

namespace migcheck {

void LagHistogram::add(uint64_t us) {
  ++buckets_[index(us)];
  ++count_;
  max_ = std::max(max_, us);
}

void LagHistogram::merge(const LagHistogram& o) {
  for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
  count_ += o.count_;
  max_ = std::max(max_, o.max_);
}

double LagHistogram::percentile_ms(double p) const {
  if (count_ == 0) return 0;
  const auto want = static_cast<uint64_t>(std::max(1.0, p * static_cast<double>(count_) + 0.5));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= want)
      return std::min(static_cast<double>(upper(i)), static_cast<double>(max_)) / 1000.0;
  }
  return static_cast<double>(max_) / 1000.0;
}

LagStats LagHistogram::stats() const {
  return {count_, percentile_ms(0.5), percentile_ms(0.9), percentile_ms(0.99), max_ms()};
}

size_t LagHistogram::index(uint64_t v) {
  if (v < kSub) return static_cast<size_t>(v);
  const int e = 63 - std::countl_zero(v);  // >= 5
  const uint64_t sub = (v >> (e - 5)) & (kSub - 1);
  return std::min(kBuckets - 1,
                  kSub + static_cast<size_t>(e - 5) * kSub + static_cast<size_t>(sub));
}

uint64_t LagHistogram::upper(size_t i) {
  if (i < kSub) return i;
  const size_t e = (i - kSub) / kSub + 5;
  const uint64_t sub = (i - kSub) % kSub;
  return ((kSub + sub + 1) << (e - 5)) - 1;
}

}  // namespace migcheck
