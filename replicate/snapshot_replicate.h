// `migcheck replicate dump.rdb TARGET`: the replicate engine for a snapshot
// file (.rdb) as the source, scan mode only. The file is streamed once
// (rdb_key_writer.h writes each key: RESTORE of its own serialised object,
// by type where the target cannot take it, big keys in chunks); keys already
// expired at the start are skipped and counted. Recorded as a "replicate"
// run with the server-source run's totals, outcome rows and summary, plus
// totals.snapshot. Resumable: the checkpoint is the file offset after the
// last key written, the counters, and the file's identity (size, mtime and
// a hash of its first MiB), checked on resume; a resume parses the file
// from the start (its checksum is still verified) and writes only the keys
// after that offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "replicate.h"
#include "store.h"

namespace migcheck {

struct SnapshotReplicateOptions {
  // target, target_client, match, types, structural, dry_run, batch,
  // progress, store_path, stop and resume_run are used.
  ReplicateOptions base;
  std::string source_file;       // absolute path
  std::optional<int> db;         // only this db of the file
  std::optional<int> target_db;  // its db on the target (default: the same)
  uint64_t big_bytes = 4 << 20;  // a value held beyond this goes in chunks
  size_t chunk_elements = 1000;
};

struct SnapshotReplicateResult {
  ReplicateResult replicate;
  int rdb_version = 0;
  uint64_t expired_skipped = 0;
  uint64_t filtered = 0;
};

// Throws RdbError (corrupt file: the byte offset), UsageError, ConnectionError;
// the run is then recorded as failed (resumable from its last checkpoint).
// A raised stop flag ends the pass at a key boundary: checkpointed, recorded
// as interrupted, result.replicate.interrupted set (exit 2).
SnapshotReplicateResult run_snapshot_replicate(const SnapshotReplicateOptions& opts, Store& store);

}  // namespace migcheck
