// Repair: differences of a compare run -> bounded queue of batches -> worker
// threads (copy engine, then KeyReaders on both sides to verify) -> outcomes
// in the store, committed in the order of the differences so that one
// position (the last difference id done) and the counters up to it make a
// resume checkpoint. Memory is bounded by the queue and the batch size.
#include "repair.h"

#include "rate_limiter.h"
#include "stop_token.h"
#include "transient.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "classify.h"
#include "db_pairs.h"
#include "engine_base.h"
#include "errors.h"
#include "exit_codes.h"
#include "field_expiry_check.h"
#include "log.h"
#include "metrics.h"
#include "ordered_commit.h"
#include "progress.h"
#include "rate_limiter.h"
#include "reader.h"
#include "repair_options.h"
#include "resume.h"
#include "run.h"
#include "server_info.h"
#include "work_queue.h"

namespace migcheck {
namespace {

constexpr size_t kMaxFailuresKept = 20;

// Differences of a few keys, numbered in the order they were read.
struct Batch {
  uint64_t seq = 0;
  int64_t last_id = 0;  // the largest difference id in it
  std::vector<Difference> diffs;
};

// What a worker did with a batch, waiting for its turn to be committed.
struct BatchDone {
  int64_t last_id = 0;
  int64_t rows = 0;  // difference rows (the progress unit)
  std::vector<Outcome> outcomes;
  RepairResult tally;  // counts, failures and the copy counters of this batch only
};

// One worker's connections for one source db.
struct Side {
  std::unique_ptr<Client> src, tgt;
  std::unique_ptr<Copier> copier;
  std::unique_ptr<KeyReader> src_reader, tgt_reader;
};

class Engine : EngineBase<RepairOptions> {
 public:
  Engine(const RepairOptions& o, Store& store)
      : EngineBase(o, store, "repair"),
        limiter_(o.max_ops_per_sec, run_.stop_flag()),
        progress_(o.progress) {
    partition_ = o.partition;
  }

  RepairResult run() {
    run_.start();
    nlohmann::json cp;
    // Claimed before anything of the run is read or rolled back.
    if (o_.resume_run > 0) cp = run_.resume(o_.resume_run);
    prepare();
    if (o_.resume_run > 0) {
      reopen(cp);
    } else {
      result_.run_id = run_.begin(o_.source, o_.target, options_json(), result_.compare_run);
    }
    log::info(std::string(o_.dry_run ? "dry run: " : "") + (o_.resume_run > 0 ? "resuming " : "") +
              "repair run " + std::to_string(result_.run_id) + " of compare run " +
              std::to_string(result_.compare_run) + " (round " + std::to_string(result_.round) +
              "): " + o_.source.display() + " -> " + o_.target.display());
    try {
      facts();
      work();
      // A key verified before a target restart may have lost its write.
      while (run_.watch().pending()) {
        start_over();
        work();
      }
      result_.elapsed_ms = elapsed_ms();
      const int64_t remaining =
          o_.dry_run ? result_.planned + result_.kept_extra + result_.skipped + result_.failed
                     : result_.failed + result_.kept_extra + result_.skipped;
      result_.exit_code = remaining > 0 ? kExitDiffer : kExitSame;
      run_.finish("done", result_.exit_code, totals_json());
    } catch (...) {
      finish_abnormally(abnormal_status());
      throw;
    }
    return result_;
  }

 private:
  int64_t elapsed_ms() const { return run_.elapsed_ms(); }

  // --resume: outcomes stored after the checkpoint are dropped (their keys
  // are repaired again), the counters continue from the checkpoint's.
  void reopen(const nlohmann::json& cp) {
    result_.run_id = o_.resume_run;
    result_.round = cp.value("round", result_.round);
    after_id_ = cp.value("after_id", int64_t{0});
    run_.set_elapsed_base(cp.value("elapsed_ms", int64_t{0}));
    result_.selected = cp.value("selected", int64_t{0});
    result_.repaired = cp.value("repaired", int64_t{0});
    result_.deleted = cp.value("deleted", int64_t{0});
    result_.kept_extra = cp.value("kept_extra", int64_t{0});
    result_.skipped = cp.value("skipped", int64_t{0});
    result_.failed = cp.value("failed", int64_t{0});
    result_.planned = cp.value("planned", int64_t{0});
    result_.copy = cp.value("copy", CopyCounters{});
    result_.starts_over = cp.value("starts_over", 0);
    store_.rollback_outcomes(result_.run_id, cp.value("max_outcome_id", int64_t{0}));
    run_.reopened();
  }

