// The "Failed keys" block of the repair and replicate summaries: the first
// keys that could not be written, each with the server's error and what was
// being done, escaped for the terminal.
#pragma once

#include <cstdint>
#include <vector>

#include "store.h"

namespace migcheck {

// Prints nothing when `failures` is empty; `total` is how many keys failed
// in all (more than listed: "(first ones)").
void print_failed_keys(const std::vector<Outcome>& failures, int64_t total);

}  // namespace migcheck
