// The compare engine: a multi-round, key-by-key comparison of a source and a
// target, recorded as one run in the Store.
//
// Round 1 scans the source (every scan node) and, unless disabled, the
// target; worker threads read both sides of each batch at once with
// KeyReaders and store one Difference row per kind per key. Each later round
// waits, then re-reads only the keys that differed in the round before (read
// back from the store), so differences that in-flight replication was about
// to fix drop out. What differs in the last round is the result.
//
// Data flows one way: scanner/sampler/store threads -> bounded queue ->
// workers (read, digest, classify) -> store. Memory is bounded by the queue,
// the batch size and one big key per worker, not by the number of keys.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "classify.h"
#include "client.h"
#include "db_pairs.h"
#include "duration.h"
#include "partition.h"
#include "reader.h"
#include "store.h"
#include "uri.h"
#include "value_diff.h"

namespace migcheck {

struct CompareOptions {
  Endpoint source{};  // db = the source db
  Endpoint target{};  // db = the target db (already mapped)
  // The (source db, target db) pairs to compare, in order (the endpoints'
  // db is then ignored); when empty, every db that holds keys on either side
  // with all_dbs (discover_db_pairs), else the endpoints' dbs.
  std::vector<DbPair> db_pairs{};
  bool all_dbs = false;
  ClientOptions source_client{};
  ClientOptions target_client{};

  int rounds = 3;
  Millis interval{5000};
  Millis ttl_tolerance{1000};
  std::string match{};               // SCAN MATCH glob; empty = all
  std::vector<std::string> types{};  // source types to check; empty = all
  size_t scan_count = 1000;
  size_t batch = 500;           // keys per pipelined batch
  size_t connections = 4;       // worker threads, each with a client per side
  double max_ops_per_sec = 0;   // cap on commands/s to the source; 0 = none
  uint64_t sample = 0;          // > 0: check this many sampled keys instead of all
  Partition partition{};        // --partition: only keys of these slots (both scans)
  bool target_scan = true;      // look for keys that exist only on the target
  size_t chunk = 1000;          // elements per chunk of big collections
  size_t big_string = 1 << 20;  // strings longer are read in windows of this size
  LocateOptions locate{};       // where value differences are, for keys under a bound
  bool progress = true;         // progress line on stderr
  std::string store_path{};     // for the options recorded with the run
  // Raised by a signal handler: workers stop, the run is checkpointed and
  // marked interrupted.
  const std::atomic<bool>* stop = nullptr;
  // > 0: continue this stopped compare run from its checkpoint instead of
  // starting a new one (the options above should be the run's own). Refused
  // with UsageError as resumable_run() and load_checkpoint() refuse.
  int64_t resume_run = 0;
  // Scale batch and scan_count with the measured round trip (in_flight.h);
  // off when --batch, --scan-count or --connections is given.
  bool size_for_round_trip = true;
};

// How many big keys the run's totals list (all are counted).
constexpr size_t kBigKeysListed = 20;

struct RoundSummary {
  int round = 0;
  int64_t keys_checked = 0;
  int64_t differences = 0;  // difference rows (a key may have a ttl and a value row)
  int64_t elapsed_ms = 0;
};

// A key read in chunks on the source in round 1 (see CompareResult::big_keys).
struct BigKeyInfo {
  std::string key;    // bytes
  int db = 0;         // the source db
  std::string type;   // TYPE's answer
  int64_t size = -1;  // bytes (strings), elements (collections), length (streams)
};

struct CompareResult {
  int64_t run_id = 0;
  int exit_code = 0;  // kExitSame / kExitDiffer
  std::vector<RoundSummary> rounds;
  int64_t keys_checked = 0;  // round 1
  // Per db pair compared: keys checked in round 1, difference rows left in
  // the last round (totals.databases).
  struct Database {
    DbPair dbs;
    int64_t keys_checked = 0;
    int64_t differences = 0;
  };
  std::vector<Database> databases;
  std::map<std::string, int64_t> keys_by_type;  // round 1, by source type ("none": gone meanwhile)
  int64_t target_keys_scanned = 0;
  // Round 1's source pass proved that every target key is a source key, so
  // the target was not scanned (target_scan_skip.h).
  bool target_scan_settled = false;
  // Big keys: distinct source keys read in chunks in round 1 (later rounds
  // re-read keys already counted there), and the first kBigKeysListed of
  // them in scan order. Recorded as totals.big_keys once round 1 is complete.
  int64_t big_keys = 0;
  std::vector<BigKeyInfo> big_keys_listed;
  int64_t differences = 0;                                           // rows in the last round
  std::vector<std::pair<std::string, int64_t>> differences_by_kind;  // last round
  std::vector<std::pair<std::string, int64_t>> differences_by_type;  // last round
  ReaderStats source_stats;
  ReaderStats target_stats;
  int64_t elapsed_ms = 0;
  double keys_per_sec = 0;  // round 1
  std::string source_desc;  // "redis 7.0.15 standalone"
  std::string target_desc;
  // Times the run started over at round 1 because a server restarted (or
  // failed over) under it, or while it was stopped (see RestartWatch).
  int starts_over = 0;
};

// Checkpoints: the committed part of the current round (per-side SCAN
// cursors, or the position in the previous round's differences, with the
// counters of exactly the batches before that position and the largest
// difference id then stored) is saved as checkpoint "compare" of the run
// every few seconds, at each round start and when stopped. A resumed run
// drops the rows stored after it and re-checks from there, so every key is
// counted once.
//
// A server that restarts under the run (a new run_id, seen at a reconnect)
// voids the run's SCAN cursors and perhaps writes it had acknowledged: the
// run drops what it stored and starts over at round 1, up to
// kMaxStartsOver times. The checkpoint keeps the run_ids, so a restart while
// the run was stopped is noticed at the resume.
//
// Runs the comparison as a new run in `store` (or resumes opts.resume_run). Per-key problems
// (WRONGTYPE, NOPERM, keys vanishing) are differences or drop out; lost servers, refused SCAN,
// store failures throw (the run is recorded as failed), a raised stop flag throws Interrupted (the
// run is recorded as interrupted).
CompareResult run_compare(const CompareOptions& opts, Store& store);

}  // namespace migcheck
