// Shared flag groups and value binders: see flag_groups.h.
#include "flag_groups.h"

#include <algorithm>
#include <cctype>

#include "errors.h"
#include "type_filter.h"

namespace migcheck {
namespace {

const std::string kLoad = "Speed and load";
const std::string kScan = "Scan and filter";

// "5s", "1500ms": how a default duration reads in --help.
std::string duration_text(Millis d) {
  const int64_t ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

// Timeouts: zero would fail every connection or command at once.
const CLI::Validator& positive_duration_validator() {
  static const CLI::Validator v(
      [](std::string& s) -> std::string {
        try {
          if (parse_duration(s).count() <= 0) return "must be more than 0 (e.g. 500ms, 30s)";
          return {};
        } catch (const UsageError& e) {
          return e.what();
        }
      },
      "DURATION");
  return v;
}

CLI::Option* bind_duration(CLI::App& app, const std::string& name, Millis& target,
                           const std::string& help, const CLI::Validator& check,
                           bool show_default) {
  auto* opt = app.add_option_function<std::string>(
                     name, [&target](const std::string& s) { target = parse_duration(s); }, help)
                  ->check(check);
  if (show_default) opt->default_str(duration_text(target));
  return opt;
}

}  // namespace

CLI::Option* add_duration_option(CLI::App& app, const std::string& name, Millis& target,
                                 const std::string& help, bool show_default) {
  return bind_duration(app, name, target, help, duration_validator(), show_default);
}

CLI::Option* add_positive_duration_option(CLI::App& app, const std::string& name, Millis& target,
                                          const std::string& help) {
  return bind_duration(app, name, target, help, positive_duration_validator(), true);
}

CLI::Option* add_size_option(CLI::App& app, const std::string& name,
                             std::function<void(uint64_t)> set, const std::string& help,
                             const std::string& default_text, bool at_least_one) {
  auto* opt =
      app.add_option_function<std::string>(
             name, [set = std::move(set)](const std::string& s) { set(parse_size(s)); }, help)
          ->check(CLI::Validator(
              [at_least_one](std::string& v) -> std::string {
                try {
                  if (parse_size(v) == 0 && at_least_one) return "must be at least 1 byte";
                  return {};
                } catch (const UsageError& e) {
                  return e.what();
                }
              },
              "SIZE"));
  if (!default_text.empty()) opt->default_str(default_text);
  return opt;
}

void add_endpoint_args(CLI::App& app, CommonOptions& common) {
  app.add_option("source", common.source.uri, "source URI (redis://, rediss://, unix://)")
      ->required();
  app.add_option("target", common.target.uri, "target URI")->required();
}

void add_resume_flag(CLI::App& app, int64_t& run) {
  app.add_option("--resume", run,
                 "continue this interrupted run (from --store) where it stopped, with its options")
      ->check(CLI::PositiveNumber);
}

void add_partition_flags(CLI::App& app, Partition& partition) {
  auto* part = app.add_option_function<std::string>(
                      "--partition",
                      [&partition](const std::string& s) {
                        std::string job = partition.job;
                        partition = parse_partition(s);
                        partition.job = std::move(job);
                      },
                      "only the K-th of N equal ranges of the 16384 hash slots (K/N, 1 <= K <= N): "
                      "one process of a job split in N; join the stores with `migcheck merge`")
                   ->check(CLI::Validator(
                       [](std::string& v) -> std::string {
                         try {
                           parse_partition(v);
                           return {};
                         } catch (const UsageError& e) {
                           // CLI11 names the flag itself.
                           std::string m = e.what();
                           for (std::string_view prefix : {"--partition: ", "--partition "})
                             if (m.starts_with(prefix)) m.erase(0, prefix.size());
                           return m;
                         }
                       },
                       "K/N"))
                   ->group(kScan);
  app.add_option_function<std::string>(
         "--job-id", [&partition](const std::string& s) { partition.job = s; },
         "names the job the partition belongs to: `merge` joins only stores of one job id")
      ->needs(part)
      ->group(kScan);
}

void add_dry_run_flag(CLI::App& app, bool& dry_run) {
  app.add_flag("--dry-run", dry_run, "record what would be done; write nothing");
}

void add_struct_flag(CLI::App& app, bool& structural) {
  app.add_flag("--struct", structural, "write every value by type instead of DUMP/RESTORE");
}

CLI::Option* add_kind_flag(CLI::App& app, std::vector<std::string>& kinds) {
  return app
      .add_option("--kind", kinds,
                  "only differences of this kind: missing, extra, type, ttl, value (repeatable)")
      ->check(CLI::IsMember({"missing", "extra", "type", "ttl", "value"}));
}

namespace {

// A count of the load group, from 1 to `max`, its default shown in the help.
void add_load_count(CLI::App& app, const char* flag, size_t& value, const char* help, size_t max) {
  app.add_option(flag, value, help)
      ->check(CLI::Range(size_t{1}, max))
      ->capture_default_str()
      ->group(kLoad);
}

}  // namespace

void add_scan_count_flag(CLI::App& app, size_t& scan_count) {
  add_load_count(app, "--scan-count", scan_count, "COUNT hint of each SCAN", 1000000);
}

void add_batch_flag(CLI::App& app, size_t& batch) {
  add_load_count(app, "--batch", batch, "keys per pipelined batch", 100000);
}

void add_connections_flag(CLI::App& app, size_t& connections) {
  add_load_count(app, "--connections", connections,
                 "workers, each with one connection per side (and per node of a cluster)", 256);
}

void add_max_ops_flag(CLI::App& app, double& max_ops_per_sec) {
  app.add_option("--max-ops-per-sec", max_ops_per_sec,
                 "cap on commands per second sent to the source (0: none)")
      ->check(CLI::NonNegativeNumber)
      ->group(kLoad);
}

void add_scan_filter_flags(CLI::App& app, std::string& match, std::vector<std::string>& types,
                           DbSelection& dbs) {
  app.add_option("--match", match, "only keys matching this glob (SCAN MATCH)")->group(kScan);
  app.add_option("--type", types, "only keys of this type on the source (repeatable)")
      ->group(kScan);
  app.add_option(kDbFlags[0], dbs.db,
                 "source database (default: the source URI's, else every db holding keys)")
      ->check(CLI::Range(0, 1 << 20))
      ->group(kScan);
  app.add_option(kDbFlags[1], dbs.target_db,
                 "target database (default: --db, the target URI's, else the source's)")
      ->check(CLI::Range(0, 1 << 20))
      ->group(kScan);
  app.add_option(kDbFlags[2], dbs.db_map,
                 "source:target database pairs, e.g. 0:0,3:5 (default: every db holding keys, "
                 "each with the same db)")
      ->group(kScan);
}

void normalise_types(std::vector<std::string>& types) {
  std::vector<std::string> out;
  for (std::string t : types) {
    std::transform(t.begin(), t.end(), t.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    refuse_unknown_type(t);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  }
  types = std::move(out);
}

std::string flag_name(const CLI::Option& opt) {
  if (!opt.get_lnames().empty()) return "--" + opt.get_lnames().front();
  if (!opt.get_snames().empty()) return "-" + opt.get_snames().front();
  return opt.get_name(true);
}

std::vector<std::string> given_flags(const CLI::App& app) {
  std::vector<std::string> given;
  for (const CLI::Option* opt : app.get_options())
    if (opt->nonpositional() && opt->count() > 0) given.push_back(flag_name(*opt));
  return given;
}

}  // namespace migcheck
