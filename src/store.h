// The SQLite result store: runs, per-round counts, differences, per-key
// outcomes of repair/replicate, and resume checkpoints. Versioned schema
// (PRAGMA user_version, application_id), WAL, batched transactions. A file
// that is not a migcheck store, or is from a newer schema, is refused and
// never modified. Thread-safe: every method takes an internal mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "noncopyable.h"
#include "run_lock.h"
#include "store_health.h"

struct sqlite3;

namespace migcheck {

// Difference kinds, as stored and printed.
inline constexpr std::string_view kKindMissing = "missing";  // on source, not on target
inline constexpr std::string_view kKindExtra = "extra";      // on target, not on source
inline constexpr std::string_view kKindType = "type";
inline constexpr std::string_view kKindTtl = "ttl";
inline constexpr std::string_view kKindValue = "value";

struct RunRecord {
  int64_t id = 0;
  std::string command;            // "compare", "repair", "replicate"
  std::optional<int64_t> parent;  // repair: the compare run it works from
  int64_t started_ms = 0;         // unix epoch ms
  int64_t finished_ms = 0;        // 0 while running
  std::string status;             // "running", "done", "interrupted", "failed"
  int exit_code = -1;
  std::string source;  // Endpoint::display(): never a password
  std::string target;
  std::string options_json;      // the options of the run, no secrets
  std::string source_info_json;  // server facts (engine, version, memory...)
  std::string target_info_json;
  std::string totals_json;  // command-specific totals and counters
  std::string version;      // migcheck version that wrote the run
};

struct RoundRecord {
  int64_t run = 0;
  int round = 0;
  int64_t keys_checked = 0;
  int64_t differences = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
};

struct Difference {
  int round = 0;
  int db = 0;
  std::string key;  // binary-safe bytes, stored as BLOB
  std::string kind;
  std::string source_type;  // "none" when absent
  std::string target_type;
  int64_t source_ttl_ms = -2;  // -1 persistent, -2 absent, else remaining ms
  int64_t target_ttl_ms = -2;
  std::string source_digest;  // hex, empty when not computed
  std::string target_digest;
  int64_t source_size = -1;  // elements (collections) or bytes (strings); -1 unknown
  int64_t target_size = -1;
  std::string detail;  // free text, e.g. "changed while read in chunks"
  // Value differences: where the values differ, as a JSON object (see
  // ValueLocation in value_diff.h); empty when not looked for.
  std::string location;
  int64_t id = 0;  // row id when read back from the store (insertion order)
};

// What repair/replicate did with one key. Typed in the code; text (see
// to_string below) only in the store and in reports.
struct Outcome {
  enum class Action { Restore, Fallback, Delete, None };
  enum class Result { Repaired, Copied, Deleted, Skipped, Failed, Planned };
  int db = 0;
  std::string key;
  Action action = Action::None;
  Result outcome = Result::Failed;
  std::string error;  // the server's error text, when failed
  std::string detail;
};

// The stored text: "restore", "fallback", "delete", "none".
std::string_view to_string(Outcome::Action a);
// The stored text: "repaired", "copied", "deleted", "skipped", "failed", "planned".
std::string_view to_string(Outcome::Result r);
// For test messages.
std::ostream& operator<<(std::ostream& os, Outcome::Action a);
std::ostream& operator<<(std::ostream& os, Outcome::Result r);

struct DifferenceFilter {
  std::optional<int> round;        // unset = the run's last round
  std::vector<std::string> kinds;  // empty = all kinds
  int64_t after_id = 0;            // only rows with a larger id (resume)
  bool by_key = false;             // in (db, key, kind) order, else insertion order
};

class Store : NonCopyable {
 public:
  // Opens or creates the store. create=false refuses a missing file.
  // Throws StoreError: not SQLite, not a migcheck store, newer schema,
  // read-only path when writing is needed, I/O errors.
  // read_only: for readers (diffs, report): never writes, and reads a store
  // in a directory it cannot write.
  explicit Store(const std::string& path, bool create = true, bool read_only = false);
  ~Store();

