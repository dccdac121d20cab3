// Replicate: scanner / event queue (main thread) -> per-worker inboxes,
// keys routed by hash so one key always meets the same copier (whose
// pipeline coalesces repeats and orders passes of a key) -> copy engine ->
// counters, lag histogram and not-copied keys in the store. The first pass of
// scan mode is resumable: every few seconds the scanner waits for the workers
// to drain, and its cursors, the counters and the store's outcome position
// then make a checkpoint that covers exactly the keys copied.
#include "replicate.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "compare.h"
#include "errors.h"
#include "exit_codes.h"
#include "live.h"
#include "log.h"
#include "metrics.h"
#include "rate_limiter.h"
#include "replicate_options.h"
#include "resume.h"
#include "run.h"
#include "scanner.h"
#include "server_info.h"
#include "stop_token.h"
#include "transient.h"

namespace migcheck {
namespace {

constexpr size_t kKeptOutcomes = 50;            // skipped / failed keys kept for the summary
constexpr size_t kStoreFlush = 500;             // outcomes buffered per worker before a store write
constexpr size_t kMaxPendingOverflow = 100000;  // overflow records waiting for the store
constexpr const char* kCheckpoint = "replicate";

int64_t since_ms(SteadyTime t0) {
  return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0).count();
}

std::string grouped(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return v < 0 ? "-" + s : s;
}

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

const char* mode_name(ReplicateMode m) {
  return m == ReplicateMode::Scan ? "scan" : m == ReplicateMode::Live ? "live" : "liveonly";
}

bool is_filtered(const Outcome& o) {
  return o.action == "none" && o.outcome == "skipped" && o.detail.ends_with(" not selected");
}

// Log-linear histogram of lags in microseconds: 32 sub-buckets per power of
// two (about 3% resolution), bounded size whatever the number of events.
class LagHistogram {
 public:
  void add(uint64_t us) {
    ++buckets_[index(us)];
    ++count_;
    max_ = std::max(max_, us);
  }
  void merge(const LagHistogram& o) {
    for (size_t i = 0; i < kBuckets; ++i) buckets_[i] += o.buckets_[i];
    count_ += o.count_;
    max_ = std::max(max_, o.max_);
  }
  uint64_t count() const { return count_; }
  double percentile_ms(double p) const {
    if (count_ == 0) return 0;
    const auto want = static_cast<uint64_t>(std::max(1.0, p * static_cast<double>(count_) + 0.5));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += buckets_[i];
      if (seen >= want)
        return std::min(static_cast<double>(upper(i)), static_cast<double>(max_)) / 1000.0;
    }
    return static_cast<double>(max_) / 1000.0;
  }
  double max_ms() const { return static_cast<double>(max_) / 1000.0; }
  LagStats stats() const {
    return {count_, percentile_ms(0.5), percentile_ms(0.9), percentile_ms(0.99), max_ms()};
  }

 private:
  static constexpr size_t kSub = 32;
  static constexpr size_t kBuckets = kSub + 59 * kSub;
  static size_t index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const int e = 63 - std::countl_zero(v);  // >= 5
    const uint64_t sub = (v >> (e - 5)) & (kSub - 1);
    return std::min(kBuckets - 1,
                    kSub + static_cast<size_t>(e - 5) * kSub + static_cast<size_t>(sub));
  }
  static uint64_t upper(size_t i) {
    if (i < kSub) return i;
    const size_t e = (i - kSub) / kSub + 5;
    const uint64_t sub = (i - kSub) % kSub;
    return ((kSub + sub + 1) << (e - 5)) - 1;
  }
  std::vector<uint64_t> buckets_ = std::vector<uint64_t>(kBuckets, 0);
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

