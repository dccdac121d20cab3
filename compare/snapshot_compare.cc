// The snapshot compare engine (see snapshot_compare.h): the file's stream,
// the target workers, the target scan for extras, target-only re-check
// rounds, file-against-file lookups, and the run's records in the store.
#include "snapshot_compare.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "compare_engine.h"
#include "encoding.h"
#include "errors.h"
#include "exit_codes.h"
#include "file_identity.h"
#include "key_hash_table.h"
#include "log.h"
#include "ordered_commit.h"
#include "progress.h"
#include "rdb_reader.h"
#include "rdb_source.h"
#include "result_json.h"
#include "resume.h"
#include "run.h"
#include "scanner.h"
#include "server_info.h"
#include "snapshot_locate.h"
#include "snapshot_resume.h"
#include "snapshot_sample.h"
#include "snapshot_totals.h"
#include "wall_clock.h"

namespace migcheck {
namespace {

// Thrown into the file's parse to stop it (the queue was closed).
struct StopStream {};

// One worker thread's target connections and readers, per target db.
struct TargetSide {
  std::unique_ptr<Client> client;
  std::unique_ptr<KeyReader> reader, retry;
};

class SnapshotEngine {
 public:
  SnapshotEngine(const SnapshotCompareOptions& o, Store& store)
      : o_(o),
        b_(o.base),
        store_(store),
        run_(store, "compare", o.base.stop),
        progress_(o.base.progress) {
    batch_ = std::max<size_t>(b_.batch, 1);
  }

  SnapshotCompareResult run() {
    identity_ = file_identity(o_.source_file);
    if (b_.resume_run > 0)
      reopen();
    else
      res_.compare.run_id = begin_run();
    auto& r = res_.compare;
    log::info(std::string(b_.resume_run > 0 ? "resuming " : "") + "compare run " +
              std::to_string(r.run_id) + ": snapshot " + o_.source_file + " -> " +
              (file_target() ? "snapshot " + o_.target_file : b_.target.display()) + " (store " +
              store_.path() + ")");
    try {
      if (file_target()) {
        compare_files();
      } else {
        prepare_target();
        if (resume_round_ <= 1) round_one();
        for (int round = std::max(2, resume_round_);
             round <= b_.rounds && r.rounds.back().differences > 0; ++round) {
          log::info("round " + std::to_string(round - 1) + ": " +
                    std::to_string(r.rounds.back().differences) +
                    " difference(s); re-checking them on the target in " +
                    format_duration(b_.interval));
          save_checkpoint(round, kStreamDone);  // a resume does this round again
          wait_interval();
          recheck_round(round);
        }
      }
      r.elapsed_ms = run_.elapsed_ms();
      finish();
      end_run("done", r.exit_code);
    } catch (const Interrupted&) {
      record_failure("interrupted", true);
      throw;
    } catch (const RdbError&) {
      record_failure("failed", false);  // a corrupt file: resuming reads the same bytes
      throw;
    } catch (...) {
      record_failure("failed", true);
      throw;
    }
    return res_;
  }

 private:
  bool file_target() const { return !o_.target_file.empty(); }
  bool stopping() const { return abort_.load() || (b_.stop && b_.stop->load()); }
  void check_stop() const {
    if (b_.stop && b_.stop->load())
      throw Interrupted(file_target()
                            ? "interrupted (two files are compared in one run: run it again)"
                            : resume_hint("compare", res_.compare.run_id));
  }

  // The run's lifecycle in the store, through Run as the other engines'.
  int64_t begin_run() {
    RunRecord rec;
    rec.source = "file://" + o_.source_file;
    rec.target = file_target() ? "file://" + o_.target_file : b_.target.display();
    rec.options_json = snapshot_compare_options_json(o_).dump();
    return run_.begin(std::move(rec));
  }
  void end_run(const char* status, int exit_code) { run_.finish(status, exit_code, totals_json()); }

