// The compare engine: rounds, producer threads (scan, sample, re-check from
// the store), worker threads (overlapped reads of both sides, classification)
// and the run's records in the store.
#include "compare.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "compare_options.h"
#include "encoding.h"
#include "errors.h"
#include "exit_codes.h"
#include "field_expiry_check.h"
#include "log.h"
#include "metrics.h"
#include "progress.h"
#include "rate_limiter.h"
#include "resume.h"
#include "scanner.h"
#include "server_info.h"
#include "stop_token.h"
#include "transient.h"

namespace migcheck {
namespace {

constexpr std::string_view kCheckpoint = "compare";
constexpr auto kCheckpointEvery = std::chrono::seconds(2);

int64_t wall_ms() {
  return std::chrono::duration_cast<Millis>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t since_ms(std::chrono::steady_clock::time_point t) {
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
  uint64_t next_commit = 0;
  std::map<uint64_t, BatchResult> done;  // finished out of order
  std::vector<BatchResult> held;         // in order, before the next position
  nlohmann::json position;               // of the committed prefix; null = start
};

// Bounded FIFO between producers and workers: producers block when it is
// full, so a fast scan never runs ahead of the reads by more than `cap` batches.
class WorkQueue {
 public:
  explicit WorkQueue(size_t cap) : cap_(std::max<size_t>(cap, 1)) {}
  // false when the queue was closed (abort): the item is dropped.
  bool push(WorkItem item) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return q_.size() < cap_ || closed_; });
    if (closed_) return false;
    q_.push_back(std::move(item));
    not_empty_.notify_one();
    return true;
  }
  // nullopt when every producer is finished and the queue is drained, or on abort.
  std::optional<WorkItem> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || producers_ == 0 || closed_; });
    if (closed_ || q_.empty()) return std::nullopt;
    WorkItem item = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return item;
  }
  void add_producer() {
    std::lock_guard lock(mu_);
    ++producers_;
  }
  void producer_done() {
    std::lock_guard lock(mu_);
    if (--producers_ == 0) not_empty_.notify_all();
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  const size_t cap_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<WorkItem> q_;
  int producers_ = 0;
  bool closed_ = false;
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

int major_version(const std::string& v) {
  try {
    return v.empty() ? 0 : std::stoi(v);
  } catch (...) {
    return 0;
  }
}

std::string describe(const ServerFacts& f) {
  std::string d = f.engine + " " + f.version + " " + f.mode;
  if (f.mode == "cluster") {
    int primaries = 0;
    for (const auto& n : f.nodes) primaries += n.role == "primary";
    d += " (" + std::to_string(primaries) + " primaries)";
  }
  return d;
}

nlohmann::json stats_json(const ReaderStats& s) {
  return {{"keys", s.keys},
          {"steps", s.steps},
          {"commands", s.commands},
          {"chunked_keys", s.chunked_keys},
          {"chunk_commands", s.chunk_commands},
          {"unstable", s.unstable},
          {"errors", s.errors}};
}

// A big key as totals.big_keys and the checkpoint list it, binary-safe the
// way the reports write keys: text as "key", other bytes as "key_base64".
nlohmann::json big_key_json(const BigKeyInfo& k) {
  nlohmann::json j = {{"db", k.db}, {"type", k.type}, {"size", k.size}};
  if (is_valid_utf8(k.key))
    j["key"] = k.key;
  else
    j["key_base64"] = base64_encode(k.key);
  return j;
}

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

class Engine {
 public:
  Engine(const CompareOptions& o, Store& store)
      : o_(o), store_(store), limiter_(o.max_ops_per_sec, &abort_), progress_(o.progress) {
    batch_ = std::max<size_t>(o.batch, 1);
    // With a rate cap, a step of a batch should be a small fraction of a
    // second of budget, or the source sees bursts followed by silence.
    if (limiter_.limited())
      batch_ = std::clamp<size_t>(static_cast<size_t>(o.max_ops_per_sec / 40), 1, batch_);
    workers_.resize(std::max<size_t>(o.connections, 1));
    // Every client of the run reports the servers' run_ids to one watch.
    source_client_ = o.source_client;
    source_client_.watch = watch_;
    target_client_ = o.target_client;
    target_client_.watch = watch_;
  }

  CompareResult run() {
    run_t0_ = std::chrono::steady_clock::now();
    int first_round = 1;
    if (o_.resume_run > 0) {
      first_round = reopen();
    } else {
      RunRecord rec;
      rec.command = "compare";
      rec.source = o_.source.display();
      rec.target = o_.target.display();
      rec.options_json = options_json().dump();
      result_.run_id = store_.begin_run(rec);
    }
    log::info(std::string(o_.resume_run > 0 ? "resuming " : "") + "compare run " +
              std::to_string(result_.run_id) + ": " + o_.source.display() + " db " +
              std::to_string(o_.source.db) + " -> " + o_.target.display() + " db " +
              std::to_string(o_.target.db) + " (store " + store_.path() + ")");
    try {
      prepare();
      for (int round = first_round; round <= o_.rounds; ++round) {
        if (watch_->pending()) {
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
        if (watch_->pending()) {
          round = 0;  // start_over() at the top of the loop
          continue;
        }
        if (result_.rounds.back().differences == 0) break;
      }
      result_.elapsed_ms = run_elapsed_ms();
      finish();
      store_.finish_run(result_.run_id, "done", result_.exit_code);
    } catch (const UsageError&) {
      // Refused before any work (e.g. a resume whose nodes changed): the
      // checkpoint stays usable.
      try_finish("interrupted");
      throw;
    } catch (const Interrupted&) {
      try_finish("interrupted");
      throw;
    } catch (...) {
      try_finish("failed");
      throw;
    }
    return result_;
  }

 private:
  // Resume: validates the run (the command layer has applied its options),
  // drops what was stored after its checkpoint and loads the finished rounds
  // and counters. Returns the round to continue.
  int reopen() {
    const int64_t id = o_.resume_run;
    resumable_run(store_, id, "compare");
    nlohmann::json j = load_checkpoint(store_, id, kCheckpoint);
    result_.run_id = id;
    resume_ = j;
    checkpointed_ = true;
    run_elapsed_base_ = j.value("run_elapsed_ms", int64_t{0});
    watch_->load(j.value("run_ids", nlohmann::json::object()));
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
    store_.reopen_run(id);
    return round;
  }

  void set_round1(const RoundSummary& rs) {
    result_.keys_checked = rs.keys_checked;
    result_.keys_per_sec = rs.elapsed_ms > 0 ? 1000.0 * static_cast<double>(rs.keys_checked) /
                                                   static_cast<double>(rs.elapsed_ms)
                                             : 0;
  }

  // The committed state of round `round`, taken under the commit lock so
  // that positions, counters and the stored rows agree.
  nlohmann::json snapshot(int round) {
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
            {"run_elapsed_ms", run_elapsed_ms()},
            {"run_ids", watch_->to_json()},
            {"starts_over", result_.starts_over},
            {"db_pairs", db_pairs_json(pairs_)},
            {"pair_keys", pair_keys_},
            {"source", streams_[0].position},
            {"target", streams_[1].position}};
  }

  void reset_round_state() {
    std::lock_guard lock(commit_mu_);
    streams_[0] = Stream{};
    streams_[1] = Stream{};
    round_keys_ = 0;
    round_diffs_ = 0;
    round_elapsed_base_ = 0;
    round_t0_ = std::chrono::steady_clock::now();
  }

  // A server restarted under the run (or while it was stopped): everything
  // stored so far is dropped, and round 1 starts again with fresh cursors.
  void start_over() {
    watch_->start_over(result_.starts_over, "the compare",
                       "SCAN cursors do not survive a restart and writes it acknowledged may be "
                       "lost, so the compare starts over at round 1");
    store_.rollback_run(result_.run_id, 0, 0);
    result_.rounds.clear();
    keys_by_type_.clear();
    target_scanned_ = 0;
    std::fill(pair_keys_.begin(), pair_keys_.end(), 0);
    big_ids_.clear();
    big_listed_.clear();
    big_keys_known_ = false;
    resume_ = nullptr;
    abort_ = false;
  }

  void save_checkpoint(int round) {
    store_.put_checkpoint(result_.run_id, kCheckpoint, snapshot(round).dump());
    checkpointed_ = true;
  }

  // The run's working time, over all its processes (not the time stopped).
  int64_t run_elapsed_ms() const { return run_elapsed_base_ + since_ms(run_t0_); }

  // A finished batch: committed with the batches before it once a position
  // is reached, so the checkpoint never covers half of a producer step.
  void commit(WorkItem::Side side, uint64_t seq, BatchResult r) {
    std::lock_guard lock(commit_mu_);
    // After a failed store write (a full disk) the batches in hand are half
    // moved: nothing more is committed, and the run fails with that error.
    if (commit_failed_) return;
    Stream& st = streams_[side == WorkItem::Side::Source ? 0 : 1];
    st.done.emplace(seq, std::move(r));
    for (auto it = st.done.begin(); it != st.done.end() && it->first == st.next_commit;
         it = st.done.erase(it), ++st.next_commit) {
      const bool at_position = it->second.position.has_value();
      st.held.push_back(std::move(it->second));
      if (!at_position) continue;
      std::vector<Difference> diffs;
      for (auto& b : st.held)
        diffs.insert(diffs.end(), std::make_move_iterator(b.diffs.begin()),
                     std::make_move_iterator(b.diffs.end()));
      // Counted as stored: a key SCAN returned twice is recorded once.
      int64_t nd = 0;
      try {
        nd = store_.add_differences(result_.run_id, diffs);
      } catch (...) {
        commit_failed_ = true;
        throw;
      }
      round_diffs_ += nd;
      progress_.add_differences(nd);
      if (nd > 0)
        for (const Difference& d : diffs) Metrics::get().differences(d.kind, 1);
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
  }

  nlohmann::json options_json() const { return compare_options_json(o_); }

  void try_finish(const char* status) {
    abort_ = true;
    try {
      aggregate();
      result_.elapsed_ms = run_elapsed_ms();
      store_.set_totals(result_.run_id, totals_json().dump());
      store_.finish_run(result_.run_id, status, kExitError);
      // Left resumable (from its last checkpoint), as an interrupted run is.
      if (std::string_view(status) == "failed" && checkpointed_)
        warn_resumable("compare", result_.run_id);
    } catch (const std::exception& e) {
      log::warn(std::string("cannot record the end of the run: ") + e.what());
    }
  }

  void prepare() {
    src_main_ = std::make_unique<Client>(o_.source, source_client_);
    tgt_main_ = std::make_unique<Client>(o_.target, target_client_);
    ServerFacts sf = gather_facts(*src_main_);
    ServerFacts tf = gather_facts(*tgt_main_);
    store_.set_server_info(result_.run_id, to_json(sf).dump(), to_json(tf).dump());
    result_.source_desc = describe(sf);
    result_.target_desc = describe(tf);
    log::info("source: " + result_.source_desc + "; target: " + result_.target_desc);
    const auto sn = src_main_->scan_nodes(), tn = tgt_main_->scan_nodes();
    clock_ = clock_skew(src_main_->clock(sn.empty() ? 0 : sn.front()),
                        tgt_main_->clock(tn.empty() ? 0 : tn.front()));
    if (auto w = skew_warning(clock_, o_.ttl_tolerance)) log::warn(*w);
    // Stream counters that only 7.0+ keeps cannot be compared with an older server.
    stream_ext_ = (sf.engine == "valkey" || major_version(sf.version) >= 7) &&
                  (tf.engine == "valkey" || major_version(tf.version) >= 7);
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

  void wait_interval() {
    const auto until = std::chrono::steady_clock::now() + o_.interval;
    while (std::chrono::steady_clock::now() < until) {
      check_stop();
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          until - std::chrono::steady_clock::now(), Millis(50)));
    }
    check_stop();
  }

  void check_stop() {
    if (o_.stop && o_.stop->load()) throw Interrupted(resume_hint("compare", result_.run_id));
  }

  ReaderOptions reader_options(bool source) {
    ReaderOptions r;
    r.chunk = std::max<size_t>(o_.chunk, 1);
    r.big_string = std::max<size_t>(o_.big_string, 1);
    r.stream_extended_meta = stream_ext_;
    if (source) {
      r.types = o_.types;
      r.limiter = &limiter_;
    }
    return r;
  }

  Endpoint endpoint(size_t pair, bool source) const {
    Endpoint ep = source ? o_.source : o_.target;
    ep.db = source ? pairs_[pair].source : pairs_[pair].target;
    return ep;
  }

  // The producers' client of one side for one db pair.
  Client& main_client(size_t pair, bool source) {
    std::lock_guard lock(mains_mu_);
    auto& v = source ? src_mains_ : tgt_mains_;
    if (v.size() < pairs_.size()) v.resize(pairs_.size());
    if (!v[pair])
      v[pair] = std::make_unique<Client>(endpoint(pair, source),
                                         source ? source_client_ : target_client_);
    return *v[pair];
  }

  void ensure_worker(Worker& w, size_t pair) {
    if (w.src) return;
    w.src = std::make_unique<Client>(endpoint(pair, true), source_client_);
    w.tgt = std::make_unique<Client>(endpoint(pair, false), target_client_);
    w.src_reader = std::make_unique<KeyReader>(*w.src, reader_options(true));
    w.src_retry = std::make_unique<KeyReader>(*w.src, reader_options(true));
    w.src_exists = std::make_unique<KeyReader>(*w.src, reader_options(true));
    w.tgt_reader = std::make_unique<KeyReader>(*w.tgt, reader_options(false));
    w.tgt_retry = std::make_unique<KeyReader>(*w.tgt, reader_options(false));
    w.tgt_meta = std::make_unique<KeyReader>(*w.tgt, reader_options(false));
  }

  void fail(std::exception_ptr e) {
    {
      std::lock_guard lock(err_mu_);
      if (!error_ && !stop_token::is_stop(e)) error_ = e;  // a stop: check_stop() says so
    }
    abort_ = true;
    if (queue_) queue_->close();
  }

  bool stopping() const { return abort_.load() || (o_.stop && o_.stop->load()); }

  // Pushes full batches from `buf`; with `all`, the remainder too.
  // The batch that empties `buf` carries `position`: everything the producer
  // produced so far is then in batches.
  bool push_batches(std::vector<std::string>& buf, WorkItem::Side side, bool all,
                    const std::function<nlohmann::json()>& position, size_t pair) {
    while (buf.size() >= batch_ || (all && !buf.empty())) {
      const size_t n = std::min(batch_, buf.size());
      WorkItem item;
      item.side = side;
      item.pair = pair;
      item.seq = streams_[side == WorkItem::Side::Source ? 0 : 1].next_seq++;
      item.keys.assign(std::make_move_iterator(buf.begin()),
                       std::make_move_iterator(buf.begin() + n));
      buf.erase(buf.begin(), buf.begin() + n);
      Metrics::get().keys_scanned(side == WorkItem::Side::Source ? "source" : "target",
                                  static_cast<int64_t>(n));
      if (buf.empty()) item.position = position();
      if (!queue_->push(std::move(item))) return false;
    }
    return true;
  }

  // Every db pair in turn. The position is {"pair", "cursors"}: the pair
  // being scanned and its SCAN cursors (a bare array: pair 0, older runs).
  void produce_scan(WorkItem::Side side) {
    ScanOptions so;
    so.match = o_.match;
    if (o_.types.size() == 1) so.type = o_.types.front();
    so.count = o_.scan_count;
    so.limiter = side == WorkItem::Side::Source ? &limiter_ : nullptr;
    const nlohmann::json& saved = streams_[side == WorkItem::Side::Source ? 0 : 1].position;
    size_t first = 0;
    nlohmann::json cursors = saved;
    // {"pair", "cursors"}; a bare position (SCAN cursors, or the slots a
    // cluster's enumeration finished) is pair 0 of an older run.
    if (saved.is_object() && saved.contains("pair")) {
      first = saved.value("pair", size_t{0});
      cursors = saved.value("cursors", nlohmann::json());
    }
    for (size_t pair = first; pair < pairs_.size() && !stopping(); ++pair) {
      Scanner scanner(main_client(pair, side == WorkItem::Side::Source), so);
      if (pair == first && (cursors.is_array() || cursors.is_object()))
        scanner.restore_position(cursors);
      auto pos = [&] {
        return nlohmann::json{{"pair", pair}, {"cursors", scanner.cursors_json()}};
      };
      std::vector<std::string> buf;
      // Batches are cut only at the end of a SCAN call (once a batch is full),
      // so the cursors after the call are a resume point for all of them.
      while (!stopping() && scanner.next(buf)) {
        if (buf.size() >= batch_ && !push_batches(buf, side, true, pos, pair)) return;
      }
      if (!stopping() && !push_batches(buf, side, true, pos, pair)) return;
    }
  }

  // --sample draws that many keys from each db pair.
  void produce_sample(WorkItem::Side side) {
    for (size_t pair = 0; pair < pairs_.size() && !stopping(); ++pair) {
      SampleOptions so;
      so.keys = sample_;
      so.match = o_.match;
      so.limiter = side == WorkItem::Side::Source ? &limiter_ : nullptr;
      Sampler sampler(main_client(pair, side == WorkItem::Side::Source), so);
      // A sample is random: a resumed run draws it again from the start.
      auto pos = [] { return nlohmann::json(); };
      std::vector<std::string> buf;
      while (!stopping() && sampler.next(buf)) {
        if (!push_batches(buf, side, true, pos, pair)) return;
      }
      if (!stopping()) push_batches(buf, side, true, pos, pair);
      if (side == WorkItem::Side::Source && sampler.sampled() < sample_)
        log::info("sampled " + std::to_string(sampler.sampled()) +
                  " distinct keys (fewer than --sample " + std::to_string(sample_) +
                  ": the keyspace or the matching part is small)");
    }
  }

  // Keys that differed in `prev_round`, each once, in the order they were
  // stored. A key's rows (ttl and value) are stored together; SCAN returning
  // a key twice (the table was resized meanwhile) or a key found by both
  // scans makes rows apart, caught by a set of 64-bit key hashes: 16 bytes
  // per differing key, and a false "seen" needs a 64-bit collision.
  void produce_recheck(int prev_round) {
    IdSet seen;
    std::string prev;
    bool have_prev = false;
    std::vector<std::string> buf;
    bool ok = true;
    DifferenceFilter f;
    f.round = prev_round;
    // Resumed: rows up to the saved id were checked; they only fill `seen`.
    const nlohmann::json& saved = streams_[0].position;
    const int64_t skip_to = saved.is_number_integer() ? saved.get<int64_t>() : 0;
    int64_t last_id = skip_to;
    auto pos = [&] { return nlohmann::json(last_id); };
    size_t pair = 0;
    int prev_db = -1;
    store_.for_each_difference(result_.run_id, f, [&](const Difference& d) {
      if (!ok || stopping()) return;
      if (have_prev && d.key == prev && d.db == prev_db) return;
      prev = d.key;
      prev_db = d.db;
      have_prev = true;
      // The same name in two dbs is two keys.
      if (!seen.insert(element_id(d.key) + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(d.db)))
        return;
      if (d.id <= skip_to) return;
      const size_t p = pair_of(d.db);
      if (p >= pairs_.size()) return;  // not a db of this run
      // A batch holds keys of one db pair.
      if (p != pair && !buf.empty())
        ok = push_batches(buf, WorkItem::Side::Source, true, pos, pair);
      pair = p;
      buf.push_back(d.key);
      last_id = d.id;
      if (ok) ok = push_batches(buf, WorkItem::Side::Source, false, pos, pair);
    });
    if (ok && !stopping()) push_batches(buf, WorkItem::Side::Source, true, pos, pair);
  }

  void run_round(int round, bool resumed) {
    check_stop();
    const auto t0 = std::chrono::steady_clock::now();
    reset_round_state();
    round_t0_ = t0;
    // A sampled round is not resumable mid-way: its checkpoint stays at its start.
    const bool resumable = round > 1 || sample_ == 0;
    if (resumed) {
      const nlohmann::json& j = resume_;
      if (resumable) {
        round_keys_ = j.value("keys_checked", int64_t{0});
        round_diffs_ = j.value("differences", int64_t{0});
        round_elapsed_base_ = j.value("elapsed_ms", int64_t{0});
        if (j.contains("source")) streams_[0].position = j["source"];
        if (j.contains("target")) streams_[1].position = j["target"];
      }
      log::info("resuming round " + std::to_string(round) + " after " +
                std::to_string(round_keys_.load()) + " checked key(s)");
    }
    int64_t total = -1;
    if (round == 1) {
      if (sample_ > 0)
        total = static_cast<int64_t>(sample_);
      else if (o_.match.empty() && o_.types.empty())
        total = source_keys_;
    } else {
      DifferenceFilter f;
      f.round = round - 1;
      total = store_.count_differences(result_.run_id, f);
    }
    progress_.start("round " + std::to_string(round), total);
    Metrics::get().round(round);
    progress_.add_keys(round_keys_.load());
    progress_.add_differences(round_diffs_.load());

    queue_ = std::make_unique<WorkQueue>(workers_.size() * 2 + 2);
    std::vector<std::thread> producers;
    auto spawn = [&](auto fn) {
      queue_->add_producer();
      producers.emplace_back([this, fn] {
        try {
          fn();
        } catch (...) {
          fail(std::current_exception());
        }
        queue_->producer_done();
      });
    };
    if (round == 1) {
      if (sample_ > 0) {
        spawn([this] { produce_sample(WorkItem::Side::Source); });
        if (o_.target_scan) spawn([this] { produce_sample(WorkItem::Side::Target); });
      } else {
        spawn([this] { produce_scan(WorkItem::Side::Source); });
        if (o_.target_scan) spawn([this] { produce_scan(WorkItem::Side::Target); });
      }
    } else {
      spawn([this, round] { produce_recheck(round - 1); });
    }
    std::vector<std::thread> threads;
    for (size_t i = 0; i < workers_.size(); ++i)
      threads.emplace_back([this, i, round] {
        try {
          work(i, round);
        } catch (...) {
          fail(std::current_exception());
        }
      });
    // A stop request (signal) closes the queue, so producers and workers end.
    // It also checkpoints the round every few seconds, so a killed process
    // loses at most that much work.
    std::thread watcher([this, round, resumable] {
      auto last = std::chrono::steady_clock::now();
      while (!abort_.load()) {
        if ((o_.stop && o_.stop->load()) || watch_->pending()) {
          abort_ = true;  // also wakes a rate-limited sleeper
          queue_->close();
          break;
        }
        if (resumable && std::chrono::steady_clock::now() - last >= kCheckpointEvery) {
          last = std::chrono::steady_clock::now();
          try {
            save_checkpoint(round);
          } catch (...) {
            fail(std::current_exception());
            break;
          }
        }
        std::unique_lock lock(watch_mu_);
        watch_cv_.wait_for(lock, Millis(50), [&] { return round_over_; });
        if (round_over_) break;
      }
    });
    for (auto& t : producers) t.join();
    for (auto& t : threads) t.join();
    {
      std::lock_guard lock(watch_mu_);
      round_over_ = true;
    }
    watch_cv_.notify_all();
    watcher.join();
    round_over_ = false;
    progress_.finish();
    const bool complete = !error_ && !(o_.stop && o_.stop->load()) && !abort_.load();
    if (!complete && resumable) {
      try {
        save_checkpoint(round);
      } catch (const std::exception& e) {
        log::warn(std::string("cannot checkpoint the run: ") + e.what());
      }
    }

    // Recorded even when the round was cut short (interrupted, failed): the
    // run's status says so, and its rows are there to be listed.
    RoundSummary rs;
    rs.round = round;
    rs.keys_checked = round_keys_.load();
    rs.differences = round_diffs_.load();
    rs.elapsed_ms = round_elapsed_base_ + since_ms(t0);
    result_.rounds.push_back(rs);
    RoundRecord rr;
    rr.run = result_.run_id;
    rr.round = round;
    rr.keys_checked = rs.keys_checked;
    rr.differences = rs.differences;
    // Started its elapsed time before it finished: a round resumed spans its
    // working time in all processes, and reopen() reads it back as such.
    rr.finished_ms = wall_ms();
    rr.started_ms = rr.finished_ms - rs.elapsed_ms;
    store_.put_round(rr);
    if (round == 1) set_round1(rs);
    if (round == 1 && complete) big_keys_known_ = true;
    if (error_) std::rethrow_exception(error_);
    check_stop();
  }

  void work(size_t thread, int round) {
    while (auto item = queue_->pop()) {
      if (stopping()) break;
      // One worker (clients and readers) per thread and db pair.
      Worker& w = workers_[thread][item->pair];
      ensure_worker(w, item->pair);
      const int db = pairs_[item->pair].source;
      BatchResult r;
      r.pair = item->pair;
      r.round = round;
      w.diffs.clear();
      w.keys_by_type.clear();
      if (item->side == WorkItem::Side::Source)
        r.keys = compare_batch(w, item->keys, round, db);
      else
        r.target_keys = check_target_only(w, item->keys, round, db);
      r.diffs = std::move(w.diffs);
      w.diffs.clear();
      r.keys_by_type = std::move(w.keys_by_type);
      w.keys_by_type.clear();
      r.big_keys = std::move(w.big_keys);
      w.big_keys.clear();
      r.position = std::move(item->position);
      commit(item->side, item->seq, std::move(r));
    }
  }

  // Returns the keys checked (a type-filtered key is not).
  int64_t compare_batch(Worker& w, const std::vector<std::string>& keys, int round, int db) {
    const size_t n = keys.size();
    read_together(*w.src_reader, keys, *w.tgt_reader, keys);
    auto src = w.src_reader->results();
    auto tgt = w.tgt_reader->results();
    w.s_state.resize(n);
    w.t_state.resize(n);
    w.held.clear();
    for (size_t i = 0; i < n; ++i) {
      w.s_state[i] = &src[i];
      w.t_state[i] = &tgt[i];
    }
    // A key that changed while read is read again at once (twice at most):
    // most churn settles within milliseconds, and a difference that is only
    // churn should not need a whole round to drop out.
    for (int attempt = 0; attempt < 2; ++attempt) {
      w.retry_idx.clear();
      for (size_t i = 0; i < n; ++i)
        if (w.s_state[i]->status == ReadStatus::Unstable ||
            w.t_state[i]->status == ReadStatus::Unstable)
          w.retry_idx.push_back(i);
      if (w.retry_idx.empty()) break;
      w.retry_keys.clear();
      for (size_t i : w.retry_idx) w.retry_keys.push_back(keys[i]);
      read_together(*w.src_retry, w.retry_keys, *w.tgt_retry, w.retry_keys);
      auto rs = w.src_retry->results();
      auto rt = w.tgt_retry->results();
      for (size_t j = 0; j < w.retry_idx.size(); ++j) {
        w.held.push_back(rs[j]);
        w.s_state[w.retry_idx[j]] = &w.held.back();
        w.held.push_back(rt[j]);
        w.t_state[w.retry_idx[j]] = &w.held.back();
      }
    }
    int64_t checked = 0;
    for (size_t i = 0; i < n; ++i) {
      const KeyState& s = *w.s_state[i];
      const KeyState& t = *w.t_state[i];
      if (s.status == ReadStatus::Filtered) continue;
      // With several --type filters SCAN cannot filter: a key only on the
      // target is in scope when the target's type is.
      if (!s.exists && !o_.types.empty() && t.exists &&
          std::find(o_.types.begin(), o_.types.end(), t.type_name) == o_.types.end())
        continue;
      ++checked;
      if (round == 1) {
        auto it = w.keys_by_type.find(s.type_name);
        if (it == w.keys_by_type.end()) it = w.keys_by_type.emplace(s.type_name, 0).first;
        ++it->second;
        if (s.chunked && s.exists) w.big_keys.push_back({keys[i], db, s.type_name, s.size});
      }
      const size_t rows = w.diffs.size();
      classify_key(keys[i], db, round, s, t, o_.ttl_tolerance, w.diffs);
      settle_field_expiry_rows(w.src_reader->client(), w.tgt_reader->client(), keys[i], s, t,
                               o_.ttl_tolerance, &limiter_, w.diffs, rows, o_.chunk);
      if (w.diffs.size() > rows) {
        LocateOptions locate = o_.locate;
        locate.limiter = &limiter_;  // --max-ops-per-sec covers its re-reads too
        locate_value_rows(w.src_reader->client(), w.tgt_reader->client(), keys[i], s, t, locate,
                          std::span(w.diffs).subspan(rows));
      }
    }
    return checked;
  }

  // Target-scan batch: EXISTS on the source; the absent ones are extra.
  // Returns the number of target keys looked up.
  int64_t check_target_only(Worker& w, const std::vector<std::string>& keys, int round, int db) {
    auto ex = w.src_exists->read(keys, ReadLevel::Exists);
    w.absent_keys.clear();
    for (size_t i = 0; i < keys.size(); ++i) {
      if (ex[i].status == ReadStatus::Absent)
        w.absent_keys.push_back(keys[i]);
      else if (ex[i].status == ReadStatus::Error)
        log::debug("cannot check source existence of a target key: " + ex[i].detail);
    }
    if (w.absent_keys.empty()) return static_cast<int64_t>(keys.size());
    auto meta = w.tgt_meta->read(w.absent_keys, ReadLevel::Meta);
    KeyState none;
    for (size_t i = 0; i < w.absent_keys.size(); ++i) {
      const KeyState& t = meta[i];
      if (!t.exists) continue;
      if (!o_.types.empty() &&
          std::find(o_.types.begin(), o_.types.end(), t.type_name) == o_.types.end())
        continue;
      classify_key(w.absent_keys[i], db, round, none, t, o_.ttl_tolerance, w.diffs);
    }
    return static_cast<int64_t>(keys.size());
  }

  nlohmann::json totals_json() {
    nlohmann::json rounds = nlohmann::json::array();
    for (const auto& r : result_.rounds)
      rounds.push_back({{"round", r.round},
                        {"keys_checked", r.keys_checked},
                        {"differences", r.differences},
                        {"elapsed_ms", r.elapsed_ms}});
    nlohmann::json by_kind = nlohmann::json::object(), by_type = nlohmann::json::object();
    for (auto& [k, v] : result_.differences_by_kind) by_kind[k] = v;
    for (auto& [k, v] : result_.differences_by_type) by_type[k] = v;
    nlohmann::json totals = {
        {"keys_checked", result_.keys_checked},
        {"keys_by_type", result_.keys_by_type},
        {"target_keys_scanned", result_.target_keys_scanned},
        {"differences", result_.differences},
        {"differences_by_kind", by_kind},
        {"differences_by_type", by_type},
        {"rounds", rounds},
        {"elapsed_ms", result_.elapsed_ms},
        {"keys_per_sec", result_.keys_per_sec},
        {"sampled", sample_ > 0},
        {"starts_over", result_.starts_over},
        {"waited_out", transient::totals_json()},
        {"clock_skew",
         {{"known", clock_.known}, {"skew_ms", clock_.skew_ms}, {"error_ms", clock_.error_ms}}},
        {"source_reader", stats_json(result_.source_stats)},
        {"target_reader", stats_json(result_.target_stats)}};
    nlohmann::json dbs = nlohmann::json::array();
    for (const auto& d : result_.databases)
      dbs.push_back({{"source_db", d.dbs.source},
                     {"target_db", d.dbs.target},
                     {"keys_checked", d.keys_checked},
                     {"differences", d.differences}});
    totals["databases"] = dbs;
    // Only a complete round 1 has looked at every key: before that, no count
    // (the report says "not evaluated") rather than a partial one.
    if (big_keys_known_) {
      nlohmann::json keys = nlohmann::json::array();
      for (const auto& k : result_.big_keys_listed) keys.push_back(big_key_json(k));
      totals["big_keys"] = {{"count", result_.big_keys}, {"keys", keys}};
    }
    return totals;
  }

  size_t pair_of(int source_db) const {
    for (size_t p = 0; p < pairs_.size(); ++p)
      if (pairs_[p].source == source_db) return p;
    return pairs_.size();
  }

  // Per db pair: round 1 keys, and the difference rows of the last round.
  void collect_databases() {
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
  void aggregate() {
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
  }

  void finish() {
    aggregate();
    const RoundSummary& last = result_.rounds.back();
    result_.differences = last.differences;
    result_.differences_by_kind = store_.count_by_kind(result_.run_id, last.round);
    result_.differences_by_type = store_.count_by_type(result_.run_id, last.round);
    result_.exit_code = result_.differences > 0 ? kExitDiffer : kExitSame;
    store_.set_totals(result_.run_id, totals_json().dump());
  }

  const CompareOptions& o_;
  Store& store_;
  std::atomic<bool> abort_{false};
  RateLimiter limiter_;
  Progress progress_;
  size_t batch_ = 500;
  uint64_t sample_ = 0;
  bool stream_ext_ = true;
  std::vector<DbPair> pairs_;       // the db pairs compared, in order
  std::vector<int64_t> pair_keys_;  // round 1 keys checked per pair (commit_mu_)
  std::mutex mains_mu_;
  std::vector<std::unique_ptr<Client>> src_mains_, tgt_mains_;  // per pair, for producers
  ClockSkew clock_;  // target's clock minus the source's (shown, never applied)
  int64_t source_keys_ = 0;
  bool commit_failed_ = false;  // under commit_mu_
  std::shared_ptr<RestartWatch> watch_ = std::make_shared<RestartWatch>();
  ClientOptions source_client_, target_client_;  // the options', with watch_
  std::unique_ptr<Client> src_main_, tgt_main_;
  std::vector<std::map<size_t, Worker>> workers_;  // per thread, per db pair
  std::unique_ptr<WorkQueue> queue_;
  std::mutex err_mu_;
  std::exception_ptr error_;
  std::atomic<int64_t> round_keys_{0}, round_diffs_{0}, target_scanned_{0};
  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool round_over_ = false;
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
  std::chrono::steady_clock::time_point run_t0_ = std::chrono::steady_clock::now();
  int64_t run_elapsed_base_ = 0;           // the run's elapsed before the resume
  std::atomic<bool> checkpointed_{false};  // the run has a checkpoint to resume from
};

}  // namespace

CompareResult run_compare(const CompareOptions& opts, Store& store) {
  if (opts.rounds < 1) throw UsageError("--rounds must be at least 1");
  Engine engine(opts, store);
  return engine.run();
}

}  // namespace migcheck
