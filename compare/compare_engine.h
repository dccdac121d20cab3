// The compare engine's insides, shared by the files that implement it (not
// part of the engine's interface, which is compare.h):
//
//   compare.cc     the run's lifecycle: begin or resume, rounds, start over, end
//   checkpoint.cc  the committed state of a round (ordered commit of batches)
//                  and its checkpoint
//   round.cc       one round: producer, worker and watcher threads
//   producers.cc   the producers: SCAN, sample, re-check from the store
//   workers.cc     the workers: overlapped reads of both sides, classification
//   totals.cc      the run's options and totals as recorded, the result
//
// Data flows one way: producer threads -> bounded WorkQueue -> worker threads
// -> ordered commit (store, counters, checkpoint position).
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "clock_skew.h"
#include "compare.h"
#include "engine_base.h"
#include "ordered_commit.h"
#include "progress.h"
#include "rate_limiter.h"
#include "run.h"
#include "work_queue.h"

namespace migcheck::compare_internal {

inline int64_t since_ms(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t).count();
}

// A batch of keys for the workers: source keys are compared in full; target
// keys (from the target scan) are only checked for existence on the source.
struct WorkItem {
  enum class Side : uint8_t { Source, Target } side = Side::Source;
  std::vector<std::string> keys;
  uint64_t seq = 0;  // per side, in push order
  size_t pair = 0;   // index of the db pair the keys belong to
  // Set on the last batch of a producer step: where the producer resumes to
  // continue right after this batch (null: the round cannot be resumed).
  std::optional<nlohmann::json> position;
};

// A worker's finished batch, waiting to be committed in sequence order.
struct BatchResult {
  std::vector<Difference> diffs;
  std::map<std::string, int64_t, std::less<>> keys_by_type;
  int64_t keys = 0;                  // source keys checked
  int64_t target_keys = 0;           // target keys looked up
  std::vector<BigKeyInfo> big_keys;  // round 1: source keys read in chunks
  std::optional<nlohmann::json> position;
  size_t pair = 0;  // the db pair of the batch
  int round = 0;
};

// One producer's stream of batches. Results are committed (stored and
// counted) only up to a position, in order, so a checkpoint's position,
// counters and stored rows always describe the same batches.
struct Stream {
  uint64_t next_seq = 0;  // producer side
  OrderedCommit<BatchResult> in_order;
  std::vector<BatchResult> held;  // in order, before the next position
  nlohmann::json position;        // of the committed prefix; null = start
};

// One worker's clients and readers, kept across rounds.
struct Worker {
  std::unique_ptr<Client> src, tgt;
  std::unique_ptr<KeyReader> src_reader, tgt_reader, src_retry, tgt_retry, src_exists, tgt_meta;
  std::vector<Difference> diffs;
  std::map<std::string, int64_t, std::less<>> keys_by_type;  // of the current batch
  std::vector<BigKeyInfo> big_keys;                          // of the current batch
  std::deque<KeyState> held;                                 // re-read states (stable addresses)
  std::vector<const KeyState*> s_state, t_state;
  std::vector<size_t> retry_idx;
  std::vector<std::string> retry_keys, absent_keys;
};

// A big key as totals.big_keys and the checkpoint list it, binary-safe the
// way the reports write keys: text as "key", other bytes as "key_base64".
BigKeyInfo big_key_from_json(const nlohmann::json& j);

class Engine : EngineBase<CompareOptions> {
 public:
  Engine(const CompareOptions& o, Store& store);
  CompareResult run();

 private:
  // compare.cc: the lifecycle.
  int reopen();
  void start_over();
  void try_finish(const char* status);
  void prepare();
  // Scales batch_ and scan_count_ with the round trip, once (in_flight.h).
  void size_for_round_trip();
  void wait_interval();
  void check_stop();

  // checkpoint.cc: the committed state.
  nlohmann::json snapshot(int round);
  void reset_round_state();
  void save_checkpoint(int round);
  void commit(WorkItem::Side side, uint64_t seq, BatchResult r);
  void commit_in_order(Stream& st, BatchResult& b);

