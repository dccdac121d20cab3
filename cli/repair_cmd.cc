// `migcheck repair SOURCE TARGET`: the command line of the repair engine and
// the summary printed on stdout.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli.h"
#include "commands.h"
#include "engine_cli.h"
#include "errors.h"
#include "failed_keys.h"
#include "flag_groups.h"
#include "identity.h"
#include "log.h"
#include "printable.h"
#include "repair.h"
#include "repair_options.h"
#include "resume.h"
#include "run_output.h"
#include "signals.h"
#include "store.h"

namespace migcheck {
namespace {

struct RepairCli {
  CommonOptions common;
  RunOutputOptions output;
  RepairOptions o;  // the flags bind straight into it
  int64_t resume = 0;
  std::vector<std::string> given;  // the flags the command line gave
};

// Before anything is written: the compare run must have finished (a stopped
// one holds part of the differences; the rest would go unrepaired while the
// repair says REPAIRED), and the servers must be the compare run's own (and,
// on --resume, the repair run's), by identity rather than by URI text.
void refuse_unsound_repair(Store& store, int64_t resume, const RepairOptions& o) {
  std::optional<RunRecord> cmp =
      o.compare_run ? store.run(*o.compare_run) : store.latest_run("compare");
  if (!cmp || cmp->command != "compare") return;  // the engine says what is wrong
  const std::string id = std::to_string(cmp->id);
  if (cmp->status == "interrupted" || cmp->status == "failed" || cmp->status == "running")
    throw UsageError("cannot repair compare run " + id + ": it " +
                     (cmp->status == "failed"        ? "failed before it finished"
                      : cmp->status == "interrupted" ? "was interrupted before it finished"
                                                     : "has not finished (still running, or it "
                                                       "died without recording an end)") +
                     ", so it holds only part of the differences; finish it with `migcheck "
                     "compare --resume " +
                     id + " SOURCE TARGET` (or run a new compare), then repair");
  // The dbs the engine will use: the compare run's, or the target URI's.
  Endpoint src = o.source, tgt = o.target;
  nlohmann::json copts = nlohmann::json::parse(cmp->options_json, nullptr, false);
  if (copts.is_object()) {
    src.db = copts.value("db", src.db);
    if (!o.target.db_given) tgt.db = copts.value("target_db", src.db);
  }
  const PairIdentity ids = refuse_same_server("repair", src, o.source_client, tgt, o.target_client);
  refuse_other_servers("cannot repair compare run " + id, ids, cmp->source_info_json,
                       cmp->target_info_json, cmp->source, cmp->target, o.source, o.target);
  refuse_resume_elsewhere(store, resume, ids, o.source, o.target);
}

void print_summary(const RepairOptions& o, const RepairResult& r, const std::string& store_path) {
  std::printf("migcheck repair: run %lld (from compare run %lld, round %d)%s\n",
              static_cast<long long>(r.run_id), static_cast<long long>(r.compare_run), r.round,
              o.dry_run ? " [dry run: nothing written]" : "");
  std::printf("  source  %s\n  target  %s\n\n", o.source.display().c_str(),
              o.target.display().c_str());
  std::printf("  differing keys selected  %lld\n", static_cast<long long>(r.selected));
  if (o.dry_run) {
    std::printf("  would be written         %lld\n", static_cast<long long>(r.planned));
  } else {
    std::printf("  repaired and verified    %lld", static_cast<long long>(r.repaired));
    if (r.deleted) std::printf(" (%lld by deleting)", static_cast<long long>(r.deleted));
    std::printf("\n");
    if (r.copy.fallbacks || r.copy.chunked)
      std::printf("    written by type        %lld (%lld big, in chunks)\n",
                  static_cast<long long>(r.copy.fallbacks + r.copy.chunked),
                  static_cast<long long>(r.copy.chunked));
    std::printf("  failed                   %lld\n", static_cast<long long>(r.failed));
  }
  if (r.kept_extra)
    std::printf("  extra keys kept          %lld (use --delete-extra to delete them)\n",
                static_cast<long long>(r.kept_extra));
  if (r.skipped)
    std::printf("  skipped                  %lld\n", static_cast<long long>(r.skipped));
  if (r.starts_over)
    std::printf("  started over             %d time%s (a server restarted during the repair)\n",
                r.starts_over, r.starts_over == 1 ? "" : "s");
  print_failed_keys(r.failures, r.failed);
  std::printf("\nElapsed %s.\n", format_duration(Millis(r.elapsed_ms)).c_str());
  if (o.dry_run)
    std::printf(
        "Result: DRY RUN (%lld planned, nothing written). Planned actions: migcheck diffs "
        "--store %s --run %lld\n",
        static_cast<long long>(r.planned), store_path.c_str(), static_cast<long long>(r.run_id));
  else if (r.exit_code == kExitSame)
    std::printf("Result: REPAIRED (every selected difference verified fixed).\n");
  else
    std::printf("Result: DIFFERENCES REMAIN. Outcomes: migcheck report --store %s --run %lld\n",
                store_path.c_str(), static_cast<long long>(r.run_id));
  std::fflush(stdout);
}

int run(const RepairCli& c) {
  RepairOptions o = engine_options(c);
  signals::install();
  o.stop = signals::stop_flag();
  // The store must hold the compare run already.
  Store store(c.common.store, false);
  if (c.resume > 0)
    apply_resumed_options(store, resumable_run(store, c.resume, "repair"), c.given, o);
  refuse_unsound_repair(store, c.resume, o);
  RunOutput out(c.output, "repair");
  RepairResult r = run_repair(o, store);
  if (out.print_json(store, r.run_id)) {
    // the JSON summary alone on stdout
  } else if (!c.common.quiet)
    print_summary(o, r, c.common.store);
  else if (o.dry_run)
    std::printf("DRY RUN: %lld planned, nothing written (run %lld)\n",
                static_cast<long long>(r.planned), static_cast<long long>(r.run_id));
  else if (r.exit_code != kExitSame)
    std::printf("%lld failed, %lld extra kept (run %lld)\n", static_cast<long long>(r.failed),
                static_cast<long long>(r.kept_extra), static_cast<long long>(r.run_id));
  return out.finish(r.exit_code);
}

}  // namespace

void add_repair_command(CLI::App& app, Runner& runner) {
  auto c = std::make_shared<RepairCli>();
  RepairOptions& o = c->o;
  auto* sub = app.add_subcommand("repair",
                                 "Fix the differences of a compare run: copy each key from SOURCE "
                                 "to TARGET again (or delete it), then "
                                 "verify; exit 0 all fixed, 1 some remain, 2 error");
  add_endpoint_args(*sub, c->common);
  const std::string g = "Repair";
  sub->add_option_function<int64_t>(
         "--run",
         [&o](int64_t run) {
           if (run > 0) o.compare_run = run;
         },
         "the compare run to repair (default: the latest)")
      ->group(g);
  add_kind_flag(*sub, o.kinds)->group(g);
  add_resume_flag(*sub, c->resume);
  sub->get_option("--resume")->group(g);
  sub->add_flag("--delete-extra", o.delete_extra,
                "delete keys that exist only on the target (replicate: live modes, the ones found "
                "after an event gap)")
      ->group(g);
  add_dry_run_flag(*sub, o.dry_run);
  sub->get_option("--dry-run")->group(g);
  add_struct_flag(*sub, o.structural);
  sub->get_option("--struct")->group(g);
  add_load_flags(*sub, o);
  add_engine_command_tail(*sub, c, runner, &run);
}

}  // namespace migcheck
