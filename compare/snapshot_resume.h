// What a snapshot compare (snapshot_compare.h) records to be resumed: its
// options as the run keeps them (and the scope read back from them), and
// the counters of its checkpoint. The checkpoint itself is
//   {"file": file_identity, "round", "offset", "now_ms", "max_diff_id",
//    "elapsed_ms", "run_ids", "counters": SnapshotCounters}
// where, in round 1, every key of the file starting before "offset" is
// stored and counted (a resumed pass parses the file from the start and
// checks only the keys after it); "offset" is the maximum once the file's
// stream is through (the scan for extras is then done again), and a round
// 2+ checkpoint is the start of that round (it is done again).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "resume.h"
#include "snapshot_compare.h"

namespace migcheck {

// The file's stream is through: no key left after this offset.
inline constexpr uint64_t kStreamDone = std::numeric_limits<uint64_t>::max();

struct SnapshotCounters {
  int64_t round_keys = 0, round_diffs = 0, round_ms = 0;
  int64_t target_scanned = 0;
  int64_t big_count = 0;
  std::vector<BigKeyInfo> big_listed;
  std::map<int, int64_t> db_keys;  // round 1 keys checked per source db
  std::map<std::string, int64_t> keys_by_type;
  std::map<int, int> pairs;  // source db -> target db compared
  uint64_t expired_skipped = 0;
  int rdb_version = 0;
  bool sampled = false;  // round 1 checked a sample (--sample)
};
// Big keys as big_key_json writes them, for the counters' JSON below.
void to_json(nlohmann::json& j, const BigKeyInfo& k);
void from_json(const nlohmann::json& j, BigKeyInfo& k);
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SnapshotCounters, round_keys, round_diffs, round_ms,
                                                target_scanned, big_count, big_listed, db_keys,
                                                keys_by_type, pairs, expired_skipped, rdb_version,
                                                sampled)

// "db 1 -> db 2", "dbs 0:0,3:5" or "every db": a run's scope, for refusals.
std::string snapshot_scope_text(const std::optional<int>& db, const std::optional<int>& target_db,
                                const std::vector<DbPair>& pairs = {});

// The options recorded with a snapshot compare run.
nlohmann::json snapshot_compare_options_json(const SnapshotCompareOptions& o);

// --resume of `run`: its recorded options replace `o`'s as a live compare's
// resume does (apply_recorded: the speed and load flags of `given` stay,
// and are written into run.options), and so does its scope (dbs). Returns
// the flags of `given` that the run's values replace. Throws UsageError for
// a run that did not compare a file with a server, and for a target db given
// on the command line (a target URI naming a db, --db, --target-db,
// --db-map) other than the run's.
std::vector<std::string> apply_recorded_snapshot_compare(ResumableRun& run,
                                                         const std::vector<std::string>& given,
                                                         SnapshotCompareOptions& o);

}  // namespace migcheck