  // round.cc: one round's threads.
  void run_round(int round, bool resumed);
  void fail(std::exception_ptr e);
  bool stopping() const { return run_.stopping(); }

  // producers.cc
  bool push_batches(std::vector<std::string>& buf, WorkItem::Side side, bool all,
                    const std::function<nlohmann::json()>& position, size_t pair);
  void produce_scan(WorkItem::Side side);
  void produce_source_then_target();
  void produce_sample(WorkItem::Side side);
  void produce_recheck(int prev_round);

  // workers.cc
  ReaderOptions reader_options(bool source);
  Endpoint endpoint(size_t pair, bool source) const;
  Client& main_client(size_t pair, bool source);
  void ensure_worker(Worker& w, size_t pair);
  void work(size_t thread, int round);
  int64_t compare_batch(Worker& w, const std::vector<std::string>& keys, int round, int db);
  int64_t check_target_only(Worker& w, const std::vector<std::string>& keys, int round, int db);

  // totals.cc
  nlohmann::json options_json() const;
  nlohmann::json totals_json();
  void set_round1(const RoundSummary& rs);
  size_t pair_of(int source_db) const;
  void collect_databases();
  void aggregate();
  void finish();

  RateLimiter limiter_;
  Progress progress_;
  size_t batch_ = 500;
  size_t scan_count_ = 1000;    // SCAN COUNT of the producers
  bool sized_for_rtt_ = false;  // batch_ and scan_count_ scaled once (in_flight.h)
  uint64_t sample_ = 0;
  bool stream_ext_ = true;
  std::vector<DbPair> pairs_;       // the db pairs compared, in order
  std::vector<int64_t> pair_keys_;  // round 1 keys checked per pair (commit_mu_)
  std::mutex mains_mu_;
  std::vector<std::unique_ptr<Client>> src_mains_, tgt_mains_;  // per pair, for producers
  ClockSkew clock_;  // target's clock minus the source's (shown, never applied)
  int64_t source_keys_ = 0;
  bool commit_failed_ = false;  // under commit_mu_
  std::unique_ptr<Client> src_main_, tgt_main_;
  std::vector<std::map<size_t, Worker>> workers_;  // per thread, per db pair
  std::unique_ptr<WorkQueue<WorkItem>> queue_;
  std::mutex err_mu_;
  std::exception_ptr error_;
  std::atomic<int64_t> round_keys_{0}, round_diffs_{0}, target_scanned_{0};
  // Round 1's source pass: keys pushed, keys read, and of them found on the
  // target (target_scan_skip.h); whether that settled the target scan.
  std::atomic<int64_t> pass_pushed_{0}, pass_done_{0}, pass_found_{0};
  std::atomic<bool> target_scan_settled_{false};
  // --partition on a SCAN: keys dropped because their slot is outside it,
  // per side ([0] source, [1] target), by this process.
  std::atomic<int64_t> outside_[2] = {0, 0};
  bool aggregated_ = false;
  CompareResult result_;
  // Commit state (commit_mu_): per-side streams ([0] source, [1] target) and
  // run-wide counters of committed batches.
  std::mutex commit_mu_;
  Stream streams_[2];
  std::map<std::string, int64_t> keys_by_type_;
  // Big keys (see CompareResult::big_keys): counted in round 1 only, since
  // later rounds re-read keys round 1 already saw; each key once, as SCAN may
  // return a key twice, by a set of 64-bit key hashes (element_id) that the
  // checkpoint carries, so a resumed run counts what it re-reads once too.
  std::unordered_set<uint64_t> big_ids_;
  std::vector<BigKeyInfo> big_listed_;  // the first kBigKeysListed, in commit (scan) order
  bool big_keys_known_ = false;         // round 1 is complete (main thread only, no lock)
  nlohmann::json resume_;               // the checkpoint resumed from; null for a new run
  std::chrono::steady_clock::time_point round_t0_ = std::chrono::steady_clock::now();
  int64_t round_elapsed_base_ = 0;  // elapsed before the resume
};

}  // namespace migcheck::compare_internal
