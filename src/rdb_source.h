// A snapshot file as the source side of a comparison: one streaming pass
// that yields, for the keys a compare would check (--db, --match, --type),
// the per-key state with its canonical digest and absolute expiry, and
// counts the keys already expired when the run starts (skipped, as a server
// would no longer return them). The snapshot compare
// (compare/snapshot_compare.h) reads from it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rdb_digest.h"

namespace migcheck {

struct RdbSourceOptions {
  std::optional<int> db;           // only this db; nullopt = every db
  std::vector<int> dbs;            // non-empty: only these dbs
  std::string match;               // Redis glob over key names; empty = all
  std::vector<std::string> types;  // lowercase type names ("hash", or a module's); empty = all
  int64_t now_ms = 0;              // keys expiring at or before this are skipped
  bool stream_extended_meta = true;
};

struct RdbSourceTotals {
  int rdb_version = 0;
  uint64_t keys = 0;             // yielded
  uint64_t expired_skipped = 0;  // already expired at now_ms (matching the filters)
  uint64_t filtered = 0;         // another db, name or type
};

// Throws RdbError (offset, what was expected) on a corrupt or truncated file.
RdbSourceTotals read_rdb_source(const std::string& path, const RdbSourceOptions& opts,
                                const std::function<void(const RdbKeyState&)>& sink);

}  // namespace migcheck
