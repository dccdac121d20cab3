// `migcheck compare SOURCE TARGET`: the command line of the compare engine,
// its signal handling and the summary printed on stdout.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "commands.h"
#include "compare.h"
#include "compare_options.h"
#include "duration.h"
#include "engine_cli.h"
#include "errors.h"
#include "flag_groups.h"
#include "identity.h"
#include "log.h"
#include "progress.h"
#include "resume.h"
#include "run_output.h"
#include "signals.h"
#include "snapshot_compare_cmd.h"
#include "store.h"

namespace migcheck {
namespace {

using CompareCli = DbEngineCli<CompareOptions>;

void print_summary(const CompareOptions& o, const CompareResult& r, const std::string& store_path) {
  std::printf("migcheck compare: run %lld\n", static_cast<long long>(r.run_id));
  std::printf("  source  %s (%s)\n", o.source.display().c_str(), r.source_desc.c_str());
  std::printf("  target  %s (%s)\n", o.target.display().c_str(), r.target_desc.c_str());
  if (o.partition.active())
    std::printf("  partition %s: hash slots %s only (merge the N stores for the whole keyspace)\n",
                o.partition.text().c_str(), o.partition.slots_text().c_str());
  if (!r.databases.empty()) {
    std::printf("  %-16s %14s %12s\n", "databases", "keys checked", "differences");
    for (const auto& d : r.databases) {
      std::string name = "db " + std::to_string(d.dbs.source);
      if (d.dbs.target != d.dbs.source) name += " -> db " + std::to_string(d.dbs.target);
      std::printf("  %-16s %14s %12s\n", name.c_str(), grouped(d.keys_checked).c_str(),
                  grouped(d.differences).c_str());
    }
  }

  const int64_t first_ms = r.rounds.empty() ? 0 : r.rounds.front().elapsed_ms;
  std::printf("\nKeys checked in round 1: %s in %s (%s keys/s)%s\n",
              grouped(r.keys_checked).c_str(), format_duration(Millis(first_ms)).c_str(),
              grouped(static_cast<int64_t>(r.keys_per_sec)).c_str(), o.sample ? " [sample]" : "");
  if (!r.keys_by_type.empty()) {
    std::printf("  %-12s %14s\n", "type", "keys");
    for (const auto& [t, n] : r.keys_by_type)
      std::printf("  %-12s %14s\n", (t == "none" ? std::string("(gone)") : t).c_str(),
                  grouped(n).c_str());
  }
  if (r.target_scan_settled)
    std::printf("  keys only on the target: none (both unchanged, key counts match)\n");
  else if (o.target_scan)
    std::printf("  target keys looked up on the source: %s\n",
                grouped(r.target_keys_scanned).c_str());
  if (r.source_stats.chunked_keys || r.target_stats.chunked_keys)
    std::printf("  big keys read in chunks: %s on source, %s on target\n",
                grouped(static_cast<int64_t>(r.source_stats.chunked_keys)).c_str(),
                grouped(static_cast<int64_t>(r.target_stats.chunked_keys)).c_str());
  if (r.starts_over)
    std::printf("  started over at round 1 after a server restart: %d time%s\n", r.starts_over,
                r.starts_over == 1 ? "" : "s");
  if (r.source_stats.unstable || r.target_stats.unstable)
    std::printf(
        "  keys re-read because they changed while read: %s\n",
        grouped(static_cast<int64_t>(r.source_stats.unstable + r.target_stats.unstable)).c_str());

  std::printf("\nRounds\n  %-6s %14s %12s %10s\n", "round", "keys checked", "differences",
              "elapsed");
  for (const auto& rs : r.rounds)
    std::printf("  %-6d %14s %12s %10s\n", rs.round, grouped(rs.keys_checked).c_str(),
                grouped(rs.differences).c_str(), format_duration(Millis(rs.elapsed_ms)).c_str());

  const int last = r.rounds.empty() ? 0 : r.rounds.back().round;
  if (r.differences > 0) {
    std::printf("\nDifferences remaining after round %d: %s\n", last,
                grouped(r.differences).c_str());
    std::printf("  %-10s %10s      %-12s %10s\n", "kind", "count", "type", "count");
    const size_t rows = std::max(r.differences_by_kind.size(), r.differences_by_type.size());
    for (size_t i = 0; i < rows; ++i) {
      std::string k, kc, t, tc;
      if (i < r.differences_by_kind.size()) {
        k = r.differences_by_kind[i].first;
        kc = grouped(r.differences_by_kind[i].second);
      }
      if (i < r.differences_by_type.size()) {
        t = r.differences_by_type[i].first;
        tc = grouped(r.differences_by_type[i].second);
      }
      std::printf("  %-10s %10s      %-12s %10s\n", k.c_str(), kc.c_str(), t.c_str(), tc.c_str());
    }
  }
  std::printf("\nElapsed %s.\n", format_duration(Millis(r.elapsed_ms)).c_str());
  if (r.differences > 0)
    std::printf(
        "Result: DIFFERENT (%s difference%s). List them: migcheck diffs --store %s --run %lld\n",
        grouped(r.differences).c_str(), r.differences == 1 ? "" : "s", store_path.c_str(),
        static_cast<long long>(r.run_id));
  else
    std::printf("Result: IDENTICAL (%s).\n",
                last > 1 ? ("every difference resolved by round " + std::to_string(last)).c_str()
                         : "no differences");
  std::fflush(stdout);
}

int run(const CompareCli& c) {
  if (c.o.partition.active() && source_is_snapshot(c.common))
    throw UsageError("--partition applies to a server source, not a snapshot file");
  if (c.o.partition.active() && c.o.sample > 0)
    throw UsageError("--partition does not combine with --sample (a sample is drawn at random)");
  // A snapshot file as the source (issue 17): its own engine.
  if (source_is_snapshot(c.common))
    return run_snapshot_compare_cmd({c.common, c.output, c.o, c.dbs, c.resume, c.given});
  CompareOptions o = engine_options(c);
  normalise_types(o.types);

  // A resumed run needs its store: never create an empty one for it.
  Store store(c.common.store, c.resume == 0);
  // --resume: a stopped compare run of `store`; the engine checks the run
  // again (resumable_run) and reads its checkpoint.
  if (c.resume > 0)
    apply_resumed_options(store, resumable_run(store, c.resume, "compare"), c.given, o);
  // One server under two names is refused before anything runs, as is a
  // resume against servers other than the run's.
  const PairIdentity ids =
      refuse_same_server("compare", o.source, o.source_client, o.target, o.target_client);
  refuse_resume_elsewhere(store, c.resume, ids, o.source, o.target);
  // SIGINT/SIGTERM: the workers stop at a batch boundary and the run is
  // recorded as interrupted (exit 2); a second signal kills.
  signals::install();
  o.stop = signals::stop_flag();
  RunOutput out(c.output, "compare");
  CompareResult r = run_compare(o, store);
  if (out.print_json(store, r.run_id)) {
    // the JSON summary alone on stdout
  } else if (!c.common.quiet)
    print_summary(o, r, c.common.store);
  else if (r.differences > 0)
    std::printf("%lld difference%s (run %lld)\n", static_cast<long long>(r.differences),
                r.differences == 1 ? "" : "s", static_cast<long long>(r.run_id));
  log::info("compare run " + std::to_string(r.run_id) + " done: " +
            (r.differences > 0 ? std::to_string(r.differences) + " difference(s)"
                               : std::string("identical")));
  return out.finish(r.exit_code);
}

}  // namespace

void add_compare_command(CLI::App& app, Runner& runner) {
  auto c = std::make_shared<CompareCli>();
  CompareOptions& o = c->o;
  auto* sub = app.add_subcommand("compare",
                                 "Compare every key of SOURCE with TARGET (existence, type, TTL, "
                                 "value) in rounds; exit 0 identical, 1 different, 2 error");
  add_endpoint_args(*sub, c->common);
  const std::string g = "Comparison";
  sub->add_option("--rounds", o.rounds, "rounds; each re-checks the keys that still differ")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str()
      ->group(g);
  add_duration_option(*sub, "--interval", o.interval, "wait between rounds")->group(g);
  add_duration_option(*sub, "--ttl-tolerance", o.ttl_tolerance,
                      "largest accepted difference of absolute expiry times")
      ->group(g);
  sub->add_option("--sample", o.sample,
                  "check only this many keys of each db, drawn at random (RANDOMKEY)")
      ->group(g);
  add_resume_flag(*sub, c->resume);
  sub->get_option("--resume")->group(g);
  sub->add_flag_callback(
         "--no-target-scan", [&o] { o.target_scan = false; },
         "do not scan the target for keys missing on the source")
      ->group(g);
  add_scan_filter_flags(*sub, o.match, o.types, c->dbs);
  add_load_flags(*sub, o);
  const std::string p = "Speed and load";
  sub->add_option("--chunk", o.chunk,
                  "collections with more elements are read in chunks of this many")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str()
      ->group(p);
  add_size_option(*sub, "--big-string", o.big_string,
                  "strings longer are read in windows of this size", "1mb", true)
      ->group(p);
  sub->add_option("--locate-max-elements", o.locate.max_elements,
                  "value differences of collections and streams with at most this many "
                  "elements on both sides are located (read again); 0: never")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
      ->capture_default_str()
      ->group(p);
  add_size_option(*sub, "--locate-max-bytes", o.locate.max_bytes,
                  "value differences of strings of at most this size on both sides are located",
                  "64kb")
      ->group(p);
  add_engine_command_tail(*sub, c, runner, &run);
}

}  // namespace migcheck
