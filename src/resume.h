// What every resumable command (compare, repair, scan-mode replicate) shares
// for `--resume RUN`: finding the stopped run, reading its recorded options
// and its checkpoint, with the same refusals and words everywhere.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "store.h"
#include "uri.h"

namespace migcheck {

struct ResumableRun {
  RunRecord record;
  nlohmann::json options;  // the run's recorded options (an object)
};

// The run `id` of `command` in `store`, stopped before it was done, claimed
// for this process (Store::claim_run). Throws UsageError (no such run, a run
// of another command, a finished run, a run another process is writing) or
// StoreError (its options are unreadable).
ResumableRun resumable_run(Store& store, int64_t id, std::string_view command);

// The run's checkpoint `name`, parsed. Throws UsageError when it has none
// (stopped before its first checkpoint), StoreError when it is unreadable.
nlohmann::json load_checkpoint(Store& store, int64_t id, std::string_view name);

// Saves the run's options changed on resume (the speed and load flags given
// again: see apply_recorded in recorded_options.h) into its record, and says
// which were changed.
void record_resume_options(Store& store, const ResumableRun& run);

// Warns that `ignored`, options given again, are replaced by the run's own.
void warn_ignored_on_resume(const ResumableRun& run, const std::vector<std::string>& ignored);

// Warns of what a resume does not take from the command line: `ignored`
// (as above), and endpoints other than those the run was started with.
void warn_resume_differences(const ResumableRun& run, const std::vector<std::string>& ignored,
                             const Endpoint& source, const Endpoint& target);

// The message of the Interrupted a stopped run throws.
std::string resume_hint(std::string_view command, int64_t run);
// Said (as a warning, so --quiet keeps it) when a run fails and can be resumed.
void warn_resumable(std::string_view command, int64_t run);

}  // namespace migcheck