  // Called with commit_mu_ held: the position, the counters and the
  // outcomes stored so far agree.
  void save_checkpoint() {
    nlohmann::json j = key_counts_json();
    j.update({{"after_id", after_id_},
              {"round", result_.round},
              {"max_outcome_id", store_.max_outcome_id()},
              {"elapsed_ms", elapsed_ms()},
              {"copy", result_.copy},
              {"run_ids", run_.watch().to_json()},
              {"starts_over", result_.starts_over}});
    run_.save_checkpoint(j);
  }

  // The counts of keys by what became of them, in the checkpoint and the
  // totals alike.
  nlohmann::json key_counts_json() const {
    return {{"selected", result_.selected}, {"repaired", result_.repaired},
            {"deleted", result_.deleted},   {"kept_extra", result_.kept_extra},
            {"skipped", result_.skipped},   {"failed", result_.failed},
            {"planned", result_.planned}};
  }

  void prepare() {
    std::optional<RunRecord> cmp =
        o_.compare_run ? store_.run(*o_.compare_run) : store_.latest_run("compare");
    if (!cmp) {
      throw UsageError(o_.compare_run
                           ? "no run " + std::to_string(*o_.compare_run) + " in " + store_.path()
                           : "no compare run in " + store_.path() + ": run migcheck compare first");
    }
    if (cmp->command != "compare")
      throw UsageError("run " + std::to_string(cmp->id) + " is a " + cmp->command +
                       " run, not a compare run");
    if (cmp->status == "running" || cmp->status == "interrupted")
      log::warn("compare run " + std::to_string(cmp->id) +
                " has not finished: repairing what it found so far");
    result_.compare_run = cmp->id;
    result_.round = store_.last_round(cmp->id);
    // The compare run's db mapping and TTL tolerance.
    auto copts =
        nlohmann::json::parse(cmp->options_json.empty() ? "{}" : cmp->options_json, nullptr, false);
    if (copts.is_object()) {
      // One db pair, several (--db-map), or every db (identity).
      cmp_options_ = copts;
      const auto pairs = db_pairs_from_options(copts);
      cmp_db_ = pairs.size() == 1 ? pairs[0].source : -1;
      cmp_target_db_ = pairs.size() == 1 ? pairs[0].target : -1;
      if (copts.contains("ttl_tolerance_ms") && copts["ttl_tolerance_ms"].is_number_integer())
        tolerance_ = Millis(copts["ttl_tolerance_ms"].get<int64_t>());
      resolve_partition(cmp->id, copts);
    }
    if (o_.source.db_given && cmp_db_ < 0) {
      // The compare covered several dbs: a db in the source URI narrows to it.
      only_db_ = o_.source.db;
      cmp_db_ = o_.source.db;
      cmp_target_db_ = target_db_for(cmp_options_, cmp_db_);
    }
    if (o_.source.db_given && o_.source.db != cmp_db_)
      throw UsageError("compare run " + std::to_string(cmp->id) + " compared db " +
                       std::to_string(cmp_db_) + " but the source URI names db " +
                       std::to_string(o_.source.db));
    if (o_.target.db_given) cmp_target_db_ = o_.target.db;
    if (cmp->source != o_.source.display() || cmp->target != o_.target.display())
      log::warn("compare run " + std::to_string(cmp->id) + " compared " + cmp->source + " -> " +
                cmp->target + "; repairing " + o_.source.display() + " -> " + o_.target.display());
    for (const auto& k : o_.kinds)
      if (k != kKindMissing && k != kKindExtra && k != kKindType && k != kKindTtl &&
          k != kKindValue)
        throw UsageError("unknown difference kind '" + k + "' (missing, extra, type, ttl, value)");
  }

  // The compare run of one partition holds only that partition's keys: a
  // repair of another partition would find none of them, and a repair of
  // it repairs that partition (recorded so, for `merge`).
  void resolve_partition(int64_t cmp, const nlohmann::json& copts) {
    const auto theirs = copts.contains("partition") ? partition_from_json(copts["partition"])
                                                    : std::optional<Partition>();
    if (theirs && o_.partition.active() &&
        (theirs->index != o_.partition.index || theirs->count != o_.partition.count))
      throw UsageError("compare run " + std::to_string(cmp) + " covers partition " +
                       theirs->text() + ", not " + o_.partition.text() +
                       ": repair it with --partition " + theirs->text() + " or without one");
    if (theirs && !o_.partition.active()) partition_ = *theirs;
  }

  void facts() {
    Endpoint s = o_.source, t = o_.target;
    s.db = std::max(cmp_db_, 0);
    t.db = target_of(s.db);
    Client sc(s, source_client_), tc(t, target_client_);
    const RunServers servers = RunServers::gather(sc, tc);
    run_.record_servers(servers);
    stream_ext_ = servers.stream_extended();
    servers.note_rdb_versions(o_.structural);
  }

