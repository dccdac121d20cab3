// `--json` on compare, repair and replicate: the final summary as one JSON
// object on stdout, read back from the store, so a pipeline gets exactly the
// figures the store holds without opening SQLite.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "store.h"

namespace migcheck {

// The run's record (no secrets: the store holds none), its parsed options
// and totals, its rounds, and its differences by kind and type (last round)
// or outcomes by kind.
nlohmann::json run_summary_json(Store& store, int64_t run);

}  // namespace migcheck