  // Never throws (Run::end_abnormally); in the stream, the committed prefix is checkpointed.
  void record_failure(const char* status, bool resumable) {
    run_.abort();
    run_.end_abnormally(
        status,
        [&] {
          if (stream_phase_) save_checkpoint(1, done_offset_);
          res_.compare.elapsed_ms = run_.elapsed_ms();
          collect();
          return totals_json();
        },
        [&] { return resumable && !file_target() && run_.has_stored_checkpoint(); });
  }

  // --resume: the file checked, rows after the checkpoint dropped, counters loaded.
  void reopen() {
    const int64_t id = b_.resume_run;
    const nlohmann::json j = run_.resume(id, true);
    res_.compare.run_id = id;
    if (j.value("file", nlohmann::json()) != identity_)
      throw UsageError("cannot resume run " + std::to_string(id) + ": " + o_.source_file +
                       " is not the file the run was reading (its size, modification time or "
                       "first MiB changed); start a new run");
    resume_round_ = j.value("round", 1);
    resume_offset_ = done_offset_ = j.value("offset", uint64_t{0});
    now0_ = j.value("now_ms", int64_t{0});
    run_.set_elapsed_base(j.value("elapsed_ms", int64_t{0}));
    store_.rollback_run(id, j.value("max_diff_id", int64_t{0}), resume_round_ - 1);
    resumed_ = j.value("counters", nlohmann::json::object()).get<SnapshotCounters>();
    restore(resumed_);
    auto& r = res_.compare;
    for (const auto& rr : store_.rounds(id))
      r.rounds.push_back({rr.round, rr.keys_checked, rr.differences,
                          std::max<int64_t>(0, rr.finished_ms - rr.started_ms)});
    if (!r.rounds.empty()) {
      r.keys_checked = r.rounds.front().keys_checked;
      big_known_ = true;
    }
    r.source_desc = "snapshot file, RDB " + std::to_string(res_.rdb_version);
    run_.reopened();
  }

  SnapshotCounters counters() {
    std::lock_guard lock(commit_mu_);
    return {round_keys_,
            round_diffs_,
            compare_internal::since_ms(round_t0_),
            target_scanned_.load(),
            big_count_,
            big_listed_,
            db_keys_,
            keys_by_type_,
            pairs_,
            res_.expired_skipped,
            res_.rdb_version,
            res_.sampled};
  }
  void restore(const SnapshotCounters& c) {
    target_scanned_ = c.target_scanned;
    big_count_ = c.big_count;
    big_listed_ = c.big_listed;
    db_keys_ = c.db_keys;
    keys_by_type_ = c.keys_by_type;
    pairs_ = c.pairs;
    res_.expired_skipped = c.expired_skipped;
    res_.rdb_version = c.rdb_version;
    res_.sampled = c.sampled;
  }

  // In round 1, every key of the file before `offset` is stored and counted.
  void save_checkpoint(int round, uint64_t offset) {
    run_.save_checkpoint({{"file", identity_},
                          {"round", round},
                          {"offset", offset},
                          {"now_ms", now0_},
                          {"max_diff_id", store_.max_difference_id()},
                          {"elapsed_ms", run_.elapsed_ms()},
                          {"run_ids", run_.watch().to_json()},
                          {"counters", counters()}});
  }

  // Source db -> target db.
  int target_db_of(int db) const {
    if (o_.db) return o_.target_db.value_or(*o_.db);
    for (const DbPair& p : o_.db_map)
      if (p.source == db) return p.target;
    return db;
  }
  // Target db -> source db (the db a target key is compared in).
  int source_db_of(int tdb) const {
    if (o_.db) return *o_.db;
    for (const DbPair& p : o_.db_map)
      if (p.target == tdb) return p.source;
    return tdb;
  }
  // The file's dbs are restricted (--db, --db-map): the target's other dbs are not scanned.
  bool dbs_chosen() const { return o_.db || !o_.db_map.empty(); }