  nlohmann::json options_json() const {
    RepairOptions resolved = o_;
    resolved.compare_run = result_.compare_run;
    resolved.ttl_tolerance = tolerance_;
    resolved.partition = partition_;
    return repair_options_json(resolved, result_.round);
  }

  nlohmann::json totals_json() const {
    const auto& c = result_.copy;
    nlohmann::json j = key_counts_json();
    j.update({{"compare_run", result_.compare_run},
              {"round", result_.round},
              {"dry_run", o_.dry_run},
              {"restored", c.restored},
              {"fallbacks", c.fallbacks},
              {"chunked", c.chunked},
              {"bytes", c.bytes},
              {"starts_over", result_.starts_over},
              {"waited_out", transient::totals_json()},
              {"elapsed_ms", result_.elapsed_ms}});
    return j;
  }

  void finish_abnormally(std::string_view status) {
    close_queue();
    join_workers();
    run_.end_abnormally(
        status,
        [&] {
          {
            std::lock_guard lock(commit_mu_);
            save_checkpoint();
          }
          result_.elapsed_ms = elapsed_ms();
          return totals_json();
        },
        [&] { return status == "failed"; });
  }

  // ---- producer / consumer --------------------------------------------------

  void work() {
    const size_t n = std::max<size_t>(o_.connections, 1);
    queue_ = std::make_unique<WorkQueue<Batch>>(2 * n);
    for (size_t i = 0; i < n; ++i) threads_.emplace_back([this] { worker(); });
    DifferenceFilter f;
    f.round = result_.round;
    f.kinds = o_.kinds;
    f.after_id = after_id_;
    // Rows, not keys (a key may have a ttl and a value row): close enough for an ETA.
    progress_.start(o_.dry_run ? "repair (dry run)" : "repair",
                    store_.count_differences(result_.compare_run, f));
    if (o_.resume_run == 0) {
      // Checkpointed from the start: a run killed before its first batch
      // is done can still be resumed.
      std::lock_guard lock(commit_mu_);
      save_checkpoint();
    }
    run_.restart_checkpoint_clock();
    Batch batch;
    uint64_t seq = 0;
    const size_t batch_size = std::max<size_t>(o_.batch, 1);
    size_t keys_in_batch = 0;
    auto send = [&] {
      batch.seq = seq++;
      batch.last_id = batch.diffs.back().id;
      queue_->push(std::move(batch));  // dropped once a worker failed
      batch = Batch{};
      keys_in_batch = 0;
    };
    try {
      store_.for_each_difference(result_.compare_run, f, [&](const Difference& d) {
        if (stopping()) return;
        if (only_db_ && d.db != *only_db_) return;
        if (!partition_.contains_key(d.key)) return;
        // Rows of one key (ttl + value) stay in one batch.
        const bool new_key =
            batch.diffs.empty() || batch.diffs.back().key != d.key || batch.diffs.back().db != d.db;
        if (new_key && keys_in_batch >= batch_size) send();
        keys_in_batch += new_key;
        batch.diffs.push_back(d);
      });
      if (!batch.diffs.empty() && !stopping()) send();
    } catch (...) {
      close_queue();
      join_workers();
      throw;
    }
    close_queue();
    join_workers();
    progress_.finish();
    if (worker_error_) std::rethrow_exception(worker_error_);
    if (run_.stop_requested()) throw Interrupted(resume_hint("repair", result_.run_id));
  }

  bool stopping() const { return run_.stopping(); }

  // A server restarted under the repair: keys written and verified before
  // may have lost their writes (persistence is asynchronous). Everything is
  // dropped and every selected difference repaired again, counted once.
  void start_over() {
    run_.watch().start_over(result_.starts_over, "the repair",
                            "writes it acknowledged may be lost, so every selected difference is "
                            "repaired again");
    std::lock_guard lock(commit_mu_);
    store_.rollback_outcomes(result_.run_id, 0);
    const int starts_over = result_.starts_over;
    RepairResult fresh;
    fresh.run_id = result_.run_id;
    fresh.compare_run = result_.compare_run;
    fresh.round = result_.round;
    fresh.starts_over = starts_over;
    result_ = std::move(fresh);
    committer_.reset();
    after_id_ = 0;
    save_checkpoint();
  }

  // No more batches: workers finish what is queued.
  void close_queue() {
    if (queue_) queue_->close();
  }

  void join_workers() {
    threads_.clear();  // std::jthread joins
  }

