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

// On --resume, options that only set speed and load (--max-ops-per-sec,
// --connections, --batch, --scan-count) take effect when given again: a
// throttled run can be sped up. Those that decide the result keep the run's
// values. For `flag` (its recorded name `key`): when the command line gave
// it, it is taken out of `given`, recorded in the run's options (so a later
// resume keeps it) and `value` stays; otherwise `value` is the recorded one.
template <typename T>
void resume_option(ResumableRun& run, std::vector<std::string>& given, std::string_view flag,
                   const char* key, T& value) {
  if (std::erase(given, flag) > 0)
    run.options[key] = value;
  else
    value = run.options.value(key, value);
}
// Saves the options of resume_option into the run's record, and says which
// were changed.
void record_resume_options(Store& store, const ResumableRun& run);

// Warns of what a resume does not take from the command line: `ignored`
// (options given that the run's recorded ones replace), and endpoints other
// than those the run was started with.
void warn_resume_differences(const ResumableRun& run, const std::vector<std::string>& ignored,
                             const Endpoint& source, const Endpoint& target);

// The message of the Interrupted a stopped run throws.
std::string resume_hint(std::string_view command, int64_t run);
// Said (as a warning, so --quiet keeps it) when a run fails and can be resumed.
void warn_resumable(std::string_view command, int64_t run);

}  // namespace migcheck
