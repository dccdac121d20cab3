// The compare engine's records of a run: the options it was started with
// (options_json), its totals (totals.* in the store, read by reports) and
// the CompareResult, summed from the committed counters and the workers'
// readers once the run ends.
#include "compare_engine.h"
#include "compare_options.h"
#include "exit_codes.h"
#include "result_json.h"

namespace migcheck::compare_internal {
nlohmann::json Engine::options_json() const {
  return compare_options_json(o_);
}

void Engine::set_round1(const RoundSummary& rs) {
  result_.keys_checked = rs.keys_checked;
  result_.keys_per_sec = rs.elapsed_ms > 0 ? 1000.0 * static_cast<double>(rs.keys_checked) /
                                                 static_cast<double>(rs.elapsed_ms)
                                           : 0;
}

nlohmann::json Engine::totals_json() {
  nlohmann::json totals = compare_totals_json(result_, sample_ > 0, result_.source_stats, clock_);
  if (o_.partition.active()) {
    nlohmann::json part = partition_json(o_.partition);
    part["keys_outside"] = {{"source", outside_[0].load()}, {"target", outside_[1].load()}};
    totals["partition"] = part;
  }
  // Only a complete round 1 has looked at every key: before that, no count
  // (the report says "not evaluated") rather than a partial one.
  if (big_keys_known_)
    totals["big_keys"] = big_keys_json(result_.big_keys, result_.big_keys_listed);
  return totals;
}

size_t Engine::pair_of(int source_db) const {
  for (size_t p = 0; p < pairs_.size(); ++p)
    if (pairs_[p].source == source_db) return p;
  return pairs_.size();
}

// Per db pair: round 1 keys, and the difference rows of the last round.
void Engine::collect_databases() {
  result_.databases.clear();
  std::vector<int64_t> diffs(pairs_.size(), 0);
  if (!result_.rounds.empty()) {
    DifferenceFilter f;
    f.round = result_.rounds.back().round;
    store_.for_each_difference(result_.run_id, f, [&](const Difference& d) {
      if (size_t p = pair_of(d.db); p < diffs.size()) ++diffs[p];
    });
  }
  std::lock_guard lock(commit_mu_);
  for (size_t p = 0; p < pairs_.size(); ++p)
    result_.databases.push_back({pairs_[p], p < pair_keys_.size() ? pair_keys_[p] : 0, diffs[p]});
}

// Sums the workers' counters into the result (once; workers are joined).
void Engine::aggregate() {
  if (aggregated_) return;
  aggregated_ = true;
  {
    std::lock_guard lock(commit_mu_);
    for (auto& [t, n] : keys_by_type_) result_.keys_by_type[t] += n;
    result_.big_keys = static_cast<int64_t>(big_ids_.size());
    result_.big_keys_listed = big_listed_;
  }
  for (auto& per_pair : workers_)
    for (auto& [pair, w] : per_pair) {
      for (KeyReader* r : {w.src_reader.get(), w.src_retry.get(), w.src_exists.get()})
        if (r) result_.source_stats += r->stats();
      for (KeyReader* r : {w.tgt_reader.get(), w.tgt_retry.get(), w.tgt_meta.get()})
        if (r) result_.target_stats += r->stats();
    }
  collect_databases();
  result_.target_keys_scanned = target_scanned_.load();
  result_.target_scan_settled = target_scan_settled_.load();
}

void Engine::finish() {
  aggregate();
  const RoundSummary& last = result_.rounds.back();
  result_.differences = last.differences;
  result_.differences_by_kind = store_.count_by_kind(result_.run_id, last.round);
  result_.differences_by_type = store_.count_by_type(result_.run_id, last.round);
  result_.exit_code = result_.differences > 0 ? kExitDiffer : kExitSame;
  run_.finish("done", result_.exit_code, totals_json());
}

}  // namespace migcheck::compare_internal