  void worker() {
    std::map<int, Side> sides;
    try {
      while (auto item = queue_->pop()) {
        Batch& batch = *item;
        if (stopping()) continue;
        BatchDone done;
        done.last_id = batch.last_id;
        done.rows = static_cast<int64_t>(batch.diffs.size());
        // The copy counters of this batch: the copiers' growth across it.
        CopyCounters before;
        for (auto& [db, s] : sides) before += s.copier->counters();
        process(batch.diffs, sides, done);
        for (auto& [db, s] : sides) done.tally.copy += s.copier->counters();
        done.tally.copy -= before;
        commit(batch.seq, std::move(done));
      }
    } catch (...) {
      {
        std::lock_guard lock(err_mu_);
        if (!worker_error_ && !stop_token::is_stop(std::current_exception()))
          worker_error_ = std::current_exception();  // a stop ends as a signal
      }
      // The other workers and the producer stop; a rate-limited sleeper wakes.
      run_.abort();
      queue_->abort();
    }
  }

  // Stores batches in the order they were read, so everything up to the
  // position is in the store; a batch done early waits for those before it.
  void commit(uint64_t seq, BatchDone done) {
    std::lock_guard lock(commit_mu_);
    committer_.add(seq, std::move(done), [&](BatchDone& d) {
      const RepairResult& t = d.tally;
      store_.add_outcomes(result_.run_id, d.outcomes);
      progress_.add_keys(d.rows);
      progress_.add_differences(t.failed + t.kept_extra + t.skipped + t.planned);
      Metrics::get().keys_copied(t.repaired + t.deleted);
      Metrics::get().keys_failed(t.failed);
      result_.selected += t.selected;
      result_.repaired += t.repaired;
      result_.deleted += t.deleted;
      result_.kept_extra += t.kept_extra;
      result_.skipped += t.skipped;
      result_.failed += t.failed;
      result_.planned += t.planned;
      result_.copy += t.copy;
      for (auto& f : d.tally.failures)
        if (result_.failures.size() < kMaxFailuresKept) result_.failures.push_back(std::move(f));
      after_id_ = d.last_id;
    });
    if (run_.checkpoint_due()) save_checkpoint();
  }

  Side& side(std::map<int, Side>& sides, int db) {
    auto [it, inserted] = sides.try_emplace(db);
    Side& s = it->second;
    if (!inserted) return s;
    Endpoint se = o_.source, te = o_.target;
    se.db = db;
    te.db = target_of(db);
    s.src = std::make_unique<Client>(se, source_client_);
    s.tgt = std::make_unique<Client>(te, target_client_);
    CopyOptions co;
    co.db = db;
    co.structural = o_.structural;
    co.dry_run = o_.dry_run;
    co.batch = std::max<size_t>(o_.batch, 1);
    co.shared = shared_;
    co.limiter = limiter_.limited() ? &limiter_ : nullptr;
    s.copier = std::make_unique<Copier>(*s.src, *s.tgt, co);
    ReaderOptions ro;
    ro.stream_extended_meta = stream_ext_;
    s.tgt_reader = std::make_unique<KeyReader>(*s.tgt, ro);
    ro.limiter = co.limiter;
    s.src_reader = std::make_unique<KeyReader>(*s.src, ro);
    return s;
  }

  // Compares both sides of `keys`; index -> difference rows (empty = equal).
  std::vector<std::vector<Difference>> verify(Side& s, int db,
                                              const std::vector<std::string>& keys) {
    std::vector<std::vector<Difference>> out(keys.size());
    if (keys.empty()) return out;
    read_together(*s.src_reader, keys, *s.tgt_reader, keys, ReadLevel::Full);
    auto sr = s.src_reader->results();
    auto tr = s.tgt_reader->results();
    for (size_t i = 0; i < keys.size(); ++i) {
      classify_key(keys[i], db, 0, sr[i], tr[i], tolerance_, out[i]);
      settle_field_expiry_rows(*s.src, *s.tgt, keys[i], sr[i], tr[i], tolerance_, &limiter_, out[i],
                               0);
    }
    return out;
  }

  static std::string describe(const std::vector<Difference>& rows) {
    std::string d;
    for (const auto& r : rows) {
      if (!d.empty()) d += "; ";
      d += r.kind;
      if (!r.detail.empty()) d += ": " + r.detail;
    }
    return d;
  }

