// --metrics and --json for the commands that run.
#include "run_output.h"

#include <cstdio>

#include "exit_codes.h"
#include "metrics.h"
#include "run_json.h"

namespace migcheck {

void add_run_output_flags(CLI::App& app, RunOutputOptions& o) {
  app.add_option("--metrics", o.metrics,
                 "serve Prometheus metrics at http://HOST:PORT/metrics while the run goes on")
      ->type_name("HOST:PORT")
      ->group("Output");
  app.add_flag("--json", o.json,
               "print the final summary as one JSON object on stdout (the figures the store holds)")
      ->group("Output");
}

RunOutput::RunOutput(const RunOutputOptions& o, std::string_view command)
    : command_(command), json_(o.json) {
  if (!o.metrics.empty()) Metrics::get().serve(o.metrics);
  Metrics::get().run_state(command_, "running");
}

RunOutput::~RunOutput() {
  if (!finished_) Metrics::get().run_state(command_, "failed");
}

bool RunOutput::print_json(Store& store, int64_t run) const {
  if (!json_) return false;
  std::printf("%s\n", run_summary_json(store, run).dump().c_str());
  std::fflush(stdout);
  return true;
}

int RunOutput::finish(int exit_code) {
  finished_ = true;
  Metrics::get().run_state(command_, exit_code == kExitSame     ? "done"
                                     : exit_code == kExitDiffer ? "differences"
                                                                : "failed");
  return exit_code;
}

}  // namespace migcheck
