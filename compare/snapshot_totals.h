// The totals a snapshot compare run records (snapshot_compare.h): the live
// compare's fields, so `report` and `diffs` read it unchanged, plus
// totals.snapshot (the files, RDB version, the run's now, expired keys); and
// a file's facts, recorded where a server's are.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

#include "clock_skew.h"
#include "server_info.h"
#include "snapshot_compare.h"

namespace migcheck {

nlohmann::json snapshot_totals_json(const SnapshotCompareOptions& o,
                                    const SnapshotCompareResult& res, const ClockSkew& clock,
                                    int64_t now_ms, bool big_known);

// A snapshot file as the store keeps a server's facts (what the report shows):
// its RDB version (the report's DUMP compatibility check) and keys per db.
ServerFacts snapshot_file_facts(const std::string& path, int rdb_version,
                                const std::map<int, int64_t>& keys_per_db);

}  // namespace migcheck
