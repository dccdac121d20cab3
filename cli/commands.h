// Each command registers its subcommand and, when chosen on the command
// line, sets `run` to the function main() calls. Commands are thin layers
// over the engines in src/, compare/, replicate/ and reports/.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace migcheck {

using Runner = std::function<int()>;

void add_info_command(CLI::App& app, Runner& run);        // cli/info_cmd.cc
void add_compare_command(CLI::App& app, Runner& run);     // cli/compare_cmd.cc
void add_diffs_command(CLI::App& app, Runner& run);       // cli/diffs_cmd.cc
void add_repair_command(CLI::App& app, Runner& run);      // cli/repair_cmd.cc
void add_replicate_command(CLI::App& app, Runner& run);   // cli/replicate_cmd.cc
void add_report_command(CLI::App& app, Runner& run);      // cli/report_cmd.cc
void add_completion_command(CLI::App& app, Runner& run);  // cli/completion_cmd.cc
void add_merge_command(CLI::App& app, Runner& run);       // cli/merge_cmd.cc

// Registers subcommand `name` whose flags bind into a new Options; chosen on
// the command line, it sets `run` to call body(options). Returns both, for
// the caller to add the flags.
template <typename Options, typename Body>
std::pair<std::shared_ptr<Options>, CLI::App*> add_command(CLI::App& app, Runner& run,
                                                           std::string name, std::string help,
                                                           Body body) {
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(std::move(name), std::move(help));
  sub->callback([&run, opts, body] { run = [opts, body] { return body(*opts); }; });
  return {opts, sub};
}

// Every command, in the order --help lists them: what main() registers.
inline void add_all_commands(CLI::App& app, Runner& run) {
  add_info_command(app, run);
  add_compare_command(app, run);
  add_diffs_command(app, run);
  add_repair_command(app, run);
  add_replicate_command(app, run);
  add_report_command(app, run);
  add_merge_command(app, run);
  add_completion_command(app, run);
}

}  // namespace migcheck
