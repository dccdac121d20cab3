// The compare engine for a snapshot file (.rdb) as the source: every key of
// the file against a target server, or against a second file, recorded as
// one compare run in the Store with the same kinds, columns and totals as a
// server-to-server compare (compare.h), so `diffs` and `report` read it
// unchanged.
//
// File against a server:
//   round 1  the file is streamed once (rdb_source.h: --db, --match, --type,
//            keys already expired at the run's start counted and skipped).
//            Its keys go in batches through a bounded queue to worker
//            threads, each with its own target connection and KeyReader
//            (pipelined, big keys in chunks, changed-while-read keys re-read
//            at once). Each key's file state becomes a KeyState and is
//            classified with classify_key. The (db, key) hashes of the file
//            are kept in a KeyHashTable (bounded memory, spilled to a
//            temporary file); after the stream, the target is SCANned and
//            the keys whose hash the file does not hold are read again on
//            the target (TYPE, PTTL) and stored as extras if still there.
//   round 2+ the target only is re-read, for the keys that differed in the
//            round before, against the file side's state kept in their
//            difference rows (source type, ttl, digest, size columns): the
//            file is not read again.
// Expiry: the file holds absolute unix ms. The run's "now" is this host's
// wall clock moved onto the target's clock (TIME, when its offset is larger
// than its error); a file expiry becomes ms-left from that now, and an
// expire_at_ms on this process's monotonic clock, which is where the
// KeyReader puts the target's PTTL. So TTLs compare as absolute times, as a
// server loading the file would see them (the target's clock). Keys expired
// at that now are skipped and counted (totals.snapshot.expired_skipped).
//
// File against file (a.rdb b.rdb): three streams, bounded memory. The second
// file is streamed into a KeyHashTable of key states by (db, key) hash; the
// first file is streamed and each key classified against its lookup (and its
// hash kept); the second file is streamed again for the keys the first does
// not hold (extras). Files do not change: one round only.
//
// Resume (file against a server): checkpoints at committed batches, which
// are committed in the file's order, so a checkpoint's offset, counters and
// stored rows describe the same keys; a resumed run parses the file from the
// start and checks the keys after the offset only (snapshot_resume.h). Not
// supported (refused with one line by the command): --sample or a resume of
// a file against a file, --max-ops-per-sec (nothing is read from a source
// server). Value differences are located as a live compare locates them,
// the file side read again from the file (snapshot_locate.h).
//
// --sample N (file against a server), as the live compare's: round 1 checks
// N keys per db drawn uniformly at random from the file as it streams by
// once (snapshot_sample.h, memory proportional to N), and looks up in the
// file N keys per target db drawn with RANDOMKEY (extras); totals.sampled,
// so a report says INCOMPLETE. When every key of the file's scope was kept
// it is a whole compare (extras by a full SCAN). A sampled round 1 is not
// resumable mid-way (a resume draws it again, as live); rounds 2+ are.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "compare.h"
#include "db_pairs.h"

namespace migcheck {

struct SnapshotCompareOptions {
  // target, target_client, rounds, interval, ttl_tolerance, match, types,
  // scan_count, batch, connections, target_scan, chunk, big_string,
  // progress, store_path, stop are used; source and the source's options are
  // not.
  CompareOptions base;
  std::string source_file;
  std::string target_file;       // non-empty: snapshot against snapshot
  std::optional<int> db;         // --db: only this db of the source file
  std::optional<int> target_db;  // the target db of `db` (default: the same)
  // --db-map: only these dbs of the source file, each against its target db
  // (a second file's dbs are mapped the same way). Not with `db`.
  std::vector<DbPair> db_map;
};

struct SnapshotCompareResult {
  CompareResult compare;
  int rdb_version = 0;
  uint64_t expired_skipped = 0;         // source file keys already expired at the start
  uint64_t target_expired_skipped = 0;  // file against file: the second file's
  // --sample drew keys (false when every key of the file's scope was kept:
  // then the compare is a whole one, as the live compare's --sample >= DBSIZE).
  bool sampled = false;
};

// Throws RdbError (corrupt or truncated file), UsageError, ConnectionError...
// as run_compare does; a raised stop flag throws Interrupted. The run is
// recorded as failed or interrupted in those cases.
SnapshotCompareResult run_snapshot_compare(const SnapshotCompareOptions& opts, Store& store);

}  // namespace migcheck