  const std::string& path() const { return path_; }

  // Damage seen since the store was opened: a write that failed, or the
  // file truncated, deleted or replaced under the run (see store_health.h).
  // begin_run, put_checkpoint and finish_run refuse to go on past it.
  std::optional<std::string> damage() { return health_.check(); }

  // Runs. begin_run fills id/started_ms/status and returns the new id,
  // claimed by this Store (see claim_run) until finish_run. A run recorded
  // as "running" that no live process holds reads back as "interrupted".
  int64_t begin_run(RunRecord run);
  void set_server_info(int64_t run, std::string_view source_json, std::string_view target_json);
  void set_totals(int64_t run, std::string_view totals_json);
  // A resumed run's options, with the speed and load options given again.
  void set_options(int64_t run, std::string_view options_json);
  void finish_run(int64_t run, std::string_view status, int exit_code);
  std::optional<RunRecord> run(int64_t id);
  // Latest run, optionally of one command ("compare").
  std::optional<RunRecord> latest_run(std::optional<std::string_view> command = std::nullopt);
  std::vector<RunRecord> runs();

  // Rounds (upsert by run+round).
  void put_round(const RoundRecord& r);
  std::vector<RoundRecord> rounds(int64_t run);
  int last_round(int64_t run);  // 0 when the run has no rounds

  // Differences, inserted in one transaction per call. A row whose run,
  // round, db, key and kind the store already holds is skipped; returns the
  // number of rows inserted; inserted (when given) sees each row that was.
  int64_t add_differences(int64_t run, std::span<const Difference> diffs,
                          const std::function<void(const Difference&)>& inserted = {});
  // Streams differences in key order of insertion, in pages, so memory stays bounded.
  void for_each_difference(int64_t run, const DifferenceFilter& f,
                           const std::function<void(const Difference&)>& fn);
  int64_t count_differences(int64_t run, const DifferenceFilter& f);
  // kind -> count and type -> count (source type, or target type for extras).
  std::vector<std::pair<std::string, int64_t>> count_by_kind(int64_t run, int round);
  std::vector<std::pair<std::string, int64_t>> count_by_type(int64_t run, int round);

  // Per-key outcomes of repair/replicate, one transaction per call.
  void add_outcomes(int64_t run, std::span<const Outcome> outcomes);
  void for_each_outcome(int64_t run, const std::function<void(const Outcome&)>& fn);
  std::vector<std::pair<std::string, int64_t>> count_outcomes(int64_t run);

  // Resume checkpoints: named opaque values per run (JSON text).
  void put_checkpoint(int64_t run, std::string_view name, std::string_view value);
  std::optional<std::string> checkpoint(int64_t run, std::string_view name);

  // Resume support. claim_run makes this Store the run's only writer until
  // finish_run, across processes; throws UsageError while another has it.
  void claim_run(int64_t run);
  // reopen_run marks a stopped run running again (same id).
  void reopen_run(int64_t run);
  // The largest difference row id in the store (any run); 0 when none.
  int64_t max_difference_id();
  // Drops the run's difference rows inserted after `id`, and the round
  // records after `round`: the work a resumed run redoes.
  void rollback_run(int64_t run, int64_t id, int round);
  // The largest outcome row id in the store (any run); 0 when none.
  int64_t max_outcome_id();
  // Drops the run's outcome rows inserted after `id`.
  void rollback_outcomes(int64_t run, int64_t id);

 private:
  struct Written;
  void require_intact();
  // A run recorded as running whose process is gone is shown interrupted.
  RunRecord shown(RunRecord r);
  std::string path_;
  std::mutex mu_;
  // Declared before db_ so it is destroyed after it: closing the lock's
  // descriptor of the database file would drop SQLite's own locks.
  RunLocks locks_;
  StoreHealth health_;
  struct Db;
  std::unique_ptr<Db> db_;
};

}  // namespace migcheck
