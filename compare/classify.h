// classify_key: what a key's two states make of it (missing, extra, type,
// ttl, value). Shared by compare's rounds and repair's re-check.
#pragma once

#include <string_view>
#include <vector>

#include "duration.h"
#include "reader.h"
#include "store.h"

namespace migcheck {

// The difference rows (0, 1 or 2) of one key given both sides' states.
// `round`, `db` and `key` are copied into the rows.
void classify_key(std::string_view key, int db, int round, const KeyState& source,
                  const KeyState& target, Millis ttl_tolerance, std::vector<Difference>& out);

}  // namespace migcheck
