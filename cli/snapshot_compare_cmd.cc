// The snapshot compare's command line: options checked and mapped onto
// SnapshotCompareOptions, signal handling, and the summary on stdout.
#include "snapshot_compare_cmd.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "db_pairs.h"
#include "duration.h"
#include "errors.h"
#include "identity.h"
#include "log.h"
#include "resume.h"
#include "signals.h"
#include "snapshot_compare.h"
#include "snapshot_resume.h"
#include "store.h"
#include "type_filter.h"
#include "uri.h"

namespace migcheck {
namespace {

void print_summary(const SnapshotCompareOptions& o, const SnapshotCompareResult& sr,
                   const std::string& store_path) {
  const CompareResult& r = sr.compare;
  std::printf("migcheck compare: run %lld\n", static_cast<long long>(r.run_id));
  std::printf("  source  file://%s (%s)\n", o.source_file.c_str(), r.source_desc.c_str());
  if (o.target_file.empty())
    std::printf("  target  %s (%s)\n", o.base.target.display().c_str(), r.target_desc.c_str());
  else
    std::printf("  target  file://%s (%s)\n", o.target_file.c_str(), r.target_desc.c_str());
  for (const auto& d : r.databases)
    std::printf("  db %d -> db %d: %lld keys checked, %lld differences\n", d.dbs.source,
                d.dbs.target, static_cast<long long>(d.keys_checked),
                static_cast<long long>(d.differences));
  std::printf("\nKeys checked in round 1: %lld (%lld keys/s)%s\n",
              static_cast<long long>(r.keys_checked), static_cast<long long>(r.keys_per_sec),
              sr.sampled ? " [sample]" : "");
  std::printf("  keys of the file already expired (skipped): %llu\n",
              static_cast<unsigned long long>(sr.expired_skipped));
  if (!o.target_file.empty())
    std::printf("  keys of the second file already expired (skipped): %llu\n",
                static_cast<unsigned long long>(sr.target_expired_skipped));
  if (o.base.target_scan)
    std::printf("  target keys looked up in the file: %lld\n",
                static_cast<long long>(r.target_keys_scanned));
  std::printf("\nRounds\n");
  for (const auto& rs : r.rounds)
    std::printf("  %-6d %14lld keys %12lld differences %10s\n", rs.round,
                static_cast<long long>(rs.keys_checked), static_cast<long long>(rs.differences),
                format_duration(Millis(rs.elapsed_ms)).c_str());
  for (const auto& [k, n] : r.differences_by_kind)
    std::printf("  %-10s %10lld\n", k.c_str(), static_cast<long long>(n));
  std::printf("\nElapsed %s.\n", format_duration(Millis(r.elapsed_ms)).c_str());
  if (r.differences > 0)
    std::printf(
        "Result: DIFFERENT (%lld difference%s). List them: migcheck diffs --store %s --run %lld\n",
        static_cast<long long>(r.differences), r.differences == 1 ? "" : "s", store_path.c_str(),
        static_cast<long long>(r.run_id));
  else
    std::printf("Result: IDENTICAL (no differences).\n");
  std::fflush(stdout);
}

}  // namespace

int run_snapshot_compare_cmd(const SnapshotCompareCli& c) {
  log::set_quiet(c.common.quiet);
  log::set_verbose(c.common.verbose);
  if (c.resume > 0 && snapshot_path(c.common.target.uri))
    throw UsageError("--resume: two snapshot files are compared in one round; run it again");
  // Both files are read whole whatever the sample: it would save nothing.
  if (c.options.sample > 0 && snapshot_path(c.common.target.uri))
    throw UsageError("--sample does not apply to two snapshot files: compare them whole");
  if (!c.dbs.db_map.empty() && (c.dbs.db >= 0 || c.dbs.target_db >= 0))
    throw UsageError("--db-map cannot be combined with --db or --target-db");
  if (c.dbs.target_db >= 0 && c.dbs.db < 0)
    throw UsageError("--target-db needs --db with a snapshot file source");
  if (c.options.max_ops_per_sec > 0)
    log::warn(
        "--max-ops-per-sec caps reads of a source server: a snapshot file is read as fast as it "
        "can be");
  SnapshotCompareOptions so;
  so.base = c.options;
  CompareOptions& o = so.base;
  so.source_file = snapshot_file(c.common.source.uri);
  if (snapshot_path(c.common.target.uri)) {
    so.target_file = snapshot_file(c.common.target.uri);
  } else {
    o.target = resolve_endpoint(c.common.target, "MIGCHECK_TARGET_PASS");
    o.target_client = client_options(c.common, false);
  }
  if (!c.dbs.db_map.empty()) {
    so.db_map = parse_db_map(c.dbs.db_map);
  } else if (c.dbs.db >= 0) {
    so.db = c.dbs.db;
    so.target_db = c.dbs.target_db >= 0 ? c.dbs.target_db : c.dbs.db;
  } else if (o.target.db_given && so.target_file.empty()) {
    // A target URI naming a db: the file's db of that number against it.
    so.db = o.target.db;
    so.target_db = o.target.db;
  }
  normalise_types(o.types);
  o.progress = !c.common.quiet;
  o.store_path = c.common.store;

  // A resumed run needs its store: never create an empty one for it.
  Store store(c.common.store, c.resume == 0);
  if (c.resume > 0) {
    // The run's recorded scope replaces the command line's; its target
    // (server and db) must be the run's own.
    ResumableRun run = resumable_run(store, c.resume, "compare");
    const std::vector<std::string> ignored = apply_recorded_snapshot_compare(run, c.given, so);
    record_resume_options(store, run);
    warn_ignored_on_resume(run, ignored);
    const std::string recorded = run.options.value("source_file", std::string());
    if (recorded != so.source_file)
      log::warn("run " + std::to_string(c.resume) + " read " + recorded + "; resuming with " +
                so.source_file + " (checked to be the same file)");
    refuse_resume_target_elsewhere(store, c.resume, o.target, o.target_client);
  }
  signals::install();
  o.stop = signals::stop_flag();
  RunOutput out(c.output, "compare");
  SnapshotCompareResult r = run_snapshot_compare(so, store);
  if (out.print_json(store, r.compare.run_id)) {
    // the JSON summary alone on stdout
  } else if (!c.common.quiet)
    print_summary(so, r, c.common.store);
  else if (r.compare.differences > 0)
    std::printf("%lld difference%s (run %lld)\n", static_cast<long long>(r.compare.differences),
                r.compare.differences == 1 ? "" : "s", static_cast<long long>(r.compare.run_id));
  return out.finish(r.compare.exit_code);
}

}  // namespace migcheck
