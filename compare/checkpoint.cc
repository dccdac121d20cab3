// The compare engine's committed state and its checkpoint: batches are
// committed (stored and counted) in sequence, up to a producer's position,
// so the checkpoint's positions, counters and stored rows always describe
// the same batches; a resumed run drops the rows stored after it.
#include <iterator>

#include "compare_engine.h"
#include "digest.h"
#include "encoding.h"
#include "metrics.h"
#include "result_json.h"

namespace migcheck::compare_internal {

BigKeyInfo big_key_from_json(const nlohmann::json& j) {
  BigKeyInfo k;
  if (j.contains("key"))
    k.key = j["key"].get<std::string>();
  else
    k.key = base64_decode(j.value("key_base64", "")).value_or("");
  k.db = j.value("db", 0);
  k.type = j.value("type", "");
  k.size = j.value("size", int64_t{-1});
  return k;
}

// The committed state of round `round`, taken under the commit lock so
// that positions, counters and the stored rows agree.
nlohmann::json Engine::snapshot(int round) {
  std::lock_guard lock(commit_mu_);
  nlohmann::json by_type = nlohmann::json::object();
  for (auto& [t, n] : keys_by_type_) by_type[t] = n;
  nlohmann::json big_listed = nlohmann::json::array();
  for (const auto& k : big_listed_) big_listed.push_back(big_key_json(k));
  return {{"round", round},
          {"max_diff_id", store_.max_difference_id()},
          {"keys_checked", round_keys_.load()},
          {"differences", round_diffs_.load()},
          {"keys_by_type", by_type},
          {"target_keys_scanned", target_scanned_.load()},
          {"big_keys", {{"ids", big_ids_}, {"keys", big_listed}}},
          {"elapsed_ms", round_elapsed_base_ + since_ms(round_t0_)},
          {"run_elapsed_ms", run_.elapsed_ms()},
          {"run_ids", run_.watch().to_json()},
          {"starts_over", result_.starts_over},
          {"db_pairs", db_pairs_json(pairs_)},
          {"pair_keys", pair_keys_},
          {"source", streams_[0].position},
          {"target", streams_[1].position}};
}

void Engine::reset_round_state() {
  std::lock_guard lock(commit_mu_);
  streams_[0] = Stream{};
  streams_[1] = Stream{};
  round_keys_ = 0;
  round_diffs_ = 0;
  pass_pushed_ = pass_done_ = pass_found_ = 0;
  round_elapsed_base_ = 0;
  round_t0_ = std::chrono::steady_clock::now();
}

void Engine::save_checkpoint(int round) {
  run_.save_checkpoint(snapshot(round));
}

// A finished batch: committed with the batches before it once a position
// is reached, so the checkpoint never covers half of a producer step.
void Engine::commit(WorkItem::Side side, uint64_t seq, BatchResult r) {
  std::lock_guard lock(commit_mu_);
  // After a failed store write (a full disk) the batches in hand are half
  // moved: nothing more is committed, and the run fails with that error.
  if (commit_failed_) return;
  Stream& st = streams_[side == WorkItem::Side::Source ? 0 : 1];
  st.in_order.add(seq, std::move(r), [&](BatchResult& b) { commit_in_order(st, b); });
}

// The next batch of a stream in sequence (commit_mu_ held).
void Engine::commit_in_order(Stream& st, BatchResult& batch) {
  const bool at_position = batch.position.has_value();
  st.held.push_back(std::move(batch));
  if (!at_position) return;
  std::vector<Difference> diffs;
  for (auto& b : st.held)
    diffs.insert(diffs.end(), std::make_move_iterator(b.diffs.begin()),
                 std::make_move_iterator(b.diffs.end()));
  // Counted as stored: a key SCAN returned twice is recorded once, in the
  // totals and in the metric alike.
  int64_t nd = 0;
  try {
    nd = store_.add_differences(result_.run_id, diffs,
                                [](const Difference& d) { Metrics::get().differences(d.kind, 1); });
  } catch (...) {
    commit_failed_ = true;
    throw;
  }
  round_diffs_ += nd;
  progress_.add_differences(nd);
  for (auto& b : st.held) {
    round_keys_ += b.keys;
    progress_.add_keys(b.keys);
    Metrics::get().keys_checked(b.keys);
    target_scanned_ += b.target_keys;
    if (b.round == 1 && b.pair < pair_keys_.size()) pair_keys_[b.pair] += b.keys;
    for (auto& [t, n] : b.keys_by_type) keys_by_type_[t] += n;
    for (auto& k : b.big_keys)
      if (big_ids_.insert(element_id(k.key)).second && big_listed_.size() < kBigKeysListed)
        big_listed_.push_back(std::move(k));
  }
  st.position = std::move(*st.held.back().position);
  st.held.clear();
}

}  // namespace migcheck::compare_internal
