// The snapshot replicate run (snapshot_replicate.h): target clients per db,
// the run's lifecycle (Run), checkpoints at committed key boundaries, the
// file's identity, outcome rows, totals and the progress line.
#include "snapshot_replicate.h"

#include <cstdio>
#include <map>
#include <memory>

#include "encoding.h"
#include "errors.h"
#include "exit_codes.h"
#include "file_identity.h"
#include "hash_field_ttl.h"
#include "log.h"
#include "progress.h"
#include "rdb_key_writer.h"
#include "replicate_options.h"
#include "resume.h"
#include "run.h"
#include "server_info.h"
#include "wall_clock.h"

namespace migcheck {
namespace {

constexpr size_t kKept = 50;         // failed / skipped keys kept for the summary
constexpr size_t kStoreFlush = 500;  // outcome rows buffered before a store write

class SnapshotReplicator {
 public:
  SnapshotReplicator(const SnapshotReplicateOptions& o, Store& store)
      : o_(o), b_(o.base), store_(store), run_(store, "replicate", o.base.stop) {}

  SnapshotReplicateResult run() {
    identity_ = file_identity(o_.source_file);
    Endpoint t0 = b_.target;
    t0.db = 0;
    if (o_.db && !o_.target_db) t0.db = *o_.db;
    if (o_.target_db) t0.db = *o_.target_db;
    tclient_ = run_.client_options(b_.target_client);
    main_ = std::make_unique<Client>(t0, tclient_);
    clients_[t0.db] = nullptr;  // main_ serves it
    main_db_ = t0.db;
    RdbWriteCounters base;
    if (b_.resume_run > 0) {
      nlohmann::json cp = run_.resume(b_.resume_run);
      res_.replicate.run_id = b_.resume_run;
      if (cp.value("file", nlohmann::json()) != identity_)
        throw UsageError("cannot resume run " + std::to_string(b_.resume_run) + ": " +
                         o_.source_file +
                         " is not the file the run was reading (its size, modification time or "
                         "first MiB changed); start a new run");
      offset_ = cp.value("offset", uint64_t{0});
      base = cp.value("counters", RdbWriteCounters{});
      run_.set_elapsed_base(cp.value("elapsed_ms", int64_t{0}));
      store_.rollback_outcomes(b_.resume_run, cp.value("max_outcome_id", int64_t{0}));
      run_.reopened();
    } else {
      RunRecord rec;
      rec.source = "file://" + o_.source_file;
      rec.target = b_.target.display();
      rec.options_json = options_json().dump();
      res_.replicate.run_id = run_.begin(std::move(rec));
    }
    run_.start();
    auto& r = res_.replicate;
    log::info(std::string(b_.dry_run ? "dry run: " : "") + (b_.resume_run > 0 ? "resuming " : "") +
              "replicate run " + std::to_string(r.run_id) + " (scan): snapshot " + o_.source_file +
              " -> " + b_.target.display() +
              (offset_ ? " from byte " + std::to_string(offset_) : std::string()));
    try {
      prepare(base);
      pass();
      r.elapsed_ms = run_.elapsed_ms();
      const auto& c = r.copy;
      r.exit_code = r.interrupted                     ? kExitError
                    : (c.failed > 0 || c.skipped > 0) ? kExitDiffer
                                                      : kExitSame;
      run_.finish(r.interrupted ? "interrupted" : "done", r.exit_code, totals_json());
    } catch (const RdbError&) {
      // A corrupt file: resuming reads the same bytes again.
      end_failed(false);
      throw;
    } catch (...) {
      end_failed(true);
      throw;
    }
    return res_;
  }

 private:
  void end_failed(bool advise_resume) {
    auto& r = res_.replicate;
    {
      run_.abort();
      run_.end_abnormally(
          "failed",
          [&] {
            try {
              flush_outcomes();
            } catch (...) {
            }
            r.elapsed_ms = run_.elapsed_ms();
            return totals_json();
          },
          [&] { return advise_resume && run_.has_stored_checkpoint(); });
    }
  }

