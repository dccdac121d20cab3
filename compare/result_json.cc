// The JSON of a compare run's results, shared by the compare engines.
#include "result_json.h"

#include "json_fields.h"
#include "transient.h"
#include "wall_clock.h"

namespace migcheck {

nlohmann::json big_key_json(const BigKeyInfo& k) {
  nlohmann::json j = {{"db", k.db}, {"type", k.type}, {"size", k.size}};
  put_binary_key(j, k.key);
  return j;
}

nlohmann::json big_keys_json(int64_t count, const std::vector<BigKeyInfo>& listed) {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : listed) keys.push_back(big_key_json(k));
  return {{"count", count}, {"keys", keys}};
}

nlohmann::json databases_json(const std::vector<CompareResult::Database>& dbs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : dbs)
    out.push_back({{"source_db", d.dbs.source},
                   {"target_db", d.dbs.target},
                   {"keys_checked", d.keys_checked},
                   {"differences", d.differences}});
  return out;
}

nlohmann::json compare_totals_json(const CompareResult& r, bool sampled,
                                   const ReaderStats& source_reader, const ClockSkew& clock) {
  nlohmann::json rounds = nlohmann::json::array();
  for (const auto& rs : r.rounds)
    rounds.push_back({{"round", rs.round},
                      {"keys_checked", rs.keys_checked},
                      {"differences", rs.differences},
                      {"elapsed_ms", rs.elapsed_ms}});
  nlohmann::json by_kind = nlohmann::json::object(), by_type = nlohmann::json::object();
  for (auto& [k, v] : r.differences_by_kind) by_kind[k] = v;
  for (auto& [k, v] : r.differences_by_type) by_type[k] = v;
  return {{"keys_checked", r.keys_checked},
          {"keys_by_type", r.keys_by_type},
          {"target_keys_scanned", r.target_keys_scanned},
          {"differences", r.differences},
          {"differences_by_kind", by_kind},
          {"differences_by_type", by_type},
          {"rounds", rounds},
          {"elapsed_ms", r.elapsed_ms},
          {"keys_per_sec", r.keys_per_sec},
          {"sampled", sampled},
          {"starts_over", r.starts_over},
          {"waited_out", transient::totals_json()},
          {"clock_skew",
           {{"known", clock.known}, {"skew_ms", clock.skew_ms}, {"error_ms", clock.error_ms}}},
          {"source_reader", source_reader},
          {"target_reader", r.target_stats},
          {"databases", databases_json(r.databases)}};
}

RoundRecord round_record(int64_t run_id, const RoundSummary& rs) {
  RoundRecord rr;
  rr.run = run_id;
  rr.round = rs.round;
  rr.keys_checked = rs.keys_checked;
  rr.differences = rs.differences;
  // Started its elapsed time before it finished: a round resumed spans its
  // working time in all processes, and reopen() reads it back as such.
  rr.finished_ms = wall_ms();
  rr.started_ms = rr.finished_ms - rs.elapsed_ms;
  return rr;
}

}  // namespace migcheck
