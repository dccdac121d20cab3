// A snapshot compare run's recorded options and checkpoint counters
// (snapshot_resume.h).
#include "snapshot_resume.h"

#include "compare_engine.h"
#include "compare_options.h"
#include "errors.h"
#include "result_json.h"

namespace migcheck {
namespace {

std::optional<int> opt_int(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number_integer() ? std::optional<int>(it->get<int>())
                                                  : std::nullopt;
}

}  // namespace

std::string snapshot_scope_text(const std::optional<int>& db, const std::optional<int>& target_db,
                                const std::vector<DbPair>& pairs) {
  if (db) return "db " + std::to_string(*db) + " -> db " + std::to_string(target_db.value_or(*db));
  if (pairs.empty()) return "every db";
  std::string s = "dbs ";
  for (const DbPair& p : pairs)
    s += (s.size() > 4 ? "," : "") + std::to_string(p.source) + ":" + std::to_string(p.target);
  return s;
}

void to_json(nlohmann::json& j, const BigKeyInfo& k) {
  j = big_key_json(k);
}

void from_json(const nlohmann::json& j, BigKeyInfo& k) {
  k = compare_internal::big_key_from_json(j);
}

nlohmann::json snapshot_compare_options_json(const SnapshotCompareOptions& o) {
  // The compare's own recorded options, as a live compare records them, then
  // what a file source adds.
  nlohmann::json j = recorded_json(o.base);
  const bool file_target = !o.target_file.empty();
  j["source"] = "file://" + o.source_file;
  j["source_file"] = o.source_file;
  j["target"] = file_target ? "file://" + o.target_file : o.base.target.display();
  j["snapshot"] = true;
  if (file_target) j["target_file"] = o.target_file;
  if (o.db) {
    j["db"] = *o.db;
    j["target_db"] = o.target_db.value_or(*o.db);
  }
  if (!o.db_map.empty()) j["db_pairs"] = db_pairs_json(o.db_map);
  return j;
}

std::vector<std::string> apply_recorded_snapshot_compare(ResumableRun& run,
                                                         const std::vector<std::string>& given,
                                                         SnapshotCompareOptions& o) {
  const nlohmann::json& r = run.options;
  const std::string what = "cannot resume run " + std::to_string(run.record.id);
  if (!r.value("snapshot", false))
    throw UsageError(what + " with a snapshot file source: it compared two servers");
  if (r.contains("target_file"))
    throw UsageError(what + ": it compared two snapshot files (run it again; it is one round)");
  const std::optional<int> db = opt_int(r, "db"), target_db = opt_int(r, "target_db");
  const std::vector<DbPair> pairs = db_pairs_from_json(r.value("db_pairs", nlohmann::json()));
  // The target db the command line names (--db, --target-db, --db-map or
  // the target URI's) must be the run's: another db is another target.
  if ((o.db || !o.db_map.empty()) &&
      snapshot_scope_text(o.db, o.target_db, o.db_map) != snapshot_scope_text(db, target_db, pairs))
    throw UsageError(what + ": it compared " + snapshot_scope_text(db, target_db, pairs) +
                     ", not " + snapshot_scope_text(o.db, o.target_db, o.db_map) +
                     "; give the run's own target db");
  o.db = db;
  o.target_db = target_db;
  o.db_map = pairs;
  o.base.resume_run = run.record.id;
  return apply_recorded(run, given, o.base);
}

}  // namespace migcheck
