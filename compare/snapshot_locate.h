// Locating the value differences of a snapshot compare's file keys
// (snapshot_compare.h) with the live compare's code (value_diff.h): the same
// refusals and bounds (LocateOptions), the same comparisons, the same
// ValueLocation JSON. The file side is read again from the file, the target
// side from the target (or from the second file, file against file).
//
// Why re-read the file rather than keep values while parsing: a batch's keys
// are only known to differ once a worker has read the target, so keeping
// them would mean holding every key under the bound of every queued batch
// (batch size x bound x queue depth). A key's place in the file (its type
// byte's offset and its size there) is 16 bytes; a differing key under the
// bound is read again from there alone (one pread of its bytes, parsed with
// RdbParser::run_object), so memory is that one key, as in the live re-read.
//
// Later rounds re-read the target only, but locate as live does in every
// round: the places of round 1's differing keys under the bound are kept in a
// KeyHashTable (bounded memory, spilled to a temporary file), and each later
// round's value row is located again against the file at that place. A key
// whose place is not known (its round 1 was checked before a resume) is not
// located, with that reason.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client.h"
#include "duration.h"
#include "fd.h"
#include "key_hash_table.h"
#include "rdb_digest.h"
#include "snapshot_batches.h"
#include "snapshot_compare.h"
#include "value_diff.h"

namespace migcheck {

// How a file's value is shown, as the server that wrote it would answer
// (what a live compare of that server shows).
struct FileValueOptions {
  int64_t now_ms = 0;  // hash fields whose own TTL passed at it are left out (as the digests do)
  bool stream_extended_meta = true;  // entries-added, max-deleted-entry-id, entries-read
  // Sorted set scores as "%.17g" (files of RDB 10 and before: Redis up to
  // 7.0 printed scores so), else the shortest text that reads back the same.
  bool scores_17g = false;
};

// Reads the value of `key` again from the file open at `fd` (named `name`)
// at `spot`, as the parts the comparisons take. A file that does not hold
// the key there, or cannot be parsed there, ends as not located (returned).
std::optional<ValueLocation> read_file_parts(int fd, const std::string& name, FileSpot spot,
                                             std::string_view key, const FileValueOptions& o,
                                             ValueParts& out);

class SnapshotLocator {
 public:
  // `now_ms` and `stream_ext` are the engine's, read when a key is located
  // (they are set before the first key is classified).
  SnapshotLocator(const SnapshotCompareOptions& o, const int64_t& now_ms, const bool& stream_ext)
      : o_(o), now_(now_ms), ext_(stream_ext) {}

  // classify_key for a batch's key `i` and its target state `t` (workers),
  // then its value row located: the file side at the batch's place of the
  // key (round 1) or at the place kept from round 1 (later rounds), the
  // target side read again on `target`.
  void classify(Client& target, const Batch& b, size_t i, int round, const KeyState& t,
                Millis ttl_tolerance, std::vector<Difference>& diffs);
  // File against file: classify_key, then the value row located with both
  // sides read again from their files (`second`: the second file's
  // encode_state record of the key, if it holds it).
  void classify_files(const RdbKeyState& k, const KeyState& s, const KeyState& t,
                      const std::optional<std::string>& second, Millis ttl_tolerance,
                      std::vector<Difference>& diffs);

 private:
  // A file read again: opened, and its RDB version read, at the first re-read.
  struct OpenFile {
    Fd fd;
    FileValueOptions options;
  };
  // `f` opened (once) for `path`; nullptr when it cannot be.
  const OpenFile* open(OpenFile& f, const std::string& path);
  // Round 1 keeps the places of the differing keys under the bound; later rounds look them up.
  FileSpot place(int db, std::string_view key, const KeyState& s, int round, FileSpot spot);

  const SnapshotCompareOptions& o_;
  const int64_t& now_;
  const bool& ext_;
  std::mutex mu_;
  OpenFile source_, target_;
  KeyHashTable places_{kSpotBytes, size_t{1} << 15};
  bool sealed_ = false;
};

}  // namespace migcheck
