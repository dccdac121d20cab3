// Replication lag (time from a key's change being noticed to the target
// acknowledging its copy) as a log-linear histogram of microseconds: 32
// sub-buckets per power of two (about 3% resolution), a bounded size
// whatever the number of events, mergeable across workers, read as
// percentiles in milliseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "replicate.h"

namespace migcheck {

class LagHistogram {
 public:
  void add(uint64_t us);
  void merge(const LagHistogram& o);
  uint64_t count() const { return count_; }
  // The smallest recorded bucket bound at or above the p-th (0..1) value,
  // never above the largest value seen; 0 when empty.
  double percentile_ms(double p) const;
  double max_ms() const { return static_cast<double>(max_) / 1000.0; }
  LagStats stats() const;

 private:
  static constexpr size_t kSub = 32;
  static constexpr size_t kBuckets = kSub + 59 * kSub;
  static size_t index(uint64_t v);
  static uint64_t upper(size_t i);
  std::vector<uint64_t> buckets_ = std::vector<uint64_t>(kBuckets, 0);
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

}  // namespace migcheck