  // A replicate run's recorded options (as a server source's run records
  // them), and the file and its db.
  nlohmann::json options_json() const {
    nlohmann::json j = recorded_json(b_);
    j["source_file"] = o_.source_file;
    j["db"] = o_.db ? nlohmann::json(*o_.db) : nlohmann::json();
    j["target_db"] = o_.target_db ? nlohmann::json(*o_.target_db) : nlohmann::json();
    return j;
  }

  Client& target(int db) {
    if (db == main_db_) return *main_;
    auto& c = clients_[db];
    if (!c) {
      Endpoint ep = b_.target;
      ep.db = db;
      c = std::make_unique<Client>(ep, tclient_);
    }
    return *c;
  }

  void prepare(const RdbWriteCounters& base) {
    tf_ = gather_facts(*main_);
    const auto nodes = main_->scan_nodes();
    const size_t node = nodes.empty() ? 0 : nodes.front();
    // File expiries are absolute: "now" is the target's, as a server loading
    // the file would judge them.
    now_ms_ = wall_ms() + main_->clock_offset_ms(node);
    wo_.db = o_.db;
    wo_.target_db = o_.target_db.value_or(-1);
    wo_.match = b_.match;
    wo_.types = b_.types;
    wo_.now_ms = now_ms_;
    wo_.structural = b_.structural;
    wo_.dry_run = b_.dry_run;
    wo_.target_rdb_version =
        tf_.rdb_version ? tf_.rdb_version : known_rdb_version(tf_.engine, tf_.version);
    wo_.target_engine = tf_.engine;
    wo_.target_field_expiry = supports_field_expiry(*main_, node);
    wo_.batch = std::max<size_t>(b_.batch, 1);
    wo_.big_bytes = o_.big_bytes;
    wo_.chunk_elements = o_.chunk_elements;
    wo_.resume_offset = offset_;
    base_ = base;
    ServerFacts sf;
    sf.endpoint = "file://" + o_.source_file;
    sf.engine = "snapshot";
    sf.mode = "file";
    sf.keyspace_known = false;
    run_.record_servers({sf, tf_});
    res_.replicate.target_desc = tf_.engine + " " + tf_.version + " " + tf_.mode;
  }

  void flush_outcomes() {
    if (outcomes_.empty()) return;
    store_.add_outcomes(res_.replicate.run_id, outcomes_);
    outcomes_.clear();
  }

  void save_checkpoint(uint64_t offset, const RdbWriteCounters& c) {
    flush_outcomes();
    run_.save_checkpoint({{"file", identity_},
                          {"offset", offset},
                          {"counters", c},
                          {"max_outcome_id", store_.max_outcome_id()},
                          {"elapsed_ms", run_.elapsed_ms()},
                          {"run_ids", run_.watch().to_json()}});
  }

