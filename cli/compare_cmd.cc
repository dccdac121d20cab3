// `migcheck compare SOURCE TARGET`: the command line of the compare engine,
// its signal handling and the summary printed on stdout.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.h"
#include "commands.h"
#include "compare.h"
#include "duration.h"
#include "errors.h"
#include "identity.h"
#include "log.h"
#include "progress.h"
#include "resume.h"
#include "run_output.h"
#include "signals.h"
#include "store.h"
#include "type_filter.h"

namespace migcheck {
namespace {

struct CompareCli {
  CommonOptions common;
  RunOutputOptions output;
  int rounds = 3;
  std::string interval = "5s";
  std::string ttl_tolerance = "1s";
  std::string match;
  std::vector<std::string> types;
  int db = -1;
  int target_db = -1;
  std::string db_map;
  size_t scan_count = 1000;
  size_t batch = 500;
  size_t connections = 4;
  double max_ops = 0;
  uint64_t sample = 0;
  bool no_target_scan = false;
  size_t chunk = 1000;
  int64_t locate_max_elements = LocateOptions{}.max_elements;
  std::string locate_max_bytes = "64kb";
  std::string big_string = "1mb";
  int64_t resume = 0;
  std::vector<std::string> run_options_given;  // of those a resumed run replaces
};

// --resume: the run must be a stopped compare run of `store`; its recorded
// options replace the command line's (endpoints and credentials excepted).
// The engine checks the run again (resumable_run) and reads its checkpoint.
void apply_resumed_options(Store& store, int64_t id, const std::vector<std::string>& given,
                           CompareOptions& o) {
  ResumableRun r = resumable_run(store, id, "compare");
  std::vector<std::string> ignored = given;
  resume_option(r, ignored, "--scan-count", "scan_count", o.scan_count);
  resume_option(r, ignored, "--batch", "batch", o.batch);
  resume_option(r, ignored, "--connections", "connections", o.connections);
  resume_option(r, ignored, "--max-ops-per-sec", "max_ops_per_sec", o.max_ops_per_sec);
  record_resume_options(store, r);
  const nlohmann::json& j = r.options;
  // The run's db pairs (the engine takes the resolved ones from the checkpoint).
  o.db_pairs = db_pairs_from_options(j);
  o.all_dbs = o.db_pairs.empty();
  if (o.db_pairs.size() == 1) {
    o.source.db = o.db_pairs[0].source;
    o.target.db = o.db_pairs[0].target;
  }
  o.rounds = j.value("rounds", o.rounds);
  o.interval = Millis(j.value("interval_ms", o.interval.count()));
  o.ttl_tolerance = Millis(j.value("ttl_tolerance_ms", o.ttl_tolerance.count()));
  o.match = j.value("match", o.match);
  o.types = j.value("types", o.types);
  o.sample = j.value("sample", o.sample);
  o.target_scan = j.value("target_scan", o.target_scan);
  o.chunk = j.value("chunk", o.chunk);
  o.big_string = j.value("big_string", o.big_string);
  const bool replica = j.value("read_from_replica", o.source_client.read_from_replica);
  o.source_client.read_from_replica = replica;
  warn_resume_differences(r, ignored, o.source, o.target);
  o.resume_run = id;
}

void print_summary(const CompareOptions& o, const CompareResult& r, const std::string& store_path) {
  std::printf("migcheck compare: run %lld\n", static_cast<long long>(r.run_id));
  std::printf("  source  %s (%s)\n", o.source.display().c_str(), r.source_desc.c_str());
  std::printf("  target  %s (%s)\n", o.target.display().c_str(), r.target_desc.c_str());
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
  if (o.target_scan)
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
  log::set_quiet(c.common.quiet);
  log::set_verbose(c.common.verbose);
  CompareOptions o;
  resolve_sides(c.common, c.db, c.target_db, o.source, o.target);
  o.db_pairs = chosen_db_pairs(o.source, o.target, c.db, c.target_db, c.db_map);
  o.all_dbs = o.db_pairs.empty();
  o.source_client = client_options(c.common, true);
  o.target_client = client_options(c.common, false);
  o.rounds = c.rounds;
  o.interval = parse_duration(c.interval);
  o.ttl_tolerance = parse_duration(c.ttl_tolerance);
  o.match = c.match;
  for (std::string t : c.types) {
    std::transform(t.begin(), t.end(), t.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    refuse_unknown_type(t);
    if (std::find(o.types.begin(), o.types.end(), t) == o.types.end()) o.types.push_back(t);
  }
  o.scan_count = c.scan_count;
  o.batch = c.batch;
  o.connections = c.connections;
  o.max_ops_per_sec = c.max_ops;
  o.sample = c.sample;
  o.target_scan = !c.no_target_scan;
  o.chunk = c.chunk;
  const uint64_t big = parse_size(c.big_string);
  if (big == 0) throw UsageError("--big-string must be at least 1 byte");
  o.big_string = static_cast<size_t>(big);
  o.locate.max_elements = c.locate_max_elements;
  o.locate.max_bytes = static_cast<int64_t>(parse_size(c.locate_max_bytes));
  o.progress = !c.common.quiet;
  o.store_path = c.common.store;

  // A resumed run needs its store: never create an empty one for it.
  Store store(c.common.store, c.resume == 0);
  if (c.resume > 0) apply_resumed_options(store, c.resume, c.run_options_given, o);
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
  auto* sub = app.add_subcommand("compare",
                                 "Compare every key of SOURCE with TARGET (existence, type, TTL, "
                                 "value) in rounds; exit 0 identical, 1 different, 2 error");
  sub->add_option("source", c->common.source.uri, "source URI (redis://, rediss://, unix://)")
      ->required();
  sub->add_option("target", c->common.target.uri, "target URI")->required();
  const std::string g = "Comparison";
  sub->add_option("--rounds", c->rounds, "rounds; each re-checks the keys that still differ")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str()
      ->group(g);
  sub->add_option("--interval", c->interval, "wait between rounds")
      ->check(duration_validator())
      ->capture_default_str()
      ->group(g);
  sub->add_option("--ttl-tolerance", c->ttl_tolerance,
                  "largest accepted difference of absolute expiry times")
      ->check(duration_validator())
      ->capture_default_str()
      ->group(g);
  sub->add_option("--match", c->match, "only keys matching this glob (SCAN MATCH)")->group(g);
  sub->add_option("--type", c->types, "only keys of this type on the source (repeatable)")
      ->group(g);
  sub->add_option("--db", c->db,
                  "database to compare (default: the source URI's, else every db holding keys)")
      ->check(CLI::Range(0, 1 << 20))
      ->group(g);
  sub->add_option("--target-db", c->target_db,
                  "target database to compare the source database with")
      ->check(CLI::Range(0, 1 << 20))
      ->group(g);
  sub->add_option("--db-map", c->db_map,
                  "source:target database pairs to compare, e.g. 0:0,3:5 (default: every db "
                  "holding keys, each with the same db)")
      ->group(g);
  sub->add_option("--sample", c->sample, "check only this many keys drawn at random (RANDOMKEY)")
      ->group(g);
  sub->add_option(
         "--resume", c->resume,
         "continue this interrupted compare run (from --store) where it stopped, with its options")
      ->check(CLI::PositiveNumber)
      ->group(g);
  sub->add_flag("--no-target-scan", c->no_target_scan,
                "do not scan the target for keys missing on the source")
      ->group(g);
  const std::string p = "Speed and load";
  sub->add_option("--scan-count", c->scan_count, "COUNT hint of each SCAN")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str()
      ->group(p);
  sub->add_option("--batch", c->batch, "keys per pipelined batch")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str()
      ->group(p);
  sub->add_option("--connections", c->connections, "worker threads, each with one client per side")
      ->check(CLI::Range(1, 256))
      ->capture_default_str()
      ->group(p);
  sub->add_option("--max-ops-per-sec", c->max_ops,
                  "cap on commands per second sent to the source (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->group(p);
  sub->add_option("--chunk", c->chunk,
                  "collections with more elements are read in chunks of this many")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str()
      ->group(p);
  sub->add_option("--big-string", c->big_string, "strings longer are read in windows of this size")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            try {
              return parse_size(v) > 0 ? std::string() : std::string("must be at least 1 byte");
            } catch (const UsageError& e) {
              return e.what();
            }
          },
          "SIZE"))
      ->capture_default_str()
      ->group(p);
  sub->add_option("--locate-max-elements", c->locate_max_elements,
                  "value differences of collections and streams with at most this many "
                  "elements on both sides are located (read again); 0: never")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
      ->capture_default_str()
      ->group(p);
  sub->add_option("--locate-max-bytes", c->locate_max_bytes,
                  "value differences of strings of at most this size on both sides are located")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            try {
              parse_size(v);
              return {};
            } catch (const UsageError& e) {
              return e.what();
            }
          },
          "SIZE"))
      ->capture_default_str()
      ->group(p);
  add_side_flags(*sub, c->common.source, "source");
  add_side_flags(*sub, c->common.target, "target");
  add_common_flags(*sub, c->common);
  add_run_output_flags(*sub, c->output);
  sub->callback([&runner, c, sub] {
    c->run_options_given = given_options(
        *sub, {"--rounds", "--interval", "--ttl-tolerance", "--match", "--type", "--db",
               "--target-db", "--db-map", "--sample", "--no-target-scan", "--scan-count", "--batch",
               "--connections", "--max-ops-per-sec", "--chunk", "--big-string", "--read-from"});
    runner = [c] { return run(*c); };
  });
}

}  // namespace migcheck
