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
  nlohmann::json totals = compare_totals_json(r, false, file_stats, clock);
  totals["snapshot"] = {{"source_file", o.source_file},
                        {"target_file", o.target_file},
                        {"rdb_version", res.rdb_version},
                        {"now_ms", now_ms},
                        {"expired_skipped", res.expired_skipped},
                        {"target_expired_skipped", res.target_expired_skipped}};
  if (big_known) totals["big_keys"] = big_keys_json(r.big_keys, r.big_keys_listed);
  return totals;
}

}  // namespace migcheck