  void process(const std::vector<Difference>& batch, std::map<int, Side>& sides,
               BatchDone& done_batch) {
    std::vector<Outcome>& outs = done_batch.outcomes;
    RepairResult& tally = done_batch.tally;
    // Group by db, keys in order, one entry per key.
    std::map<int, std::vector<const Difference*>> by_db;
    for (const auto& d : batch) {
      auto& v = by_db[d.db];
      if (v.empty() || v.back()->key != d.key)
        v.push_back(&d);
      else if (v.back()->kind == kKindExtra && d.kind != kKindExtra)
        v.back() = &d;
    }
    for (auto& [db, diffs] : by_db) {
      std::vector<std::string> keys;
      for (const Difference* d : diffs) {
        ++tally.selected;
        if (d->kind == kKindExtra && !o_.delete_extra) {
          ++tally.kept_extra;
          outs.push_back({.db = db,
                          .key = d->key,
                          .action = Outcome::Action::None,
                          .outcome = Outcome::Result::Skipped,
                          .error = {},
                          .detail = "extra key kept (use --delete-extra)"});
          continue;
        }
        keys.push_back(d->key);
      }
      if (keys.empty()) continue;
      Side& s = side(sides, db);
      std::vector<CopyResult> results = s.copier->copy(keys);
      if (o_.dry_run) {
        for (auto& r : results) {
          if (r.outcome.outcome == Outcome::Result::Planned)
            ++tally.planned;
          else if (r.outcome.outcome == Outcome::Result::Failed)
            ++tally.failed;
          else
            ++tally.skipped;
          outs.push_back(std::move(r.outcome));
        }
        continue;
      }
      // Verify what was written; what still differs gets one more copy (the
      // source may have changed meanwhile), then the verdict.
      std::map<std::string, Outcome> done;
      for (int attempt = 0; attempt < 2 && !results.empty(); ++attempt) {
        std::vector<std::string> check;
        std::vector<Outcome> written;
        for (auto& r : results) {
          if (r.outcome.outcome == Outcome::Result::Copied ||
              r.outcome.outcome == Outcome::Result::Deleted) {
            check.push_back(r.outcome.key);
            written.push_back(std::move(r.outcome));
          } else {
            done[r.outcome.key] = std::move(r.outcome);
          }
        }
        results.clear();
        auto rows = verify(s, db, check);
        std::vector<std::string> again;
        for (size_t i = 0; i < check.size(); ++i) {
          Outcome o = std::move(written[i]);
          if (rows[i].empty()) {
            o.outcome = Outcome::Result::Repaired;
          } else if (attempt == 0) {
            again.push_back(check[i]);
            continue;
          } else {
            o.outcome = Outcome::Result::Failed;
            o.detail = "still differs after the write: " + describe(rows[i]) +
                       (o.detail.empty() ? "" : " (" + o.detail + ")");
          }
          done[o.key] = std::move(o);
        }
        if (!again.empty()) results = s.copier->copy(again);
      }
      for (const auto& key : keys) {
        auto it = done.find(key);
        if (it == done.end()) continue;
        Outcome& o = it->second;
        if (o.outcome == Outcome::Result::Repaired) {
          ++tally.repaired;
          if (o.action == Outcome::Action::Delete) ++tally.deleted;
        } else if (o.outcome == Outcome::Result::Failed) {
          ++tally.failed;
          tally.failures.push_back(o);
        } else {
          ++tally.skipped;
        }
        outs.push_back(std::move(o));
      }
    }
  }

  RepairResult result_;
  int cmp_db_ = 0;         // the compare run's one source db; -1 for several
  Partition partition_;    // the options', else the compare run's
  int cmp_target_db_ = 0;  // and its target db
  nlohmann::json cmp_options_ = nlohmann::json::object();
  std::optional<int> only_db_;  // a multi-db compare narrowed by the source URI's db

  int target_of(int db) const {
    return db == cmp_db_ && cmp_target_db_ >= 0 ? cmp_target_db_ : target_db_for(cmp_options_, db);
  }
  Millis tolerance_{o_.ttl_tolerance};
  bool stream_ext_ = true;
  std::shared_ptr<CopyShared> shared_ = std::make_shared<CopyShared>();
  RateLimiter limiter_;  // every source command, copies and verification alike
  Progress progress_;

  std::unique_ptr<WorkQueue<Batch>> queue_;  // one per pass (work())
  std::vector<std::jthread> threads_;
  std::mutex err_mu_;
  std::exception_ptr worker_error_;

  // Ordered commit and resume (commit_mu_).
  std::mutex commit_mu_;
  OrderedCommit<BatchDone> committer_;
  int64_t after_id_ = 0;  // every difference up to this id is done and stored
};

}  // namespace

RepairResult run_repair(const RepairOptions& opts, Store& store) {
  Engine engine(opts, store);
  return engine.run();
}

}  // namespace migcheck
