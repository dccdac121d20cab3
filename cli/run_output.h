// What a command that runs against servers (compare, repair, replicate)
// shows besides its text summary, defined once for all three: `--metrics
// HOST:PORT` (Prometheus metrics while the run goes on, with the run's state)
// and `--json` (the final summary as one JSON object on stdout).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "noncopyable.h"
#include "store.h"

namespace migcheck {

struct RunOutputOptions {
  std::string metrics;  // HOST:PORT, empty: none
  bool json = false;
};

void add_run_output_flags(CLI::App& app, RunOutputOptions& o);

// One command's run: serves the metrics from construction (throws
// UsageError for an address it cannot serve) with the state "running";
// finish() records how it ended, and a run ended by an exception reads
// "failed".
class RunOutput : NonCopyable {
 public:
  RunOutput(const RunOutputOptions& o, std::string_view command);
  ~RunOutput();

  bool json() const { return json_; }
  // With --json: prints the run's summary from the store and returns true
  // (the caller skips its text summary).
  bool print_json(Store& store, int64_t run) const;
  // The state metric from the exit code (0 done, 1 differences, 2 failed).
  int finish(int exit_code);

 private:
  std::string command_;
  bool json_ = false;
  bool finished_ = false;
};

}  // namespace migcheck
