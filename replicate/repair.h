// The repair engine: takes the differences of a compare run (its last
// round), makes each selected key on the target equal to the source as it is
// now with the copy engine (or deletes it when it is gone from the source),
// re-reads both sides with the compare digests and records per-key outcomes
// as a new "repair" run whose parent is the compare run.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client.h"
#include "copier.h"
#include "duration.h"
#include "partition.h"
#include "store.h"
#include "uri.h"

namespace migcheck {

struct RepairOptions {
  Endpoint source;  // db: taken from the compare run unless the URI names one
  Endpoint target;
  ClientOptions source_client;
  ClientOptions target_client;
  std::optional<int64_t> compare_run;  // default: the latest compare run
  std::vector<std::string> kinds;      // empty = every kind
  bool delete_extra = false;           // extra keys are kept unless this is set
  bool dry_run = false;
  bool structural = false;  // --struct: never DUMP/RESTORE
  // --partition: only differences whose key's slot is in it; unset, the
  // compare run's own partition (if it had one) is the repair's.
  Partition partition{};
  size_t batch = 500;
  size_t connections = 1;
  double max_ops_per_sec = 0;  // cap on commands/s to the source (0 = none)
  Millis ttl_tolerance{1000};  // as compare's; the compare run's own when it recorded one
  bool progress = true;        // progress line on stderr
  std::string store_path;      // recorded with the run
  const std::atomic<bool>* stop = nullptr;  // raised by a signal: stop at a batch boundary
  // > 0: continue this stopped repair run from its checkpoint (the options
  // above must be the run's recorded ones: see repair_cmd).
  int64_t resume_run = 0;
};

struct RepairResult {
  int64_t run_id = 0;
  int64_t compare_run = 0;
  int round = 0;
  int exit_code = 0;       // 0 every selected difference verified fixed, 1 some remain
  int64_t selected = 0;    // differing keys selected (by --kind)
  int64_t repaired = 0;    // verified equal after the write (copies and deletes)
  int64_t deleted = 0;     // ... of which deletions
  int64_t kept_extra = 0;  // extra keys left alone (no --delete-extra)
  int64_t skipped = 0;     // other skips (e.g. module type)
  int64_t failed = 0;
  int64_t planned = 0;  // dry run
  CopyCounters copy;    // what the copy engine did (fallbacks, chunked, bytes)
  int64_t elapsed_ms = 0;
  // Times every difference was repaired again because a server restarted
  // under the run (writes it acknowledged may be lost; see RestartWatch).
  int starts_over = 0;
  // A few failed keys with their error, for the summary.
  std::vector<Outcome> failures;
};

// Records the run in `store`. Per-key failures are outcomes; lost servers,
// a missing compare run or store failures throw (the run recorded as failed),
// a raised stop flag throws Interrupted (recorded as interrupted). Either way
// the run is checkpointed: the last difference done, in the compare run's
// order, and the counters up to it, saved every few seconds and on the way
// out, so --resume repairs each remaining key once and counts it once.
RepairResult run_repair(const RepairOptions& opts, Store& store);

}  // namespace migcheck