  void pass() {
    auto& r = res_.replicate;
    RdbInput in(o_.source_file);
    RdbKeyWriter::Hooks h;
    h.target = [this](int db) -> Client& { return target(db); };
    h.record = [this](const Outcome& o) {
      auto& kept =
          o.outcome == Outcome::Result::Failed ? res_.replicate.failures : res_.replicate.skipped;
      if (kept.size() < kKept) kept.push_back(o);
      outcomes_.push_back(o);
      if (outcomes_.size() >= kStoreFlush) flush_outcomes();
    };
    RdbKeyWriter* wp = nullptr;
    const bool checkpoints = !b_.dry_run;
    h.committed = [&](uint64_t offset) {
      if (checkpoints && wp && run_.checkpoint_due()) save_checkpoint(offset, wp->counters());
    };
    h.stop = [this] { return run_.stopping(); };
    RdbKeyWriter w(in, wo_, h, base_);
    wp = &w;
    if (checkpoints && b_.resume_run == 0) save_checkpoint(0, w.counters());
    const uint64_t size = in.size();
    Progress ticker(b_.progress, [&] {
      const uint64_t at = w.offset_done();
      char pct[32];
      std::snprintf(pct, sizeof pct, "%.1f%%",
                    size ? 100.0 * static_cast<double>(at) / static_cast<double>(size) : 100.0);
      return "replicate [file]: " + format_bytes(at) + " of " + format_bytes(size) + " (" + pct +
             "), " + grouped(w.copied_live()) + " copied";
    });
    RdbParser parser(in, w);
    try {
      parser.run();
    } catch (const RdbKeyWriter::StopPass& stop) {
      r.interrupted = true;
      if (checkpoints) save_checkpoint(stop.offset, w.counters());
    } catch (...) {
      // For the failed run's totals: what was written before the error.
      r.copy = w.counters().copy;
      r.keys_scanned = w.counters().keys_read;
      res_.expired_skipped = w.counters().expired_skipped;
      throw;
    }
    ticker.finish();
    flush_outcomes();
    const RdbWriteCounters& c = w.counters();
    r.copy = c.copy;
    r.keys_scanned = c.keys_read;
    r.scan_passes = 1;
    res_.rdb_version = w.rdb_version();
    res_.expired_skipped = c.expired_skipped;
    res_.filtered = c.filtered;
    r.source_desc = "snapshot file, RDB " + std::to_string(w.rdb_version());
    record_source(c, w.rdb_version());
    r.keys_per_sec = static_cast<double>(c.keys_read) * 1000.0 /
                     static_cast<double>(std::max<int64_t>(1, run_.elapsed_ms()));
    if (c.expired_skipped)
      log::info(std::to_string(c.expired_skipped) +
                " key(s) of the file had already expired: counted and skipped");
    if (r.interrupted) log::warn(resume_hint("replicate", r.run_id));
  }

  // The file's facts as the store keeps a source server's, once it is read:
  // its keys per db (those in scope and not expired, as a server loading it
  // would hold) and RDB version, for the report's key counts and checks.
  void record_source(const RdbWriteCounters& c, int version) {
    ServerFacts sf;
    sf.endpoint = "file://" + o_.source_file;
    sf.engine = "snapshot";
    sf.version = "RDB " + std::to_string(version);
    sf.mode = "file";
    sf.keys_per_db = c.keys_per_db;
    sf.keyspace_known = true;
    sf.rdb_version = version;
    run_.record_servers({sf, tf_});
  }

  nlohmann::json totals_json() const {
    const auto& r = res_.replicate;
    nlohmann::json j = {{"mode", "scan"},
                        {"dry_run", b_.dry_run},
                        {"interrupted", r.interrupted},
                        {"keys_scanned", r.keys_scanned},
                        {"scan_passes", r.scan_passes},
                        {"starts_over", 0},
                        {"elapsed_ms", r.elapsed_ms},
                        {"keys_per_sec", r.keys_per_sec},
                        {"snapshot",
                         {{"source_file", o_.source_file},
                          {"rdb_version", res_.rdb_version},
                          {"now_ms", now_ms_},
                          {"expired_skipped", res_.expired_skipped},
                          {"filtered", res_.filtered}}}};
    j.update(nlohmann::json(r.copy));  // the copy counters, under their own names
    return j;
  }

  const SnapshotReplicateOptions& o_;
  const ReplicateOptions& b_;
  Store& store_;
  Run run_;
  SnapshotReplicateResult res_;
  nlohmann::json identity_;
  ClientOptions tclient_;
  std::unique_ptr<Client> main_;
  int main_db_ = 0;
  std::map<int, std::unique_ptr<Client>> clients_;
  ServerFacts tf_;
  RdbWriteOptions wo_;
  RdbWriteCounters base_;
  uint64_t offset_ = 0;
  int64_t now_ms_ = 0;
  std::vector<Outcome> outcomes_;
};

}  // namespace

SnapshotReplicateResult run_snapshot_replicate(const SnapshotReplicateOptions& opts, Store& store) {
  SnapshotReplicator r(opts, store);
  return r.run();
}

}  // namespace migcheck
