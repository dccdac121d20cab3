// The totals a snapshot compare run records (snapshot_compare.h): the live
// compare's fields, so `report` and `diffs` read it unchanged, plus
// totals.snapshot (the files, RDB version, the run's now, expired keys).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

#include "clock_skew.h"
#include "snapshot_compare.h"

namespace migcheck {

nlohmann::json snapshot_totals_json(const SnapshotCompareOptions& o,
                                    const SnapshotCompareResult& res, const ClockSkew& clock,
                                    int64_t now_ms, bool big_known);

}  // namespace migcheck