// Redraws the progress line from `line()` every second on a TTY, every ten
// seconds elsewhere.
class Ticker {
 public:
  Ticker(bool enabled, std::function<std::string()> line) : line_(std::move(line)) {
    if (!enabled) return;
    const auto every =
        isatty(STDERR_FILENO) == 1 ? std::chrono::seconds(1) : std::chrono::seconds(10);
    thread_ = std::thread([this, every] {
      std::unique_lock lock(mu_);
      while (!cv_.wait_for(lock, every, [&] { return stop_; })) {
        lock.unlock();
        log::progress_line(line_(), false);
        lock.lock();
      }
    });
  }
  ~Ticker() { stop(false); }
  void stop(bool final_line) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
      if (final_line) log::progress_line(line_(), true);
    }
  }

 private:
  std::function<std::string()> line_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

using Keyed = std::pair<std::string, SteadyTime>;

class Engine;

// One copy worker: a client per side, a copier, and an inbox of keys.
class Worker {
 public:
  Worker(Engine& engine, size_t index);
  ~Worker() { close_and_join(); }
  void start() {
    thread_ = std::thread([this] { run(); });
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
  std::thread thread_;
  std::exception_ptr error_;
  std::vector<Outcome> to_store_;
};

class Engine {
 public:
  Engine(const ReplicateOptions& o, Store& store)
      : o_(o),
        store_(store),
        run_(store, "replicate", kCheckpoint, o.stop),
        limiter_(o.max_ops_per_sec, &abort_),
        queue_(o.queue_capacity) {
    batch_ = std::max<size_t>(o.batch, 1);
    // Every client of the run reports the servers' run_ids to one watch.
    source_client_ = run_.client_options(o.source_client);
    target_client_ = run_.client_options(o.target_client);
    worker_source_client_ = source_client_;
    if (limiter_.limited())
      batch_ = std::clamp<size_t>(static_cast<size_t>(o.max_ops_per_sec / 40), 1, batch_);
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

  const ReplicateOptions& o_;
  Store& store_;
  ReplicateResult result_;
  size_t batch_ = 500;
  ClientOptions worker_source_client_;
  Run run_;  // the run in the store: claim, restart watch, checkpoints, stop token, end
  std::shared_ptr<RestartWatch> watch_ = run_.shared_watch();
  ClientOptions source_client_, target_client_;   // the options', with watch_
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

  // Shared by workers (mu_).
  std::mutex mu_;
  LagHistogram lag_;
  // Live counters for the progress line.
  std::atomic<int64_t> done_{0}, copied_{0}, by_type_{0}, deleted_{0}, skipped_{0}, failed_{0};
  std::atomic<uint64_t> bytes_{0}, applied_{0};
  std::atomic<int64_t> scanned_{0};
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

Worker::Worker(Engine& engine, size_t index) : engine_(engine) {
  const auto& o = engine.opts();
  ClientOptions sc = engine.worker_source_client(), tc = engine.target_client();
  sc.conn.client_name = tc.conn.client_name = "migcheck-replicate-" + std::to_string(index);
  (void)o;
  src_ = std::make_unique<Client>(engine.pair_endpoint(true), sc);
  tgt_ = std::make_unique<Client>(engine.pair_endpoint(false), tc);
  copier_ = std::make_unique<Copier>(
      *src_, *tgt_, engine.copy_options(),
      [this](std::vector<CopyResult>& rs) { engine_.on_results(rs, to_store_); });
  capacity_ = 4 * engine.batch();
}

void Worker::push(std::vector<Keyed>& keys, const std::atomic<bool>& abort) {
  std::unique_lock lock(mu_);
  for (auto& k : keys) {
    if (inbox_.size() >= capacity_) {
      cv_in_.notify_one();
      cv_space_.wait(lock, [&] { return inbox_.size() < capacity_ || closing_ || abort.load(); });
      if (closing_ || abort.load()) return;
    }
    inbox_.push_back(std::move(k));
  }
  idle_ = false;
  cv_in_.notify_one();
}

void Worker::run() {
  std::vector<Keyed> take;
  try {
    for (;;) {
      take.clear();
      {
        std::unique_lock lock(mu_);
        if (inbox_.empty() && copier_->idle()) {
          // Stored before going idle, so a drained engine has every outcome
          // in the store (a checkpoint relies on it).
          if (!to_store_.empty()) {
            lock.unlock();
            engine_.flush(to_store_);
            continue;
          }
          idle_ = true;
          cv_in_.wait(lock, [&] { return !inbox_.empty() || closing_; });
          if (inbox_.empty()) break;  // closing, nothing left
        }
        // One batch for the next probe stage, no more: keys wait in the
        // inbox, where back-pressure works.
        const size_t room =
            engine_.batch() > copier_->waiting() ? engine_.batch() - copier_->waiting() : 0;
        while (!inbox_.empty() && take.size() < room) {
          take.push_back(std::move(inbox_.front()));
          inbox_.pop_front();
        }
        idle_ = false;
        cv_space_.notify_all();
      }
      for (auto& [k, at] : take) copier_->add(std::move(k), at);
      copier_->step();
    }
    engine_.flush(to_store_);
  } catch (...) {
    try {
      engine_.flush(to_store_);
    } catch (...) {
    }
    error_ = std::current_exception();
    engine_.worker_failed(error_);
    std::lock_guard lock(mu_);
    inbox_.clear();
    idle_ = true;
    cv_space_.notify_all();
  }
}

void Engine::on_results(std::vector<CopyResult>& rs, std::vector<Outcome>& to_store) {
  LagHistogram local;
  uint64_t applied = 0;
  Metrics& metrics = Metrics::get();
  for (auto& r : rs) {
    if (r.queued != SteadyTime{}) {
      const int64_t lag_us = std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::microseconds>(r.done - r.queued).count());
      local.add(static_cast<uint64_t>(lag_us));
      metrics.replication_lag(static_cast<double>(lag_us) / 1e6);
      ++applied;
    }
    const Outcome& o = r.outcome;
    done_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(r.bytes, std::memory_order_relaxed);
    if (o.outcome == "copied") {
      copied_.fetch_add(1, std::memory_order_relaxed);
      metrics.keys_copied(1);
      if (o.action == "fallback") by_type_.fetch_add(1, std::memory_order_relaxed);
    } else if (o.outcome == "deleted") {
      deleted_.fetch_add(1, std::memory_order_relaxed);
    } else if (o.outcome == "failed") {
      failed_.fetch_add(1, std::memory_order_relaxed);
      metrics.keys_failed(1);
      to_store.push_back(o);
    } else if (o.outcome == "skipped" && !is_filtered(o)) {
      skipped_.fetch_add(1, std::memory_order_relaxed);
      to_store.push_back(o);
    }
  }
  applied_.fetch_add(applied, std::memory_order_relaxed);
  if (applied > 0) metrics.events("applied", static_cast<int64_t>(applied));
  metrics.queue_depth(static_cast<int64_t>(queue_.size()));
  {
    std::lock_guard lock(mu_);
    lag_.merge(local);
    for (auto& r : rs) {
      const Outcome& o = r.outcome;
      if (o.outcome == "failed" && result_.failures.size() < kKeptOutcomes)
        result_.failures.push_back(o);
      if (o.outcome == "skipped" && !is_filtered(o) && result_.skipped.size() < kKeptOutcomes)
        result_.skipped.push_back(o);
    }
  }
  if (to_store.size() >= kStoreFlush) flush(to_store);
}

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

// Workers copy one db pair at a time: moving to another drains and replaces
// them (their counters are kept).
void Engine::use_pair(size_t pair) {
  if (pair == pair_ && !workers_.empty()) return;
  while (!workers_drained() && !stopping()) std::this_thread::sleep_for(Millis(1));
  stop_workers();
  if (worker_error_) std::rethrow_exception(worker_error_);
  for (const auto& w : workers_) copy_base_ += w->counters();
  workers_.clear();
  pair_ = pair;
  const size_t n = std::max<size_t>(o_.connections, 1);
  for (size_t i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
  for (auto& w : workers_) w->start();
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

void Engine::check_notifications() {
  std::vector<size_t> primaries;
  for (size_t i = 0; i < src_main_->nodes().size(); ++i) {
    const auto& n = src_main_->nodes()[i];
    if (n.primary && (!src_main_->cluster() || !n.slots.empty())) primaries.push_back(i);
  }
  bool any_keyspace_only = false;
  for (size_t node : primaries) {
    const std::string where = src_main_->nodes()[node].endpoint.display();
    auto v = config_get(*src_main_, node, "notify-keyspace-events");
    if (!v) {
      if (o_.assume_notifications) continue;
      throw Error(
          "cannot read notify-keyspace-events on " + where +
          " (CONFIG is refused there). Live mode needs keyspace notifications: enable them where "
          "the "
          "service allows it (ElastiCache: set notify-keyspace-events to KEA in the cluster's "
          "parameter "
          "group; Redis Cloud/Azure/Memorystore: the database's configuration), then rerun with "
          "--assume-notifications");
    }
    NotifyCheck c = check_notify_flags(*v, o_.types);
    if (!c.ok) {
      throw Error("notify-keyspace-events is \"" + *v + "\" on " + where +
                  ": live mode needs events for every write" + " (missing: " + c.missing +
                  "). Set it on every primary: CONFIG SET notify-keyspace-events " + c.suggested +
                  " (minimal: K or E, plus g$lshzt x e, or A)");
    }
    if (!c.keyevent) any_keyspace_only = true;
  }
  // K without E: keyspace channels carry the same information.
  keyevent_ = !any_keyspace_only;
}

void Engine::on_event(std::string_view key, SteadyTime at) {
  if (!o_.match.empty() && !glob_match(o_.match, key)) return;
  last_event_ticks_.store(at.time_since_epoch().count(), std::memory_order_relaxed);
  if (queue_.push(key, at) != EventQueue::Push::Full) return;
  // Never dropped in silence: recorded, and a rescan will copy it.
  overflow_epoch_.fetch_add(1);
  rescan_requested_ = true;
  std::lock_guard lock(mu_);
  // Bounded too: past this many unwritten records the rescan alone covers them.
  if (overflow_outcomes_.size() < kMaxPendingOverflow)
    overflow_outcomes_.push_back({pairs_.front().source, std::string(key), "none", "skipped", "",
                                  "queue overflow: re-copy needed (a rescan was scheduled)"});
  auto now = std::chrono::steady_clock::now();
  if (overflow_logged_ == SteadyTime{} || now - overflow_logged_ > std::chrono::seconds(10)) {
    overflow_logged_ = now;
    log::warn("the event queue is full (" + std::to_string(queue_.capacity()) +
              " keys): changed keys are recorded in the store and a rescan is scheduled; "
              "consider --queue or more --connections");
  }
}

void Engine::dispatch(std::vector<std::string>& keys, SteadyTime queued) {
  std::vector<Keyed> k;
  k.reserve(keys.size());
  for (auto& key : keys) k.emplace_back(std::move(key), queued);
  dispatch(k);
}

void Engine::dispatch(std::vector<Keyed>& keys) {
  if (keys.empty()) return;
  const size_t n = workers_.size();
  if (n == 1) {
    workers_[0]->push(keys, abort_);
    return;
  }
  std::vector<std::vector<Keyed>> parts(n);
  std::hash<std::string> h;
  for (auto& k : keys) parts[h(k.first) % n].push_back(std::move(k));
  for (size_t i = 0; i < n; ++i)
    if (!parts[i].empty()) workers_[i]->push(parts[i], abort_);
}

void Engine::drain_events(Millis wait) {
  std::vector<Keyed> evs;
  queue_.pop(evs, batch_ * workers_.size() * 2, wait);
  dispatch(evs);
  std::vector<Outcome> overflow;
  {
    std::lock_guard lock(mu_);
    overflow.swap(overflow_outcomes_);
  }
  if (!overflow.empty()) store_.add_outcomes(result_.run_id, overflow);
}

bool Engine::workers_drained() {
  for (auto& w : workers_)
    if (!w->drained()) return false;
  return true;
}

// One pass over every db pair in turn. The position (cursors_) is
// {"pair", "cursors"}: the pair being scanned and its SCAN cursors.
bool Engine::scan_pass() {
  ScanOptions so;
  so.match = o_.match;
  if (o_.types.size() == 1) so.type = o_.types.front();
  so.count = o_.scan_count;
  so.limiter = limiter_.limited() ? &limiter_ : nullptr;
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
      const bool more = scanner.next(keys);
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

void Engine::live_loop() {
  phase_ = "live";
  log::info("applying changes as they are notified" +
            (o_.idle.count() > 0
                 ? " (stopping after " + format_duration(o_.idle) + " without events)"
                 : std::string(" (Ctrl-C to stop)")));
  SteadyTime role_checked = std::chrono::steady_clock::now();
  while (!stopping()) {
    drain_events(Millis(100));
    if (!o_.dry_run && std::chrono::steady_clock::now() - role_checked >= kCheckpointEvery) {
      role_checked = std::chrono::steady_clock::now();
      check_target_role();
      if (result_.target_became_replica) break;  // nothing more can be copied to it
    }
    if (watch_->pending()) {
      watch_->acknowledge();
      log::warn("a server restarted: writes it acknowledged may be lost; rescanning the source");
      rescan_requested_ = true;
    }
    if (listener_->take_events_lost() || rescan_requested_.exchange(false)) {
      if (!scan_pass()) break;
      continue;
    }
    if (o_.idle.count() > 0) {
      const SteadyTime last_event{SteadyTime::duration(last_event_ticks_.load())};
      const SteadyTime quiet_since = std::max({last_event, pass_end_, started_});
      if (std::chrono::steady_clock::now() - quiet_since >= o_.idle && queue_.size() == 0 &&
          workers_drained()) {
        log::info("no events for " + format_duration(o_.idle) + ": stopping");
        break;
      }
    }
  }
}

void Engine::stop_workers() {
  for (auto& w : workers_) w->close_and_join();
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
  const auto& c = result_.copy;
  nlohmann::json j = {{"mode", mode_name(o_.mode)},
                      {"dry_run", o_.dry_run},
                      {"interrupted", result_.interrupted},
                      {"keys_scanned", result_.keys_scanned},
                      {"scan_passes", result_.scan_passes},
                      {"starts_over", result_.starts_over},
                      {"waited_out", transient::totals_json()},
                      {"keys", c.keys},
                      {"copied", c.copied},
                      {"restored", c.restored},
                      {"fallbacks", c.fallbacks},
                      {"chunked", c.chunked},
                      {"deleted", c.deleted},
                      {"skipped", c.skipped},
                      {"failed", c.failed},
                      {"planned", c.planned},
                      {"filtered", c.filtered},
                      {"bytes", c.bytes},
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
                        {"subscription_moves", result_.subscription_moves}}},
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
  co.target_scan = o_.types.empty();
  co.scan_count = o_.scan_count;
  co.batch = o_.batch;
  co.connections = std::max<size_t>(o_.connections, 1);
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
    RunRecord rec;
    rec.source = o_.source.display();
    rec.target = o_.target.display();
    rec.options_json = options_json().dump();
    result_.run_id = run_.begin(rec);
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

    Ticker ticker(o_.progress, [this] { return progress_line(); });
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
    ticker.stop(true);
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
                            result_.overflows_uncovered > 0 || result_.event_gaps_open > 0;
    result_.exit_code = result_.interrupted || result_.target_became_replica ? kExitError
                        : (not_copied || result_.verify_differences > 0)     ? kExitDiffer
                                                                             : kExitSame;
    run_.finish(result_.interrupted ? "interrupted" : "done", result_.exit_code, totals_json());
  } catch (const Interrupted&) {
    finish_abnormally(t0, "interrupted");
    throw;
  } catch (...) {
    finish_abnormally(t0, "failed");
    throw;
  }
  return result_;
}

}  // namespace

ReplicateResult run_replicate(const ReplicateOptions& opts, Store& store) {
  Engine engine(opts, store);
  return engine.run();
}

}  // namespace migcheck
