// The snapshot compare run's totals (snapshot_totals.h).
#include "snapshot_totals.h"

#include "result_json.h"
#include "transient.h"

namespace migcheck {

nlohmann::json snapshot_totals_json(const SnapshotCompareOptions& o,
                                    const SnapshotCompareResult& res, const ClockSkew& clock,
                                    int64_t now_ms, bool big_known) {
  const auto& r = res.compare;
  nlohmann::json rounds = nlohmann::json::array();
  for (const auto& rs : r.rounds)
    rounds.push_back({{"round", rs.round},
                      {"keys_checked", rs.keys_checked},
                      {"differences", rs.differences},
                      {"elapsed_ms", rs.elapsed_ms}});
  nlohmann::json by_kind = nlohmann::json::object(), by_type = nlohmann::json::object();
  for (auto& [k, v] : r.differences_by_kind) by_kind[k] = v;
  for (auto& [k, v] : r.differences_by_type) by_type[k] = v;
  ReaderStats file_stats;
  file_stats.keys = static_cast<uint64_t>(r.keys_checked);
  nlohmann::json totals = {
      {"keys_checked", r.keys_checked},
      {"keys_by_type", r.keys_by_type},
      {"target_keys_scanned", r.target_keys_scanned},
      {"differences", r.differences},
      {"differences_by_kind", by_kind},
      {"differences_by_type", by_type},
      {"rounds", rounds},
      {"elapsed_ms", r.elapsed_ms},
      {"keys_per_sec", r.keys_per_sec},
      {"sampled", false},
      {"starts_over", 0},
      {"waited_out", transient::totals_json()},
      {"clock_skew",
       {{"known", clock.known}, {"skew_ms", clock.skew_ms}, {"error_ms", clock.error_ms}}},
      {"source_reader", reader_stats_json(file_stats)},
      {"target_reader", reader_stats_json(r.target_stats)},
      {"snapshot",
       {{"source_file", o.source_file},
        {"target_file", o.target_file},
        {"rdb_version", res.rdb_version},
        {"now_ms", now_ms},
        {"expired_skipped", res.expired_skipped},
        {"target_expired_skipped", res.target_expired_skipped}}}};
  totals["databases"] = databases_json(r.databases);
  if (big_known) totals["big_keys"] = big_keys_json(r.big_keys, r.big_keys_listed);
  return totals;
}

}  // namespace migcheck
