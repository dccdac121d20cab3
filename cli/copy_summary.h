// The copy lines that the summaries of replicate from a server and from a
// snapshot file share: what was written (or would be, in a dry run), how,
// and what was skipped or failed, with the first skipped keys.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "copier.h"
#include "store.h"

namespace migcheck {

// deletions: whether the run can delete on the target (a server source can;
// a file cannot, so its summary has no "deleted" line).
void print_copy_counts(const CopyCounters& c, bool dry_run, bool deletions);

// The "Skipped keys" block: the first keys not copied on purpose, each with
// why, escaped for the terminal; `total` is how many were skipped in all.
// Prints nothing when `skipped` is empty.
void print_skipped_keys(const std::vector<Outcome>& skipped, int64_t total);

// The Result line of a copy that left keys uncopied (exit 1), with where
// they are recorded.
void print_incomplete_result(const std::string& store_path, int64_t run_id);

}  // namespace migcheck
