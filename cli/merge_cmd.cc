// `migcheck merge --store OUT.db IN.db...`: joins the stores of the
// partitions of one job (--partition K/N) into one run of OUT.db (see
// partition_merge.h) and says what it joined and what is missing.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "commands.h"
#include "log.h"
#include "partition_merge.h"
#include "store.h"

namespace migcheck {
namespace {

struct MergeCli {
  CommonOptions common;
  std::vector<std::string> inputs;
};

std::string list(const std::vector<int>& ks, int n) {
  std::string out;
  for (int k : ks) out += (out.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(n);
  return out;
}

int run(const MergeCli& c) {
  log::set_quiet(c.common.quiet);
  log::set_verbose(c.common.verbose);
  Store out(c.common.store);
  const MergeResult r = merge_partitions(c.inputs, out);
  if (!c.common.quiet) {
    std::printf("migcheck merge: run %lld of %s (%s run, %d partitions, %zu store%s)\n",
                static_cast<long long>(r.run_id), c.common.store.c_str(), r.command.c_str(),
                r.count, c.inputs.size(), c.inputs.size() == 1 ? "" : "s");
    if (r.command == "compare")
      std::printf("  differences after the last round: %lld\n",
                  static_cast<long long>(r.differences));
  }
  const bool whole = r.missing.empty() && r.duplicated.empty() && r.failed.empty();
  if (!r.missing.empty()) log::warn("partition " + list(r.missing, r.count) + " missing");
  if (!r.duplicated.empty())
    log::warn("partition " + list(r.duplicated, r.count) +
              " given more than once (the first store given is merged)");
  if (!r.failed.empty()) log::warn("partition " + list(r.failed, r.count) + " did not finish");
  if (!c.common.quiet)
    std::printf("%s Report: migcheck report --store %s --run %lld\n",
                whole ? "Every slot covered once." : "NOT every slot covered once (see above).",
                c.common.store.c_str(), static_cast<long long>(r.run_id));
  std::fflush(stdout);
  // The merged run's result (0 same, 1 differences) when every slot is
  // covered once; a merge that cannot vouch for every slot is not a result.
  return whole ? r.exit_code : 2;
}

}  // namespace

void add_merge_command(CLI::App& app, Runner& runner) {
  auto [c, sub] = add_command<MergeCli>(
      app, runner, "merge",
      "Join the stores of the partitions of one job (--partition K/N) into one run of --store",
      run);
  sub->add_option("inputs", c->inputs, "the partition stores (IN.db...)")->required();
  add_offline_flags(*sub, c->common);
}

}  // namespace migcheck
