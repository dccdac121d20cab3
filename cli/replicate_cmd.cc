// `migcheck replicate SOURCE TARGET`: the command line of the replicate
// engine, its signal handling and the summary printed on stdout.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "commands.h"
#include "copy_summary.h"
#include "duration.h"
#include "engine_cli.h"
#include "errors.h"
#include "failed_keys.h"
#include "flag_groups.h"
#include "identity.h"
#include "log.h"
#include "progress.h"
#include "replicate.h"
#include "replicate_options.h"
#include "resume.h"
#include "run_output.h"
#include "signals.h"
#include "snapshot_replicate_cmd.h"
#include "store.h"

namespace migcheck {
namespace {

using ReplicateCli = DbEngineCli<ReplicateOptions>;

// --resume: only a scan pass can continue: a live run stopped misses the
// changes made meanwhile, so it starts over.
ResumableRun resumable_replicate_run(Store& store, int64_t id) {
  ResumableRun r = resumable_run(store, id, "replicate");
  if (r.options.value("mode", "") != "scan")
    throw UsageError("cannot resume run " + std::to_string(id) + ": it is a " +
                     r.options.value("mode", std::string("?")) +
                     " run; only scan-mode runs can be resumed (start a new live run: it copies "
                     "everything again)");
  if (r.options.value("dry_run", false))
    throw UsageError("cannot resume run " + std::to_string(id) + ": it is a dry run");
  return r;
}

void print_summary(const ReplicateOptions& o, const ReplicateResult& r,
                   const std::string& store_path) {
  const auto& c = r.copy;
  const char* mode = mode_name(o.mode);
  std::printf("migcheck replicate: run %lld (%s)%s\n", static_cast<long long>(r.run_id), mode,
              o.dry_run ? " [dry run: nothing written]" : "");
  std::printf("  source  %s (%s)\n", o.source.display().c_str(), r.source_desc.c_str());
  std::printf("  target  %s (%s)\n", o.target.display().c_str(), r.target_desc.c_str());
  std::printf("  dbs     %s\n\n",
              o.db_pairs.empty() ? "every db holding keys" : describe_db_pairs(o.db_pairs).c_str());
  if (o.mode != ReplicateMode::LiveOnly)
    std::printf("  keys scanned      %s (%d pass%s, %s keys/s)\n", grouped(r.keys_scanned).c_str(),
                r.scan_passes, r.scan_passes == 1 ? "" : "es",
                grouped(static_cast<int64_t>(r.keys_per_sec)).c_str());
  print_copy_counts(c, o.dry_run, true);
  if (r.starts_over)
    std::printf("  started over      %d time%s (a server restarted during the pass)\n",
                r.starts_over, r.starts_over == 1 ? "" : "s");
  if (o.mode != ReplicateMode::Scan) {
    std::printf("  events            %s received, %s keys applied\n",
                grouped(static_cast<int64_t>(r.events)).c_str(),
                grouped(static_cast<int64_t>(r.events_applied)).c_str());
    if (r.lag.count)
      std::printf("  lag               p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
                  r.lag.p50_ms, r.lag.p90_ms, r.lag.p99_ms, r.lag.max_ms);
    if (r.queue_overflows)
      std::printf("  queue overflows   %s (%s not covered by a completed rescan)\n",
                  grouped(static_cast<int64_t>(r.queue_overflows)).c_str(),
                  grouped(static_cast<int64_t>(r.overflows_uncovered)).c_str());
    if (r.subscriber_reconnects)
      std::printf("  subscriber reconnects %s (each followed by a rescan)\n",
                  grouped(static_cast<int64_t>(r.subscriber_reconnects)).c_str());
    if (r.event_gaps || r.event_gaps_open)
      std::printf("  event gaps        %s rescanned (longest %s), %s open%s\n",
                  grouped(static_cast<int64_t>(r.event_gaps)).c_str(),
                  format_duration(Millis(r.event_gap_max_ms)).c_str(),
                  grouped(static_cast<int64_t>(r.event_gaps_open)).c_str(),
                  r.event_gaps_open ? ": changes of an open gap may be missing; close with "
                                      "compare, then repair --delete-extra"
                                    : "");
    if (r.gap_sweeps)
      std::printf(
          "  after gaps        %s target keys checked, %s gone from the source: %s "
          "deleted, %s kept%s\n",
          grouped(static_cast<int64_t>(r.gap_swept)).c_str(),
          grouped(static_cast<int64_t>(r.gap_extras_found)).c_str(),
          grouped(static_cast<int64_t>(r.gap_extras_deleted)).c_str(),
          grouped(static_cast<int64_t>(r.gap_extras_kept)).c_str(),
          r.gap_extras_kept ? " (rerun with --delete-extra, or compare then repair "
                              "--delete-extra)"
                            : "");
  }
  print_skipped_keys(r.skipped, c.skipped);
  print_failed_keys(r.failures, c.failed);
  if (r.verify_run)
    std::printf("\nVerify: compare run %lld: %s\n", static_cast<long long>(*r.verify_run),
                r.verify_differences
                    ? (grouped(r.verify_differences) + " difference(s) remain").c_str()
                    : "identical");
  std::printf("\nElapsed %s.\n", format_duration(Millis(r.elapsed_ms)).c_str());
  if (r.interrupted && o.mode == ReplicateMode::Scan)
    std::printf(
        "Result: INTERRUPTED before the pass was complete. Continue with: migcheck replicate "
        "--resume %lld "
        "SOURCE TARGET --store %s\n",
        static_cast<long long>(r.run_id), store_path.c_str());
  else if (r.interrupted)
    std::printf("Result: INTERRUPTED before the pass was complete (run %lld).\n",
                static_cast<long long>(r.run_id));
  else if (r.target_became_replica)
    std::printf(
        "Result: FAILED: the target became a replica during the run; its primary's data replaced "
        "the copy (run %lld).\n",
        static_cast<long long>(r.run_id));
  else if (r.exit_code == kExitSame)
    std::printf("Result: %s.\n", o.dry_run      ? "DRY RUN"
                                 : r.verify_run ? "REPLICATED AND VERIFIED"
                                                : "REPLICATED");
  else
    print_incomplete_result(store_path, r.run_id);
  std::fflush(stdout);
}

int run(const ReplicateCli& c) {
  // A snapshot file as the source (issue 17): its own engine.
  if (source_is_snapshot(c.common))
    return run_snapshot_replicate_cmd({c.common, c.output, c.o, c.dbs, c.resume, c.given});
  ReplicateOptions o = engine_options(c);
  if (o.partition.active() && o.mode != ReplicateMode::Scan)
    throw UsageError(std::string("--partition applies to --mode scan only, not --mode ") +
                     mode_name(o.mode) + " (keyspace events cannot be split by slot range)");
  if (o.mode == ReplicateMode::Scan && std::ranges::find(c.given, "--idle") != c.given.end())
    log::warn("--idle applies to live modes only");
  if (o.mode == ReplicateMode::Scan && o.delete_extra)
    log::warn("--delete-extra applies to live modes only (scan mode never deletes)");
  normalise_types(o.types);
  signals::install();
  o.stop = signals::stop_flag();

  // A resumed run needs its store: never create an empty one for it.
  Store store(c.common.store, c.resume == 0);
  if (c.resume > 0) {
    apply_resumed_options(store, resumable_replicate_run(store, c.resume), c.given, o);
    o.mode = ReplicateMode::Scan;
  }
  // A server copied onto itself is refused before anything is written, as
  // is a resume against servers other than the run's.
  const PairIdentity ids =
      refuse_same_server("replicate", o.source, o.source_client, o.target, o.target_client);
  refuse_resume_elsewhere(store, c.resume, ids, o.source, o.target);
  RunOutput out(c.output, "replicate");
  ReplicateResult r = run_replicate(o, store);
  if (out.print_json(store, r.run_id)) {
    // the JSON summary alone on stdout
  } else if (!c.common.quiet)
    print_summary(o, r, c.common.store);
  else if (r.exit_code != kExitSame)
    std::printf("%lld failed, %lld skipped (run %lld)\n", static_cast<long long>(r.copy.failed),
                static_cast<long long>(r.copy.skipped), static_cast<long long>(r.run_id));
  return out.finish(r.exit_code);
}

}  // namespace

void add_replicate_command(CLI::App& app, Runner& runner) {
  auto c = std::make_shared<ReplicateCli>();
  ReplicateOptions& o = c->o;
  auto* sub = app.add_subcommand(
      "replicate",
      "Copy SOURCE's keys to TARGET (DUMP/RESTORE, by type when refused): one pass, or a pass then "
      "live "
      "changes from keyspace notifications; exit 0 all copied, 1 some not, 2 error");
  add_endpoint_args(*sub, c->common);
  const std::string g = "Replication";
  sub->add_option_function<std::string>(
         "--mode",
         [&o](const std::string& m) {
           o.mode = m == "live"       ? ReplicateMode::Live
                    : m == "liveonly" ? ReplicateMode::LiveOnly
                                      : ReplicateMode::Scan;
         },
         "scan: one pass; live: subscribe, pass, then apply changes; liveonly: changes only")
      ->check(CLI::IsMember({"scan", "live", "liveonly"}))
      ->default_str("scan")
      ->group(g);
  add_duration_option(*sub, "--idle", o.idle, "live modes: stop after this long without events",
                      false)
      ->group(g);
  add_resume_flag(*sub, c->resume);
  sub->get_option("--resume")->group(g);
  sub->add_flag("--verify", o.verify, "compare source and target at the end; differences -> exit 1")
      ->group(g);
  add_struct_flag(*sub, o.structural);
  sub->get_option("--struct")->group(g);
  add_scan_filter_flags(*sub, o.match, o.types, c->dbs);
  add_size_option(*sub, "--mem-limit", o.mem_limit,
                  "do not copy keys whose MEMORY USAGE is above this size (recorded as skipped)",
                  "")
      ->group(g);
  add_dry_run_flag(*sub, o.dry_run);
  sub->get_option("--dry-run")->group(g);
  sub->add_flag("--assume-notifications", o.assume_notifications,
                "live modes: CONFIG is refused (managed service); trust that "
                "notify-keyspace-events is set")
      ->group(g);
  sub->add_flag("--delete-extra", o.delete_extra,
                "delete keys that exist only on the target (replicate: live modes, the ones "
                "found after an event gap)")
      ->group(g);
  sub->add_option("--queue", o.queue_capacity,
                  "live modes: distinct changed keys held while waiting to be applied")
      ->check(CLI::Range(size_t{1}, size_t{100000000}))
      ->capture_default_str()
      ->group(g);
  add_load_flags(*sub, o);
  add_engine_command_tail(*sub, c, runner, &run);
}

}  // namespace migcheck
