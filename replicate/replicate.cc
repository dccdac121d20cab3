// Replicate: scanner / event queue (main thread) -> per-worker inboxes,
// keys routed by hash so one key always meets the same copier (whose
// pipeline coalesces repeats and orders passes of a key) -> copy engine ->
// counters, lag histogram and not-copied keys in the store. The first pass of
// scan mode is resumable: every few seconds the scanner waits for the workers
// to drain, and its cursors, the counters and the store's outcome position
// then make a checkpoint that covers exactly the keys copied. This file: the
// run itself, the scan pass, checkpoints, totals and the progress line
// (workers: replicate_workers.cc; the live tail: live_loop.cc).
#include "replicate.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <thread>

#include "compare.h"
#include "errors.h"
#include "exit_codes.h"
#include "in_flight.h"
#include "log.h"
#include "metrics.h"
#include "progress.h"
#include "replicate_engine.h"
#include "replicate_options.h"
#include "resume.h"
#include "run.h"
#include "scanner.h"
#include "transient.h"

namespace migcheck {

const char* mode_name(ReplicateMode m) {
  return m == ReplicateMode::Scan ? "scan" : m == ReplicateMode::Live ? "live" : "liveonly";
}

namespace replicate_internal {
namespace {

std::string ms_text(double ms) {
  char buf[32];
  if (ms < 10)
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  else if (ms < 10000)
    std::snprintf(buf, sizeof buf, "%.0fms", ms);
  else
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000);
  return buf;
}

}  // namespace

void Engine::prepare() {
  src_main_ = std::make_unique<Client>(o_.source, source_client_);
  tgt_main_ = std::make_unique<Client>(o_.target, target_client_);
  bool same_db = o_.db_pairs.empty() && o_.source.db == o_.target.db;
  for (const DbPair& p : o_.db_pairs) same_db = same_db || p.source == p.target;
  if (o_.source.address() == o_.target.address() && same_db &&
      o_.source.unix_path == o_.target.unix_path && !tgt_main_->cluster())
    throw UsageError("source and target are the same database");
  source_facts_ = gather_facts(*src_main_);
  target_facts_ = gather_facts(*tgt_main_);
  if (o_.size_for_round_trip && !limiter_.limited()) {
    const InFlightSizes s = size_in_flight(*src_main_, *tgt_main_, batch_, scan_count_);
    batch_ = s.batch;
    scan_count_ = s.scan_count;
  }
  if (o_.mode != ReplicateMode::Scan) {
    // Refused before the run starts: events are followed on one db.
    resolve_pairs();
    if (pairs_.size() > 1)
      throw UsageError("live modes follow the keyspace notifications of one database, and " +
                       describe_db_pairs(pairs_) +
                       " hold keys: name one with --db N (scan mode copies them all)");
    check_notifications();
    if (worker_source_client_.read_from_replica) {
      // An event comes from the primary; a replica may not have the change
      // yet, and a stale copy would never be corrected.
      log::warn(
          "live mode copies from the primaries: --read-from replica applies to the scan only");
      worker_source_client_.read_from_replica = false;
    }
  }
}

// Every db that holds keys on either side, unless the options name pairs.
void Engine::resolve_pairs() {
  if (pairs_.empty())
    pairs_ = resolve_db_pairs(o_.db_pairs, o_.all_dbs, o_.source, o_.target, source_facts_,
                              target_facts_);
}

Client& Engine::scan_client(size_t pair) {
  if (scan_clients_.size() < pairs_.size()) scan_clients_.resize(pairs_.size());
  if (!scan_clients_[pair]) {
    Endpoint ep = o_.source;
    ep.db = pairs_[pair].source;
    scan_clients_[pair] = std::make_unique<Client>(ep, source_client_);
  }
  return *scan_clients_[pair];
}

// One pass over every db pair in turn. The position (cursors_) is
// {"pair", "cursors"}: the pair being scanned and its SCAN cursors.
bool Engine::scan_pass() {
  ScanOptions so;
  so.match = o_.match;
  if (o_.types.size() == 1) so.type = o_.types.front();
  so.count = scan_count_;
  so.limiter = limiter_.limited() ? &limiter_ : nullptr;
  so.partition = o_.partition;
  const bool first = result_.scan_passes == 0;
  size_t first_pair = 0;
  nlohmann::json saved;
  // {"pair", "cursors"}; a bare position (SCAN cursors, or the slots a
  // cluster's enumeration finished) is pair 0, before db pairs.
  if (first && resume_cursors_.is_object() && resume_cursors_.contains("pair")) {
    first_pair = resume_cursors_.value("pair", size_t{0});
    saved = resume_cursors_.value("cursors", nlohmann::json());
  } else if (first && (resume_cursors_.is_array() || resume_cursors_.is_object())) {
    saved = resume_cursors_;
  }
  const bool checkpointed = first && resumable();
  // Checkpointed from the start: a throttled first batch can take long, and
  // a run killed before any checkpoint could not be resumed.
  if (checkpointed && resume_cursors_.is_null()) {
    cursors_ = {{"pair", first_pair}, {"cursors", nullptr}};  // nothing scanned yet
    save_checkpoint();
  }
  run_.restart_checkpoint_clock();
  const uint64_t epoch = overflow_epoch_.load();
  ++result_.scan_passes;
  if (result_.scan_passes > 1)
    log::info("rescan " + std::to_string(result_.scan_passes - 1) + " of the source");
  std::vector<std::string> keys;
  const bool live = listener_ != nullptr;
  for (size_t pair = first_pair; pair < pairs_.size(); ++pair) {
    use_pair(pair);
    Scanner scanner(scan_client(pair), so);
    if (pair == first_pair && (saved.is_array() || saved.is_object()))
      scanner.restore_position(saved);
    for (;;) {
      if (stopping()) return false;
      // Scan mode starts over once the keys dispatched are written (run()).
      if (o_.mode == ReplicateMode::Scan && watch_->pending()) return true;
      keys.clear();
      const uint64_t outside_before = scanner.keys_outside();
      const bool more = scanner.next(keys);
      outside_.fetch_add(static_cast<int64_t>(scanner.keys_outside() - outside_before),
                         std::memory_order_relaxed);
      scanned_.fetch_add(static_cast<int64_t>(keys.size()), std::memory_order_relaxed);
      Metrics::get().keys_scanned("source", static_cast<int64_t>(keys.size()));
      if (pair_scanned_.size() < pairs_.size()) pair_scanned_.resize(pairs_.size(), 0);
      pair_scanned_[pair] += static_cast<int64_t>(keys.size());
      dispatch(keys, SteadyTime{});
      if (live) drain_events(Millis(0));
      if (checkpointed) {
        cursors_ = {{"pair", pair}, {"cursors", scanner.cursors_json()}};
        if (run_.checkpoint_due()) checkpoint_when_drained();
      }
      if (!more) break;
    }
  }
  covered_epoch_ = std::max(covered_epoch_, epoch);
  pass_end_ = std::chrono::steady_clock::now();
  return true;
}

std::string Engine::progress_line() {
  const int64_t secs = std::max<int64_t>(1, since_ms(started_) / 1000);
  std::string s = std::string("replicate [") + phase_.load() + "]: ";
  if (o_.mode != ReplicateMode::LiveOnly) {
    // Of how many: the source's keys in the dbs copied (INFO keyspace), when
    // no filter makes that count meaningless.
    const int64_t scanned = scanned_.load();
    int64_t total = 0;
    if (o_.match.empty() && o_.types.empty())
      for (const DbPair& p : pairs_)
        if (auto it = source_facts_.keys_per_db.find(p.source);
            it != source_facts_.keys_per_db.end())
          total += it->second;
    s += grouped(scanned) + " scanned";
    if (total > 0) {
      char pct[32];
      std::snprintf(
          pct, sizeof pct, " (%.1f%%)",
          std::min(100.0, 100.0 * static_cast<double>(scanned) / static_cast<double>(total)));
      s += " of " + grouped(total) + pct;
      const int64_t ms = since_ms(started_);
      if (std::strcmp(phase_.load(), "scan") == 0 && scanned > 0 && total > scanned && ms >= 1000)
        s += ", ETA " + format_duration(Millis(static_cast<int64_t>(
                            static_cast<double>(ms) * static_cast<double>(total - scanned) /
                            static_cast<double>(scanned))));
    }
    s += ", ";
  }
  s += grouped(copied_.load()) + " copied";
  if (by_type_.load()) s += " (" + grouped(by_type_.load()) + " by type)";
  s += ", " + grouped(deleted_.load()) + " deleted";
  if (skipped_.load()) s += ", " + grouped(skipped_.load()) + " skipped";
  s += ", " + grouped(failed_.load()) + " failed, " + format_bytes(bytes_.load()) + ", " +
       grouped(done_.load() / secs) + " keys/s";
  if (listener_) {
    LagStats l;
    {
      std::lock_guard lock(mu_);
      l = lag_.stats();
    }
    s += " | events " + grouped(static_cast<int64_t>(listener_->stats().events)) + ", queue " +
         grouped(static_cast<int64_t>(queue_.size())) + ", lag p50 " + ms_text(l.p50_ms) + " p99 " +
         ms_text(l.p99_ms);
  }
  return s;
}

nlohmann::json Engine::options_json() const {
  return replicate_options_json(o_);
}

nlohmann::json Engine::totals_json() const {
  nlohmann::json j = {{"mode", mode_name(o_.mode)},
                      {"dry_run", o_.dry_run},
                      {"interrupted", result_.interrupted},
                      {"keys_scanned", result_.keys_scanned},
                      {"scan_passes", result_.scan_passes},
                      {"starts_over", result_.starts_over},
                      {"waited_out", transient::totals_json()},
                      {"target_became_replica", result_.target_became_replica},
                      {"events", result_.events},
                      {"events_applied", result_.events_applied},
                      {"queue_overflows", result_.queue_overflows},
                      {"overflows_uncovered", result_.overflows_uncovered},
                      {"subscriber_reconnects", result_.subscriber_reconnects},
                      {"event_gaps",
                       {{"count", result_.event_gaps},
                        {"open", result_.event_gaps_open},
                        {"max_ms", result_.event_gap_max_ms},
                        {"subscription_moves", result_.subscription_moves},
                        {"sweeps", result_.gap_sweeps},
                        {"swept", result_.gap_swept},
                        {"extras_found", result_.gap_extras_found},
                        {"extras_deleted", result_.gap_extras_deleted},
                        {"extras_kept", result_.gap_extras_kept}}},
                      {"lag_ms",
                       {{"count", result_.lag.count},
                        {"p50", result_.lag.p50_ms},
                        {"p90", result_.lag.p90_ms},
                        {"p99", result_.lag.p99_ms},
                        {"max", result_.lag.max_ms}}},
                      {"elapsed_ms", result_.elapsed_ms},
                      {"keys_per_sec", result_.keys_per_sec}};
  nlohmann::json dbs = nlohmann::json::array();
  for (size_t p = 0; p < pairs_.size(); ++p)
    dbs.push_back({{"source_db", pairs_[p].source},
                   {"target_db", pairs_[p].target},
                   {"keys_scanned", p < pair_scanned_.size() ? pair_scanned_[p] : 0}});
  j["databases"] = dbs;
  if (o_.partition.active()) {
    nlohmann::json part = partition_json(o_.partition);
    part["keys_outside"] = {{"source", outside_.load()}};
    j["partition"] = part;
  }
  j.update(nlohmann::json(result_.copy));  // the copy counters, under their own names
  if (result_.verify_run) {
    j["verify_run"] = *result_.verify_run;
    j["verify_differences"] = result_.verify_differences;
  }
  return j;
}

CopyCounters Engine::copy_counters() const {
  CopyCounters c = copy_base_;
  for (const auto& w : workers_) c += w->counters();
  return c;
}

// The scanner waits (a few milliseconds: one pipeline step) until every key
// it dispatched is copied and its outcome stored: then the cursors, the
// counters and the outcome rows agree.
void Engine::checkpoint_when_drained() {
  while (!workers_drained()) {
    if (stopping()) return;
    std::this_thread::sleep_for(Millis(1));
  }
  save_checkpoint();
}

void Engine::check_target_role() {
  if (!target_was_primary_ || result_.target_became_replica) return;
  Reply r = tgt_main_->on_node(0, Command{"INFO", "replication"});
  if (!r.is_string() || info_field(r.str, "role") != "slave") return;
  result_.target_became_replica = true;
  log::warn("the target " + o_.target.display() + " became a replica of " +
            info_field(r.str, "master_host") + ":" + info_field(r.str, "master_port") +
            " during the run: its primary's data replaces what was copied, so keys are no longer "
            "counted as copied");
}

void Engine::save_checkpoint() {
  nlohmann::json j = {{"cursors", cursors_},
                      {"db_pairs", db_pairs_json(pairs_)},
                      {"pair_scanned", pair_scanned_},
                      {"keys_scanned", scanned_.load()},
                      {"copy", copy_counters()},
                      {"max_outcome_id", store_.max_outcome_id()},
                      {"elapsed_ms", elapsed_ms()},
                      {"run_ids", watch_->to_json()},
                      {"starts_over", result_.starts_over}};
  run_.save_checkpoint(j);
  check_target_role();
}

// --resume: outcomes stored after the checkpoint are dropped (those keys are
// copied again: RESTORE REPLACE makes that harmless), counters continue.
void Engine::reopen() {
  // Claimed before anything of the run is read or rolled back.
  nlohmann::json cp = run_.resume(o_.resume_run);
  result_.run_id = o_.resume_run;
  resume_cursors_ = cp.value("cursors", nlohmann::json());
  pairs_ = db_pairs_from_json(cp.value("db_pairs", nlohmann::json()));
  pair_scanned_ = cp.value("pair_scanned", std::vector<int64_t>{});
  if (!resume_cursors_.is_array() && !resume_cursors_.is_object())
    throw StoreError("cannot resume run " + std::to_string(o_.resume_run) +
                     ": its checkpoint has no scan position");
  scanned_ = cp.value("keys_scanned", int64_t{0});
  copy_base_ = cp.value("copy", CopyCounters{});
  result_.starts_over = cp.value("starts_over", 0);
  elapsed_base_ = cp.value("elapsed_ms", int64_t{0});
  store_.rollback_outcomes(result_.run_id, cp.value("max_outcome_id", int64_t{0}));
  run_.reopened();
}

// Scan mode, every key dispatched written: a server restarted under the
// pass, so its cursors are void (a new process hashes with a new seed) and
// the target may have lost writes it acknowledged. The pass starts over
// from the beginning, with the outcomes and counters of this one dropped,
// so every key is copied after the restart and counted once.
void Engine::start_pass_over() {
  watch_->start_over(result_.starts_over, "the scan pass",
                     "SCAN cursors do not survive a restart and writes it acknowledged may be "
                     "lost, so the pass starts over from the beginning");
  store_.rollback_outcomes(result_.run_id, 0);
  CopyCounters done;
  for (const auto& w : workers_) done += w->counters();
  copy_base_ = CopyCounters{};
  copy_base_ -= done;
  scanned_ = 0;
  result_.scan_passes = 0;
  resume_cursors_ = nullptr;
  cursors_ = nlohmann::json::array();
  std::fill(pair_scanned_.begin(), pair_scanned_.end(), 0);
  {
    std::lock_guard lock(mu_);
    result_.failures.clear();
    result_.skipped.clear();
  }
  if (resumable()) save_checkpoint();
}

void Engine::finish_abnormally(SteadyTime t0, const char* status) {
  (void)t0;
  run_.abort();
  if (listener_) listener_->stop();
  stop_workers();
  run_.end_abnormally(
      status,
      [&] {
        result_.copy = copy_counters();
        result_.elapsed_ms = elapsed_ms();
        return totals_json();
      },
      [&] { return resumable() && run_.has_stored_checkpoint(); });
}

void Engine::verify() {
  CompareOptions co;
  co.source = o_.source;
  co.target = o_.target;
  co.db_pairs = pairs_;
  co.source_client = o_.source_client;
  co.target_client = o_.target_client;
  // In-flight changes of a live source settle between rounds.
  co.rounds = o_.mode == ReplicateMode::Scan ? 2 : 3;
  co.interval = Millis(1000);
  co.match = o_.match;
  co.types = o_.types;
  co.partition = o_.partition;
  co.target_scan = o_.types.empty();
  co.scan_count = o_.scan_count;
  co.batch = o_.batch;
  co.connections = std::max<size_t>(o_.connections, 1);
  co.size_for_round_trip = o_.size_for_round_trip;
  co.max_ops_per_sec = o_.max_ops_per_sec;
  co.progress = o_.progress;
  co.store_path = o_.store_path;
  co.stop = o_.stop;
  log::info("verifying: comparing source and target");
  CompareResult r = run_compare(co, store_);
  result_.verify_run = r.run_id;
  result_.verify_differences = r.differences;
  if (r.differences > 0)
    log::warn(std::to_string(r.differences) +
              " difference(s) remain after replication (compare run " + std::to_string(r.run_id) +
              "; fix them with: migcheck repair)");
}

ReplicateResult Engine::run() {
  const SteadyTime t0 = std::chrono::steady_clock::now();
  started_ = t0;
  prepare();
  if (o_.resume_run > 0) {
    reopen();
  } else {
    result_.run_id = run_.begin(o_.source, o_.target, options_json());
  }
  log::info(std::string(o_.dry_run ? "dry run: " : "") + (o_.resume_run > 0 ? "resuming " : "") +
            "replicate run " + std::to_string(result_.run_id) + " (" + mode_name(o_.mode) +
            "): " + o_.source.display() + " db " + std::to_string(o_.source.db) + " -> " +
            o_.target.display() + " db " + std::to_string(o_.target.db));
  try {
    const ServerFacts& sf = source_facts_;
    const ServerFacts& tf = target_facts_;
    resolve_pairs();  // a resumed run has its pairs from the checkpoint
    log::info("copying " + describe_db_pairs(pairs_));
    const RunServers servers{sf, tf};
    run_.record_servers(servers);
    target_was_primary_ = tf.mode != "cluster" && tf.role == "master";
    result_.source_desc = sf.engine + " " + sf.version + " " + sf.mode;
    result_.target_desc = tf.engine + " " + tf.version + " " + tf.mode;
    servers.note_rdb_versions(o_.structural);

    if (o_.mode != ReplicateMode::Scan) {
      listener_ = std::make_unique<KeyspaceListener>(
          *src_main_, pairs_.front().source, keyevent_, o_.source_client.conn,
          [this](std::string_view key, std::string_view, SteadyTime at) { on_event(key, at); });
      listener_->require_types(o_.types);
      listener_->start();
      log::info("subscribed to keyspace notifications on " + std::to_string(listener_->nodes()) +
                " node(s)");
    }
    use_pair(0);

    Progress ticker(o_.progress, [this] { return progress_line(); });
    bool complete = true;
    if (o_.mode != ReplicateMode::LiveOnly) {
      phase_ = "scan";
      for (;;) {
        complete = scan_pass();
        // The first pass is complete once every key it found has been written.
        // (Live modes go straight on: with a busy source the workers may never
        // be idle, and the live loop feeds them events meanwhile.)
        while (!listener_ && complete && !workers_drained() && !stopping())
          std::this_thread::sleep_for(Millis(5));
        if (o_.mode != ReplicateMode::Scan || !complete || stopping() || !watch_->pending()) break;
        start_pass_over();
      }
      result_.keys_per_sec = static_cast<double>(scanned_.load()) * 1000.0 /
                             static_cast<double>(std::max<int64_t>(1, elapsed_ms()));
      if (complete && !stopping()) {
        log::info("scan pass done: " + grouped(scanned_.load()) + " keys in " +
                  format_duration(Millis(elapsed_ms())));
      }
    }
    if (listener_ && complete && !stopping()) live_loop();
    // Drain: no new events, apply what is queued, let the workers finish.
    phase_ = "drain";
    if (listener_) listener_->stop();
    if (!abort_) {
      while (queue_.size() > 0) drain_events(Millis(0));
      drain_events(Millis(0));
    }
    stop_workers();
    ticker.finish();
    if (worker_error_) std::rethrow_exception(worker_error_);
    // Stopped by a signal before the first pass was through: the target
    // holds a part. (In the live tail a signal is the normal way to stop.)
    result_.interrupted = !complete;
    // Every key dispatched was copied and stored: the exact resume point.
    if (result_.interrupted && resumable()) {
      save_checkpoint();
      log::warn(resume_hint("replicate", result_.run_id));
    }
    result_.copy = copy_counters();
    result_.keys_scanned = scanned_.load();
    if (listener_) {
      auto ls = listener_->stats();
      result_.events = ls.events;
      result_.subscriber_reconnects = ls.reconnects;
      result_.event_gaps = ls.gaps;
      result_.event_gaps_open = ls.gaps_open + (listener_->take_events_lost() ? 1 : 0);
      result_.event_gap_max_ms = ls.gap_max_ms;
      result_.subscription_moves = ls.moves;
      if (!abort_) recheck_kept();
      result_.gap_sweeps = sweeps_;
      result_.gap_swept = swept_;
      result_.gap_extras_found = extras_found_;
      result_.gap_extras_deleted = extras_deleted_.load();
      result_.gap_extras_kept = extras_kept_;
    }
    result_.events_applied = applied_.load();
    result_.queue_overflows = overflow_epoch_.load();
    result_.overflows_uncovered =
        overflow_epoch_.load() > covered_epoch_ ? overflow_epoch_.load() - covered_epoch_ : 0;
    {
      std::lock_guard lock(mu_);
      result_.lag = lag_.stats();
    }
    if (o_.verify && !o_.dry_run && !result_.interrupted && !(o_.stop && o_.stop->load())) verify();
    result_.elapsed_ms = elapsed_ms();
    if (!o_.dry_run) check_target_role();
    const bool not_copied = result_.copy.failed > 0 || result_.copy.skipped > 0 ||
                            result_.overflows_uncovered > 0 || result_.event_gaps_open > 0 ||
                            result_.gap_extras_kept > 0;
    result_.exit_code = result_.interrupted || result_.target_became_replica ? kExitError
                        : (not_copied || result_.verify_differences > 0)     ? kExitDiffer
                                                                             : kExitSame;
    run_.finish(result_.interrupted ? "interrupted" : "done", result_.exit_code, totals_json());
  } catch (...) {
    finish_abnormally(t0, abnormal_status());
    throw;
  }
  return result_;
}

}  // namespace replicate_internal

ReplicateResult run_replicate(const ReplicateOptions& opts, Store& store) {
  replicate_internal::Engine engine(opts, store);
  return engine.run();
}

}  // namespace migcheck
