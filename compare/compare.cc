// The compare engine's run lifecycle: a new run or a resumed one, the rounds
// in turn (each waiting its interval, then re-checking the differences of the
// round before), starting over when a server restarted, and the run's end.
// The other parts of the engine: see compare_engine.h.
#include <algorithm>
#include <chrono>

#include "compare_engine.h"
#include "errors.h"
#include "exit_codes.h"
#include "in_flight.h"
#include "log.h"
#include "resume.h"
#include "stop_token.h"

namespace migcheck {
namespace compare_internal {

Engine::Engine(const CompareOptions& o, Store& store)
    : EngineBase(o, store, "compare"),
      limiter_(o.max_ops_per_sec, run_.stop_flag()),
      progress_(o.progress) {
  batch_ = limiter_.paced_batch(o.batch);
  scan_count_ = o.scan_count;
  workers_.resize(std::max<size_t>(o.connections, 1));
}

CompareResult Engine::run() {
  run_.start();
  int first_round = 1;
  if (o_.resume_run > 0) {
    first_round = reopen();
  } else {
    result_.run_id = run_.begin(o_.source, o_.target, options_json());
  }
  log::info(std::string(o_.resume_run > 0 ? "resuming " : "") + "compare run " +
            std::to_string(result_.run_id) + ": " + o_.source.display() + " db " +
            std::to_string(o_.source.db) + " -> " + o_.target.display() + " db " +
            std::to_string(o_.target.db) + " (store " + store_.path() + ")");
  try {
    prepare();
    for (int round = first_round; round <= o_.rounds; ++round) {
      if (run_.watch().pending()) {
        start_over();
        round = 1;
      }
      const bool resumed = !resume_.is_null() && round == first_round;
      // The round's start is checkpointed before the wait, so a stop
      // during the wait resumes with this round, not the one before.
      if (!resumed) {
        reset_round_state();
        save_checkpoint(round);
      }
      if (round > 1 && !resumed) {
        log::info("round " + std::to_string(round - 1) + ": " +
                  std::to_string(result_.rounds.back().differences) +
                  " difference(s); re-checking them in " + format_duration(o_.interval));
        progress_.countdown("round " + std::to_string(round),
                            std::chrono::steady_clock::now() + o_.interval);
        wait_interval();
      }
      run_round(round, resumed);
      if (run_.watch().pending()) {
        round = 0;  // start_over() at the top of the loop
        continue;
      }
      if (result_.rounds.back().differences == 0) break;
    }
    result_.elapsed_ms = run_.elapsed_ms();
    finish();
  } catch (...) {
    // A UsageError: refused before any work (e.g. a resume whose nodes
    // changed); the checkpoint stays usable.
    try_finish(abnormal_status<UsageError>());
    throw;
  }
  return result_;
}

// Resume: validates the run (the command layer has applied its options),
// drops what was stored after its checkpoint and loads the finished rounds
// and counters. Returns the round to continue.
int Engine::reopen() {
  const int64_t id = o_.resume_run;
  // Claimed (and checked as resumable_run() checks), its run_ids back in the watch.
  nlohmann::json j = run_.resume(id, true);
  result_.run_id = id;
  resume_ = j;
  run_.set_elapsed_base(j.value("run_elapsed_ms", int64_t{0}));
  result_.starts_over = j.value("starts_over", 0);
  const int round = j.value("round", 1);
  store_.rollback_run(id, j.value("max_diff_id", int64_t{0}), round - 1);
  for (const auto& r : store_.rounds(id)) {
    RoundSummary rs;
    rs.round = r.round;
    rs.keys_checked = r.keys_checked;
    rs.differences = r.differences;
    // A round's record spans its working time, across resumes (run_round).
    rs.elapsed_ms = std::max<int64_t>(0, r.finished_ms - r.started_ms);
    result_.rounds.push_back(rs);
  }
  if (!result_.rounds.empty()) set_round1(result_.rounds.front());
  if (j.contains("keys_by_type") && j["keys_by_type"].is_object())
    for (const auto& el : j["keys_by_type"].items())
      keys_by_type_[el.key()] = el.value().get<int64_t>();
  target_scanned_ = j.value("target_keys_scanned", int64_t{0});
  // The db pairs resolved when the run started: positions refer to them.
  pairs_ = db_pairs_from_json(j.value("db_pairs", nlohmann::json()));
  pair_keys_ = j.value("pair_keys", std::vector<int64_t>{});
  // A checkpoint without big_keys (written before they were recorded)
  // leaves them unknown: totals then carry none rather than a wrong count.
  if (auto bk = j.find("big_keys"); bk != j.end() && bk->is_object()) {
    for (const auto& h : bk->value("ids", nlohmann::json::array()))
      big_ids_.insert(h.get<uint64_t>());
    for (const auto& k : bk->value("keys", nlohmann::json::array()))
      big_listed_.push_back(big_key_from_json(k));
    big_keys_known_ = round > 1;
  }
  run_.reopened();
  return round;
}

// A server restarted under the run (or while it was stopped): everything
// stored so far is dropped, and round 1 starts again with fresh cursors.
void Engine::start_over() {
  run_.watch().start_over(result_.starts_over, "the compare",
                          "SCAN cursors do not survive a restart and writes it acknowledged may be "
                          "lost, so the compare starts over at round 1");
  store_.rollback_run(result_.run_id, 0, 0);
  result_.rounds.clear();
  keys_by_type_.clear();
  target_scanned_ = 0;
  target_scan_settled_ = false;
  std::fill(pair_keys_.begin(), pair_keys_.end(), 0);
  big_ids_.clear();
  big_listed_.clear();
  big_keys_known_ = false;
  resume_ = nullptr;
  run_.clear_abort();
}

void Engine::try_finish(const char* status) {
  run_.abort();
  run_.end_abnormally(
      status,
      [&] {
        aggregate();
        result_.elapsed_ms = run_.elapsed_ms();
        return totals_json();
      },
      // Left resumable (from its last checkpoint), as an interrupted run is.
      [&] { return std::string_view(status) == "failed" && run_.checkpointed(); });
}

void Engine::size_for_round_trip() {
  if (sized_for_rtt_ || !o_.size_for_round_trip || limiter_.limited()) return;
  sized_for_rtt_ = true;
  const InFlightSizes s = size_in_flight(*src_main_, *tgt_main_, batch_, scan_count_);
  batch_ = s.batch;
  scan_count_ = s.scan_count;
}

void Engine::prepare() {
  src_main_ = std::make_unique<Client>(o_.source, source_client_);
  tgt_main_ = std::make_unique<Client>(o_.target, target_client_);
  const RunServers servers = RunServers::gather(*src_main_, *tgt_main_);
  run_.record_servers(servers);
  const ServerFacts& sf = servers.source;
  const ServerFacts& tf = servers.target;
  result_.source_desc = describe_server(sf);
  result_.target_desc = describe_server(tf);
  log::info("source: " + result_.source_desc + "; target: " + result_.target_desc);
  size_for_round_trip();
  const auto sn = src_main_->scan_nodes(), tn = tgt_main_->scan_nodes();
  clock_ = clock_skew(src_main_->clock(sn.empty() ? 0 : sn.front()),
                      tgt_main_->clock(tn.empty() ? 0 : tn.front()));
  if (auto w = skew_warning(clock_, o_.ttl_tolerance)) log::warn(*w);
  // Stream counters that only 7.0+ keeps cannot be compared with an older server.
  stream_ext_ = servers.stream_extended();
  if (!stream_ext_)
    log::warn(
        "a server older than 7.0: stream entries-added, max-deleted-entry-id and entries-read "
        "are not compared");
  // A resumed run keeps the pairs it started with (its positions refer to them).
  if (pairs_.empty())
    pairs_ = resolve_db_pairs(o_.db_pairs, o_.all_dbs, o_.source, o_.target, sf, tf);
  pair_keys_.resize(pairs_.size(), 0);
  log::info("comparing " + describe_db_pairs(pairs_));
  source_keys_ = 0;
  for (const DbPair& p : pairs_) {
    if (o_.source.address() == o_.target.address() && p.source == p.target &&
        o_.source.unix_path == o_.target.unix_path)
      log::warn("source and target are the same database: every key will compare equal");
    auto it = sf.keys_per_db.find(p.source);
    source_keys_ += it == sf.keys_per_db.end() ? 0 : it->second;
  }
  if (o_.sample > 0 && static_cast<int64_t>(o_.sample) >= source_keys_) {
    log::info("--sample " + std::to_string(o_.sample) + " covers the whole source (" +
              std::to_string(source_keys_) + " keys): checking every key");
    sample_ = 0;
  } else {
    sample_ = o_.sample;
  }
  if (!o_.target_scan)
    log::info("--no-target-scan: keys that exist only on the target are not looked for");
  if (src_main_->cluster() && o_.source_client.read_from_replica)
    log::info(
        "reading the source from replicas: replication lag there shows as differences in early "
        "rounds");
}

void Engine::wait_interval() {
  const auto until = std::chrono::steady_clock::now() + o_.interval;
  while (std::chrono::steady_clock::now() < until) {
    check_stop();
    // On the stop token: a signal ends the wait at once (the stop flag of a
    // caller other than a signal is polled).
    stop_token::wait_for(std::min<std::chrono::steady_clock::duration>(
        until - std::chrono::steady_clock::now(), Millis(50)));
  }
  check_stop();
}

void Engine::check_stop() {
  if (run_.stop_requested()) throw Interrupted(resume_hint("compare", result_.run_id));
}

}  // namespace compare_internal

CompareResult run_compare(const CompareOptions& opts, Store& store) {
  if (opts.rounds < 1) throw UsageError("--rounds must be at least 1");
  compare_internal::Engine engine(opts, store);
  return engine.run();
}

}  // namespace migcheck
