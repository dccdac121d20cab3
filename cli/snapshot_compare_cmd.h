// `migcheck compare dump.rdb TARGET` and `compare a.rdb b.rdb`: the command
// line of the snapshot compare engine (snapshot_compare.h), reached from the
// compare command when its source is a snapshot file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli.h"
#include "compare.h"
#include "flag_groups.h"
#include "run_output.h"

namespace migcheck {

// The compare command's options, as parsed (the flags bound into `options`).
struct SnapshotCompareCli {
  const CommonOptions& common;
  const RunOutputOptions& output;
  const CompareOptions& options;
  const DbSelection& dbs;
  int64_t resume;
  const std::vector<std::string>& given;  // the flags given (see apply_recorded)
};

int run_snapshot_compare_cmd(const SnapshotCompareCli& c);

}  // namespace migcheck
