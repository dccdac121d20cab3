// The snapshot compare run's totals (snapshot_totals.h).
#include "snapshot_totals.h"

#include "result_json.h"

namespace migcheck {

nlohmann::json snapshot_totals_json(const SnapshotCompareOptions& o,
                                    const SnapshotCompareResult& res, const ClockSkew& clock,
                                    int64_t now_ms, bool big_known) {
  const auto& r = res.compare;
  // The source is the file: its "reader" read every key once.
  ReaderStats file_stats;
  file_stats.keys = static_cast<uint64_t>(r.keys_checked);
  nlohmann::json totals = compare_totals_json(r, res.sampled, file_stats, clock);
  totals["snapshot"] = {{"source_file", o.source_file},
                        {"target_file", o.target_file},
                        {"rdb_version", res.rdb_version},
                        {"now_ms", now_ms},
                        {"expired_skipped", res.expired_skipped},
                        {"target_expired_skipped", res.target_expired_skipped}};
  if (big_known) totals["big_keys"] = big_keys_json(r.big_keys, r.big_keys_listed);
  return totals;
}

ServerFacts snapshot_file_facts(const std::string& path, int rdb_version,
                                const std::map<int, int64_t>& keys_per_db) {
  ServerFacts f;
  f.endpoint = "file://" + path;
  f.engine = "snapshot";
  f.version = "RDB " + std::to_string(rdb_version);
  f.mode = "file";
  f.keys_per_db = keys_per_db;
  f.keyspace_known = true;
  f.rdb_version = rdb_version;
  return f;
}

}  // namespace migcheck
