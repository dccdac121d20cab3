// When the target scan (the pass that looks for keys only on the target) is
// already answered by the source pass: both servers unchanged during it,
// the source pass read as many keys as the source holds, and every key the
// target holds was found by it. Owns the servers' "unchanged" marks and the
// decision; the round (round.cc) runs the target scan only when it says so.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "client.h"

namespace migcheck {

// A server's write counter and key count at one moment (one db).
struct KeyspaceMark {
  int64_t dbsize = -1;
  int64_t dirty = -1;      // INFO persistence rdb_changes_since_last_save
  int64_t last_save = -1;  // rdb_last_save_time: a save resets `dirty`
  bool saving = true;      // rdb_bgsave_in_progress: `dirty` is reset when it ends
};

// nullopt when the server does not give every field (then nothing is skipped).
std::optional<KeyspaceMark> keyspace_mark(Client& client);

struct SourcePassCounts {
  int64_t source_keys = 0;      // keys the source pass read (as pushed, after SCAN dedupe)
  int64_t found_on_target = 0;  // of them, read as present (status Ok) on the target
};

// Empty when the target scan can be skipped: no write reached either server
// between the marks (the write counter, a save and the key count all the
// same), the source pass read exactly the source's key count (SCAN returns
// every key of an unchanging db at least once, so that many keys are all
// distinct: each source key once), and the target's key count equals the
// keys found on it (so every target key is a source key). Otherwise why not.
std::string target_scan_needed(const KeyspaceMark& src_before, const KeyspaceMark& src_after,
                               const KeyspaceMark& tgt_before, const KeyspaceMark& tgt_after,
                               const SourcePassCounts& counts);

}  // namespace migcheck
