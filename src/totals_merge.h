// The totals of partition runs joined into the totals of one run (for
// `migcheck merge`): counts summed, rounds and databases matched by number,
// elapsed times and maxima the largest, the first partition's clock skew,
// per-store run ids dropped (they mean nothing in the merged store).
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

namespace migcheck {

nlohmann::json merge_totals(const std::vector<nlohmann::json>& parts);

}  // namespace migcheck
