// What every resumable command (compare, repair, scan-mode replicate) shares
// for `--resume RUN`: finding the stopped run, reading its recorded options
// and its checkpoint, with the same refusals and words everywhere.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "store.h"

namespace migcheck {

struct ResumableRun {
  RunRecord record;
  nlohmann::json options;  // the run's recorded options (an object)
};

// The run `id` of `command` in `store`, stopped before it was done. Throws
// UsageError (no such run, a run of another command, a finished run) or
// StoreError (its options are unreadable).
ResumableRun resumable_run(Store& store, int64_t id, std::string_view command);

// The run's checkpoint `name`, parsed. Throws UsageError when it has none
// (stopped before its first checkpoint), StoreError when it is unreadable.
nlohmann::json load_checkpoint(Store& store, int64_t id, std::string_view name);

// The message of the Interrupted a stopped run throws.
std::string resume_hint(std::string_view command, int64_t run);

}  // namespace migcheck
