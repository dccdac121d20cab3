// The replicate engine's parts (internal to replicate/): the Engine that
// runs one replicate run and the copy Workers it feeds, with the constants
// they share. The engine's run, scan pass, checkpoints and totals are in
// replicate.cc, the workers and the routing of keys to them in
// replicate_workers.cc, the live tail of keyspace events in live_loop.cc.
// The interface is replicate.h.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "copier.h"
#include "engine_base.h"
#include "lag_histogram.h"
#include "live.h"
#include "rate_limiter.h"
#include "replicate.h"
#include "run.h"
#include "server_info.h"
#include "stop_token.h"

namespace migcheck::replicate_internal {

inline constexpr size_t kKeptOutcomes = 50;  // skipped / failed keys kept for the summary
inline constexpr size_t kStoreFlush = 500;   // outcomes buffered per worker before a store write
inline constexpr size_t kMaxPendingOverflow = 100000;  // overflow records waiting for the store

inline int64_t since_ms(SteadyTime t0) {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
}

using Keyed = std::pair<std::string, SteadyTime>;

class Engine;

// One copy worker: a client per side, a copier, and an inbox of keys.
class Worker {
 public:
  Worker(Engine& engine, size_t index);
  ~Worker() { close_and_join(); }
  void start() {
    thread_ = std::jthread([this] { run(); });
  }
  // Blocks while the inbox is full (back-pressure on the scanner / queue).
  void push(std::vector<Keyed>& keys, const std::atomic<bool>& abort);
  bool drained() {
    std::lock_guard lock(mu_);
    return inbox_.empty() && idle_;
  }
  void close_and_join() {
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_in_.notify_all();
    cv_space_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  const CopyCounters& counters() const { return copier_->counters(); }
  std::exception_ptr error() const { return error_; }

 private:
  void run();
  Engine& engine_;
  std::unique_ptr<Client> src_, tgt_;
  std::unique_ptr<Copier> copier_;
  std::mutex mu_;
  std::condition_variable cv_in_, cv_space_;
  std::deque<Keyed> inbox_;
  size_t capacity_;
  bool closing_ = false;
  bool idle_ = true;
  std::jthread thread_;  // close_and_join() stops it (closing_), as does the destructor
  std::exception_ptr error_;
  std::vector<Outcome> to_store_;
};

class Engine : EngineBase<ReplicateOptions> {
 public:
  Engine(const ReplicateOptions& o, Store& store)
      : EngineBase(o, store, "replicate"),
        limiter_(o.max_ops_per_sec, &abort_),
        queue_(o.queue_capacity) {
    batch_ = limiter_.paced_batch(o.batch);
    scan_count_ = o.scan_count;
    worker_source_client_ = source_client_;
  }

  ReplicateResult run();

  // For workers.
  const ReplicateOptions& opts() const { return o_; }
  const ClientOptions& worker_source_client() const { return worker_source_client_; }
  const ClientOptions& target_client() const { return target_client_; }
  size_t batch() const { return batch_; }
  // The endpoints of the db pair being copied (workers' clients).
  Endpoint pair_endpoint(bool source) const {
    Endpoint ep = source ? o_.source : o_.target;
    if (pair_ < pairs_.size()) ep.db = source ? pairs_[pair_].source : pairs_[pair_].target;
    return ep;
  }
  CopyOptions copy_options() {
    CopyOptions co;
    co.db = pair_endpoint(true).db;
    co.structural = o_.structural;
    co.dry_run = o_.dry_run;
    co.mem_limit = o_.mem_limit;
    // One SCAN TYPE filter is applied by the scanner; events need the copier's.
    co.types = o_.types;
    co.batch = batch_;
    co.shared = shared_;
    co.limiter = limiter_.limited() ? &limiter_ : nullptr;
    return co;
  }
  void on_results(std::vector<CopyResult>& rs, std::vector<Outcome>& to_store);
  void flush(std::vector<Outcome>& to_store) {
    if (to_store.empty()) return;
    store_.add_outcomes(result_.run_id, to_store);
    to_store.clear();
  }
  void worker_failed(std::exception_ptr e) {
    std::lock_guard lock(mu_);
    if (!worker_error_ && !stop_token::is_stop(e)) worker_error_ = e;  // a stop ends as a signal
    abort_ = true;
  }

