// Field-wise sums and differences of plain counter structs (CopyCounters,
// ReaderStats): each struct lists its counter fields once, as a tuple of
// member pointers, instead of spelling `a.x += b.x` per field and operator.
#pragma once

#include <tuple>

namespace migcheck {

// a.*m += b.*m for every member pointer m of `fields` (a std::tuple).
template <typename T, typename Fields>
T& add_fields(T& a, const T& b, const Fields& fields) {
  std::apply([&](auto... m) { ((a.*m += b.*m), ...); }, fields);
  return a;
}

// a.*m -= b.*m for every member pointer m of `fields`.
template <typename T, typename Fields>
T& subtract_fields(T& a, const T& b, const Fields& fields) {
  std::apply([&](auto... m) { ((a.*m -= b.*m), ...); }, fields);
  return a;
}

}  // namespace migcheck
