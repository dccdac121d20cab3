// The copy lines that the summaries of replicate from a server and from a
// snapshot file share: what was written (or would be, in a dry run), how,
// and what was skipped or failed.
#pragma once

#include "copier.h"

namespace migcheck {

// deletions: whether the run can delete on the target (a server source can;
// a file cannot, so its summary has no "deleted" line).
void print_copy_counts(const CopyCounters& c, bool dry_run, bool deletions);

}  // namespace migcheck
