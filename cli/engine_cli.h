// The parsed command line of an engine command over two servers, the
// engine's options made from it, and what `--resume RUN` does to them: one
// shape over the engine's options type (CompareOptions, ReplicateOptions,
// RepairOptions). What each engine allows of a resume beyond that
// (replicate: scan-mode runs only) stays in its *_cmd.cc.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cli.h"
#include "db_pairs.h"
#include "flag_groups.h"
#include "log.h"
#include "recorded_options.h"
#include "resume.h"
#include "run_output.h"
#include "store.h"

namespace migcheck {

// compare and replicate: an engine over db pairs.
template <typename Options>
struct DbEngineCli {
  CommonOptions common;
  RunOutputOptions output;
  Options o;  // the flags bind straight into it
  DbSelection dbs;
  int64_t resume = 0;
  std::vector<std::string> given;  // the flags the command line gave
};

// The engine's options from the command line `c` (a DbEngineCli, or a
// command's own struct of the same fields without `dbs`): the flags bound
// into c.o, with the endpoints resolved (and the db pairs chosen, for an
// engine over db pairs), both sides' client options, progress and the store
// path. Sets the log level of --quiet and --verbose first.
template <typename Cli>
auto engine_options(const Cli& c) {
  log::set_quiet(c.common.quiet);
  log::set_verbose(c.common.verbose);
  auto o = c.o;
  if constexpr (requires { c.dbs; }) {
    resolve_sides(c.common, c.dbs.db, c.dbs.target_db, o.source, o.target);
    o.db_pairs = chosen_db_pairs(o.source, o.target, c.dbs.db, c.dbs.target_db, c.dbs.db_map);
    o.all_dbs = o.db_pairs.empty();
  } else {
    o.source = resolve_endpoint(c.common.source, "MIGCHECK_SOURCE_PASS");
    o.target = resolve_endpoint(c.common.target, "MIGCHECK_TARGET_PASS");
  }
  o.source_client = client_options(c.common, true);
  o.target_client = client_options(c.common, false);
  o.progress = !c.common.quiet;
  o.store_path = c.common.store;
  return o;
}

// --resume: the recorded options of the stopped run `r` (resumable_run)
// replace the command line's (endpoints and credentials excepted; the speed
// and load flags given again stay, see apply_recorded), and so do its db
// pairs for an engine over db pairs (the engine takes the resolved ones from
// the checkpoint). Warns of what the command line gave that is not taken.
template <typename Options>
void apply_resumed_options(Store& store, ResumableRun r, const std::vector<std::string>& given,
                           Options& o) {
  std::vector<std::string> ignored;
  if constexpr (requires { o.db_pairs; }) {
    ignored = apply_recorded(r, given, o, kDbFlags);
    o.db_pairs = db_pairs_from_options(r.options);
    o.all_dbs = o.db_pairs.empty();
    if (o.db_pairs.size() == 1) {
      o.source.db = o.db_pairs[0].source;
      o.target.db = o.db_pairs[0].target;
    }
  } else {
    ignored = apply_recorded(r, given, o);
  }
  record_resume_options(store, r);
  warn_resume_differences(r, ignored, o.source, o.target);
  o.resume_run = r.record.id;
}

}  // namespace migcheck
