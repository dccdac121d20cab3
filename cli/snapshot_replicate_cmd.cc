// The snapshot replicate's command line: options checked (live modes and
// server-only flags refused with one line), a resumed run's recorded
// options, signal handling and the summary on stdout.
#include "snapshot_replicate_cmd.h"

#include <algorithm>
#include <cstdio>

#include "copy_summary.h"
#include "duration.h"
#include "errors.h"
#include "failed_keys.h"
#include "identity.h"
#include "log.h"
#include "progress.h"
#include "replicate_options.h"
#include "resume.h"
#include "signals.h"
#include "snapshot_replicate.h"
#include "snapshot_resume.h"
#include "store.h"
#include "type_filter.h"
#include "uri.h"

namespace migcheck {
namespace {

bool given(const SnapshotReplicateCli& c, const char* flag) {
  return std::ranges::find(c.given, flag) != c.given.end();
}

// --resume: the run's recorded options replace the command line's as a
// server source's resume does (apply_recorded: the speed and load flags
// given again stay), and so does its scope (db, target db).
void resume_options(Store& store, const SnapshotReplicateCli& c, SnapshotReplicateOptions& so) {
  ResumableRun r = resumable_run(store, c.resume, "replicate");
  const std::string what = "cannot resume run " + std::to_string(c.resume);
  if (!r.options.contains("source_file"))
    throw UsageError(what + " with a snapshot file source: it copied from a server");
  if (r.options.value("dry_run", false)) throw UsageError(what + ": it is a dry run");
  const std::string recorded = r.options.value("source_file", std::string());
  if (recorded != so.source_file)
    log::warn("run " + std::to_string(c.resume) + " read " + recorded + "; resuming with " +
              so.source_file + " (checked to be the same file)");
  auto opt_int = [&](const char* k) -> std::optional<int> {
    const auto& v = r.options[k];
    return v.is_number_integer() ? std::optional<int>(v.get<int>()) : std::nullopt;
  };
  // A db given on the command line (--db, --target-db, a target URI's) must
  // be the run's: another target db is another target.
  const auto db = opt_int("db"), target_db = opt_int("target_db");
  if (so.db && snapshot_scope_text(so.db, so.target_db) != snapshot_scope_text(db, target_db))
    throw UsageError(what + ": it copied " + snapshot_scope_text(db, target_db) + ", not " +
                     snapshot_scope_text(so.db, so.target_db) + "; give the run's own target db");
  so.db = db;
  so.target_db = target_db;
  const std::vector<std::string> ignored = apply_recorded(r, c.given, so.base);
  so.base.resume_run = c.resume;
  record_resume_options(store, r);
  warn_ignored_on_resume(r, ignored);
}

void print_summary(const SnapshotReplicateOptions& o, const SnapshotReplicateResult& sr,
                   const std::string& store_path) {
  const ReplicateResult& r = sr.replicate;
  const auto& c = r.copy;
  std::printf("migcheck replicate: run %lld (scan)%s\n", static_cast<long long>(r.run_id),
              o.base.dry_run ? " [dry run: nothing written]" : "");
  std::printf("  source  file://%s (%s)\n", o.source_file.c_str(), r.source_desc.c_str());
  std::printf("  target  %s (%s)\n", o.base.target.display().c_str(), r.target_desc.c_str());
  if (o.db)
    std::printf("  dbs     db %d -> db %d\n\n", *o.db, o.target_db.value_or(*o.db));
  else
    std::printf("  dbs     every db of the file, each to the same db\n\n");
  std::printf("  keys read         %s (%s keys/s)\n", grouped(r.keys_scanned).c_str(),
              grouped(static_cast<int64_t>(r.keys_per_sec)).c_str());
  std::printf("  already expired   %s (skipped)\n",
              grouped(static_cast<int64_t>(sr.expired_skipped)).c_str());
  print_copy_counts(c, o.base.dry_run, false);
  print_skipped_keys(r.skipped, c.skipped);
  print_failed_keys(r.failures, c.failed);
  std::printf("\nElapsed %s.\n", format_duration(Millis(r.elapsed_ms)).c_str());
  if (r.interrupted)
    std::printf(
        "Result: INTERRUPTED before the file was through. Continue with: migcheck replicate "
        "--resume %lld file://%s TARGET --store %s\n",
        static_cast<long long>(r.run_id), o.source_file.c_str(), store_path.c_str());
  else if (r.exit_code == kExitSame)
    std::printf("Result: %s.\n", o.base.dry_run ? "DRY RUN" : "REPLICATED");
  else
    print_incomplete_result(store_path, r.run_id);
  std::fflush(stdout);
}

}  // namespace

int run_snapshot_replicate_cmd(const SnapshotReplicateCli& c) {
  log::set_quiet(c.common.quiet);
  log::set_verbose(c.common.verbose);
  if (c.options.mode != ReplicateMode::Scan)
    throw UsageError(
        "a snapshot file does not change: only --mode scan copies from it (live modes follow a "
        "server's keyspace notifications)");
  if (snapshot_path(c.common.target.uri))
    throw UsageError("the target of replicate must be a server, not a snapshot file");
  if (!c.dbs.db_map.empty())
    throw UsageError(
        "--db-map is not supported with a snapshot file source; use --db and --target-db");
  if (c.dbs.target_db >= 0 && c.dbs.db < 0)
    throw UsageError("--target-db needs --db with a snapshot file source");
  if (c.options.verify)
    throw UsageError(
        "--verify is not supported with a snapshot file source; run `migcheck compare dump.rdb "
        "TARGET` afterwards");
  for (const char* f : {"--mem-limit", "--max-ops-per-sec", "--idle"})
    if (given(c, f))
      log::warn(std::string(f) + " applies to a source server: ignored for a snapshot file");
  SnapshotReplicateOptions so;
  so.base = c.options;
  so.source_file = snapshot_file(c.common.source.uri);
  so.base.target = resolve_endpoint(c.common.target, "MIGCHECK_TARGET_PASS");
  so.base.target_client = client_options(c.common, false);
  if (c.dbs.db >= 0) {
    so.db = c.dbs.db;
    so.target_db = c.dbs.target_db >= 0 ? c.dbs.target_db : c.dbs.db;
  } else if (so.base.target.db_given) {
    so.db = so.base.target.db;
    so.target_db = so.base.target.db;
  }
  normalise_types(so.base.types);
  so.base.progress = !c.common.quiet;
  so.base.store_path = c.common.store;
  Store store(c.common.store, c.resume == 0);
  if (c.resume > 0) {
    resume_options(store, c, so);
    refuse_resume_target_elsewhere(store, c.resume, so.base.target, so.base.target_client);
  }
  signals::install();
  so.base.stop = signals::stop_flag();
  RunOutput out(c.output, "replicate");
  SnapshotReplicateResult r = run_snapshot_replicate(so, store);
  if (out.print_json(store, r.replicate.run_id)) {
    // the JSON summary alone on stdout
  } else if (!c.common.quiet)
    print_summary(so, r, c.common.store);
  else if (r.replicate.exit_code != kExitSame)
    std::printf("%lld failed, %lld skipped (run %lld)\n",
                static_cast<long long>(r.replicate.copy.failed),
                static_cast<long long>(r.replicate.copy.skipped),
                static_cast<long long>(r.replicate.run_id));
  return out.finish(r.replicate.exit_code);
}

}  // namespace migcheck
