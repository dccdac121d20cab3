// `migcheck replicate SOURCE TARGET`: the command line of the replicate
// engine, its signal handling and the summary printed on stdout.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <string>

#include "cli.h"
#include "commands.h"
#include "duration.h"
#include "errors.h"
#include "failed_keys.h"
#include "identity.h"
#include "log.h"
#include "printable.h"
#include "progress.h"
#include "replicate.h"
#include "resume.h"
#include "run_output.h"
#include "signals.h"
#include "store.h"
#include "type_filter.h"

namespace migcheck {
namespace {

struct ReplicateCli {
  CommonOptions common;
  RunOutputOptions output;
  std::string mode = "scan";
  std::string idle;
  bool verify = false;
  bool structural = false;
  std::string match;
  std::vector<std::string> types;
  int db = -1;
  int target_db = -1;
  std::string db_map;
  std::string mem_limit;
  size_t scan_count = 1000;
  size_t batch = 1000;
  size_t connections = 2;
  double max_ops = 0;
  bool dry_run = false;
  bool assume_notifications = false;
  size_t queue = 100000;
  int64_t resume = 0;
  std::vector<std::string> run_options_given;  // of those a resumed run replaces
};

// --resume: the recorded options of the stopped run replace the command
// line's (endpoints and credentials excepted). Only a scan pass can continue:
// a live run stopped misses the changes made meanwhile, so it starts over.
void apply_resumed_options(Store& store, int64_t id, const std::vector<std::string>& given,
                           ReplicateOptions& o) {
  ResumableRun r = resumable_run(store, id, "replicate");
  if (r.options.value("mode", "") != "scan")
    throw UsageError("cannot resume run " + std::to_string(id) + ": it is a " +
                     r.options.value("mode", std::string("?")) +
                     " run; only scan-mode runs can be resumed (start a new live run: it copies "
                     "everything again)");
  if (r.options.value("dry_run", false))
    throw UsageError("cannot resume run " + std::to_string(id) + ": it is a dry run");
  std::vector<std::string> ignored = given;
  resume_option(r, ignored, "--scan-count", "scan_count", o.scan_count);
  resume_option(r, ignored, "--batch", "batch", o.batch);
  resume_option(r, ignored, "--connections", "connections", o.connections);
  resume_option(r, ignored, "--max-ops-per-sec", "max_ops_per_sec", o.max_ops_per_sec);
  record_resume_options(store, r);
  const nlohmann::json& j = r.options;
  o.mode = ReplicateMode::Scan;
  // The run's db pairs (the engine takes the resolved ones from the checkpoint).
  o.db_pairs = db_pairs_from_options(j);
  o.all_dbs = o.db_pairs.empty();
  if (o.db_pairs.size() == 1) {
    o.source.db = o.db_pairs[0].source;
    o.target.db = o.db_pairs[0].target;
  }
  o.verify = j.value("verify", o.verify);
  o.structural = j.value("struct", o.structural);
  o.match = j.value("match", o.match);
  o.types = j.value("types", o.types);
  o.mem_limit = j.value("mem_limit", o.mem_limit);
  warn_resume_differences(r, ignored, o.source, o.target);
  o.resume_run = id;
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
  if (o.dry_run) {
    std::printf("  would be written  %s\n", grouped(c.planned).c_str());
  } else {
    std::printf("  copied            %s (RESTORE %s, by type %s, big in chunks %s), %s\n",
                grouped(c.copied).c_str(), grouped(c.restored).c_str(),
                grouped(c.fallbacks).c_str(), grouped(c.chunked).c_str(),
                format_bytes(c.bytes).c_str());
    std::printf("  deleted           %s (gone from the source)\n", grouped(c.deleted).c_str());
  }
  std::printf("  skipped           %s\n", grouped(c.skipped).c_str());
  std::printf("  failed            %s\n", grouped(c.failed).c_str());
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
  }
  if (!r.skipped.empty()) {
    std::printf("\nSkipped keys%s:\n",
                c.skipped > static_cast<int64_t>(r.skipped.size()) ? " (first ones)" : "");
    for (const auto& s : r.skipped)
      std::printf("  %s: %s\n", printable_bytes(s.key).c_str(), terminal_text(s.detail).c_str());
  }
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
    std::printf(
        "Result: INCOMPLETE (keys not copied are in the store: migcheck report --store %s --run "
        "%lld).\n",
        store_path.c_str(), static_cast<long long>(r.run_id));
  std::fflush(stdout);
}

int run(const ReplicateCli& c) {
  log::set_quiet(c.common.quiet);
  log::set_verbose(c.common.verbose);
  ReplicateOptions o;
  resolve_sides(c.common, c.db, c.target_db, o.source, o.target);
  o.db_pairs = chosen_db_pairs(o.source, o.target, c.db, c.target_db, c.db_map);
  o.all_dbs = o.db_pairs.empty();
  o.source_client = client_options(c.common, true);
  o.target_client = client_options(c.common, false);
  o.mode = c.mode == "live"       ? ReplicateMode::Live
           : c.mode == "liveonly" ? ReplicateMode::LiveOnly
                                  : ReplicateMode::Scan;
  if (!c.idle.empty()) {
    o.idle = parse_duration(c.idle);
    if (o.mode == ReplicateMode::Scan) log::warn("--idle applies to live modes only");
  }
  o.verify = c.verify;
  o.structural = c.structural;
  o.match = c.match;
  for (std::string t : c.types) {
    std::transform(t.begin(), t.end(), t.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    refuse_unknown_type(t);
    if (std::find(o.types.begin(), o.types.end(), t) == o.types.end()) o.types.push_back(t);
  }
  if (!c.mem_limit.empty()) o.mem_limit = parse_size(c.mem_limit);
  o.scan_count = c.scan_count;
  o.batch = c.batch;
  o.connections = c.connections;
  o.max_ops_per_sec = c.max_ops;
  o.dry_run = c.dry_run;
  o.assume_notifications = c.assume_notifications;
  o.queue_capacity = c.queue;
  o.progress = !c.common.quiet;
  o.store_path = c.common.store;
  signals::install();
  o.stop = signals::stop_flag();

  // A resumed run needs its store: never create an empty one for it.
  Store store(c.common.store, c.resume == 0);
  if (c.resume > 0) apply_resumed_options(store, c.resume, c.run_options_given, o);
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
  auto* sub = app.add_subcommand(
      "replicate",
      "Copy SOURCE's keys to TARGET (DUMP/RESTORE, by type when refused): one pass, or a pass then "
      "live "
      "changes from keyspace notifications; exit 0 all copied, 1 some not, 2 error");
  sub->add_option("source", c->common.source.uri, "source URI (redis://, rediss://, unix://)")
      ->required();
  sub->add_option("target", c->common.target.uri, "target URI")->required();
  const std::string g = "Replication";
  sub->add_option(
         "--mode", c->mode,
         "scan: one pass; live: subscribe, pass, then apply changes; liveonly: changes only")
      ->check(CLI::IsMember({"scan", "live", "liveonly"}))
      ->capture_default_str()
      ->group(g);
  sub->add_option("--idle", c->idle, "live modes: stop after this long without events")
      ->check(duration_validator())
      ->group(g);
  sub->add_option("--resume", c->resume,
                  "continue this interrupted scan-mode run (from --store) where it stopped, with "
                  "its options")
      ->check(CLI::PositiveNumber)
      ->group(g);
  sub->add_flag("--verify", c->verify,
                "compare source and target at the end; differences -> exit 1")
      ->group(g);
  sub->add_flag("--struct", c->structural, "write every value by type instead of DUMP/RESTORE")
      ->group(g);
  sub->add_option("--match", c->match, "only keys matching this glob (SCAN MATCH)")->group(g);
  sub->add_option("--type", c->types,
                  "only keys of this type (string, list, set, zset, hash, stream)")
      ->group(g);
  sub->add_option("--db", c->db, "source database (default: the URI's, else every db holding keys)")
      ->check(CLI::Range(0, 100000))
      ->group(g);
  sub->add_option("--target-db", c->target_db,
                  "target database (default: --db, the URI's, else the source's)")
      ->check(CLI::Range(0, 100000))
      ->group(g);
  sub->add_option("--db-map", c->db_map,
                  "source:target database pairs to copy, e.g. 0:0,3:5 (default: every db "
                  "holding keys, each into the same db)")
      ->group(g);
  sub->add_option("--mem-limit", c->mem_limit,
                  "do not copy keys whose MEMORY USAGE is above this size (recorded as skipped)")
      ->group(g);
  sub->add_option("--scan-count", c->scan_count, "COUNT hint per SCAN call")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str()
      ->group(g);
  sub->add_option("--batch", c->batch, "keys per pipelined step")
      ->check(CLI::Range(size_t{1}, size_t{100000}))
      ->capture_default_str()
      ->group(g);
  sub->add_option("--connections", c->connections,
                  "copy workers, each with a connection per side (and node)")
      ->check(CLI::Range(size_t{1}, size_t{64}))
      ->capture_default_str()
      ->group(g);
  sub->add_option("--max-ops-per-sec", c->max_ops,
                  "cap on commands per second sent to the source (0 = none)")
      ->check(CLI::NonNegativeNumber)
      ->group(g);
  sub->add_flag("--dry-run", c->dry_run, "record what would be done; write nothing")->group(g);
  sub->add_flag("--assume-notifications", c->assume_notifications,
                "live modes: CONFIG is refused (managed service); trust that "
                "notify-keyspace-events is set")
      ->group(g);
  sub->add_option("--queue", c->queue,
                  "live modes: distinct changed keys held while waiting to be applied")
      ->check(CLI::Range(size_t{1}, size_t{100000000}))
      ->capture_default_str()
      ->group(g);
  add_side_flags(*sub, c->common.source, "source");
  add_side_flags(*sub, c->common.target, "target");
  add_common_flags(*sub, c->common);
  add_run_output_flags(*sub, c->output);
  sub->callback([&runner, c, sub] {
    c->run_options_given =
        given_options(*sub, {"--mode", "--verify", "--struct", "--match", "--type", "--db",
                             "--target-db", "--db-map", "--mem-limit", "--scan-count", "--batch",
                             "--connections", "--max-ops-per-sec", "--dry-run"});
    runner = [c] { return run(*c); };
  });
}

}  // namespace migcheck
