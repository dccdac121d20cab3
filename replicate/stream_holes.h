// Pending entries whose stream entry was deleted, for a stream written in
// chunks from a snapshot file (internal to the snapshot replicate). The file
// gives a stream's pending entries only after all its entries, which are
// already on the target by then, and XCLAIM ignores an id without an entry:
// such ids are found on the target's temporary key, which is then rewritten
// page by page with placeholder entries at those ids, in id order (XADD
// takes only ids above the last one). push_stream_end deletes them again
// once they are claimed.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "client.h"
#include "stream_copy.h"

namespace migcheck::copy_internal {

// A target command that failed: its reply and the command's name.
struct StreamWriteError {
  std::string error, command;
};

// The ids of `pending` that `key` on `target` has no entry for (XRANGE id
// id, `page` per pipeline), or the error of a probe.
Holes missing_entries(Client& target, const std::string& key, const std::set<StreamId>& pending,
                      size_t page, std::vector<StreamWriteError>& errors);

// Rewrites `key` on `target` through `scratch` (a temporary key in its
// slot, with `ttl_ms`, renamed over `key` at the end): its entries with a
// placeholder at each id of `holes`, `page` entries at a time. Appends the
// errors of the target (the rewrite stops at the first).
void rewrite_with_holes(Client& target, const std::string& key, const std::string& scratch,
                        Holes holes, size_t page, int64_t ttl_ms,
                        std::vector<StreamWriteError>& errors);

}  // namespace migcheck::copy_internal
