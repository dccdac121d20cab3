// The replicate engine: copies the source's keys to the target with the copy
// engine, in one SCAN pass (scan), or a pass followed by applying keyspace
// notifications (live: subscribed before the pass, so nothing written during
// it is missed), or notifications only (liveonly). Records a "replicate" run
// with its counters, lag percentiles and the keys it could not copy.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client.h"
#include "copier.h"
#include "db_pairs.h"
#include "duration.h"
#include "partition.h"
#include "store.h"
#include "uri.h"

namespace migcheck {

enum class ReplicateMode { Scan, Live, LiveOnly };
// "scan", "live", "liveonly": as recorded in the store and printed.
const char* mode_name(ReplicateMode m);

struct ReplicateOptions {
  Endpoint source;  // db = the source db
  Endpoint target;  // db = the target db (already mapped)
  // (source db, target db) pairs to copy, in order (the endpoints' db is
  // then ignored); when empty, every db that holds keys on either side with
  // all_dbs, else the endpoints' dbs. Live modes take one pair only.
  std::vector<DbPair> db_pairs;
  bool all_dbs = false;
  ClientOptions source_client;
  ClientOptions target_client;
  ReplicateMode mode = ReplicateMode::Scan;
  Millis idle{0};                  // live modes: stop after this long without events (0 = never)
  bool verify = false;             // compare at the end; differences -> exit 1
  bool structural = false;         // --struct
  std::string match;               // SCAN MATCH glob (live events are filtered by it too)
  std::vector<std::string> types;  // lowercase type names; empty = all
  uint64_t mem_limit = 0;          // skip keys whose MEMORY USAGE is above (0 = none)
  Partition partition{};           // --partition (scan mode): only keys of these slots
  size_t scan_count = 1000;
  size_t batch = 1000;
  size_t connections = 2;      // copy workers, each with a client per side
  double max_ops_per_sec = 0;  // cap on commands/s to the source (0 = none)
  bool dry_run = false;
  bool assume_notifications = false;  // CONFIG refused: trust that events are on
  // Live modes: keys found on the target only after an event gap (gone from
  // the source in it) are deleted; without it they are recorded (exit 1).
  bool delete_extra = false;
  size_t queue_capacity = 100000;  // distinct keys waiting to be applied
  bool progress = true;
  std::string store_path;
  const std::atomic<bool>* stop = nullptr;  // SIGINT/SIGTERM: drain and stop
  // > 0: continue this stopped scan-mode run from its checkpoint (the options
  // above must be the run's recorded ones: see replicate_cmd).
  int64_t resume_run = 0;
  // Scale batch and scan_count with the measured round trip (in_flight.h);
  // off when --batch, --scan-count or --connections is given.
  bool size_for_round_trip = true;
};

struct LagStats {
  uint64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

struct ReplicateResult {
  int64_t run_id = 0;
  int exit_code = 0;         // 0 all copied (and verified), 1 some keys not, 2 interrupted mid-pass
  bool interrupted = false;  // stopped by a signal before the copy was complete
  // The (standalone) target was made a replica under the run: exit 2.
  bool target_became_replica = false;
  CopyCounters copy;
  int64_t keys_scanned = 0;
  int scan_passes = 0;
  uint64_t events = 0;               // notifications received
  uint64_t events_applied = 0;       // changed keys copied or deleted because of one
  uint64_t queue_overflows = 0;      // keys that did not fit the queue (recorded; rescanned)
  uint64_t overflows_uncovered = 0;  // ... not covered by a completed rescan
  uint64_t subscriber_reconnects = 0;
  // Windows without a node's events (lost subscription, failover): each
  // followed by a rescan, which cannot undo a deletion made in it; open ones
  // were not subscribed again (exit 1). Moves: subscriptions that followed a
  // failover to another node.
  uint64_t event_gaps = 0, event_gaps_open = 0, subscription_moves = 0;
  int64_t event_gap_max_ms = 0;
  // Sweeps of the target after gaps: target keys checked against the source,
  // those the source lacked, deleted (--delete-extra) or kept (exit 1).
  uint64_t gap_sweeps = 0, gap_swept = 0, gap_extras_found = 0, gap_extras_deleted = 0,
           gap_extras_kept = 0;
  LagStats lag;
  int64_t elapsed_ms = 0;
  double keys_per_sec = 0;        // of the first pass
  std::vector<Outcome> skipped;   // first ones, for the summary
  std::vector<Outcome> failures;  // first ones
  // Times the scan pass started over because a server restarted under it
  // (SCAN cursors void, acknowledged writes perhaps lost).
  int starts_over = 0;
  std::optional<int64_t> verify_run;
  int64_t verify_differences = 0;
  std::string source_desc, target_desc;
};

// Throws Error before the run starts when live mode cannot work (keyspace
// notifications off: the message says what to set), and on lost servers or
// store failures (the run is recorded as failed). A scan-mode run stopped
// before its pass was through (signal, lost server) is checkpointed and
// continues with resume_run; keys copied after the last checkpoint are
// copied again but counted once.
// A server that restarts under the run (a new run_id; see RestartWatch): in
// scan mode the pass starts over from the beginning, its outcomes and
// counters dropped (up to kMaxStartsOver times); in live modes a rescan
// follows.
ReplicateResult run_replicate(const ReplicateOptions& opts, Store& store);

}  // namespace migcheck
