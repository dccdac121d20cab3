// The flags several commands share, each defined once (name, range, help)
// and bound straight into the field of the options struct it sets: speed
// and load, scan and filter, the endpoints, --resume, --dry-run, --struct;
// binders for durations and sizes; and the flags a command line gave.
// The connection flags per side and the common ones are in cli.h, the
// output flags in run_output.h.
#pragma once

#include <CLI/CLI.hpp>

#include <array>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "duration.h"
#include "partition.h"
#include "run_output.h"

namespace migcheck {

// Binds a duration flag ("500ms", "5s", "2m") into `target`. The default
// shown is target's value, unless show_default is false.
CLI::Option* add_duration_option(CLI::App& app, const std::string& name, Millis& target,
                                 const std::string& help, bool show_default = true);
// The same for flags that must be more than zero (timeouts).
CLI::Option* add_positive_duration_option(CLI::App& app, const std::string& name, Millis& target,
                                          const std::string& help);

// Binds a size flag ("512", "64kb", "10mb"), checked by the parser, to
// `set`; at_least_one refuses 0. default_text is what --help shows (none
// when empty).
CLI::Option* add_size_option(CLI::App& app, const std::string& name,
                             std::function<void(uint64_t)> set, const std::string& help,
                             const std::string& default_text, bool at_least_one = false);
// The same, straight into an integer field.
template <std::integral T>
CLI::Option* add_size_option(CLI::App& app, const std::string& name, T& target,
                             const std::string& help, const std::string& default_text,
                             bool at_least_one = false) {
  return add_size_option(
      app, name, [&target](uint64_t v) { target = static_cast<T>(v); }, help, default_text,
      at_least_one);
}

// SOURCE and TARGET, the positional URIs of compare, repair and replicate.
void add_endpoint_args(CLI::App& app, CommonOptions& common);

// --resume RUN (compare, repair, scan-mode replicate).
void add_resume_flag(CLI::App& app, int64_t& run);
// --partition K/N and --job-id (compare, repair, replicate): bound by
// add_engine_command_tail into the options' `partition`.
void add_partition_flags(CLI::App& app, Partition& partition);

// --dry-run and --struct (repair, replicate).
void add_dry_run_flag(CLI::App& app, bool& dry_run);
void add_struct_flag(CLI::App& app, bool& structural);

// --kind (repeatable; repair, diffs): missing, extra, type, ttl, value.
CLI::Option* add_kind_flag(CLI::App& app, std::vector<std::string>& kinds);

// Speed and load: --batch, --connections, --max-ops-per-sec.
void add_batch_flag(CLI::App& app, size_t& batch);
void add_connections_flag(CLI::App& app, size_t& connections);
void add_max_ops_flag(CLI::App& app, double& max_ops_per_sec);
void add_scan_count_flag(CLI::App& app, size_t& scan_count);

// The speed and load group of an engine's options: --scan-count when it has
// a scan_count, --batch, --connections, --max-ops-per-sec.
template <typename Options>
void add_load_flags(CLI::App& app, Options& o) {
  if constexpr (requires { o.scan_count; }) add_scan_count_flag(app, o.scan_count);
  add_batch_flag(app, o.batch);
  add_connections_flag(app, o.connections);
  add_max_ops_flag(app, o.max_ops_per_sec);
  // Sizes given on the command line are kept as given: no scaling with the
  // measured round trip (in_flight.h).
  if constexpr (requires { o.size_for_round_trip; })
    for (const char* flag : {"--batch", "--scan-count", "--connections"})
      if (CLI::Option* opt = app.get_option_no_throw(flag))
        opt->each([&o](const std::string&) { o.size_for_round_trip = false; });
}

// The databases chosen on the command line (resolved with the endpoints by
// resolve_sides and chosen_db_pairs).
struct DbSelection {
  int db = -1;
  int target_db = -1;
  std::string db_map;
};
// Their flags; a resumed run takes its own db pairs instead.
inline constexpr std::array<const char*, 3> kDbFlags = {"--db", "--target-db", "--db-map"};

// Scan and filter: --match, --type (repeatable), --db, --target-db, --db-map.
void add_scan_filter_flags(CLI::App& app, std::string& match, std::vector<std::string>& types,
                           DbSelection& dbs);
// --type's values lowercased, each once; throws UsageError for a type that
// does not exist.
void normalise_types(std::vector<std::string>& types);

// "--batch": an option's first long name (else its short one), hidden
// options' too (CLI11's get_name() gives those no name).
std::string flag_name(const CLI::Option& opt);

// The flags the command line of `app` gave (long names, in definition
// order; positionals left out).
std::vector<std::string> given_flags(const CLI::App& app);

// What every engine command (compare, repair, replicate) ends with: both
// sides' connection flags, the common and output flags, and the callback
// that records the flags given (given_flags) and hands `run` to the runner.
template <typename Cli>
void add_engine_command_tail(CLI::App& sub, const std::shared_ptr<Cli>& c, Runner& runner,
                             int (*run)(const Cli&)) {
  if constexpr (requires { c->o.partition; }) add_partition_flags(sub, c->o.partition);
  add_side_flags(sub, c->common.source, "source");
  add_side_flags(sub, c->common.target, "target");
  add_common_flags(sub, c->common);
  add_run_output_flags(sub, c->output);
  sub.callback([&runner, c, &sub, run] {
    c->given = given_flags(sub);
    runner = [c, run] { return run(*c); };
  });
}

}  // namespace migcheck