  RdbSourceOptions source_options() const {
    RdbSourceOptions so;
    so.db = o_.db;
    for (const DbPair& p : o_.db_map) so.dbs.push_back(p.source);
    so.match = b_.match;
    so.types = b_.types;
    so.now_ms = now0_;
    so.stream_extended_meta = stream_ext_;
    return so;
  }

  // A file key's state as the KeyReader would give it, TTL taken from the run's now.
  KeyState to_state(const RdbKeyState& f) const {
    KeyState s;
    s.status = ReadStatus::Ok;
    s.exists = true;
    s.type = f.type;
    s.type_name = f.type_name;
    if (f.expire_ms) {
      s.pttl = std::max<int64_t>(0, *f.expire_ms - now0_);
      s.expire_at_ms = mono0_ + s.pttl;
    } else {
      s.pttl = -1;
    }
    s.digest = f.digest;
    s.size = f.size;
    return s;
  }

  // The file side kept in a difference row (round 2+).
  KeyState from_row(const Difference& d) const {
    KeyState s;
    if (d.source_type == "none") return s;
    s.status = ReadStatus::Ok;
    s.exists = true;
    s.type_name = d.source_type;
    s.type = value_type_from(d.source_type);
    s.pttl = d.source_ttl_ms;
    if (s.pttl >= 0) s.expire_at_ms = mono0_ + s.pttl;
    s.digest = digest_from_hex(d.source_digest).value_or(Digest128{});
    s.size = d.source_size;
    return s;
  }

  bool big(const KeyState& s) const {
    return s.type == ValueType::String ? s.size > static_cast<int64_t>(b_.big_string)
                                       : s.size > static_cast<int64_t>(b_.chunk);
  }

  bool type_in_scope(const std::string& t) const {
    return b_.types.empty() || std::find(b_.types.begin(), b_.types.end(), t) != b_.types.end();
  }

  void prepare_target() {
    main_ = std::make_unique<Client>(b_.target, b_.target_client);
    tf_ = gather_facts(*main_);
    const auto tn = main_->scan_nodes();
    const ClockReading tc = main_->clock(tn.empty() ? 0 : tn.front());
    offset_ = tc.usable_ms();
    if (offset_ != 0)
      log::info("the target's clock is " + std::to_string(offset_) +
                " ms off this host's: file expiries are compared on the target's clock");
    clock_ = {tc.known, offset_, tc.error_ms};
    // Stream counters that only 7.0+ keeps (RDB 10+ files) cannot be
    // compared with an older server or file.
    stream_ext_ = keeps_stream_counters(tf_) && rdb_header_version(o_.source_file) >= 10;
    if (!stream_ext_)
      log::warn(
          "a server older than 7.0 or a file older than RDB 10: stream entries-added, "
          "max-deleted-entry-id and entries-read are not compared");
    res_.compare.target_desc = tf_.engine + " " + tf_.version + " " + tf_.mode;
    set_now();
    // The target's identity, recorded now: a resume checks it (the file's
    // facts are completed after its stream).
    if (resume_round_ <= 1)
      record_server_info({}, rdb_header_version(o_.source_file), to_json(tf_).dump());
  }

  // A resumed run keeps its start's now (the same keys are skipped as
  // expired); mono0_ is that moment on this process's monotonic clock.
  void set_now() {
    const int64_t now = wall_ms() + offset_;
    if (b_.resume_run == 0 || now0_ == 0) now0_ = now;
    mono0_ = monotonic_ms() - (now - now0_);
  }

  void wait_interval() {
    const auto until = std::chrono::steady_clock::now() + b_.interval;
    while (std::chrono::steady_clock::now() < until) {
      check_stop();
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          until - std::chrono::steady_clock::now(), Millis(50)));
    }
    check_stop();
  }

