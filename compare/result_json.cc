// The JSON of a compare run's results, shared by the compare engines.
#include "result_json.h"

#include "encoding.h"
#include "wall_clock.h"

namespace migcheck {

nlohmann::json reader_stats_json(const ReaderStats& s) {
  return {{"keys", s.keys},
          {"steps", s.steps},
          {"commands", s.commands},
          {"chunked_keys", s.chunked_keys},
          {"chunk_commands", s.chunk_commands},
          {"unstable", s.unstable},
          {"errors", s.errors}};
}

nlohmann::json big_key_json(const BigKeyInfo& k) {
  nlohmann::json j = {{"db", k.db}, {"type", k.type}, {"size", k.size}};
  if (is_valid_utf8(k.key))
    j["key"] = k.key;
  else
    j["key_base64"] = base64_encode(k.key);
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