 private:
  void prepare();
  void resolve_pairs();
  void use_pair(size_t pair);
  Client& scan_client(size_t pair);
  void check_notifications();
  bool scan_pass();
  void live_loop();
  void dispatch(std::vector<std::string>& keys, SteadyTime queued);
  void dispatch(std::vector<Keyed>& keys);
  void drain_events(Millis wait);
  void sweep_target(const SweepScope& scope);  // live_sweep.cc
  void recheck_kept();
  bool workers_drained();
  void stop_workers();
  void on_event(std::string_view key, SteadyTime at);
  void verify();
  bool stopping() const { return abort_.load() || (o_.stop && o_.stop->load()); }
  std::string progress_line();
  nlohmann::json options_json() const;
  nlohmann::json totals_json() const;
  void finish_abnormally(SteadyTime t0, const char* status);
  bool resumable() const { return o_.mode == ReplicateMode::Scan && !o_.dry_run; }
  void start_pass_over();
  void reopen();
  void checkpoint_when_drained();
  void save_checkpoint();
  CopyCounters copy_counters() const;
  int64_t elapsed_ms() const { return elapsed_base_ + since_ms(started_); }

  ReplicateResult result_;
  size_t batch_ = 500;
  size_t scan_count_ = 1000;  // SCAN COUNT of the scan pass (in_flight.h may scale it)
  ClientOptions worker_source_client_;
  std::shared_ptr<RestartWatch> watch_ = run_.shared_watch();
  std::atomic<bool>& abort_ = run_.abort_flag();  // the run's stop token
  RateLimiter limiter_;
  std::shared_ptr<CopyShared> shared_ = std::make_shared<CopyShared>();
  std::unique_ptr<Client> src_main_, tgt_main_;
  ServerFacts source_facts_, target_facts_;
  std::vector<DbPair> pairs_;                          // the db pairs copied, in order
  size_t pair_ = 0;                                    // the one the workers copy
  std::vector<int64_t> pair_scanned_;                  // keys scanned per pair (scanner thread)
  std::vector<std::unique_ptr<Client>> scan_clients_;  // per pair
  bool keyevent_ = true;
  std::unique_ptr<KeyspaceListener> listener_;
  EventQueue queue_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::exception_ptr worker_error_;
  SteadyTime pass_end_{};
  std::atomic<SteadyTime::rep> last_event_ticks_{0};
  // Keys that did not fit the queue: a rescan started after them covers them.
  std::atomic<uint64_t> overflow_epoch_{0};
  uint64_t covered_epoch_ = 0;
  std::atomic<bool> rescan_requested_{false};
  SteadyTime overflow_logged_{};
  std::vector<Outcome> overflow_outcomes_;
  // Sweeps of the target after event gaps and restarts (live_sweep.cc).
  SweepScope sweep_pending_;  // restarts seen, merged with the listener's gaps
  std::unique_ptr<Client> sweep_target_;
  uint64_t sweeps_ = 0, swept_ = 0, extras_found_ = 0, extras_kept_ = 0;
  std::unordered_set<std::string> sweep_keys_;  // handed to the workers, not yet done (mu_)
  std::unordered_set<std::string> kept_keys_;   // found without --delete-extra (main thread)
  std::atomic<uint64_t> extras_deleted_{0};

  // Shared by workers (mu_).
  std::mutex mu_;
  LagHistogram lag_;
  // Live counters for the progress line.
  std::atomic<int64_t> done_{0}, copied_{0}, by_type_{0}, deleted_{0}, skipped_{0}, failed_{0};
  std::atomic<uint64_t> bytes_{0}, applied_{0};
  std::atomic<int64_t> scanned_{0};
  std::atomic<int64_t> outside_{0};  // --partition: SCAN keys of other slots, dropped
  SteadyTime started_{};
  std::atomic<const char*> phase_{"scan"};  // read by the ticker thread

  // Resume (scan mode, first pass).
  nlohmann::json cursors_;         // the scanner's position after the last dispatch
  nlohmann::json resume_cursors_;  // where a resumed pass starts
  CopyCounters copy_base_;         // counted before the resume
  int64_t elapsed_base_ = 0;

  // A standalone target made a replica under the run: a replica's data is
  // replaced by its primary's, so keys counted as copied may be gone.
  bool target_was_primary_ = false;
  void check_target_role();
};

}  // namespace migcheck::replicate_internal