  ReaderOptions reader_options() const {
    ReaderOptions r;
    r.chunk = std::max<size_t>(b_.chunk, 1);
    r.big_string = std::max<size_t>(b_.big_string, 1);
    r.stream_extended_meta = stream_ext_;
    // Memory stays bounded with several workers (see spill_set.h).
    r.dedupe_digests = size_t{1} << 16;
    return r;
  }

  TargetSide& side(std::map<int, TargetSide>& sides, int tdb) {
    TargetSide& t = sides[tdb];
    if (!t.client) {
      Endpoint ep = b_.target;
      ep.db = tdb;
      t.client = std::make_unique<Client>(ep, b_.target_client);
      t.reader = std::make_unique<KeyReader>(*t.client, reader_options());
      t.retry = std::make_unique<KeyReader>(*t.client, reader_options());
    }
    return t;
  }

  void fail(std::exception_ptr e) {
    {
      std::lock_guard lock(err_mu_);
      if (!error_) error_ = e;
    }
    abort_ = true;
    if (queue_) queue_->abort();
  }

  // Reads the target's states of a batch and classifies each key.
  void work(std::map<int, TargetSide>& sides, Batch& b, int round) {
    TargetSide& t = side(sides, target_db_of(b.db));
    const ReadLevel level = b.extras ? ReadLevel::Meta : ReadLevel::Full;
    auto first = t.reader->read(b.keys, level);
    std::vector<KeyState> tgt(first.begin(), first.end());
    // A key that changed while read is read again at once (twice at most).
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::vector<size_t> idx;
      std::vector<std::string> keys;
      for (size_t i = 0; i < tgt.size(); ++i)
        if (tgt[i].status == ReadStatus::Unstable) {
          idx.push_back(i);
          keys.push_back(b.keys[i]);
        }
      if (idx.empty()) break;
      auto again = t.retry->read(keys, level);
      for (size_t j = 0; j < idx.size(); ++j) tgt[idx[j]] = again[j];
    }
    std::vector<Difference> diffs;
    std::map<std::string, int64_t> by_type;
    std::vector<BigKeyInfo> bigs;
    int64_t checked = 0;
    for (size_t i = 0; i < b.keys.size(); ++i) {
      const KeyState& s = b.src[i];
      if (!s.exists && tgt[i].exists && !type_in_scope(tgt[i].type_name)) continue;
      // Round 1's extras are target keys looked up (target_keys_scanned),
      // not keys checked, as in the live compare.
      if (s.exists || round > 1) ++checked;
      if (round == 1 && s.exists) {
        ++by_type[s.type_name];
        if (big(s)) bigs.push_back({b.keys[i], b.db, s.type_name, s.size});
      }
      locate_.classify(*t.client, b, i, round, tgt[i], b_.ttl_tolerance, diffs);
    }
    // Committed in the batches' order (ordered_commit.h): in round 1's stream
    // the committed keys are a prefix of the file, up to the batch's offset.
    std::lock_guard lock(order_mu_);
    auto done = [this, diffs = std::move(diffs), checked, by_type = std::move(by_type),
                 bigs = std::move(bigs), db = b.db, round, next = b.next_offset]() mutable {
      commit(diffs, checked, by_type, bigs, db, round);
      done_offset_ = std::max(done_offset_, next);
      if (stream_phase_ && run_.checkpoint_due()) save_checkpoint(1, done_offset_);
    };
    order_.add(b.seq, std::move(done), [](std::function<void()>& f) { f(); });
  }

  void commit(const std::vector<Difference>& diffs, int64_t checked,
              const std::map<std::string, int64_t>& by_type, std::vector<BigKeyInfo>& bigs, int db,
              int round) {
    std::lock_guard lock(commit_mu_);
    const int64_t nd = diffs.empty() ? 0 : store_.add_differences(res_.compare.run_id, diffs);
    round_diffs_ += nd;
    round_keys_ += checked;
    progress_.add_keys(checked);
    progress_.add_differences(nd);
    if (round != 1) return;
    db_keys_[db] += checked;
    for (auto& [t, n] : by_type) keys_by_type_[t] += n;
    big_count_ += static_cast<int64_t>(bigs.size());
    for (auto& k : bigs)
      if (big_listed_.size() < kBigKeysListed) big_listed_.push_back(std::move(k));
  }

  // Runs `produce` (which pushes batches) against the worker pool.
  void with_workers(int round, const std::function<void()>& produce) {
    queue_ = std::make_unique<BatchQueue>(std::max<size_t>(b_.connections, 1) * 2 + 2);
    order_.reset();
    seq_ = 0;
    std::vector<std::thread> threads;
    for (size_t i = 0; i < std::max<size_t>(b_.connections, 1); ++i)
      threads.emplace_back([this, round] {
        std::map<int, TargetSide> sides;
        try {
          while (auto b = queue_->pop()) {
            if (stopping()) break;
            work(sides, *b, round);
          }
        } catch (...) {
          fail(std::current_exception());
        }
        std::lock_guard lock(commit_mu_);
        for (auto& [db, t] : sides) {
          target_stats_ += t.reader->stats();
          target_stats_ += t.retry->stats();
        }
      });
    // A signal closes the queue, so the producer and the workers end.
    std::atomic<bool> over{false};
    std::thread watcher([this, &over] {
      while (!over.load() && !abort_.load()) {
        if (b_.stop && b_.stop->load()) {
          abort_ = true;
          queue_->abort();
          break;
        }
        std::this_thread::sleep_for(Millis(50));
      }
    });
    try {
      produce();
    } catch (const StopStream&) {
    } catch (...) {
      fail(std::current_exception());
    }
    queue_->close();
    for (auto& t : threads) t.join();
    over = true;
    watcher.join();
    queue_.reset();
    if (error_) std::rethrow_exception(error_);
    check_stop();
  }

  void push(Batch& b) {
    if (b.keys.empty()) return;
    b.seq = seq_++;
    if (!queue_->push(std::move(b))) throw StopStream{};
    b = Batch{};
  }

  void begin_round(int round, int64_t total) {
    round_keys_ = 0;
    round_diffs_ = 0;
    round_t0_ = std::chrono::steady_clock::now();
    progress_.start("round " + std::to_string(round), total);
  }

  void end_round(int round) {
    progress_.finish();
    RoundSummary rs;
    rs.round = round;
    rs.keys_checked = round_keys_;
    rs.differences = round_diffs_;
    rs.elapsed_ms =
        std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - round_t0_).count();
    res_.compare.rounds.push_back(rs);
    store_.put_round(round_record(res_.compare.run_id, rs));
    if (round == 1) {
      res_.compare.keys_checked = rs.keys_checked;
      res_.compare.keys_per_sec =
          rs.elapsed_ms > 0
              ? 1000.0 * static_cast<double>(rs.keys_checked) / static_cast<double>(rs.elapsed_ms)
              : 0;
    }
  }

  // The file's facts as the store keeps a server's: what the report shows.
  void record_server_info(const std::map<int, int64_t>& file_keys, int version,
                          const std::string& target_json) {
    const ServerFacts f = snapshot_file_facts(o_.source_file, version, file_keys);
    res_.compare.source_desc = "snapshot file, RDB " + std::to_string(version);
    store_.set_server_info(res_.compare.run_id, to_json(f).dump(), target_json);
  }

  void round_one() {
    begin_round(1, -1);
    if (resume_round_ == 1) {  // the round's counters up to the checkpoint
      round_keys_ = resumed_.round_keys;
      round_diffs_ = resumed_.round_diffs;
      round_t0_ -= Millis(resumed_.round_ms);
    } else {
      save_checkpoint(1, 0);
    }
    KeyHashTable keys;  // (db, key) hashes of the file, for the extras
    std::map<int, int64_t> file_keys;
    RdbSourceTotals st;
    // --sample: the keys are drawn as the file streams by, checked after it
    // (a sampled round 1 is not resumable mid-way: done again, as live).
    std::optional<FileKeySample> sample;
    if (b_.sample > 0) sample.emplace(b_.sample);
    stream_phase_ = !sample;
    with_workers(1, [&] {
      Batch b;
      auto add = [&](const RdbKeyState& k) {
        if (!b.keys.empty() && (b.db != k.db || b.keys.size() >= batch_)) push(b);
        b.next_offset = k.offset + 1;
        b.db = k.db;
        b.keys.push_back(k.key);
        b.src.push_back(to_state(k));
        b.spots.push_back({k.offset, k.serialized_bytes});
      };
      st = read_rdb_source(o_.source_file, source_options(), [&](const RdbKeyState& k) {
        if (stopping()) throw StopStream{};
        if (b_.target_scan) keys.add(db_key_hash(k.db, k.key));
        ++file_keys[k.db];
        if (k.offset < resume_offset_) return;  // checked before the checkpoint
        if (sample)
          sample->offer(k);
        else
          add(k);
      });
      if (sample) res_.sampled = sample->yield_keys(add);
      push(b);
    });
    stream_phase_ = false;
    done_offset_ = kStreamDone;
    res_.rdb_version = st.rdb_version;
    res_.expired_skipped = st.expired_skipped;
    if (st.expired_skipped)
      log::info(std::to_string(st.expired_skipped) +
                " key(s) of the file had already expired: counted and skipped");
    for (auto& [db, n] : file_keys) pairs_[db] = target_db_of(db);
    if (o_.db) pairs_[*o_.db] = target_db_of(*o_.db);
    for (const DbPair& p : o_.db_map) pairs_[p.source] = p.target;
    record_server_info(file_keys, st.rdb_version, to_json(tf_).dump());
    if (b_.target_scan) {
      keys.seal();
      if (!sample) save_checkpoint(1, kStreamDone);  // a resume scans for extras again
      scan_extras(keys);
    } else {
      log::info("--no-target-scan: keys that exist only on the target are not looked for");
    }
    big_known_ = true;
    end_round(1);
  }

  // SCANs each target db compared and stores the keys the file does not hold.
  void scan_extras(const KeyHashTable& keys) {
    std::set<int> tdbs;
    for (auto& [s, t] : pairs_) tdbs.insert(t);
    if (!dbs_chosen())  // every db: the target's other dbs hold nothing but extras
      for (auto& [db, n] : tf_.keys_per_db)
        if (n > 0) tdbs.insert(db);
    ScanOptions so;
    so.match = b_.match;
    if (b_.types.size() == 1) so.type = b_.types.front();
    so.count = b_.scan_count;
    with_workers(1, [&] {
      for (int tdb : tdbs) {
        const int sdb = source_db_of(tdb);
        pairs_.emplace(sdb, tdb);
        Endpoint ep = b_.target;
        ep.db = tdb;
        Client scan_client(ep, b_.target_client);
        TargetKeys scanner(scan_client, so, res_.sampled ? b_.sample : 0);
        std::vector<std::string> found;
        Batch b;
        b.db = sdb;
        b.extras = true;
        while (!stopping() && scanner.next(found)) {
          target_scanned_ += static_cast<int64_t>(found.size());
          for (auto& k : found) {
            if (keys.contains(db_key_hash(sdb, k))) continue;
            // Not in the file: read again on the target by a worker, then
            // stored as an extra if it is still there.
            b.keys.push_back(std::move(k));
            b.src.emplace_back();
            if (b.keys.size() >= batch_) {
              push(b);
              b.db = sdb;
              b.extras = true;
            }
          }
          found.clear();
        }
        push(b);
      }
    });
  }

  void recheck_round(int round) {
    DifferenceFilter f;
    f.round = round - 1;
    begin_round(round, store_.count_differences(res_.compare.run_id, f));
    with_workers(round, [&] {
      Batch b;
      std::string prev;
      int prev_db = -1;
      // A key's rows (ttl and value) are stored together, in one call.
      store_.for_each_difference(res_.compare.run_id, f, [&](const Difference& d) {
        if (stopping()) throw StopStream{};
        if (d.db == prev_db && d.key == prev) return;
        prev = d.key;
        prev_db = d.db;
        if (!b.keys.empty() && (b.db != d.db || b.keys.size() >= batch_)) push(b);
        b.db = d.db;
        b.keys.push_back(d.key);
        b.src.push_back(from_row(d));
      });
      push(b);
    });
    end_round(round);
  }

  // File against file (see the header): one round, no workers.
  void compare_files() {
    set_now();
    stream_ext_ =
        rdb_header_version(o_.source_file) >= 10 && rdb_header_version(o_.target_file) >= 10;
    begin_round(1, -1);
    KeyHashTable second(kStatePayload);
    RdbSourceOptions to = source_options();
    to.types.clear();  // a key of another type in the second file is a type difference
    if (o_.db) to.db = target_db_of(*o_.db);
    to.dbs.clear();
    for (const DbPair& p : o_.db_map) to.dbs.push_back(p.target);
    std::map<int, int64_t> target_keys;
    RdbSourceTotals tt = read_rdb_source(o_.target_file, to, [&](const RdbKeyState& k) {
      check_stop();
      second.add(db_key_hash(source_db_of(k.db), k.key), encode_state(k));
      ++target_keys[k.db];
    });
    res_.target_expired_skipped = tt.expired_skipped;
    second.seal();
    KeyHashTable first;
    std::map<int, int64_t> file_keys;
    std::vector<Difference> diffs;
    std::map<std::string, int64_t> by_type;
    std::vector<BigKeyInfo> bigs;
    int64_t checked = 0;
    int cur_db = -1;
    auto flush = [&] {
      if (checked || !diffs.empty()) commit(diffs, checked, by_type, bigs, cur_db, 1);
      diffs.clear();
      by_type.clear();
      bigs.clear();
      checked = 0;
    };
    RdbSourceTotals st =
        read_rdb_source(o_.source_file, source_options(), [&](const RdbKeyState& k) {
          check_stop();
          if (k.db != cur_db) flush();
          cur_db = k.db;
          const Digest128 h = db_key_hash(k.db, k.key);
          first.add(h);
          ++file_keys[k.db];
          pairs_[k.db] = target_db_of(k.db);
          const KeyState s = to_state(k);
          const auto p = second.find(h);
          const KeyState t = p ? to_state(decode_state(*p)) : KeyState{};
          ++checked;
          ++by_type[s.type_name];
          if (big(s)) bigs.push_back({k.key, k.db, s.type_name, s.size});
          locate_.classify_files(k, s, t, p, b_.ttl_tolerance, diffs);
          if (checked >= static_cast<int64_t>(batch_)) flush();
        });
    flush();
    res_.rdb_version = st.rdb_version;
    res_.expired_skipped = st.expired_skipped;
    first.seal();
    const ServerFacts tfacts = snapshot_file_facts(o_.target_file, tt.rdb_version, target_keys);
    res_.compare.target_desc = "snapshot file, RDB " + std::to_string(tt.rdb_version);
    record_server_info(file_keys, st.rdb_version, to_json(tfacts).dump());
    if (b_.target_scan) {
      // Extras: the second file's keys the first does not hold.
      read_rdb_source(o_.target_file, to, [&](const RdbKeyState& k) {
        check_stop();
        ++target_scanned_;
        const int sdb = source_db_of(k.db);
        if (first.contains(db_key_hash(sdb, k.key)) || !type_in_scope(k.type_name)) return;
        if (sdb != cur_db) flush();
        cur_db = sdb;
        pairs_.emplace(sdb, k.db);
        classify_key(k.key, sdb, 1, KeyState{}, to_state(k), b_.ttl_tolerance, diffs);
        if (diffs.size() >= batch_) flush();
      });
      flush();
    }
    big_known_ = true;
    end_round(1);
    if (b_.rounds > 1) log::info("snapshot against snapshot: files do not change, one round");
  }

  // Per db pair: round 1 keys, and the difference rows of the last round.
  void collect() {
    auto& r = res_.compare;
    r.keys_by_type = keys_by_type_;
    r.big_keys = big_count_;
    r.big_keys_listed = big_listed_;
    r.target_keys_scanned = target_scanned_;
    r.target_stats = target_stats_;
    r.databases.clear();
    std::map<int, int64_t> diffs;
    if (!r.rounds.empty()) {
      DifferenceFilter f;
      f.round = r.rounds.back().round;
      store_.for_each_difference(r.run_id, f, [&](const Difference& d) { ++diffs[d.db]; });
    }
    for (auto& [s, t] : pairs_) r.databases.push_back({{s, t}, db_keys_[s], diffs[s]});
  }

  void finish() {
    collect();
    auto& r = res_.compare;
    const RoundSummary& last = r.rounds.back();
    r.differences = last.differences;
    r.differences_by_kind = store_.count_by_kind(r.run_id, last.round);
    r.differences_by_type = store_.count_by_type(r.run_id, last.round);
    r.exit_code = r.differences > 0 ? kExitDiffer : kExitSame;
  }

  nlohmann::json totals_json() const {
    return snapshot_totals_json(o_, res_, clock_, now0_, big_known_);
  }

  const SnapshotCompareOptions& o_;
  const CompareOptions& b_;
  Store& store_;
  Run run_;  // the run in the store: begin, stop token, end
  Progress progress_;
  size_t batch_ = 500;
  SnapshotCompareResult res_;
  std::unique_ptr<Client> main_;
  ServerFacts tf_;
  ClockSkew clock_;
  int64_t offset_ = 0;  // target's clock minus this host's (0 when unknown or within its error)
  int64_t now0_ = 0;    // the run's now, unix ms on the target's clock
  int64_t mono0_ = 0;   // monotonic_ms() at now0_
  bool stream_ext_ = true;
  std::atomic<bool>& abort_ = run_.abort_flag();  // the run's stop token
  std::unique_ptr<BatchQueue> queue_;
  std::mutex order_mu_;
  OrderedCommit<std::function<void()>> order_;  // order_mu_
  uint64_t seq_ = 0;                            // the next batch's place (producer thread)
  nlohmann::json identity_;
  int resume_round_ = 0;
  uint64_t resume_offset_ = 0;  // round 1: keys before it were checked
  SnapshotCounters resumed_;
  bool stream_phase_ = false;  // round 1's file stream runs: checkpoints follow it
  uint64_t done_offset_ = 0;   // keys before it are committed (in order)
  std::mutex err_mu_;
  std::exception_ptr error_;
  std::chrono::steady_clock::time_point round_t0_;
  // Counters (commit_mu_).
  std::mutex commit_mu_;
  int64_t round_keys_ = 0, round_diffs_ = 0;
  std::atomic<int64_t> target_scanned_{0};
  std::map<int, int> pairs_;  // source db -> target db compared
  std::map<int, int64_t> db_keys_;
  std::map<std::string, int64_t> keys_by_type_;
  int64_t big_count_ = 0;
  std::vector<BigKeyInfo> big_listed_;
  bool big_known_ = false;
  ReaderStats target_stats_;
  SnapshotLocator locate_{o_, now0_, stream_ext_};  // value differences' locations
};

}  // namespace

SnapshotCompareResult run_snapshot_compare(const SnapshotCompareOptions& opts, Store& store) {
  if (opts.base.rounds < 1) throw UsageError("--rounds must be at least 1");
  SnapshotEngine engine(opts, store);
  return engine.run();
}

}  // namespace migcheck
